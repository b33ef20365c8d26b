"""The package's face: what an analyst finds with tab completion, `help()`, `opskit rules` and
`opskit explain`, and that every command-line option says what it does."""

import argparse
import contextlib
import io
import pydoc

import pytest

import opskit
from opskit.cli import _parser, main
from opskit.rule import all_rules


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's --version and --help
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_tab_completion_lists_the_public_names():
    names = dir(opskit)
    for name in ("load", "check", "run_checks", "summary", "rows", "explain", "OpskitNotice", "DataError"):
        assert name in names
        assert getattr(opskit, name) is not None
    assert "importlib" not in names and "TYPE_CHECKING" not in names


def test_help_on_check_documents_parameters_columns_and_an_example():
    text = pydoc.render_doc(opskit.check, renderer=pydoc.plaintext)
    for part in ("Parameters", "month :", "as_of :", "policy :", "rules :", "Returns", "Example"):
        assert part in text
    for column in ("rule_id", "observed", "limit", "source", "channel", "row", "clock", "dataset"):
        assert column in text
    assert "2026年10月" in text and "opskit.rows(" in text


def test_every_rule_has_a_docstring_with_scope_clock_and_spec_choice():
    for rule_id, rule in all_rules().items():
        doc = rule.fn.__doc__ or ""
        assert "Scope:" in doc and "Clock:" in doc and "Spec choice:" in doc, rule_id


def test_version():
    code, out, _ = run(["--version"])
    assert code == 0 and out.strip() == f"opskit {opskit.__version__}"


def test_explain_prints_the_rule_in_force(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  ORD-003: {limit: 24, by_channel: {wechat: 48}}\n", encoding="utf-8")
    code, out, _ = run(["explain", "ord-003", "--policy", str(policy)])
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "ORD-003  付款后24小时内发货（微信48小时） · Shipped within 24 h of payment (WeChat 48 h)"
    assert lines[1] == "limit in force: 24 h (wechat: 48 h)"
    assert lines[2] == "clock:          calendar"
    assert lines[3] == "source clause:  004 出货管理 1"
    assert "Scope: the month's paid orders; a refunded order never shipped is exempt." in out
    assert opskit.explain("ORD-003") == run(["explain", "ORD-003"])[1]


def test_explain_an_unknown_rule():
    code, out, err = run(["explain", "ORD-099"])
    assert code == 2 and err == "opskit explain: unknown rule id 'ORD-099'; `opskit rules` lists them\n"


def test_rules_lists_every_rule_with_its_limit_clock_source_and_scope():
    code, out, _ = run(["rules"])
    lines = out.splitlines()
    assert code == 0 and len(lines) == 35
    assert lines[0].split() == ["rule_id", "title", "limit", "clock", "source_clause", "scope"]
    row = next(line for line in lines if line.startswith("STK-001"))
    assert "day 30" in row and "004 库存管理 2" in row and "no count at all is one finding" in row
    table = opskit.rule_table(rules="CS-001")
    assert table.iloc[0].to_dict() == {
        "rule_id": "CS-001",
        "title": table.iloc[0]["title"],
        "limit": "24 h",
        "clock": "calendar",
        "source_clause": "001 第五节 3",
        "scope": "the month's tickets (by created_at, first occurrence of each ticket_id).",
        "datasets": "cs_tickets",
    }


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for inner, where in _actions(sub):
                    yield inner, f"{name} {where}"
        else:
            yield action, "opskit"


@pytest.mark.parametrize(
    "action", [a for a, _ in _actions(_parser())], ids=lambda a: "/".join(a.option_strings) or a.dest
)
def test_every_command_line_option_has_help(action):
    assert action.help and action.help != argparse.SUPPRESS


def test_opskit_run_prints_notices_once_as_lines_in_the_report_language(monkeypatch):
    """The batch's own loads notify through the `opskit` logger; the command prints them, without
    warnings, in the language of its reports (Chinese unless `--lang en`)."""
    import opskit.batch
    from opskit.errors import Notice, notify

    def fake_run_month(*args, **kwargs):
        notify([Notice("duplicate_rows", file="orders.csv", count=1, rows="288"), "a plain line"])
        return 0

    monkeypatch.setattr(opskit.batch, "run_month", fake_run_month)
    code, out, err = run(["run", "data_samples", "--month", "2026-10", "--out", "unused"])
    assert code == 0 and err == "提示：orders.csv：删除完全重复的行 1 行（第 288 行）\n提示：a plain line\n"
    code, out, err = run(["run", "data_samples", "--month", "2026-10", "--out", "unused", "--lang", "en"])
    assert code == 0 and err == "notice: orders.csv: 1 exact duplicate rows dropped (rows 288)\nnotice: a plain line\n"
