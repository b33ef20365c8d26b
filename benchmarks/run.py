"""`make bench`: opskit against a DuckDB reference, memory, the batch and the dashboard, beside targets.

    python -m benchmarks.run                      # 100k and 1M orders, batch, dashboard
    python -m benchmarks.run --sizes 10000 --quick  # the smoke test's size, no batch or browser
    python -m benchmarks.run --with-10m           # adds 10M orders (minutes, several GiB)

Every measured command runs in its own process: wall time and peak RSS are its own. Ratios compare
the time spent inside each process (interpreter start-up excluded on both sides).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("OPSKIT_BENCH_DATA", ROOT / "benchmarks" / ".data"))
REFERENCE_RULES = "ORD-003,CS-001,STK-007"
FAMILIES = ("ORD", "PRM", "CS", "STK")
TARGETS = {
    "ratio_parquet": 2.0,
    "ratio_csv": 3.0,
    "rss_10m_gib": 8.0,
    "batch_s": 40.0,
    "dashboard_s": 5.0,
    "help_s": 0.5,
}


def measure(command: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MiB, from wait4) and standard output of one command."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(command)} failed with exit code {proc.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, out


def data_for(n: int) -> Path:
    folder = DATA / str(n)
    if not (folder / "parquet" / "2026-10" / "orders.parquet").exists():
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "opskit.cli", "samples", str(folder), "--scale", str(n)],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        print(f"  generated {n:,} orders (CSV + Parquet) in {time.perf_counter() - started:.1f} s", flush=True)
    return folder


def bench_size(n: int) -> dict:
    folder = data_for(n)
    row: dict = {"orders": n}
    for fmt in ("csv", "parquet"):
        month = folder / fmt / "2026-10"
        for family in FAMILIES:
            wall, rss, out = measure([sys.executable, "-m", "benchmarks.opskit_runner", str(month), family])
            inner = json.loads(out)
            row[f"{fmt}_{family}_s"], row[f"{fmt}_{family}_rss_mib"] = inner["seconds"], rss
            row[f"{fmt}_{family}_items_per_s"] = inner["items"] / inner["seconds"]
        _, rss_all, out_all = measure([sys.executable, "-m", "benchmarks.opskit_runner", str(month)])
        row[f"{fmt}_all_s"], row[f"{fmt}_all_rss_mib"] = json.loads(out_all)["seconds"], rss_all
        _, _, out_o = measure([sys.executable, "-m", "benchmarks.opskit_runner", str(month), REFERENCE_RULES])
        _, _, out_d = measure([sys.executable, "-m", "benchmarks.duckdb_reference", str(month), fmt])
        ours, ref = json.loads(out_o), json.loads(out_d)
        for rule in REFERENCE_RULES.split(","):
            if ours.get(rule, 0) != ref[rule]:
                raise SystemExit(f"{rule} on {fmt} at {n}: opskit finds {ours.get(rule, 0)}, DuckDB {ref[rule]}")
        row[f"{fmt}_ref_opskit_s"], row[f"{fmt}_ref_duckdb_s"] = ours["seconds"], ref["seconds"]
        row[f"ratio_{fmt}"] = ours["seconds"] / ref["seconds"]
    return row


def bench_batch() -> dict:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "opskit.cli", "run", "data_samples", "--month", "2026-10", "--out", out],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        total = time.perf_counter() - started
    notebooks = {m.group(1): float(m.group(2)) for m in re.finditer(r"\] (\w+): ok \(([\d.]+) s\)", proc.stdout)}
    return {"batch_s": total, "notebooks": notebooks, "batch_ok": proc.returncode == 0}


def bench_dashboard() -> dict:
    if not Path("/usr/bin/chromium").exists():
        return {"dashboard_s": None, "dashboard_note": "no /usr/bin/chromium"}
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = Path(tempfile.mkdtemp()) / "serve.log"
    with log.open("w") as sink:  # a file, not a pipe: an unread pipe would block the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "opskit.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        from opskit.serve import READY

        deadline = time.time() + 180  # steady state: `opskit serve` says its dashboards are ready
        while time.time() < deadline and READY not in log.read_text():
            time.sleep(0.2)
        time.sleep(5)  # kernels refilled after the warm-up finish pre-rendering
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
            visits = []
            for _ in range(2):  # a first visit (browser cache cold), then a repeat visit
                page = browser.new_page()
                started = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/voila/render/order_sla_audit.ipynb", timeout=60_000)
                page.wait_for_selector(".opskit-count", timeout=60_000)
                visits.append(time.perf_counter() - started)
                page.close()
                time.sleep(8)  # let the pool refill, as between two managers' visits
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(log.parent, ignore_errors=True)
    return {"dashboard_s": visits[0], "dashboard_repeat_s": visits[1]}


def bench_help() -> dict:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "opskit"), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return {"help_s": min(times)}


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    return "meets target" if value <= target else f"MISSES target by {value / target:.1f}×"


def report(rows: list[dict], extra: dict) -> str:
    lines = [
        f"machine: {platform.node()} · {os.cpu_count()} cores · {platform.python_version()} · {platform.platform()}",
        "",
    ]
    lines.append("opskit load + check per rule family (seconds inside the process; peak RSS MiB; items/s)")
    for row in rows:
        for fmt in ("csv", "parquet"):
            cells = [
                f"{fam} {row[f'{fmt}_{fam}_s']:.2f}s {row[f'{fmt}_{fam}_rss_mib']:.0f}MiB "
                f"{row[f'{fmt}_{fam}_items_per_s']:,.0f}/s"
                for fam in FAMILIES
            ]
            lines.append(
                f"  {row['orders']:>10,} {fmt:<7} all {row[f'{fmt}_all_s']:.2f}s "
                f"{row[f'{fmt}_all_rss_mib']:.0f}MiB | " + " | ".join(cells)
            )
    lines += ["", f"opskit --rules {REFERENCE_RULES} vs DuckDB SQL (same files, same findings)"]
    for row in rows:
        for fmt in ("csv", "parquet"):
            target = TARGETS[f"ratio_{fmt}"]
            ratio = row[f"ratio_{fmt}"]
            note = verdict(ratio, target) if row["orders"] >= 1_000_000 else f"(target {target}× is set at 1M)"
            lines.append(
                f"  {row['orders']:>10,} {fmt:<7} opskit {row[f'{fmt}_ref_opskit_s']:.2f}s  "
                f"duckdb {row[f'{fmt}_ref_duckdb_s']:.2f}s  ratio {ratio:.2f}× (target ≤ {target}×) {note}"
            )
    big = [r for r in rows if r["orders"] >= 10_000_000]
    if big:
        gib = max(big[0]["csv_all_rss_mib"], big[0]["parquet_all_rss_mib"]) / 1024
        lines.append(f"\n10M orders peak RSS {gib:.2f} GiB (target ≤ 8 GiB) {verdict(gib, TARGETS['rss_10m_gib'])}")
    if "batch_s" in extra:
        per = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(extra["notebooks"].items()))
        lines.append(
            f"\nopskit run (October samples): {extra['batch_s']:.1f}s wall ({per}) "
            f"(target ≤ 40 s) {verdict(extra['batch_s'], TARGETS['batch_s'])}"
        )
    if "dashboard_s" in extra:
        lines.append(
            f"dashboard widgets rendered (one viewer): {extra['dashboard_s'] or float('nan'):.2f}s first visit, "
            f"{extra.get('dashboard_repeat_s') or float('nan'):.2f}s repeat visit "
            f"(target ≤ 5 s) {verdict(extra['dashboard_s'], TARGETS['dashboard_s'])}"
        )
    lines.append(
        f"opskit --help: {extra['help_s']:.2f}s (target ≤ 0.5 s) {verdict(extra['help_s'], TARGETS['help_s'])}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--with-10m", action="store_true", help="add 10M orders")
    parser.add_argument("--quick", action="store_true", help="skip the batch and the browser")
    parser.add_argument("--only-dashboard", action="store_true", help="measure the dashboard alone")
    parser.add_argument("--only-team", action="store_true", help="measure 1, 5 and 10 concurrent viewers alone")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.only_team:
        from . import team

        return team.main([])
    if args.only_dashboard:
        print(bench_dashboard())
        return 0
    sizes = args.sizes + ([10_000_000] if args.with_10m else [])
    rows = []
    for n in sizes:
        print(f"measuring {n:,} orders …", flush=True)
        rows.append(bench_size(n))
    extra = bench_help()
    if not args.quick:
        print("measuring opskit run and the dashboard …", flush=True)
        extra |= bench_batch() | bench_dashboard()
    print(report(rows, extra))
    if not args.quick:
        from . import team

        print("\nmeasuring a team of viewers …", flush=True)
        team.main([])
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": rows, **extra}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
