"""`make bench`: opskit against a DuckDB reference as whole processes, memory, the batch and the dashboard.

    python -m benchmarks.run                        # 1M and 10M orders, the xlsx load, batch, dashboard
    python -m benchmarks.run --sizes 10000 --quick  # the smoke test's size, no batch or browser
    python -m benchmarks.run --sizes 1000000        # 1M only
    python -m benchmarks.run --sizes 10000000 --repeats 1 --xlsx-rows 0 --quick --reference-only
                                                    # the three rules against DuckDB at 10M, nothing else

Every measured command runs in its own process, and what is timed is that whole process: the
interpreter, `import pandas` or `import duckdb`, reading the files and the rules, on both sides.
opskit and DuckDB run alternately, `--repeats` times each, on the same files; the medians are
compared. Peak RSS comes from `wait4`. The run stops if the two report different findings.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import BROWSER_ARGS, CHROMIUM, ROOT, byte_compile

DATA = Path(os.environ.get("OPSKIT_BENCH_DATA", ROOT / "benchmarks" / ".data"))
MONTH = "2026-10"
REFERENCE_RULES = "ORD-003,CS-001,STK-007"
FAMILIES = ("ORD", "PRM", "CS", "STK")
TARGETS = {
    "ratio_csv_1m": 1.5,
    "ratio_parquet_1m": 1.25,
    "ratio_parquet_10m": 2.0,
    "rss_parquet_10m_gib": 2.0,
    "rss_all_10m_gib": 8.0,
    "batch_s": 40.0,
    "dashboard_s": 5.0,
    "help_s": 0.5,
}


class FindingsDiffer(SystemExit):
    """The engines disagree: no ratio is worth printing then."""


def measure(command: list[str]) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS (MiB, from wait4), standard output and CPU seconds (user + system, from
    wait4: on a shared machine the steadier figure) of one whole process."""
    with tempfile.TemporaryFile() as err:  # a file, not a pipe: an unread pipe could block the child
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT)
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.stdout.close()
        code = os.waitstatus_to_exitcode(status)
        if code:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace")[-2000:]
            raise SystemExit(f"{' '.join(command)} failed with exit code {code}:\n{tail}")
    return wall, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime


