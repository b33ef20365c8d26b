"""Benchmarks of opskit as its users run it: whole processes, real files, a real browser."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The headless browser the dashboard is measured and tested in. Debian's `chromium-headless-shell` is
# the kind of headless Chromium Playwright itself ships: no browser UI behind the page. Debian's full
# `chromium --headless` keeps its UI running and spends ~0.1 s of processor per second on every page
# that is still loading, which at ten viewers on two cores is ~8 s taken from the dashboards.
HEADLESS_SHELL = Path("/usr/bin/chromium-headless-shell")
CHROMIUM = str(HEADLESS_SHELL if HEADLESS_SHELL.exists() else Path("/usr/bin/chromium"))
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def byte_compile() -> None:
    """Compile opskit's modules to bytecode before anything is timed, as `pip install` does for an
    installed package (and as DuckDB's package was when pip installed it).

    A checkout installed in editable mode where PYTHONDONTWRITEBYTECODE is set never keeps bytecode:
    every measured process would compile the ~30 modules a check imports from source, about 0.1 s
    that no user of an installed opskit pays. Existing bytecode is read even with that variable set,
    and bytecode older than its source is ignored, so this cannot measure stale code."""
    import compileall

    compileall.compile_dir(ROOT / "opskit", quiet=1)
