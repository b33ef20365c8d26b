"""Faults in the monthly batch: the other notebooks' outputs are complete, nothing half-written
remains, the exit code is non-zero and the message says what failed where."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from helpers import ROOT, SAMPLES, report_entries

from opskit.batch import run_month
from opskit.errors import OpskitError


def notebooks_with(tmp_path, broken: str, source: str):
    """The real notebooks, with `broken` replaced by a notebook running `source`."""
    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "opskit" / "notebooks", folder)
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "data_root = None\nmonth = None\nas_of = None\npolicy = None\noutput_dir = None\n"
                "lang = 'zh'\ninteractive = True",
                metadata={"tags": ["parameters"]},
            ),
            nbformat.v4.new_code_cell(source),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / f"{broken}.ipynb")
    return folder


def leftovers(out):
    """Hidden staging or swap folders (the month's lock file is not one)."""
    return [p.name for p in out.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]


@pytest.mark.parametrize(
    ("source", "timeout", "message"),
    [
        ("import os\nos._exit(1)", 60, "DeadKernelError"),
        ("import time\ntime.sleep(600)", 20, "timed out"),  # 20 s: the other review's cells on a busy machine
        (
            "raise ValueError('ledger sheet is empty')",
            60,
            "cell 3 (raise ValueError('ledger sheet is empty')): ValueError: ledger sheet is empty",
        ),
    ],
    ids=["kernel-dies", "cell-timeout", "cell-raises"],
)
def test_a_failing_notebook_does_not_stop_the_others(tmp_path, monkeypatch, capsys, source, timeout, message):
    monkeypatch.setenv("OPSKIT_NOTEBOOKS", str(notebooks_with(tmp_path, "service_stats", source)))
    out = tmp_path / "out"
    code = run_month(SAMPLES, "2026-10", out, notebooks=["order_sla_audit", "service_stats"], timeout=timeout)
    printed = capsys.readouterr()
    assert code == 1
    assert message in printed.err and "opskit run: service_stats failed at" in printed.err
    month = out / "2026-10.failed"  # a failed run's output goes beside the month folder, not into it
    assert "this run's partial output is in" in printed.out and not (out / "2026-10").exists()
    assert (month / "order_sla_audit.html").stat().st_size > 100_000  # the other review is complete
    assert not (month / "service_stats.html").exists()
    assert {"findings.csv", "kpis.json", "opskit-2026-10.xlsx"} <= {p.name for p in month.iterdir()}
    assert leftovers(out) == [] and leftovers(month) == []


def test_an_output_folder_that_cannot_be_written(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the output folder should be")
    with pytest.raises(OpskitError, match="cannot write to"):
        run_month(SAMPLES, "2026-10", blocker / "reports")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "opskit.cli",
            "run",
            str(SAMPLES),
            "--month",
            "2026-10",
            "--out",
            str(blocker / "reports"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert (
        out.returncode == 2 and out.stderr.startswith("opskit run: cannot write to") and "Traceback" not in out.stderr
    )


def test_output_inside_the_data_folder_is_refused(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SAMPLES / "2026-10", data / "2026-10")
    with pytest.raises(OpskitError, match="lies inside the data folder"):
        run_month(data, "2026-10", data / "reports")


def test_an_interrupted_run_leaves_the_previous_reports_untouched(tmp_path):
    out = tmp_path / "out"
    previous = out / "2026-10"
    previous.mkdir(parents=True)
    (previous / "findings.csv").write_text("the previous complete run\n")
    env = {
        **os.environ,
        "OPSKIT_NOTEBOOKS": str(notebooks_with(tmp_path, "service_stats", "import time\ntime.sleep(120)")),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opskit.cli",
            "run",
            str(SAMPLES),
            "--month",
            "2026-10",
            "--out",
            str(out),
            "--notebooks",
            "service_stats",
        ],
        cwd=ROOT,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline and not leftovers(out):
        time.sleep(0.2)
    time.sleep(3)  # the notebook is running
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole process group, as in a terminal
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "interrupted" in err and "Traceback" not in err
    assert (previous / "findings.csv").read_text() == "the previous complete run\n"
    assert report_entries(out) == ["2026-10"]


def dying_kernels(tmp_path, monkeypatch, deaths: int) -> None:
    """A `python3` kernel whose first `deaths` starts exit before answering, as a kernel that lost
    the race for its port does; later starts are the real kernel."""
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    slots = tmp_path / "deaths"
    slots.mkdir()
    launcher = tmp_path / "dying_kernel.py"
    launcher.write_text(
        "import os, sys\n"
        f"for i in range({deaths}):\n"
        "    try:\n"
        f"        os.close(os.open(os.path.join({str(slots)!r}, f'death-{{i}}'), os.O_CREAT | os.O_EXCL))\n"
        "        sys.exit(1)\n"
        "    except FileExistsError:\n"
        "        continue\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', '-f', sys.argv[1]])\n"
    )
    kernel = {
        "argv": [sys.executable, str(launcher), "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    (spec / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))


def test_a_kernel_that_dies_while_starting_is_started_again(tmp_path, monkeypatch, capsys):
    """Kernels started at once can lose the race for a port and die before any cell ran: the
    notebook's kernel is started again and the run completes, saying so."""
    dying_kernels(tmp_path, monkeypatch, deaths=1)
    out = tmp_path / "out"
    code = run_month(SAMPLES, "2026-10", out, notebooks=["order_sla_audit", "service_stats"])
    printed = capsys.readouterr()
    assert code == 0, printed.out + printed.err
    assert len(list((tmp_path / "deaths").iterdir())) == 1
    assert printed.out.count("kernel died starting: started 2 times") == 1
    assert {"order_sla_audit.html", "service_stats.html"} <= {p.name for p in (out / "2026-10").iterdir()}


def test_a_kernel_that_never_starts_fails_its_notebook_after_three_starts(tmp_path, monkeypatch, capsys):
    dying_kernels(tmp_path, monkeypatch, deaths=99)
    code = run_month(SAMPLES, "2026-10", tmp_path / "out", notebooks=["service_stats"])
    printed = capsys.readouterr()
    assert code == 1
    assert "opskit run: service_stats failed at RuntimeError: Kernel died before replying to kernel_info" in printed.err
    assert "kernel died starting: started 3 times" in printed.out
    assert len(list((tmp_path / "deaths").iterdir())) == 3
