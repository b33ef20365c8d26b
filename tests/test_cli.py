"""`opskit check` as other programs call it: formats, summary, rule selection, exit codes."""

import json
import os
import subprocess
import sys

import pandas as pd
from helpers import SAMPLES, write

from opskit.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "opskit.cli", *args], capture_output=True, text=True)


def test_table_lists_findings_with_sources():
    out = run("check", str(SAMPLES / "2026-10"), "--month", "2026-10", "--rules", "ORD", "--format", "table")
    assert out.returncode == 0
    assert "ORD003-LATE-2610" in out.stdout and "orders.csv:270" in out.stdout
    assert "2026-10 共 20 条违规（截至 2026-11-01 00:00）" in out.stdout
    assert "提示：orders.csv：删除完全重复的行 1 行（第 288 行）" in out.stderr
    out = run(
        "check", str(SAMPLES / "2026-10"), "--month", "2026-10", "--rules", "ORD", "--format", "table", "--lang=en"
    )
    assert "20 findings for 2026-10 (as of 2026-11-01 00:00)" in out.stdout
    assert "notice: orders.csv: 1 exact duplicate rows dropped (rows 288)" in out.stderr


def test_table_of_no_findings_says_so_in_the_report_language(tmp_path):
    write(tmp_path / "2026-10", orders=[{"order_id": "A1", "channel": "tmall", "created_at": "2026-10-05 10:00"}])
    out = run("check", str(tmp_path), "--month", "2026-10", "--rules", "ORD-003", "--format", "table")
    assert out.returncode == 0 and out.stdout == "没有违规\n2026-10 共 0 条违规（截至 2026-11-01 00:00）\n"
    out = run("check", str(tmp_path), "--month", "2026-10", "--rules", "ORD-003", "--format", "table", "--lang=en")
    assert out.stdout == "no findings\n0 findings for 2026-10 (as of 2026-11-01 00:00)\n"


def test_summary_csv_from_a_data_root(tmp_path):
    target = tmp_path / "summary.csv"
    assert (
        main(["check", str(SAMPLES), "--month", "2026-10", "--summary", "--format", "csv", "--output", str(target)])
        == 0
    )
    summary = pd.read_csv(target)
    assert list(summary.columns[:3]) == ["rule_id", "title", "title_zh"]
    assert len(summary) == 34
    row = summary.set_index("rule_id").loc["ORD-003"]
    assert (row["checked"], row["failed"], row["pending"]) == (275, 3, 2)


def test_json_and_rule_prefixes_and_as_of(capsys):
    assert (
        main(
            [
                "check",
                str(SAMPLES),
                "--month",
                "2026-10",
                "--rules",
                "CS-001,STK",
                "--format",
                "json",
                "--as-of",
                "2026-11-01 12:00",
            ]
        )
        == 0
    )
    records = json.loads(capsys.readouterr().out)
    assert {r["rule_id"] for r in records} == {"CS-001"} | {f"STK-00{i}" for i in range(1, 10)}
    assert {"rule_id", "key", "observed", "limit", "message", "source"} <= set(records[0])
    # at noon on Nov 1 the ticket created at Oct 31 12:00 with no reply is exactly 24 h old: still pending
    assert "CS001-PENDING-2610" not in {r["key"] for r in records}


def test_csv_cells_are_neutralised(tmp_path, capsys):
    (tmp_path / "orders.csv").write_text(
        "order_id,channel,created_at,accepted_at\n=cmd|' /C calc'!A0,tmall,2026-10-05 10:00,2026-10-05 10:00\n",
        encoding="utf-8",
    )
    assert main(["check", str(tmp_path), "--month", "2026-10", "--format", "csv"]) == 0
    text = capsys.readouterr().out
    assert "'=cmd" in text and "\n=cmd" not in text


def test_bad_input_gives_one_paragraph_and_non_zero_exit(tmp_path):
    (tmp_path / "orders.csv").write_text("订单编号,渠道,下单时间\nA,京东,2026-10-05\n", encoding="utf-8")
    out = run("check", str(tmp_path), "--month", "2026-10")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith("opskit check: orders.csv, row 2, column 渠道 (channel): cannot read '京东'")
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1


def test_unknown_rule_and_bad_month_and_policy(tmp_path):
    assert "unknown rule id or prefix 'XYZ-1'" in run("check", str(SAMPLES), "--rules", "XYZ-1").stderr
    assert "is not a month" in run("check", str(SAMPLES / "2026-10"), "--month", "October").stderr
    policy = tmp_path / "p.yaml"
    policy.write_text("rules: {ORD-003: {limit: fast}}\n")
    out = run("check", str(SAMPLES), "--month", "2026-10", "--policy", str(policy))
    assert out.returncode == 2 and "p.yaml: rule ORD-003 limit: expected a number" in out.stderr


def test_help_lists_the_commands():
    out = run("--help")
    assert out.returncode == 0
    for command in ("check", "run", "serve", "samples"):
        assert command in out.stdout


def test_a_check_process_ends_at_once_with_all_its_output_and_status(tmp_path, capsys):
    """`opskit check` ends its process without taking the interpreter apart: everything it printed
    (findings on stdout, notices on stderr) still arrives whole, and its exit status is kept."""
    args = ["check", str(SAMPLES), "--month", "2026-10", "--rules", "ORD-003", "--format", "csv"]
    in_process = main(args)
    expected = capsys.readouterr()
    assert in_process == 0 and expected.out.startswith("rule_id,") and len(expected.out.splitlines()) > 2
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as in a user's shell
    out = subprocess.run([sys.executable, "-m", "opskit.cli", *args], capture_output=True, text=True, env=buffered)
    assert out.returncode == 0
    assert out.stdout == expected.out and out.stderr == expected.err  # a short output still in its buffer at the end
    bad = run("check", str(tmp_path / "nowhere"))
    assert bad.returncode == 2 and "no such data folder" in bad.stderr


def test_a_check_waits_for_a_thread_still_running(tmp_path):
    """The quick ending is skipped while another thread runs: the ordinary exit waits for it. The
    thread waits until `main` has returned, so it is alive however long the check takes."""
    marker = tmp_path / "thread-finished"
    script = (
        "import pathlib, threading\n"
        "from opskit.cli import main\n"
        "returned = threading.Event()\n"
        f"t = threading.Thread(target=lambda: (returned.wait(), pathlib.Path({str(marker)!r}).write_text('done')))\n"
        "t.start()\n"
        f"code = main(['check', {str(SAMPLES)!r}, '--month', '2026-10', '--rules', 'ORD-003'], leave_at_once=True)\n"
        "print('returned', code)\n"
        "returned.set()\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "returned 0" in out.stdout
    assert marker.read_text() == "done"
