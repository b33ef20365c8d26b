"""`opskit serve`: the review notebooks as Voila dashboards on 127.0.0.1.

Only the notebooks folder is served (a folder holding a virtual environment would make Voila
preheat a kernel for every notebook in it); sources and tracebacks are hidden from viewers; the
data root reaches the notebooks through `OPSKIT_DATA_ROOT`, and viewers pick among its months.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .errors import OpskitError
from .loader import month_folders


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
        "--VoilaConfiguration.file_allowlist=[]",
    ]
    if preheat:
        command += ["--preheat_kernel=True", "--pool_size=1"]
    return command


def serve(
    port: int = 8866, data_root: str | Path = "data_samples", host: str = "127.0.0.1", preheat: bool = True
) -> int:
    root = Path(data_root).resolve()
    months = month_folders(root)
    if not months:
        raise OpskitError(f"{data_root}: no YYYY-MM month folders to show")
    env = {**os.environ, "OPSKIT_DATA_ROOT": str(root)}
    print(f"serving {len(months)} months ({months[0]} … {months[-1]}) on http://{host}:{port}/", flush=True)
    try:
        return subprocess.call(voila_command(port, host, preheat), env=env)
    except KeyboardInterrupt:
        return 0
