"""`opskit run ROOT --months 2026-01..2026-10`: many months at once, locally or on a Dask cluster.

Each month is one `opskit run ROOT --month M` in its own process (its own process group, so an
interrupted backfill stops every kernel it started): by default a few at a time on this machine,
or, with `--scheduler tcp://HOST:8786`, as tasks of an existing Dask distributed cluster whose
workers see the same data root, output folder and history store. Every month records itself in
the history store (writers of one store queue, they never interleave). One progress line is printed
per month as it finishes; a failing month is named and the others finish.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .errors import OpskitError

RANGE = re.compile(r"^\s*(\d{4}-\d{2})\s*\.\.\s*(\d{4}-\d{2})\s*$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_MONTHS = 240
CONNECT_TIMEOUT = "10s"  # how long to wait for the Dask scheduler before saying it cannot be reached


@dataclass
class MonthRun:
    month: str
    code: int
    seconds: float
    error: str = ""
    where: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 0


def parse_months(text: str) -> list[str]:
    """`2026-01..2026-10` (both ends included) or `2026-01,2026-03`: the months, oldest first."""
    import pandas as pd

    match = RANGE.match(text or "")
    if match:
        first, last = match.groups()
        for month in (first, last):
            if not MONTH.match(month):
                raise OpskitError(f"--months {text!r}: {month} is not a month like 2026-10")
        if first > last:
            raise OpskitError(f"--months {text!r}: the range ends before it starts")
        months = [str(p) for p in pd.period_range(first, last, freq="M")]
    else:
        months = [m.strip() for m in (text or "").split(",") if m.strip()]
        bad = [m for m in months if not MONTH.match(m)]
        if bad or not months:
            raise OpskitError(f"--months {text!r}: give a range like 2026-01..2026-10 or months like 2026-01,2026-03")
        months = sorted(set(months))
    if len(months) > MAX_MONTHS:
        raise OpskitError(f"--months {text!r} names {len(months)} months; at most {MAX_MONTHS} at once")
    return months


def _run_one(month: str, argv: list[str]) -> MonthRun:
    """`opskit run … --month M` in its own process group; on a Dask worker this is the task itself."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "opskit.cli", "run", *argv, "--month", month]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate()
    except BaseException:
        _stop(proc)
        raise
    lines = [line for line in err.strip().splitlines() if line.strip()]
    error = "; ".join(line.removeprefix("opskit run: ") for line in lines[-3:]) if proc.returncode else ""
    return MonthRun(month, proc.returncode, time.perf_counter() - started, error, _host())


def _stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _host() -> str:
    import socket

    return socket.gethostname()


def _report(i: int, total: int, run: MonthRun) -> None:
    state = "ok" if run.ok else f"FAILED (exit {run.code}): {run.error}"
    print(f"[{i}/{total}] {run.month}: {state} ({run.seconds:.1f} s)", flush=True)


def backfill(
    months: list[str],
    argv: list[str],
    *,
    workers: int = 2,
    scheduler: str | None = None,
) -> int:
    """Run `months` (each `opskit run ARGV --month M`); 0 when all succeeded, 1 naming those that failed."""
    runs: list[MonthRun] = []
    total = len(months)
    print(
        f"backfill of {total} months ({months[0]}..{months[-1]}) "
        + (f"on the Dask cluster at {scheduler}" if scheduler else f"with {workers} local worker processes"),
        flush=True,
    )
    if scheduler:
        runs = _on_dask(months, argv, scheduler, total)
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, total))) as pool:
            futures = [pool.submit(_run_one, m, argv) for m in months]
            for i, future in enumerate(as_completed(futures), start=1):
                run = future.result()
                runs.append(run)
                _report(i, total, run)
    failed = sorted((r for r in runs if not r.ok), key=lambda r: r.month)
    print(f"{total - len(failed)} of {total} months done", flush=True)
    for run in failed:
        print(f"opskit run: {run.month} failed: {run.error}", file=sys.stderr)
    return 1 if failed else 0


def _on_dask(months: list[str], argv: list[str], scheduler: str, total: int) -> list[MonthRun]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise OpskitError("--scheduler needs the dask distributed package: pip install distributed") from None
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise OpskitError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    runs = []
    try:
        # a month is minutes of work in a subprocess: never run it twice, never retry it silently
        futures = client.map(_run_one, months, argv=argv, pure=False, key=[f"opskit-run-{m}" for m in months])
        for i, future in enumerate(dask_completed(futures, loop=client.loop), start=1):
            try:
                run = future.result()
            except Exception as exc:  # the worker died or the task could not run there
                month = months[futures.index(future)]
                run = MonthRun(month, 1, 0.0, f"{type(exc).__name__}: {exc}")
            runs.append(run)
            _report(i, total, run)
    finally:
        client.close()
    return runs


def run_argv(folder: str, out: str, **options) -> list[str]:
    """The `opskit run` arguments every month shares (all but `--month`)."""
    argv = [str(Path(folder).resolve()), "--out", str(Path(out).resolve())]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, list):
            argv += [flag, *map(str, value)]
        elif value is True:
            argv.append(flag)
        else:
            argv += [flag, str(value)]
    return argv
