"""Hostile configuration: policy files and manifests that are wrong, huge, deep, aliased, not text or
not files at all are refused with one message naming the file and the key — never obeyed, never a
traceback, a hang or a crash.

The explicit cases run `opskit check` in a child process (a crash or a hang would show there, not
take pytest down); the property tests generate many more in-process, through `opskit.cli.main`."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opskit.cli import main
from opskit.errors import PolicyError
from opskit.policy import load_policy

TALLY = {"policy": 0, "manifest": 0}
ORDERS = [{"order_id": "A1", "channel": "tmall", "created_at": "2026-10-05 10:00", "paid_at": "2026-10-05 10:05"}]
RULE_IDS = sorted(load_policy().rules)


@pytest.fixture(scope="module")
def month(tmp_path_factory) -> Path:
    return write(tmp_path_factory.mktemp("data") / "2026-10", orders=ORDERS)


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """`opskit` in its own process group, killed with its children if it outlives `timeout`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "opskit.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"opskit {' '.join(args)} hung for {timeout} s")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


CHILD = {"deep_nesting", "alias_bomb", "int_of_5000_digits", "fifo", "dev_zero_link"}  # could crash or hang


def check(case: str, *args: str) -> subprocess.CompletedProcess:
    """`opskit check` in a child process for the cases that could crash or hang, in-process otherwise."""
    if case in CHILD:
        return run_cli("check", *args, timeout=30)
    code, err = _run_main(["check", *args])
    return subprocess.CompletedProcess(args, code, "", err)


def assert_refused(out: subprocess.CompletedProcess, *fragments: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("opskit check: "), out.stderr[-2000:]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(20)
)

POLICY_TEXTS = {
    "nan_limit": ("rules: {ORD-003: {limit: .nan}}\n", "rule ORD-003 limit: expected a number ≥ 0, got NaN"),
    "inf_limit": ("rules: {ORD-003: {limit: .inf}}\n", "rule ORD-003 limit: inf is out of range"),
    "minus_inf_limit": ("rules: {CS-001: {limit: -.inf}}\n", "rule CS-001 limit: expected a number ≥ 0"),
    "huge_limit": ("rules: {ORD-003: {limit: " + "9" * 400 + "}}\n", "rule ORD-003 limit: 999999999999… is out"),
    "int_of_5000_digits": ("rules: {ORD-003: {limit: " + "9" * 5000 + "}}\n", "a value cannot be read"),
    "day_of_month_40": ("rules: {STK-001: {limit: 40}}\n", "rule STK-001 limit: 40 is out of range"),
    "empty_workdays": ("clock: {workdays: []}\n", "clock.workdays is a non-empty list"),
    "unknown_workday": ("clock: {workdays: [Mon, Funday]}\n", "clock.workdays is a non-empty list"),
    "service_hours_25": ("clock: {service_hours: ['08:50', '25:00']}\n", "clock.service_hours is [HH:MM, HH:MM]"),
    "nan_special_case": (
        "rules: {ORD-004: {params: {special_case_limit: .nan}}}\n",
        "rule ORD-004 params.special_case_limit: expected a number ≥ 0, got NaN",
    ),
    "nan_by_channel": ("rules: {ORD-003: {by_channel: {wechat: .nan}}}\n", "rule ORD-003 by_channel.wechat"),
    "nan_abc_tolerance": ("stocktake: {abc_tolerance: {A: .nan}}\n", "stocktake.abc_tolerance.A"),
    "abc_tolerance_over_one": ("stocktake: {abc_tolerance: {B: 3}}\n", "stocktake.abc_tolerance.B"),
    "params_is_a_number": ("rules: {CS-005: {params: 5}}\n", "rule CS-005 params: expected a mapping"),
    "rules_is_a_list": ("rules: [ORD-003, CS-001]\n", "p.yaml: rules: expected a mapping rule id → settings"),
    "rule_is_a_list": ("rules: {ORD-003: [24]}\n", "rule ORD-003: expected a mapping of settings"),
    "title_is_a_number": ("rules: {ORD-003: {title: {zh: 5}}}\n", "rule ORD-003: title is a mapping"),
    "numeric_key": ("rules: {ORD-003: {1: 2}}\n", "rule ORD-003: keys are names"),
    "top_level_list": ("- rules\n", "expected a mapping with `rules:`, got list"),
    "deep_nesting": ("rules: " + "[" * 60_000 + "]" * 60_000 + "\n", "nested more than 12 levels deep"),
    "alias_bomb": (ALIAS_BOMB, "anchors and aliases (&, *) are not accepted"),
    "python_tag": ("rules: !!python/object/apply:os.system [echo hacked]\n", "tags such as"),
    "too_large": ("# " + "x" * 300_000 + "\n", "larger than 256 KiB"),
}


@pytest.mark.parametrize("case", sorted(POLICY_TEXTS))
def test_hostile_policy_file_is_refused_naming_file_and_key(case, month, tmp_path):
    text, fragment = POLICY_TEXTS[case]
    policy = tmp_path / "p.yaml"
    policy.write_text(text, encoding="utf-8")
    assert_refused(check(case, str(month), "--policy", str(policy)), "p.yaml: ", fragment)
    TALLY["policy"] += 1


