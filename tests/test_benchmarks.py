"""The benchmark runs end to end at a small size, so it cannot rot (its timings are never asserted)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import ROOT

sys.path.insert(0, str(ROOT))
from benchmarks.run import FindingsDiffer, opskit_findings, same_findings  # noqa: E402


def test_benchmark_smoke_at_10k(tmp_path):
    env = {**os.environ, "OPSKIT_BENCH_DATA": str(tmp_path)}
    figures = tmp_path / "figures.json"
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--sizes", "10000", "--quick", "--repeats", "1"]
        + ["--xlsx-rows", "500", "--json", str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    text = out.stdout
    assert "opskit check --rules ORD-003,CS-001,STK-007 vs DuckDB SQL: whole processes" in text
    for fmt in ("csv", "parquet"):
        assert f"    10,000 {fmt:<7} opskit" in text
    assert "all 34 rules, every dataset loaded whole" in text
    assert text.count(" CPU ") >= 2  # CPU seconds of both engines beside each wall ratio
    assert "500-row xlsx orders export" in text and "openpyxl cell by cell" in text
    assert "opskit --help:" in text and "machine:" in text
    assert (tmp_path / "10000" / "parquet" / "2026-10" / "orders.parquet").exists()
    result = json.loads(figures.read_text())
    row = result["sizes"][0]
    for fmt in ("csv", "parquet"):
        # the planted late orders, late tickets and broken ledger rows are found by both engines
        assert row[f"ref_{fmt}"]["findings"] == 7
        assert row[f"ref_{fmt}"]["opskit_s"] > 0 and row[f"ref_{fmt}"]["duckdb_s"] > 0
        assert row[f"ref_{fmt}"]["opskit_cpu_s"] > 0 and row[f"ref_{fmt}"]["duckdb_cpu_s"] > 0
        families = row[f"all_{fmt}"]["families"]
        assert set(families) == {"ORD", "PRM", "CS", "STK"}
        assert all(f["items"] > 0 for f in families.values())
    assert result["xlsx_opskit_rows"] == 500  # every data row below the title block; the totals row set aside
    assert result["xlsx_openpyxl_rows"] == 504  # title, blank row, header, 500 rows, totals row
    # opskit was measured from bytecode, as installed, even where PYTHONDONTWRITEBYTECODE is set
    for module in ("loader", "runner", "reviews/orders/rules"):
        source = ROOT / "opskit" / f"{module}.py"
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime, module


def test_benchmark_stops_when_the_engines_disagree():
    ours = {"ORD-003": [["A", 30.0]], "CS-001": [], "STK-007": []}
    differ = r"ORD-003 at 1M: opskit reports 1 findings, DuckDB 2; .*only DuckDB: \[\[.B."
    with pytest.raises(FindingsDiffer, match=differ):
        same_findings(ours, {"ORD-003": [["A", 30.0], ["B", 25.0]], "CS-001": [], "STK-007": []}, "at 1M")
    with pytest.raises(FindingsDiffer, match="CS-001"):  # the same key with another measured value differs too
        same_findings({**ours, "CS-001": [["T", 30.0]]}, {**ours, "CS-001": [["T", 31.0]]}, "at 1M")
    same_findings(ours, json.loads(json.dumps(ours)), "at 1M")


def test_opskit_findings_read_from_the_cli_csv(tmp_path):
    path = tmp_path / "findings.csv"
    path.write_text(
        "rule_id,key,observed,limit\nSTK-007,SKU0022/2026-10-15,3.0,0\nORD-003,B,637.9166,24\nORD-003,A,30,24\n",
        encoding="utf-8",
    )
    assert opskit_findings(path) == {
        "ORD-003": [["A", 30.0], ["B", 637.92]],
        "CS-001": [],
        "STK-007": [["SKU0022/2026-10-15", 3.0]],
    }


def test_rule_memory_profile_names_every_load_and_rule_of_a_family():
    import signal

    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.rule_memory", str(ROOT / "data_samples" / "2026-10"), "CS"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, stopped whole whatever happens
    )
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    steps = [line.split()[0:2] for line in out.splitlines()]
    assert ["load", "cs_messages"] in steps and ["load", "orders"] in steps
    assert [s[0] for s in steps if s[0].startswith("CS-")] == [f"CS-00{i}" for i in range(1, 8)]
    assert all(" peak " in line and " after " in line for line in out.splitlines())


def test_a_missed_ratio_is_printed_with_its_profile(tmp_path):
    """The step profile runs the real command (same findings as `opskit check`), its steps add up
    to the process's own time, and the report prints them with the pandas floor and what would close it."""
    from benchmarks.phases import STEPS
    from benchmarks.run import REFERENCE_RULES, profile, profile_lines

    month = ROOT / "data_samples" / "2026-10"
    found = profile(month)
    steps = found["steps"]
    assert list(steps) == ["interpreter start and exit", *STEPS, "between steps"]
    assert STEPS[:3] == ("import numpy + pyarrow", "import opskit", "Arrow: read, check cells, month cut")
    assert steps["between steps"] >= 0  # the steps do not overlap
    assert all(s >= 0 for s in steps.values())
    # CSV exports: the Arrow path declines at once, and the ordinary path's steps are timed
    assert steps["Arrow: read, check cells, month cut"] == 0 and steps["Arrow: declined"] > 0
    assert steps["import pandas"] > 0 and steps["read + month cut"] > 0 and steps["rules + messages"] > 0
    assert sum(steps.values()) == pytest.approx(found["wall_s"], rel=1e-6)
    assert found["floor_s"] > 0 and found["floor_of"] == "pandas"  # timed, not compared

    out = tmp_path / "f.csv"
    subprocess.run(
        [sys.executable, "-m", "benchmarks.phases", str(month), "2026-10", REFERENCE_RULES, str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    plain = tmp_path / "plain.csv"
    subprocess.run(
        [sys.executable, "-m", "opskit.cli", "check", str(month), "--month", "2026-10", "--rules", REFERENCE_RULES]
        + ["--format", "csv", "--output", str(plain)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == plain.read_bytes()

    ref = {"duckdb_s": 0.48, "profile": {**found, "floor_s": 0.35}}
    lines = profile_lines(ref, "csv", 1.5)
    assert "where the time goes" in lines[0] and "import pandas" in lines[0]
    assert "Arrow: rules" not in lines[0]  # a path that did not run is not listed
    assert (
        "only imports pandas takes 0.35 s, 0.73× DuckDB's whole process; the target allows 0.72 s, 0.37 s" in lines[1]
    )
    assert lines[2].strip().startswith("what would close it: most of it is Arrow's CSV reader")
