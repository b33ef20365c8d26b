"""`opskit serve`: the review notebooks as Voila dashboards on 127.0.0.1.

Only the notebooks folder is served (a folder holding a virtual environment would make Voila
preheat a kernel for every notebook in it); sources and tracebacks are hidden from viewers; the
data root reaches the notebooks through `OPSKIT_DATA_ROOT`, and viewers pick among its months.

The first request for a notebook after start-up sometimes stalls in Voila 0.5's preheated mode
(the page never finishes; later requests, served by refilled kernels, are fine). So once a
notebook's pool is filled, `serve` makes that first request itself and says "dashboards ready"
only then; kernels that never get a viewer (that request's) are culled after five idle minutes.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from .errors import OpskitError
from .loader import month_folders
from .report.masking import AUDIENCE

READY = "dashboards ready"
_POOL_FILLED = re.compile(r"Kernel pool of (\S+)\.ipynb is filled")


def voila_command(port: int, host: str = "127.0.0.1", preheat: bool = True, notebooks: Path | None = None) -> list[str]:
    from .batch import notebooks_dir

    folder = notebooks or notebooks_dir()
    command = [
        sys.executable,
        "-m",
        "voila",
        str(folder),
        f"--port={port}",
        "--no-browser",
        f"--Voila.ip={host}",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.file_denylist=.*",
        "--MappingKernelManager.cull_idle_timeout=300",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=False",
    ]
    if preheat:
        command += ["--preheat_kernel=True", "--pool_size=1"]
    return command


def _warm_up(url: str, name: str) -> None:
    with contextlib.suppress(OSError):  # a stalled first request is exactly what this absorbs
        urllib.request.urlopen(f"{url}/voila/render/{name}.ipynb", timeout=60).read()


def _relay(proc: subprocess.Popen, url: str, expected: set[str]) -> None:
    """Copy Voila's log to ours; warm each notebook up once its pool is filled, then say ready."""
    warmers: list[threading.Thread] = []
    for line in proc.stdout:
        sys.stdout.write(line)
        match = _POOL_FILLED.search(line)
        if match and match.group(1) in expected:
            expected.discard(match.group(1))
            warmer = threading.Thread(target=_warm_up, args=(url, match.group(1)), daemon=True)
            warmer.start()
            warmers.append(warmer)
            if not expected:
                threading.Thread(target=_announce, args=(warmers, url), daemon=True).start()
        sys.stdout.flush()


def _announce(warmers: list[threading.Thread], url: str) -> None:
    for warmer in warmers:
        warmer.join()
    print(f"{READY}: {url}/", flush=True)


def check_notebooks_folder(folder: Path) -> None:
    """Voila renders what it finds: a link to elsewhere would let viewers run notebooks from outside."""
    root = folder.resolve()
    for path in folder.rglob("*"):
        if path.is_symlink() and root not in path.resolve().parents:
            raise OpskitError(f"{path} links outside {folder}; remove it before serving dashboards")


def serve(
    port: int = 8866, data_root: str | Path = "data_samples", host: str = "127.0.0.1", preheat: bool = True
) -> int:
    from .batch import notebooks_dir
    from .report.notebooks import REVIEWS

    check_notebooks_folder(notebooks_dir())
    root = Path(data_root).resolve()
    months = month_folders(root)
    if not months:
        raise OpskitError(f"{data_root}: no YYYY-MM month folders to show")
    env = {**os.environ, "OPSKIT_DATA_ROOT": str(root), AUDIENCE: "manager"}
    url = f"http://{host}:{port}"
    print(f"serving {len(months)} months ({months[0]} … {months[-1]}) on {url}/", flush=True)
    proc = subprocess.Popen(
        voila_command(port, host, preheat),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    if preheat:
        relay = threading.Thread(target=_relay, args=(proc, url, set(REVIEWS)), daemon=True)
    else:
        relay = threading.Thread(target=lambda: [sys.stdout.write(line) for line in proc.stdout], daemon=True)
        print(f"{READY}: {url}/", flush=True)
    relay.start()
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=20)
        return 0