def data_for(n: int) -> Path:
    folder = DATA / str(n)
    if not (folder / "parquet" / MONTH / "orders.parquet").exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"  generating {n:,} orders (CSV + Parquet, cached in {DATA}) …", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "opskit.cli", "samples", str(folder), "--scale", str(n)],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        print(f"  generated {n:,} orders in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


def opskit_findings(path: Path) -> dict[str, list[list]]:
    """Findings of the reference rules as DuckDB prints them: per rule, sorted [key, observed]."""
    found: dict[str, list[list]] = {rule: [] for rule in REFERENCE_RULES.split(",")}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            found[row["rule_id"]].append([row["key"], round(float(row["observed"]), 2)])
    return {rule: sorted(rows) for rule, rows in found.items()}


def same_findings(ours: dict[str, list[list]], ref: dict[str, list[list]], where: str) -> None:
    """Stop the benchmark when any rule's findings differ between the engines."""
    for rule in REFERENCE_RULES.split(","):
        mine, theirs = ours.get(rule, []), ref.get(rule, [])
        if mine != theirs:
            only_ours = [k for k in mine if k not in theirs][:5]
            only_ref = [k for k in theirs if k not in mine][:5]
            raise FindingsDiffer(
                f"{rule} {where}: opskit reports {len(mine)} findings, DuckDB {len(theirs)}; "
                f"only opskit: {only_ours}; only DuckDB: {only_ref}. Ratios of different answers mean nothing."
            )


def compare(month: Path, fmt: str, repeats: int, where: str) -> dict:
    """`opskit check --rules …` and the DuckDB SQL, alternately, each a whole process."""
    runs: dict[str, list[tuple[float, float, float]]] = {"opskit": [], "duckdb": []}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "findings.csv"
        ours = [sys.executable, "-m", "opskit.cli", "check", str(month), "--month", MONTH]
        ours += ["--rules", REFERENCE_RULES, "--format", "csv", "--output", str(out)]
        ref = [sys.executable, "-m", "benchmarks.duckdb_reference", str(month), fmt]
        for i in range(repeats):
            for engine in ("opskit", "duckdb") if i % 2 == 0 else ("duckdb", "opskit"):
                wall, rss, text, cpu = measure(ours if engine == "opskit" else ref)
                runs[engine].append((wall, rss, cpu))
                if engine == "duckdb":
                    found_ref = json.loads(text)
                else:
                    found_ours = opskit_findings(out)
            same_findings(found_ours, found_ref, where)
    row = {"findings": sum(len(v) for v in found_ours.values())}
    for engine, times in runs.items():
        row[f"{engine}_s"] = statistics.median(t for t, _, _ in times)
        row[f"{engine}_runs"] = [round(t, 2) for t, _, _ in times]
        row[f"{engine}_rss_mib"] = max(r for _, r, _ in times)
        row[f"{engine}_cpu_s"] = statistics.median(c for _, _, c in times)
    row["ratio"] = row["opskit_s"] / row["duckdb_s"]
    row["cpu_ratio"] = row["opskit_cpu_s"] / row["duckdb_cpu_s"]
    return row


def all_rules(month: Path) -> dict:
    """Every rule on every dataset of the month, in one process: load time, time per family, peak RSS."""
    wall, rss, out, _ = measure([sys.executable, "-m", "benchmarks.opskit_runner", str(month)])
    return {"wall_s": wall, "rss_mib": rss, **json.loads(out)}


def bench_size(n: int, repeats: int, formats: tuple[str, ...], every_rule: bool = True) -> dict:
    folder = data_for(n)
    row: dict = {"orders": n}
    for fmt in formats:
        month = folder / fmt / MONTH
        print(f"  {n:,} {fmt}: {REFERENCE_RULES} against DuckDB, {repeats} alternating runs …", flush=True)
        row[f"ref_{fmt}"] = compare(month, fmt, repeats, f"on {fmt} at {n:,} orders")
        target = TARGETS.get(f"ratio_{fmt}_{size_name(n)}")
        if target and row[f"ref_{fmt}"]["ratio"] > target:
            print(f"  {n:,} {fmt}: missed; profiling where the time goes …", flush=True)
            row[f"ref_{fmt}"]["profile"] = profile(month, fmt)
        if every_rule:
            print(f"  {n:,} {fmt}: all rules …", flush=True)
            row[f"all_{fmt}"] = all_rules(month)
    return row


def size_name(n: int) -> str | None:
    """The name of a size that has targets (`1m`, `10m`), None for the others."""
    return {1_000_000: "1m", 10_000_000: "10m"}.get(n)


# The imports a check of each format cannot do without: the floor under its whole process.
FLOOR_IMPORTS = {
    "parquet": ("numpy and pyarrow", "import numpy, pyarrow.compute, pyarrow.parquet"),
    "csv": ("pandas", "import pandas"),
}


def profile(month: Path, fmt: str = "csv") -> dict:
    """For a missed ratio: one run of the same check with its steps timed (`benchmarks.phases`), and
    the whole process of an interpreter that only does the imports that check needs (Parquet: numpy
    and pyarrow, on the Arrow path; CSV: pandas), the floor under it (median of three)."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "benchmarks.phases", str(month), MONTH, REFERENCE_RULES, f"{tmp}/f.csv"]
        wall, _, text, _ = measure(command)
    timed = json.loads(text)
    steps = {"interpreter start and exit": max(0.0, wall - timed.pop("in process")), **timed}
    what, code = FLOOR_IMPORTS[fmt]
    floor = statistics.median(measure([sys.executable, "-c", code])[0] for _ in range(3))
    return {"wall_s": wall, "steps": steps, "floor_s": floor, "floor_of": what}


# what would close a missed ratio, as the profile shows it (README, "Performance")
CLOSING = {
    "parquet": "the Arrow path reads, checks and cuts the files on both cores; what is left is the "
    "imports (numpy alone 0.10 s) and decoding the ids. Nothing else is known to close it.",
    "csv": "most of it is Arrow's CSV reader, already on both cores; reading while pandas is imported "
    "was measured slower on two cores. Nothing else is known to close it.",
}


# --------------------------------------------------------------------------- the xlsx export


def xlsx_export(rows: int) -> Path:
    """An orders export as a person saves it from the shop back-office: title block, Chinese headers, and the
    totals row (合计) the back-office adds at the bottom, which the loader sets aside."""
    path = DATA / "xlsx" / f"orders_{rows}_totals.xlsx"
    if path.exists():
        return path
    print(f"  writing a {rows:,}-row xlsx export (cached in {path.parent}) …", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    code = f"""
import openpyxl
from opskit.samples import generate, _zh_headers
orders = generate({rows}, months=("{MONTH}",))["{MONTH}"]["orders"].head({rows})
frame = _zh_headers("orders", orders)
wb = openpyxl.Workbook(write_only=True)
ws = wb.create_sheet("订单")
ws.append(["订单导出 2026年10月"])
ws.append([])
ws.append(list(frame.columns))
for row in frame.astype("object").where(frame.notna(), None).itertuples(index=False):
    ws.append([v.to_pydatetime() if hasattr(v, "to_pydatetime") else v for v in row])
totals = [None] * len(frame.columns)
totals[0] = "合计"
if "订单金额" in frame.columns:
    totals[list(frame.columns).index("订单金额")] = float(frame["订单金额"].sum())
ws.append(totals)
wb.save({str(path.with_suffix(".tmp"))!r})
"""
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    path.with_suffix(".tmp").rename(path)
    return path


def bench_xlsx(rows: int) -> dict:
    path = xlsx_export(rows)
    out = {"xlsx_rows": rows}
    for how in ("opskit", "openpyxl"):  # one run each: openpyxl alone takes tens of seconds at 100k rows
        wall, rss, text, _ = measure([sys.executable, "-m", "benchmarks.xlsx_load", str(path), how])
        out[f"xlsx_{how}_s"], out[f"xlsx_{how}_rss_mib"] = wall, rss
        out[f"xlsx_{how}_rows"] = json.loads(text)["rows"]
    return out


# --------------------------------------------------------------------------- batch, dashboard, --help


def bench_batch() -> dict:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "opskit.cli", "run", "data_samples", "--month", MONTH, "--out", out],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        total = time.perf_counter() - started
    notebooks = {m.group(1): float(m.group(2)) for m in re.finditer(r"\] (\w+): ok \(([\d.]+) s\)", proc.stdout)}
    return {"batch_s": total, "notebooks": notebooks, "batch_ok": proc.returncode == 0}


def bench_dashboard() -> dict:
    if not Path(CHROMIUM).exists():
        return {"dashboard_s": None, "dashboard_note": f"no {CHROMIUM}"}
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
            start_new_session=True,
        )
    try:
        from opskit.serve import READY

        deadline = time.time() + 180  # steady state: `opskit serve` says its dashboards are ready
        while time.time() < deadline and READY not in log.read_text():
            time.sleep(0.2)
        time.sleep(5)  # kernels refilled after the warm-up finish pre-rendering
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
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
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started
        proc.wait(timeout=20)
        shutil.rmtree(log.parent, ignore_errors=True)
    return {"dashboard_s": visits[0], "dashboard_repeat_s": visits[1]}


def bench_help() -> dict:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "opskit.cli", "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return {"help_s": min(times)}


# --------------------------------------------------------------------------- the report


def verdict(value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= target else f"MISSED by {value / target:.2f}×"


def load_note() -> str:
    load1, _, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    busy = f"loaded machine (load average {load1:.1f} on {cores} cores)" if load1 > 0.5 * cores else "idle machine"
    return busy


def report(rows: list[dict], extra: dict, repeats: int) -> str:
    lines = [
        f"machine: {platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()} · "
        f"{platform.platform()} · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · {extra['load']}",
        "",
        f"opskit check --rules {REFERENCE_RULES} vs DuckDB SQL: whole processes, same files, same findings, "
        f"median of {repeats} alternating runs",
    ]
    for row in rows:
        n = row["orders"]
        for fmt in ("csv", "parquet"):
            ref = row.get(f"ref_{fmt}")
            if ref is None:
                continue
            size = size_name(n)
            target = TARGETS.get(f"ratio_{fmt}_{size}")
            note = f"(target ≤ {target}×) {verdict(ref['ratio'], target)}" if target else "(no target at this size)"
            lines.append(
                f"  {n:>10,} {fmt:<7} opskit {ref['opskit_s']:.2f} s {ref['opskit_rss_mib']:.0f} MiB  "
                f"duckdb {ref['duckdb_s']:.2f} s {ref['duckdb_rss_mib']:.0f} MiB  "
                f"ratio {ref['ratio']:.2f}× {note}  runs {ref['opskit_runs']} / {ref['duckdb_runs']}  "
                f"CPU {ref['opskit_cpu_s']:.2f} s vs {ref['duckdb_cpu_s']:.2f} s ({ref['cpu_ratio']:.2f}×)"
            )
            if "profile" in ref:
                lines += profile_lines(ref, fmt, target)
            if size == "10m" and fmt == "parquet":
                gib = ref["opskit_rss_mib"] / 1024
                target = TARGETS["rss_parquet_10m_gib"]
                lines.append(
                    f"  {'':>10} {'':<7} opskit peak RSS {gib:.2f} GiB (target ≤ {target:g} GiB) {verdict(gib, target)}"
                )
    lines += ["", "all 34 rules, every dataset loaded whole, one process: load, then each family (seconds)"]
    for row in rows:
        for fmt in ("csv", "parquet"):
            run = row.get(f"all_{fmt}")
            if run is None:
                continue
            fams = " | ".join(
                f"{fam} {run['families'][fam]['s']:.2f} s ({run['families'][fam]['items']:,} items)" for fam in FAMILIES
            )
            gib = run["rss_mib"] / 1024
            note = ""
            if row["orders"] == 10_000_000:
                note = f" (target ≤ {TARGETS['rss_all_10m_gib']:g} GiB) {verdict(gib, TARGETS['rss_all_10m_gib'])}"
            lines.append(
                f"  {row['orders']:>10,} {fmt:<7} {run['wall_s']:.1f} s wall, peak RSS {gib:.2f} GiB{note}; "
                f"load {run['load_s']:.2f} s | {fams}"
            )
    if "xlsx_rows" in extra:
        lines.append(
            f"\n{extra['xlsx_rows']:,}-row xlsx orders export (title block, Chinese headers), whole process: "
            f"opskit loader {extra['xlsx_opskit_s']:.1f} s ({extra['xlsx_opskit_rss_mib']:.0f} MiB), "
            f"openpyxl cell by cell {extra['xlsx_openpyxl_s']:.1f} s ({extra['xlsx_openpyxl_rss_mib']:.0f} MiB)"
        )
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


def profile_lines(ref: dict, fmt: str, target: float) -> list[str]:
    """The profile of a missed ratio: where opskit's time went (the steps of the path that ran), the
    floor its imports set, what would close it."""
    found = ref["profile"]
    floor, budget = found["floor_s"], ref["duckdb_s"] * target
    steps = " · ".join(f"{name} {s:.2f}" for name, s in found["steps"].items() if s >= 0.005)
    return [
        f"  {'':>10} {'':<7} where the time goes (one profiled run, {found['wall_s']:.2f} s whole, seconds): {steps}",
        f"  {'':>10} {'':<7} a process that only imports {found['floor_of']} takes {floor:.2f} s, "
        f"{floor / ref['duckdb_s']:.2f}× DuckDB's whole process; the target allows {budget:.2f} s, "
        f"{budget - floor:.2f} s after those imports",
        f"  {'':>10} {'':<7} what would close it: {CLOSING[fmt]}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000], help="orders a month")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each engine (median)")
    parser.add_argument("--csv-10m", action="store_true", help="also compare on CSV at 10M orders and more")
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="rows of the xlsx export (0: skip)")
    parser.add_argument("--quick", action="store_true", help="skip the batch and the browser")
    parser.add_argument(
        "--formats", nargs="+", choices=("csv", "parquet"), help="these formats only (default: both below 10M)"
    )
    parser.add_argument(
        "--reference-only", action="store_true", help="skip the all-rules run (at 10M orders, most of the time)"
    )
    parser.add_argument("--only-dashboard", action="store_true", help="measure the dashboard alone")
    parser.add_argument("--only-team", action="store_true", help="measure 1, 5 and 10 concurrent viewers alone")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    byte_compile()
    if args.only_team:
        from . import team

        return team.main([])
    if args.only_dashboard:
        print(bench_dashboard())
        return 0
    rows = []
    extra: dict = {"load": load_note()}
    for n in args.sizes:
        print(f"measuring {n:,} orders …", flush=True)
        formats = ("csv", "parquet") if n < 10_000_000 or args.csv_10m else ("parquet",)
        rows.append(bench_size(n, args.repeats, tuple(args.formats or formats), not args.reference_only))
    if args.xlsx_rows:
        print(f"measuring the {args.xlsx_rows:,}-row xlsx load …", flush=True)
        extra |= bench_xlsx(args.xlsx_rows)
    extra |= bench_help()
    if not args.quick:
        print("measuring opskit run and the dashboard …", flush=True)
        extra |= bench_batch() | bench_dashboard()
    if load_note() != extra["load"]:
        extra["load"] += f", then {load_note()}"
    print(report(rows, extra, args.repeats))
    if not args.quick:
        from . import team

        print("\nmeasuring a team of viewers …", flush=True)
        team.main([])
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": rows, **extra}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
