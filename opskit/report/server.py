"""The Voila application behind `opskit serve`: guarded, bounded, in the viewer's language.

What it changes in a stock Voila, and why:

- **No preheated pool.** Voila 0.5's pool pre-executes each notebook before any request. Two failures
  came from it: a request that takes a kernel still pre-rendering awaits a stopped render task and can
  stay on "Executing N of M" (voila-dashboards/voila#1395 describes the symptom); and a pooled kernel is
  protected from the culler only while it sits in the pool, so one idle past `cull_idle_timeout` and
  taken by a viewer is culled in the seconds before the page's websocket connects (jupyter-server
  culls an idle kernel with no connection). It also renders before the request, so the page cannot be
  in the viewer's language. Kernels are cheap now (a dashboard reads a month computed once, not the
  raw exports), so each page starts its own.
- **Release.** A kernel whose page connected and went away is shut down after `release_after` seconds
  idle (60 s), checked every 15 s; the page also releases its kernel when it is closed. A kernel no
  page has connected to yet is kept `connect_grace` seconds (5 min): under load a page can take more
  than a minute from the end of its execution to its websocket (the HTML still streaming, the
  browser still starting the widget code), and a kernel released before then leaves that page on
  its spinner for good (its widgets ask for a kernel that no longer exists). A connected kernel left
  untouched is culled after `cull_idle_timeout` (2 h).
- **Forked kernels.** Each page's kernel is forked from a nursery process that has already imported
  ipykernel, pandas and opskit (`nursery.py`): ~0.9 s less processor time per page.
- **A bound.** At most `max_kernels` kernels run at once; a viewer beyond that gets a polite "busy,
  retrying" page (HTTP 503 with `Retry-After`) that reloads itself.
- **Guards.** Every request, websockets included, must name an allowed host in `Host` and, when it
  sends one, in `Origin` (DNS rebinding and cross-site pages are refused). URL parameters choose only
  the language (`zh`/`en`) and a month among the folders under the data root.
- **No lost replies.** Voila waits for each cell's reply on the shell socket while nbclient, emulating
  the Output widgets of the page, sends `comm_msg` updates on that same socket. jupyter_client sends
  through a plain shadow of the asyncio socket, and a plain send consumes the socket's edge-triggered
  wake-up: a reply that arrives in that instant is not noticed until the wait times out (120 s) — the
  page sat on "Executing 4 of 5" about once in 30 loads. The server's kernel clients
  (`kernels.WakefulKernelClient`) wait in short slices instead, and each new slice looks at the socket afresh.
- **No lost outputs.** The kernel's reply to a cell can come seconds before the cell's outputs (they
  travel on another socket, through the kernel's output thread), and nbclient waits only 4 s for
  them: under load the last cell lost its widget view and its Output widgets' contents, and the page
  drew no widget. The executor waits up to 60 s. And the last Output-widget states nbclient sends
  are delivered to the kernel even though Voila closes the client right after (`kernels`).
- **Log.** Warnings and errors only, each with its time; `OPSKIT_SERVE_LOG=INFO` adds every kernel
  started, connected, released and shut down (what to read when a page stays on its spinner).
- **Words.** The `opskit` template (`share/voila/templates/opskit`) sets `<html lang>`, the page title
  and a language switch, and loads nothing from outside the machine.
"""

from __future__ import annotations

import asyncio
import errno
import html
import ipaddress
import os
import re
import signal
import socket
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import tornado.web
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyter_server.utils import url_path_join
from tornado.httpserver import HTTPServer
from traitlets import Float, Integer
from voila.app import Voila
from voila.static_file_handler import TemplateStaticFileHandler
from voila.tornado.handler import TornadoVoilaHandler

from ..errors import OpskitError
from ..loader import month_folders
from .i18n import t
from .kernels import IOPUB_WAIT
from .landing import page
from .nursery import Nursery

SHARE = Path(__file__).resolve().parent / "share"
TEMPLATE = "opskit"
LANGS = ("zh", "en")
MONTH = re.compile(r"^\d{4}-\d{2}$")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


