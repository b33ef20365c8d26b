"""The batch never loses a good report: a failed re-run, a second run of the same month, `kill -9`
at several moments, an input replaced mid-run and a full disk all leave the previous complete
month folder byte for byte as it was, and no staging folder survives the next run."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from helpers import ROOT, SAMPLES, alive, descendants, report_entries

from opskit.publish import MonthLock, exchange, publish

PARAMETERS = (
    "data_root = None\nmonth = None\nas_of = None\npolicy = None\noutput_dir = None\nlang = 'zh'\ninteractive = True"
)
FAULTS: list[str] = []  # the fault scenarios run, for the README's tally


def notebooks(tmp_path: Path, **sources: str) -> Path:
    """A notebooks folder whose reviews run the given code (after the parameters cell)."""
    folder = tmp_path / "notebooks"
    folder.mkdir(exist_ok=True)
    for name, source in sources.items():
        nb = nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(source),
            ]
        )
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def previous_month(out: Path) -> dict[str, str]:
    """A complete month folder from an earlier run, and the digest of each of its files."""
    month = out / "2026-10"
    month.mkdir(parents=True)
    (month / "findings.csv").write_text("rule_id,key\nORD-003,ORD003-LATE-2610\n", encoding="utf-8")
    (month / "order_sla_audit.html").write_text("<html>the previous complete review</html>", encoding="utf-8")
    return digests(month)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def hidden_folders(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.is_dir() and p.name.startswith(".")]


def start_run(out: Path, nb_dir: Path, *extra: str, data: Path = SAMPLES) -> subprocess.Popen:
    env = {**os.environ, "OPSKIT_NOTEBOOKS": str(nb_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "opskit.cli", "run", str(data), "--month", "2026-10", "--out", str(out), *extra],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_for(condition, timeout: float = 120, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}")
        time.sleep(0.1)


@pytest.fixture
def cleanup():
    """Processes a test started, killed even when it fails."""
    started: list[int] = []
    yield started
    for pid in started:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_good_run_records_input_sizes_and_hashes(tmp_path):
    nb_dir = notebooks(tmp_path, order_sla_audit="x = 1")
    out, err = finish(start_run(tmp_path / "out", nb_dir, "--notebooks", "order_sla_audit"))
    assert "reports for 2026-10" in out, err
    inputs = json.loads((tmp_path / "out" / "2026-10" / "kpis.json").read_text(encoding="utf-8"))["inputs"]
    orders = SAMPLES / "2026-10" / "orders.csv"
    assert inputs["2026-10/orders.csv"] == {
        "bytes": orders.stat().st_size,
        "sha256": hashlib.sha256(orders.read_bytes()).hexdigest(),
    }
    assert set(inputs) == {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.glob("*/*") if p.is_file()}


def test_a_failed_rerun_keeps_the_previous_month_and_puts_its_output_beside_it(tmp_path):
    out = tmp_path / "out"
    before = previous_month(out)
    nb_dir = notebooks(tmp_path, order_sla_audit="x = 1", service_stats="raise ValueError('客服数据不完整')")
    stdout, stderr = finish(start_run(out, nb_dir, "--notebooks", "order_sla_audit", "service_stats"))
    assert "opskit run: service_stats failed at cell 3" in stderr and "客服数据不完整" in stderr
    assert f"this run's partial output is in {out / '2026-10.failed'}/; the previous reports in" in stdout
    assert digests(out / "2026-10") == before
    failed = {p.name for p in (out / "2026-10.failed").iterdir()}
    assert {"order_sla_audit.html", "service_stats.ipynb", "findings.csv"} <= failed
    assert report_entries(out) == ["2026-10", "2026-10.failed"] and hidden_folders(out) == []
    FAULTS.append("failed re-run")

    stdout, stderr = finish(start_run(out, nb_dir, "--notebooks", "order_sla_audit"))
    assert "reports for 2026-10" in stdout, stderr
    assert report_entries(out) == ["2026-10"]  # a complete run supersedes the failed output
    assert (out / "2026-10" / "order_sla_audit.html").stat().st_size > 1000


def test_a_second_run_of_the_same_month_is_refused_naming_the_first(tmp_path, cleanup):
    out = tmp_path / "out"
    before = previous_month(out)
    slow = notebooks(tmp_path, order_sla_audit="import time\ntime.sleep(8)")
    first = start_run(out, slow, "--notebooks", "order_sla_audit")
    cleanup.append(first.pid)
    wait_for(lambda: hidden_folders(out), what="the first run's staging folder")
    second = start_run(out, slow, "--notebooks", "order_sla_audit")
    _, err = finish(second, timeout=120)
    assert second.returncode == 2 and "Traceback" not in err
    assert err.startswith(f"opskit run: another opskit run of 2026-10 into {out} is running (pid {first.pid}, started")
    assert digests(out / "2026-10") == before  # the refused run touched nothing
    stdout, stderr = finish(first)
    assert first.returncode == 0 and "reports for 2026-10" in stdout, stderr
    assert report_entries(out) == ["2026-10"] and hidden_folders(out) == []
    FAULTS.append("concurrent run of the same month")


@pytest.mark.parametrize("moment", ["kernels-running", "outputs-being-written"])
def test_kill_9_leaves_the_previous_month_and_no_process_and_the_next_run_cleans_up(tmp_path, cleanup, moment):
    out = tmp_path / "out"
    before = previous_month(out)
    if moment == "kernels-running":
        nb_dir = notebooks(
            tmp_path, order_sla_audit="import time\ntime.sleep(300)", service_stats="import time\ntime.sleep(300)"
        )
        proc = start_run(out, nb_dir, "--notebooks", "order_sla_audit", "service_stats")
        cleanup.append(proc.pid)
        kernels = lambda: [p for p in descendants(proc.pid) if b"ipykernel" in _cmdline(p)]  # noqa: E731
        wait_for(lambda: len(kernels()) == 2, what="two kernels")
    else:
        nb_dir = notebooks(tmp_path, order_sla_audit="x = 1")
        proc = start_run(out, nb_dir, "--notebooks", "order_sla_audit")
        cleanup.append(proc.pid)
        staged = lambda: [f for d in hidden_folders(out) for f in os.listdir(out / d)]  # noqa: E731
        wait_for(lambda: "order_sla_audit.html" in staged(), what="the notebook's HTML in staging")
    below = descendants(proc.pid)
    cleanup.extend(below)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    wait_for(lambda: not any(alive(p) for p in below), timeout=15, what=f"workers and kernels of {below} to die")
    assert digests(out / "2026-10") == before
    stale = hidden_folders(out)
    assert len(stale) == 1 and stale[0].startswith(".2026-10.staging-")

    quick = notebooks(tmp_path, order_sla_audit="x = 1")
    stdout, stderr = finish(start_run(out, quick, "--notebooks", "order_sla_audit"))
    assert f"removed {stale[0]}, left by an interrupted run" in stdout, stderr
    assert report_entries(out) == ["2026-10"] and hidden_folders(out) == []
    assert (out / "2026-10" / "order_sla_audit.html").stat().st_size > 1000
    FAULTS.append(f"kill -9 while {moment.replace('-', ' ')}")


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_an_input_replaced_during_the_run_is_named_and_not_published(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data)
    out = tmp_path / "out"
    before = previous_month(out)
    replace = (
        "import pathlib\np = pathlib.Path(data_root) / '2026-10' / 'cs_tickets.csv'\n"
        "p.write_bytes(p.read_bytes() + b'\\n')"
    )
    nb_dir = notebooks(tmp_path, service_stats=replace)
    size = (data / "2026-10" / "cs_tickets.csv").stat().st_size
    proc = start_run(out, nb_dir, "--notebooks", "service_stats", data=data)
    _, stderr = finish(proc)
    assert proc.returncode == 1
    assert (
        f"opskit run: inputs: files changed during the run: 2026-10/cs_tickets.csv changed ({size:,} → {size + 1:,} "
        "bytes)" in stderr
    )
    assert digests(out / "2026-10") == before and (out / "2026-10.failed" / "kpis.json").exists()
    FAULTS.append("input changed during the run")


def test_a_full_disk_is_one_message_naming_the_file(tmp_path):
    """A real 128 KiB tmpfs (the HTML report alone is ~270 KiB), mounted in a private mount namespace
    (so nothing outlives the test)."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to mount a small tmpfs")
    out = tmp_path / "out"
    out.mkdir()
    nb_dir = notebooks(tmp_path, order_sla_audit="x = 1")
    script = (
        f"mount -t tmpfs -o size=128k tmpfs {out} || exit 99\n"
        f"mkdir {out}/2026-10 && printf 'previous complete run' > {out}/2026-10/findings.csv\n"
        f"OPSKIT_NOTEBOOKS={nb_dir} {sys.executable} -m opskit.cli run {SAMPLES} --month 2026-10 --out {out} "
        "--notebooks order_sla_audit >/dev/null 2>$ERR\n"
        "echo exit=$?\n"
        f"cat {out}/2026-10/findings.csv; echo\n"
        f"ls -A {out}\n"
    )
    err_file = tmp_path / "stderr.txt"
    command = (
        ["unshare", "--mount", "sh", "-c", script]
        if os.geteuid() == 0
        else ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script]
    )
    done = subprocess.run(
        command, capture_output=True, text=True, cwd=ROOT, timeout=300, env={**os.environ, "ERR": str(err_file)}
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "exit=2", (lines, err_file.read_text())
    assert lines[1] == "previous complete run"
    assert lines[2:] == [".2026-10.lock", "2026-10"]  # no staging folder, no partial output left on a full disk
    err = err_file.read_text(encoding="utf-8")
    assert "Traceback" not in err and err.count("\n") == 1
    assert err.startswith(f"opskit run: no space left on the device writing {out}/.2026-10.staging-")
    assert f"the previous reports in {out / '2026-10'} are untouched" in err
    FAULTS.append("full disk")


def test_the_swap_is_atomic_for_a_reader(tmp_path):
    """A reader polling the month folder while runs publish never finds it missing or half-filled."""
    final = tmp_path / "2026-10"
    final.mkdir()
    (final / "findings.csv").write_text("run 0")
    seen_missing: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                (final / "findings.csv").read_text()
            except OSError as exc:
                seen_missing.append(str(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(1, 300):
            staging = tmp_path / f".2026-10.staging-{n}"
            staging.mkdir()
            (staging / "findings.csv").write_text(f"run {n}")
            publish(staging, final)
    finally:
        stop.set()
        thread.join()
    assert seen_missing == [] and (final / "findings.csv").read_text() == "run 299"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-10"]
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir(), (a / "x").touch()
    exchange(a, b)
    assert os.listdir(b) == ["x"] and os.listdir(a) == []


def test_the_lock_is_released_when_its_holder_dies(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from opskit.publish import MonthLock; from pathlib import Path; import time\n"
            f"l = MonthLock(Path({str(tmp_path)!r}), '2026-10').__enter__(); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(Exception, match=f"another opskit run of 2026-10 into {tmp_path} is running"):
            MonthLock(tmp_path, "2026-10").__enter__()
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
    with MonthLock(tmp_path, "2026-10"):
        pass
