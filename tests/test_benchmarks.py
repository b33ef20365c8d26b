"""The benchmark runs end to end at a small size, so it cannot rot (its timings are never asserted)."""

import os
import subprocess
import sys

from helpers import ROOT


def test_benchmark_smoke_at_10k(tmp_path):
    env = {**os.environ, "OPSKIT_BENCH_DATA": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--sizes", "10000", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "opskit --rules ORD-003,CS-001,STK-007 vs DuckDB SQL (same files, same findings)" in text
    for fmt in ("csv", "parquet"):
        assert f"    10,000 {fmt:<7} opskit" in text
    assert "opskit --help:" in text and "machine:" in text
    assert (tmp_path / "10000" / "parquet" / "2026-10" / "orders.parquet").exists()