class ServerBusy(Exception):
    """Raised by the kernel manager when `max_kernels` are running; the page handler turns it into a page."""


class DashboardKernelManager(AsyncMappingKernelManager):
    """jupyter-server's kernel manager with a ceiling and a quick release of kernels nobody watches."""

    max_kernels = Integer(12, config=True, help="kernels running at once; more viewers get a busy page")
    release_after = Float(60, config=True, help="seconds an idle kernel is kept after its page went away")
    connect_grace = Float(300, config=True, help="seconds an idle kernel is kept for a page yet to connect")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._starting = 0
        self._connected_once: set[str] = set()

    @property
    def running(self) -> int:
        return len(self._kernels) + self._starting

    async def start_kernel(self, **kwargs: Any) -> str:
        if self.running >= self.max_kernels:
            raise ServerBusy
        self._starting += 1
        try:
            return await super().start_kernel(**kwargs)
        finally:
            self._starting -= 1

    def notify_connect(self, kernel_id: str) -> None:
        super().notify_connect(kernel_id)
        self._connected_once.add(kernel_id)

    def release_due(self, kernel_id: str, connections: int, idle: float, state: str) -> bool:
        """Whether an idle kernel is released: nobody connected, not busy, and idle past `release_after`
        once its page has connected, or past `connect_grace` while its page has not connected yet."""
        if connections or state == "busy":
            return False
        return idle > (self.release_after if kernel_id in self._connected_once else self.connect_grace)

    async def cull_kernels(self) -> None:
        self._connected_once &= set(self._kernels)  # forget the kernels already gone
        await super().cull_kernels()

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        kernel = self._kernels.get(kernel_id)
        if kernel is None:
            return
        connections = self._kernel_connections.get(kernel_id, 0)
        last = getattr(kernel, "last_activity", None)
        if last is not None:
            from jupyter_server._tz import utcnow

            idle = (utcnow() - last).total_seconds()
            if self.release_due(kernel_id, connections, idle, getattr(kernel, "execution_state", "")):
                seen = "its page went away" if kernel_id in self._connected_once else "no page connected"
                self.log.info("Releasing kernel %s: %s, idle for %.0f s", kernel_id, seen, idle)
                await self.shutdown_kernel(kernel_id)
                return
        await super().cull_kernel_if_idle(kernel_id)


# ---------------------------------------------------------------------- guards


def host_allowed(host_header: str | None, allowed: set[str]) -> bool:
    """Whether a `Host` header (name or address, optional port) names this server."""
    if not host_header:
        return False
    match = re.match(r"^\[([^\]]+)\](?::\d+)?$|^([^:]+)(?::\d+)?$", host_header.strip())
    if not match:
        return False
    name = (match.group(1) or match.group(2)).lower().rstrip(".")
    return name in allowed


def origin_allowed(origin: str | None, allowed: set[str]) -> bool:
    """A missing Origin is a same-site or non-browser request; a present one must name an allowed host."""
    if origin is None:
        return True
    netloc = urlparse(origin).netloc
    return bool(netloc) and host_allowed(netloc, allowed)


