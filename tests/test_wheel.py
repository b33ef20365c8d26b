"""A wheel install (not editable) runs the batch and the dashboards: the notebooks ship in the package.

The wheel is built without dependencies and installed into a fresh virtual environment that borrows
this environment's installed libraries through a path file (no download, no second copy of pandas),
and everything runs outside the source tree, so nothing can be imported from it by accident.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from helpers import ROOT, SAMPLES

from opskit.report.notebooks import REVIEWS
from opskit.serve import READY


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy: building writes build/ and egg-info beside the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "opskit", source / "opskit", ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(tmp / "dist")],
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next((tmp / "dist").glob("opskit-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True)
    python = tmp / "venv" / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # this environment's libraries, but not its editable opskit (a path file adds no further path files)
    Path(site, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        cwd=tmp,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    return tmp, wheel, python


def environment(tmp: Path, python: Path) -> dict:
    """The installed commands first on PATH; Jupyter's data files (nbconvert and Voila templates, the
    kernel spec) from the environment whose libraries are borrowed, as a full install would have them."""
    return {
        **os.environ,
        "PATH": f"{python.parent}:{os.environ['PATH']}",
        "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
        "OPSKIT_CACHE": str(tmp / "cache"),
    }


def test_the_wheel_holds_the_notebooks_and_policy(installed):
    _, wheel, _ = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"opskit/notebooks/{n}.ipynb" for n in REVIEWS} <= names
    assert "opskit/policy.yaml" in names and not any(n.startswith(("tests/", "data_samples/")) for n in names)


def test_the_installed_package_is_the_wheel_not_the_source_tree(installed):
    tmp, _, python = installed
    where = subprocess.run(
        [str(python), "-c", "import opskit; print(opskit.__file__)"], capture_output=True, text=True, cwd=tmp
    )
    assert where.returncode == 0 and str(tmp / "venv") in where.stdout and str(ROOT) not in where.stdout


def test_a_wheel_install_runs_the_batch(installed):
    tmp, _, python = installed
    data = tmp / "data"
    shutil.copytree(SAMPLES, data)
    env = environment(tmp, python)
    run = subprocess.run(
        [str(python.parent / "opskit"), "run", str(data), "--month", "2026-10", "--out", str(tmp / "reports")],
        capture_output=True,
        text=True,
        cwd=tmp,
        env=env,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    month = tmp / "reports" / "2026-10"
    assert {f"{n}.html" for n in REVIEWS} <= {p.name for p in month.iterdir()}
    assert "ORD003-LATE-2610" in (month / "order_sla_audit.html").read_text(encoding="utf-8")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_wheel_install_serves_the_dashboards(installed):
    tmp, _, python = installed
    port = free_port()
    env = environment(tmp, python)
    log = (tmp / "serve.log").open("w")
    command = [str(python.parent / "opskit"), "serve", "--port", str(port), "--data-root", str(SAMPLES), "--no-preheat"]
    proc = subprocess.Popen(command, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and READY not in (tmp / "serve.log").read_text():
            assert proc.poll() is None, (tmp / "serve.log").read_text()
            time.sleep(0.5)
        assert READY in (tmp / "serve.log").read_text()
        url = f"http://127.0.0.1:{port}/voila/render/order_sla_audit.ipynb"
        while True:  # without preheating, "ready" may come before Voila listens
            try:
                page = urllib.request.urlopen(url, timeout=300)
                break
            except urllib.error.URLError:
                assert time.time() < deadline and proc.poll() is None, (tmp / "serve.log").read_text()
                time.sleep(0.5)
        body = page.read().decode("utf-8")
        assert page.status == 200 and "Order SLA audit" in body  # the notebook's heading, rendered
        shown = re.sub(r"(?s)<script.*?</script>|<style.*?</style>|<[^>]+>", " ", body)
        assert "application/vnd.jupyter.widget-view+json" in body, shown[-3000:]  # its cells ran: the app was shown
        for leak in ("Traceback", "ModuleNotFoundError", "import opskit"):
            assert leak not in body
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # serve and its Voila, which shuts its kernels down
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