def test_policy_in_gbk_is_refused_naming_line(month, tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_bytes("# 策略\nrules: {ORD-003: {limit: 24}}\n".encode("gbk"))
    assert_refused(check("gbk", str(month), "--policy", str(policy)), "p.yaml: line 1: not UTF-8 text")
    TALLY["policy"] += 1


@pytest.mark.parametrize("kind", ["fifo", "dev_zero_link", "folder", "missing"])
def test_policy_that_is_not_a_regular_file_is_refused(kind, month, tmp_path):
    policy = tmp_path / "p.yaml"
    expected = {
        "fifo": "is a named pipe (FIFO), not a regular file",
        "dev_zero_link": "is a character device, not a regular file",
        "folder": "is a folder, not a regular file",
        "missing": "cannot open the file (No such file or directory)",
    }[kind]
    if kind == "fifo":
        os.mkfifo(policy)
    elif kind == "dev_zero_link":
        policy.symlink_to("/dev/zero")
    elif kind == "folder":
        policy.mkdir()
    assert_refused(check(kind, str(month), "--policy", str(policy)), "p.yaml: ", expected)
    TALLY["policy"] += 1


MANIFESTS = {
    "aliases_value_is_a_number": (
        "datasets: {orders: {file: orders.csv, aliases: {order_id: 5}}}\n",
        "aliases.order_id",
    ),
    "header_row_100000": ("datasets: {orders: {file: orders.csv, header_row: 100000}}\n", "header_row '100000'"),
    "header_row_is_text": ("datasets: {orders: {file: orders.csv, header_row: two}}\n", "header_row 'two'"),
    "sheet_is_a_list": ("datasets: {orders: {file: orders.csv, sheet: [1]}}\n", "sheet is a sheet name or number"),
    "file_is_a_number": ("datasets: {orders: {file: 5}}\n", "orders: file is a file name"),
    "unknown_top_key": ("datasets: {orders: orders.csv}\nencoding: gbk\n", "unknown key 'encoding'"),
    "unknown_entry_key": ("datasets: {orders: {file: orders.csv, skip: 2}}\n", "dataset 'orders': unknown key 'skip'"),
    "datasets_is_a_list": ("datasets: [orders.csv]\n", "needs a mapping `datasets:`"),
    "deep_nesting": ("datasets: " + "{a: " * 30_000 + "1" + "}" * 30_000 + "\n", "nested more than 12 levels"),
    "alias_bomb": (ALIAS_BOMB, "anchors and aliases"),
}


@pytest.mark.parametrize("case", sorted(MANIFESTS))
def test_hostile_manifest_is_refused_naming_file_and_key(case, tmp_path):
    text, fragment = MANIFESTS[case]
    folder = write(tmp_path / "2026-10", orders=ORDERS)
    (folder / "opskit.yaml").write_text(text, encoding="utf-8")
    assert_refused(check(case, str(folder)), "opskit.yaml", fragment)
    TALLY["manifest"] += 1


@pytest.mark.parametrize("kind", ["fifo", "dev_zero_link"])
def test_manifest_that_is_not_a_regular_file_is_refused(kind, tmp_path):
    folder = write(tmp_path / "2026-10", orders=ORDERS)
    manifest = folder / "opskit.yaml"
    if kind == "fifo":
        os.mkfifo(manifest)
    else:
        manifest.symlink_to("/dev/zero")
    expected = "named pipe (FIFO)" if kind == "fifo" else "character device"
    assert_refused(check(kind, str(folder)), "opskit.yaml: cannot read the manifest: is a", expected)
    TALLY["manifest"] += 1


# --------------------------------------------------------------------------- generated cases

NUMBER_SLOTS = [("rules", r, "limit") for r in ("ORD-001", "ORD-003", "CS-001", "STK-001", "STK-004", "PRM-001")] + [
    ("rules", "ORD-004", "params", "special_case_limit"),
    ("rules", "ORD-003", "by_channel", "wechat"),
    ("rules", "CS-001", "by_channel", "phone"),
    ("stocktake", "abc_tolerance", "C"),
]
WORD_SLOTS = [
    ("rules", "CS-005", "params", "phrases"),
    ("rules", "ORD-006", "params", "channels"),
    ("clock", "workdays"),
    ("clock", "service_hours"),
]
MAPPING_SLOTS = [("rules",), ("rules", "ORD-003"), ("rules", "CS-006", "params"), ("clock",), ("stocktake",)]

KNOWN_KEYS = {"rules", "clock", "masking", "stocktake", "limit", "by_channel", "severity", "params", "unit"}
KNOWN_KEYS |= {"title"}
bad_numbers = st.one_of(
    st.just(math.nan),
    st.sampled_from([math.inf, -math.inf]),
    st.floats(max_value=-1e-9, allow_nan=False, allow_infinity=False),
    st.integers(min_value=10**13, max_value=10**400),
    st.integers(max_value=-1),
    st.text(min_size=1, max_size=10),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
bad_words = st.one_of(
    st.just([]),
    st.lists(st.one_of(st.integers(), st.floats(), st.none(), st.just(""), st.just("   ")), min_size=1, max_size=3),
    st.text(min_size=1, max_size=5).map(lambda w: [w, 5]),
    st.integers(),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
bad_mappings = st.one_of(st.lists(st.text(max_size=5), max_size=3), st.integers(), st.floats(), st.text(min_size=1))


def _place(path: tuple, value) -> dict:
    doc: dict = {}
    node = doc
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return doc


policies = st.one_of(
    st.tuples(st.sampled_from(NUMBER_SLOTS), bad_numbers),
    st.tuples(st.sampled_from(WORD_SLOTS), bad_words),
    st.tuples(st.sampled_from(MAPPING_SLOTS), bad_mappings),
    st.tuples(
        st.sampled_from([(), ("rules", "ORD-003"), ("rules", "CS-001", "params")]),
        st.text(min_size=1, max_size=12).filter(lambda k: k not in KNOWN_KEYS),
    ).map(lambda pk: ((*pk[0], pk[1]), 1)),
).map(lambda slot: _place(*slot))


def _dump(doc) -> str:
    return yaml.safe_dump(doc, allow_unicode=True, default_flow_style=None)


texts = st.one_of(
    st.builds(lambda d: _dump(d), policies),
    st.integers(13, 200_000).map(lambda n: "rules: " + "[" * n + "]" * n),
    st.integers(1, 21).map(lambda n: "\n".join(ALIAS_BOMB.splitlines()[:n]) + "\n"),
    st.binary(max_size=200).map(lambda b: (b"rules:\n" + b + b"\n# \xff\xfe\n").decode("latin-1")),
)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(texts)
def test_generated_hostile_policies_exit_2_with_one_message(tmp_path_factory, text):
    folder = tmp_path_factory.getbasetemp() / "hostile-policy"
    if not folder.exists():
        write(folder / "2026-10", orders=ORDERS)
    policy = folder / "p.yaml"
    policy.write_bytes(text.encode("latin-1") if "\xff\xfe" in text else text.encode("utf-8", "surrogatepass"))
    code, err = _run_main(["check", str(folder / "2026-10"), "--rules", "ORD-003", "--policy", str(policy)])
    assert code == 2, (text[:300], err)
    assert err.startswith("opskit check: p.yaml") and err.count("\n") == 1, err
    TALLY["policy"] += 1


MANIFEST_KEYS = ("file", "sheet", "header_row", "aliases")
manifest_entries = st.one_of(
    st.tuples(st.just("header_row"), st.one_of(st.integers(max_value=0), st.integers(min_value=1001), st.text())),
    st.tuples(st.just("sheet"), st.one_of(st.lists(st.integers(), max_size=2), st.floats(), st.booleans())),
    st.tuples(st.just("aliases"), st.one_of(st.integers(), st.lists(st.text(max_size=3), max_size=2))),
    st.tuples(
        st.just("aliases"),
        st.dictionaries(
            st.sampled_from(["order_id", "channel", "created_at"]),
            st.one_of(st.integers(), st.just([]), st.lists(st.integers(), min_size=1, max_size=2)),
            min_size=1,
            max_size=2,
        ),
    ),
    st.tuples(
        st.text(min_size=1, max_size=8).filter(lambda k: k not in ("file", "sheet", "header_row", "aliases")),
        st.integers(),
    ),
)


@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(manifest_entries)
def test_generated_hostile_manifests_exit_2_with_one_message(tmp_path_factory, entry):
    folder = tmp_path_factory.getbasetemp() / "hostile-manifest" / "2026-10"
    if not folder.exists():
        write(folder, orders=ORDERS)
    key, value = entry
    (folder / "opskit.yaml").write_text(_dump({"datasets": {"orders": {"file": "orders.csv", key: value}}}))
    code, err = _run_main(["check", str(folder), "--rules", "ORD-003"])
    assert code == 2, (entry, err)
    assert err.startswith("opskit check: opskit.yaml") and err.count("\n") == 1, err
    TALLY["manifest"] += 1


def _run_main(argv: list[str]) -> tuple[int, str]:
    import contextlib
    import io

    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(argv)
    return code, err.getvalue()


def test_a_sane_policy_still_loads(tmp_path):
    """The limits are not so tight that a real policy is refused."""
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "rules:\n  ORD-003: {limit: 48, by_channel: {wechat: 72}}\n  STK-001: {limit: 31}\n"
        "  ORD-004: {params: {special_case_limit: 1}}\n"
        "clock: {workdays: [Mon, Tue, Wed, Thu, Fri, Sat], service_hours: ['8:30', '20:00']}\n"
        "stocktake: {abc_tolerance: {A: 0, C: 1}}\n",
        encoding="utf-8",
    )
    p = load_policy(policy)
    assert (p["ORD-003"].limit, p["ORD-003"].by_channel["wechat"], p["STK-001"].limit) == (48, 72, 31)
    assert p.workdays == (0, 1, 2, 3, 4, 5) and p.abc_tolerance["C"] == 1
    with pytest.raises(PolicyError, match="out of range"):
        load_policy({"rules": {"ORD-001": {"limit": 10**7}}})