class RefusedHandler(tornado.web.RequestHandler):
    """What a request for another host or from another site gets: 403 and one plain sentence."""

    def prepare(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("403: this server answers only to its own host names (see opskit serve --allow-host)\n")


class GuardedApplication(tornado.web.Application):
    """Checks Host and Origin before any handler runs, so no route (static, API, websocket) escapes."""

    def find_handler(self, request, **kwargs):
        allowed = self.settings["opskit_allowed_hosts"]
        if not host_allowed(request.headers.get("Host"), allowed) or not origin_allowed(
            request.headers.get("Origin"), allowed
        ):
            return self.get_handler_delegate(request, RefusedHandler)
        return super().find_handler(request, **kwargs)


# ---------------------------------------------------------------------- pages


def request_lang(handler: tornado.web.RequestHandler) -> str:
    lang = handler.get_argument("lang", "zh")
    return lang if lang in LANGS else "zh"


def lang_switch(lang: str, path: str, params: dict[str, str]) -> str:
    """A link to the same page in the other language."""
    other = "en" if lang == "zh" else "zh"
    query = urlencode({**params, "lang": other})
    return f'<a class="opskit-lang" href="{html.escape(path)}?{html.escape(query)}">{t("switch_language", lang)}</a>'


class DashboardHandler(TornadoVoilaHandler):
    """A review notebook as a page: only the four reviews, a busy page past the kernel ceiling."""

    @tornado.web.authenticated
    async def get(self, path: str | None = None) -> None:
        name = (path or "").removesuffix(".ipynb")
        if name not in self.settings["opskit_reviews"] or path != f"{name}.ipynb":
            raise tornado.web.HTTPError(404)
        self.xsrf_token  # noqa: B018 - sets the cookie the page's release beacon sends back
        generator = self.get_generator(path=path)
        try:
            first = await generator.__anext__()
        except ServerBusy:
            self.busy()
            return
        except StopAsyncIteration:
            return
        self.write(first)
        self.flush()
        async for snippet in generator:
            self.write(snippet)
            self.flush()

    def busy(self) -> None:
        lang = request_lang(self)
        self.set_status(503)
        self.set_header("Retry-After", "5")
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        body = f'<h1 class="opskit-busy">{t("server_busy", lang)}</h1><p>{t("server_busy_retry", lang)}</p>'
        self.finish(page(lang, t("server_busy", lang), body, head='<meta http-equiv="refresh" content="5">'))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        lang = request_lang(self)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        message = t("page_not_found", lang) if status_code == 404 else t("page_error", lang)
        self.finish(page(lang, message, f'<h1>{message}</h1><p><a href="/">{t("all_reviews", lang)}</a></p>'))


class LandingHandler(tornado.web.RequestHandler):
    """The front door: every month under the data root, its as_of, headline figures and four reviews."""

    @property
    def identity_provider(self):
        return self.settings["identity_provider"]

    async def get(self) -> None:
        if self.identity_provider.auth_enabled:
            user = self.identity_provider.get_user(self)
            if asyncio.iscoroutine(user):
                user = await user
            if user is None:
                self.redirect(url_path_join(self.settings["base_url"], "login") + "?next=%2F")
                return
        lang = request_lang(self)
        summaries = self.settings["opskit_summaries"]
        rows = await asyncio.get_running_loop().run_in_executor(None, summaries.all)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        from .landing import landing_html

        self.finish(landing_html(rows, lang, self.settings["opskit_reviews"], lang_switch(lang, "/", {})))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        lang = request_lang(self)
        self.finish(page(lang, t("page_error", lang), f"<h1>{t('page_error', lang)}</h1>"))


class TemplateStaticHandler(TemplateStaticFileHandler):
    """Voila's template static files, with malformed paths answered 404 (Voila's own handler fails with 500)."""

    def parse_url_path(self, path: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]+/static/[^\x00]+", path or "") or ".." in path.split("/"):
            raise tornado.web.HTTPError(404)
        try:
            return super().parse_url_path(path)
        except ValueError:  # an unknown template name
            raise tornado.web.HTTPError(404) from None


class NotFoundHandler(tornado.web.RequestHandler):
    def prepare(self) -> None:
        lang = request_lang(self)
        self.set_status(404)
        self.finish(page(lang, t("page_not_found", lang), f"<h1>{t('page_not_found', lang)}</h1>"))


# ---------------------------------------------------------------------- per request


def prelaunch(data_root: Path, reviews: dict[str, str]):
    """Voila's prelaunch hook: the notebook executed for this request, in its language and month.

    Only two parameters reach the kernel, both checked against fixed choices: `lang` (zh/en) and
    `month` (one of the month folders under the data root); anything else in the URL is ignored.
    """

    def hook(handler, notebook, cwd):
        lang = request_lang(handler)
        month = handler.get_argument("month", "")
        months = month_folders(data_root)
        month = month if MONTH.match(month) and month in months else None
        name = Path(handler.request.path).name.removesuffix(".ipynb")
        notebook.metadata["title"] = f"{t(name, lang)} · {t('site_title', lang)}"
        notebook.metadata["opskit"] = {"lang": lang, "month": month or "", "review": name, "widget_wait": widget_wait()}
        for cell in notebook.cells:
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                cell.source += f"\nlang = {lang!r}\nmonth = {month!r}\n"
                break
        return notebook

    return hook


# ---------------------------------------------------------------------- the application


class DashboardServer(Voila):
    """Voila with the guards, pages and lifecycle described in the module docstring."""

    def __init__(self, *, data_root: Path, allowed_hosts: set[str], summaries, reviews: list[str], **kwargs):
        super().__init__(**kwargs)
        self.opskit_root = data_root
        self.opskit_allowed = allowed_hosts
        self.opskit_summaries = summaries
        self.opskit_reviews = reviews
        self.http_server: HTTPServer | None = None
        self.sockets: list[socket.socket] = []
        self.nursery: Nursery | None = None

    def init_handlers(self) -> list:
        handlers = [
            h
            for h in super().init_handlers()
            if h[0] not in (self.server_url, url_path_join(self.server_url, r"/voila/render/(.*)"))
            and "/voila/tree" not in h[0]
            and "/voila/api/contents" not in h[0]
        ]
        render = url_path_join(self.server_url, r"/voila/render/(.*)")
        kwargs = {"template_paths": self.template_paths, "config": self.config}
        kwargs["voila_configuration"] = self.voila_configuration
        handlers = [(h[0], TemplateStaticHandler, *h[2:]) if h[1] is TemplateStaticFileHandler else h for h in handlers]
        return [
            (self.server_url, LandingHandler),
            (render, DashboardHandler, kwargs),
            (url_path_join(self.server_url, r"/logout"), NotFoundHandler),  # nothing to log out of: a token login
            *handlers,
            (r"/api/(?!kernels/[^/]+/channels$).*", NotFoundHandler),
            (r"/voila/(tree|api/contents)(/.*)?", NotFoundHandler),
        ]

    def start(self) -> None:
        """Voila's `start`, with the guarded application and a listener that names a taken port."""
        self.connection_dir = tempfile.mkdtemp(prefix="voila_", dir=self.connection_dir_root)
        settings = self.init_settings()
        settings.update(
            opskit_allowed_hosts=self.opskit_allowed,
            opskit_summaries=self.opskit_summaries,
            opskit_reviews=self.opskit_reviews,
            default_handler_class=NotFoundHandler,
        )
        self.app = GuardedApplication(**settings)
        self.app.settings.update(self.tornado_settings)
        self.app.add_handlers(".*$", self.init_handlers())
        from tornado.netutil import bind_sockets

        try:
            self.sockets = bind_sockets(self.port, self.ip, reuse_port=False)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise OpskitError(
                    f"port {self.port} on {self.ip} is already in use; stop what listens there or choose another "
                    "with --port (--port 0 picks a free one)"
                ) from None
            raise OpskitError(f"cannot listen on {self.ip}:{self.port}: {exc.strerror}") from None
        self.port = self.sockets[0].getsockname()[1]
        self.http_server = HTTPServer(self.app, xheaders=False)
        self.http_server.add_sockets(self.sockets)
        self.nursery = Nursery(self.connection_dir)  # a private folder (mode 0700) holds its socket
        self.nursery.start()

    def run(self, announce) -> None:
        """Serve until SIGTERM or SIGINT, then stop listening and shut every kernel down."""
        import tornado.ioloop

        if self.nursery is not None and not self.nursery.wait_ready():
            self.log.warning("the kernel nursery is not running: each page starts its kernel as a new process")
        self.ioloop = tornado.ioloop.IOLoop.current()
        stop = lambda signum, frame: self.ioloop.add_callback_from_signal(self.ioloop.stop)  # noqa: E731
        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        self.ioloop.add_callback(announce, self)
        try:
            self.ioloop.start()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.shutdown()

    def shutdown(self) -> None:
        if self.http_server is not None:
            self.http_server.stop()
        for sock in self.sockets:
            sock.close()

        async def stop_kernels() -> None:
            await self.kernel_manager.shutdown_all(now=True)

        try:
            if getattr(self, "ioloop", None) is not None:  # None when stopped before it served
                self.ioloop.run_sync(stop_kernels, timeout=20)
        except Exception as exc:  # noqa: BLE001 - reported, then the process exits anyway
            self.log.warning("while stopping kernels: %s", exc)
        if self.nursery is not None:
            self.nursery.stop()
        import shutil

        shutil.rmtree(self.connection_dir, ignore_errors=True)


WIDGET_WAIT_ENV = "OPSKIT_WIDGET_WAIT"


def widget_wait() -> int:
    """Seconds a page whose notebook has run may go without drawing its widgets before it reloads itself
    once (`OPSKIT_WIDGET_WAIT`, default 45; 0: never): a safety net, since a reload runs the notebook
    again in a new kernel. The failure it was added for (widgets drawn, the findings box empty: the
    last Output-widget states were dropped when Voila closed its client) is fixed in `kernels`."""
    value = os.environ.get(WIDGET_WAIT_ENV, "")
    return int(value) if value.isdigit() else 45


LOG_ENV = "OPSKIT_SERVE_LOG"
LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")


def log_level() -> str:
    """`OPSKIT_SERVE_LOG` when it names a level (INFO logs each kernel's start, connection and release),
    else WARN."""
    level = os.environ.get(LOG_ENV, "WARN").strip().upper().removesuffix("ING")
    return level if level in LOG_LEVELS else "WARN"


def allowed_hosts(host: str, extra: list[str]) -> set[str]:
    names = {*LOOPBACK_NAMES, *(name.lower().rstrip(".") for name in extra)}
    if host not in ("0.0.0.0", "::", ""):
        names.add(host.lower())
    return names


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build(
    *,
    port: int,
    host: str,
    data_root: Path,
    notebooks: Path,
    summaries,
    reviews: list[str],
    allow_host: list[str],
    token: str | None,
    max_kernels: int,
    release_after: float,
) -> DashboardServer:
    """A configured, listening (not yet serving) dashboard server."""
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(SHARE), os.environ.get("JUPYTER_PATH")]))
    argv = [
        str(notebooks),
        "--no-browser",
        f"--Voila.ip={host}",
        f"--Voila.port={port}",
        f"--VoilaConfiguration.template={TEMPLATE}",
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.file_denylist=.*",
        "--VoilaConfiguration.file_allowlist=",
        "--VoilaConfiguration.preheat_kernel=False",
        "--VoilaConfiguration.multi_kernel_manager_class=opskit.report.server.DashboardKernelManager",
        f"--DashboardKernelManager.max_kernels={max_kernels}",
        f"--DashboardKernelManager.release_after={release_after}",
        "--DashboardKernelManager.cull_idle_timeout=7200",
        "--DashboardKernelManager.cull_interval=15",
        "--DashboardKernelManager.cull_connected=True",
        "--DashboardKernelManager.kernel_manager_class=opskit.report.nursery.NurseryKernelManager",
        "--ServerKernelManager.client_factory=opskit.report.kernels.WakefulKernelClient",
        "--VoilaExecutor.startup_timeout=60",
        "--VoilaExecutor.timeout=120",
        # nbclient keeps a cell's outputs only if they come within `iopub_timeout` (4 s) of its reply:
        # on a busy machine the last cell's outputs came later, and the page drew no widget at all
        f"--VoilaExecutor.iopub_timeout={IOPUB_WAIT}",
        f"--Voila.log_level={log_level()}",
        "--Voila.log_format=%(asctime)s %(levelname)s %(message)s",
    ]
    if token:
        argv.append(f"--Voila.token={token}")
    app = DashboardServer(
        data_root=data_root, allowed_hosts=allowed_hosts(host, allow_host), summaries=summaries, reviews=reviews
    )
    app.initialize(argv)
    app.voila_configuration.prelaunch_hook = prelaunch(data_root, {r: r for r in reviews})
    app.start()
    return app
