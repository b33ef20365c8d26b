"""`opskit serve`: the four reviews as Voila dashboards for a team, with a Chinese front door.

The server runs in this process (`opskit.report.server`), so SIGTERM and SIGINT reach it: it stops
listening and shuts every kernel down before exiting. It listens on the port asked for or says which
port is taken (`--port 0` picks a free one and announces it). It is on 127.0.0.1 unless `--host`
says otherwise; any other address serves the whole network, so it needs a token (`--token`, or
`OPSKIT_SERVE_TOKEN`), checked by jupyter-server's own login, and the names viewers will type
(`--allow-host`). Viewers pick months among the `YYYY-MM/` folders of the data root, which reaches the
notebooks through `OPSKIT_DATA_ROOT`.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
import time
from pathlib import Path

from .errors import OpskitError
from .loader import month_folders
from .report.masking import AUDIENCE

READY = "dashboards ready"
TOKEN_ENV = "OPSKIT_SERVE_TOKEN"


def check_notebooks_folder(folder: Path) -> None:
    """Voila renders what it finds: a link to elsewhere would let viewers run notebooks from outside."""
    root = folder.resolve()
    for path in folder.rglob("*"):
        if path.is_symlink() and root not in path.resolve().parents:
            raise OpskitError(f"{path} links outside {folder}; remove it before serving dashboards")


def resolve_token(host: str, token: str | None) -> str | None:
    """No token on loopback; elsewhere the one given, a generated one for `auto`, or a refusal."""
    from .report.server import is_loopback

    token = token or os.environ.get(TOKEN_ENV) or None
    if token == "auto":
        return secrets.token_urlsafe(24)
    if token:
        if len(token) < 16:
            raise OpskitError("the dashboard token must be at least 16 characters (or --token auto)")
        return token
    if is_loopback(host):
        return None
    raise OpskitError(
        f"--host {host} would serve the findings to everyone who can reach this machine; give a token with "
        f"--token auto (or --token VALUE, or {TOKEN_ENV}) so viewers must log in, and name the host names "
        "they will use with --allow-host"
    )


def serve(
    port: int = 8866,
    data_root: str | Path = "data_samples",
    host: str = "127.0.0.1",
    *,
    allow_host: list[str] | None = None,
    token: str | None = None,
    max_kernels: int = 12,
    release_after: float = 60,
) -> int:
    """Serve the dashboards until SIGTERM/SIGINT; 0 when stopped that way."""
    started = time.perf_counter()
    from .batch import notebooks_dir
    from .report.notebooks import REVIEWS

    if max_kernels < 1:
        raise OpskitError("--max-kernels must be at least 1")
    check_notebooks_folder(notebooks_dir())
    root = Path(data_root).resolve()
    months = month_folders(root)
    if not months:
        raise OpskitError(f"{data_root}: no YYYY-MM month folders to show")
    secret = resolve_token(host, token)
    os.environ["OPSKIT_DATA_ROOT"] = str(root)  # read by the notebooks' parameters cell
    os.environ[AUDIENCE] = "manager"
    from .report import server
    from .report.landing import MonthSummaries

    summaries = MonthSummaries(root)
    app = server.build(
        port=port,
        host=host,
        data_root=root,
        notebooks=notebooks_dir(),
        summaries=summaries,
        reviews=list(REVIEWS),
        allow_host=allow_host or [],
        token=secret,
        max_kernels=max_kernels,
        release_after=release_after,
    )
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{app.port}/"

    def announce(app) -> None:
        login = f"?token={secret}" if secret and secret != (token or os.environ.get(TOKEN_ENV)) else ""
        print(f"serving {len(months)} months ({months[0]} … {months[-1]}) on {url}{login}", flush=True)
        print(f"{READY}: {url} ({time.perf_counter() - started:.1f} s)", flush=True)
        threading.Thread(target=prepare, daemon=True).start()

    def prepare() -> None:
        """After "ready": make the font cache know the CJK font before the first chart is drawn, and compute
        the front door's figures (one month at a time) so the first visitor need not wait."""
        from .report.charts import refresh_font_cache

        refresh_font_cache()
        summaries.all()

    try:
        app.run(announce)
    finally:
        summaries.close()
    print("dashboards stopped", flush=True)
    sys.stdout.flush()
    return 0
