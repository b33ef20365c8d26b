"""`opskit serve` without a browser: guards, pages, the port, the token rule and a clean stop on SIGTERM.

One server (module fixture) serves a data root with the October samples and a broken November; the
tests talk HTTP to it as written (no client-side normalisation). Every process started here runs in
its own process group and is killed with its children when the test ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, SAMPLES, alive, descendants

from opskit.errors import OpskitError
from opskit.report.kernels import WakefulChannel, WakefulKernelClient
from opskit.report.landing import landing_html
from opskit.report.notebooks import REVIEWS
from opskit.report.nursery import is_kernel
from opskit.report.server import DashboardKernelManager, host_allowed, origin_allowed
from opskit.serve import READY, resolve_token

ALLOWED = {"127.0.0.1", "localhost", "::1", "ops.example.cn"}


def test_host_header_must_name_this_server():
    assert host_allowed("127.0.0.1:8866", ALLOWED)
    assert host_allowed("localhost", ALLOWED)
    assert host_allowed("[::1]:8866", ALLOWED)
    assert host_allowed("OPS.example.cn.:80", ALLOWED)
    assert not host_allowed("evil.example.com:8866", ALLOWED)
    assert not host_allowed("127.0.0.1.evil.com", ALLOWED)
    assert not host_allowed("", ALLOWED)
    assert not host_allowed(None, ALLOWED)


def test_origin_is_checked_when_sent():
    assert origin_allowed(None, ALLOWED)
    assert origin_allowed("http://localhost:8866", ALLOWED)
    assert not origin_allowed("http://evil.example.com", ALLOWED)
    assert not origin_allowed("null", ALLOWED)


def test_a_kernel_waits_for_its_page_longer_than_for_a_page_that_went_away():
    """A kernel no page has connected to yet is not released after a minute: under load the page can
    take that long to connect, and released it would stay on its spinner for good."""
    km = DashboardKernelManager(release_after=60, connect_grace=300)
    km._kernel_connections.update(waiting=0, seen=0)
    km.notify_connect("seen")
    km.notify_disconnect("seen")  # its tab was closed
    assert not km.release_due("waiting", 0, 90, "idle")
    assert km.release_due("seen", 0, 90, "idle")
    assert km.release_due("waiting", 0, 301, "idle")
    assert not km.release_due("seen", 1, 9999, "idle")  # a page is connected: the two-hour cull decides
    assert not km.release_due("seen", 0, 9999, "busy")


async def reply_during_a_send(channel_class, timeout: float = 3.0) -> tuple[str, float]:
    """A kernel's reply that lands while the client sends on the same socket, as Voila's page execution
    does (nbclient sends Output-widget `comm_msg`s on the shell socket while it waits for the cell's
    reply): what the channel returns, and after how many seconds."""
    import asyncio

    import zmq
    import zmq.asyncio
    from jupyter_client.session import Session

    context = zmq.asyncio.Context()
    kernel = zmq.Context.instance().socket(zmq.ROUTER)
    client = context.socket(zmq.DEALER)
    try:
        port = kernel.bind_to_random_port("tcp://127.0.0.1")
        client.connect(f"tcp://127.0.0.1:{port}")
        session = Session(key=b"opskit")
        channel = channel_class(client, session)
        session.send(client, "execute_request", {"code": "show()"})
        identity = kernel.recv_multipart()[0]
        waiting = asyncio.ensure_future(channel.get_msg(timeout=timeout))
        await asyncio.sleep(0.05)  # the client is now waiting on its socket
        session.send(kernel, "execute_reply", {"status": "ok"}, ident=[identity])
        time.sleep(0.05)  # the reply has reached the client's socket; the event loop has not run since
        session.send(client, "comm_msg", {"data": {"method": "update"}})  # jupyter_client's plain send
        started = time.monotonic()
        try:
            message = await waiting
        except Exception as exc:  # noqa: BLE001 - reported as the outcome
            return type(exc).__name__, time.monotonic() - started
        return message["msg_type"], time.monotonic() - started
    finally:
        client.close(0)
        kernel.close(0)
        context.term()


def test_a_reply_that_arrives_during_a_send_is_not_missed():
    """The cause of the pages that stayed on "Executing 4 of 5": jupyter_client's own channel notices
    such a reply only when its wait times out (Voila's is 120 s); the dashboards' channel within a
    fraction of a second."""
    import asyncio

    from jupyter_client.channels import AsyncZMQSocketChannel

    kind, waited = asyncio.run(reply_during_a_send(AsyncZMQSocketChannel, timeout=2.0))
    assert waited > 1.5, "jupyter_client no longer misses this reply: WakefulChannel can go"
    kind, waited = asyncio.run(reply_during_a_send(WakefulChannel, timeout=30.0))
    assert kind == "execute_reply" and waited < 1.0


def sent_before_stop_reaches_kernel(client_class) -> str | None:
    """A message a client sends just before `stop_channels()`, to a kernel that has not read it yet
    (here: not listening yet; on a busy machine, a kernel whose socket libzmq has not written to):
    the message type the kernel receives once it reads, or None."""
    import socket as sockets

    import zmq
    from jupyter_client.session import Session

    ports = []
    for _ in range(5):
        with sockets.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            ports.append(probe.getsockname()[1])
    session = Session(key=b"opskit")
    client = client_class(
        session=session,
        ip="127.0.0.1",
        transport="tcp",
        shell_port=ports[0],
        iopub_port=ports[1],
        stdin_port=ports[2],
        control_port=ports[3],
        hb_port=ports[4],
    )
    client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
    client.shell_channel.send(session.msg("comm_msg", {"comm_id": "out", "data": {"method": "update"}}))
    client.stop_channels()  # what Voila does a few milliseconds after the last cell's Output-widget updates
    kernel = zmq.Context.instance().socket(zmq.ROUTER)
    try:
        kernel.bind(f"tcp://127.0.0.1:{ports[0]}")
        if not kernel.poll(3000):
            return None
        _, message = session.feed_identities(kernel.recv_multipart())
        return session.deserialize(message)["msg_type"]
    finally:
        kernel.close(0)


def test_the_last_output_widget_states_reach_the_kernel():
    """The cause of the pages that drew every widget but an empty findings table: Voila closes its
    client right after the last cell, and jupyter_client's channels drop what libzmq has not yet
    written to the kernel (the last Output-widget states nbclient sent). The dashboards' client
    delivers them."""
    from jupyter_client.asynchronous import AsyncKernelClient

    assert sent_before_stop_reaches_kernel(AsyncKernelClient) is None, (
        "jupyter_client no longer drops this message: WakefulChannel.close can go"
    )
    assert sent_before_stop_reaches_kernel(WakefulKernelClient) == "comm_msg"


def test_notebooks_run_by_the_batch_use_the_wakeful_client(tmp_path, monkeypatch):
    """The batch's papermill runs (and `make notebooks`) get kernel clients whose every channel is
    wakeful: a notebook showing widgets makes nbclient send while it waits for a reply."""
    import papermill

    from opskit import batch
    from opskit.report.kernels import IOPUB_WAIT, WakefulKernelManager

    client = WakefulKernelManager().client()
    assert isinstance(client, WakefulKernelClient)
    assert all(
        issubclass(cls, WakefulChannel)
        for cls in (client.shell_channel_class, client.iopub_channel_class, client.control_channel_class)
    )
    seen = {}

    def record(*args, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("recorded")

    monkeypatch.setattr(papermill, "execute_notebook", record)
    monkeypatch.setattr(batch, "_quiet_worker", lambda: None)  # keep pytest's stderr
    run = batch._execute("service_stats", str(tmp_path), {"data_root": str(SAMPLES), "output_dir": "."}, 60)
    assert not run.ok and "recorded" in run.error
    assert seen["kernel_manager_class"] is WakefulKernelManager
    assert seen["iopub_timeout"] == IOPUB_WAIT  # a busy machine's late outputs are waited for, not an error


def test_dashboard_kernels_are_executed_through_the_wakeful_client(root, monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))  # build() extends it
    from opskit.batch import notebooks_dir
    from opskit.report import server as dashboards
    from opskit.report.landing import MonthSummaries

    app = dashboards.build(
        port=0,
        host="127.0.0.1",
        data_root=root,
        notebooks=notebooks_dir(),
        summaries=MonthSummaries(root),
        reviews=list(REVIEWS),
        allow_host=[],
        token=None,
        max_kernels=2,
        release_after=60,
    )
    try:
        manager = app.kernel_manager.kernel_manager_factory(parent=app.kernel_manager, log=app.log)
        client = manager.client()
        assert isinstance(client, WakefulKernelClient)
        assert all(
            issubclass(cls, WakefulChannel)
            for cls in (client.shell_channel_class, client.iopub_channel_class, client.control_channel_class)
        )
        # a loaded machine delivered the last cell's outputs more than nbclient's default 4 s after its
        # reply; they were dropped, and the page drew no widget
        assert app.config.VoilaExecutor.iopub_timeout >= 30
    finally:
        app.shutdown()


def test_the_server_log_level_comes_from_the_environment(monkeypatch):
    from opskit.report.server import log_level

    monkeypatch.delenv("OPSKIT_SERVE_LOG", raising=False)
    assert log_level() == "WARN"
    monkeypatch.setenv("OPSKIT_SERVE_LOG", "info")
    assert log_level() == "INFO"
    monkeypatch.setenv("OPSKIT_SERVE_LOG", "warning")
    assert log_level() == "WARN"
    monkeypatch.setenv("OPSKIT_SERVE_LOG", "loud; rm -rf /")  # not a level: the default, no traceback
    assert log_level() == "WARN"


def test_non_loopback_host_needs_a_token(monkeypatch):
    monkeypatch.delenv("OPSKIT_SERVE_TOKEN", raising=False)
    assert resolve_token("127.0.0.1", None) is None
    assert resolve_token("localhost", None) is None
    with pytest.raises(OpskitError, match=r"--host 0\.0\.0\.0 would serve the findings to everyone.*--token auto"):
        resolve_token("0.0.0.0", None)
    with pytest.raises(OpskitError, match="at least 16 characters"):
        resolve_token("0.0.0.0", "short")
    generated = resolve_token("0.0.0.0", "auto")
    assert len(generated) >= 24 and generated != resolve_token("0.0.0.0", "auto")
    monkeypatch.setenv("OPSKIT_SERVE_TOKEN", "x" * 20)
    assert resolve_token("10.0.0.5", None) == "x" * 20


def test_cli_refuses_a_public_host_without_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OPSKIT_SERVE_TOKEN"}
    out = subprocess.run(
        [sys.executable, "-m", "opskit.cli", "serve", "--host", "0.0.0.0", "--data-root", str(SAMPLES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2
    assert "--host 0.0.0.0 would serve the findings" in out.stderr and "Traceback" not in out.stderr


def test_landing_page_lists_each_month_with_as_of_figures_and_links():
    rows = [
        {
            "month": "2026-10",
            "as_of": "2026-11-01 00:00",
            "reviews": {name: {"findings": 3, "open": 1} for name in REVIEWS},
            "error": "",
        },
        {"month": "2026-09", "as_of": "", "reviews": {}, "error": "orders.csv, row 2: <bad>"},
    ]
    zh = landing_html(rows, "zh", list(REVIEWS), "")
    assert zh.startswith('<!DOCTYPE html>\n<html lang="zh">') and "<title>运营月度报表</title>" in zh
    assert "2026-11-01 00:00" in zh and "3 条违规 · 1 项未结" in zh
    assert zh.count('href="/voila/render/') == 8
    assert 'href="/voila/render/order_sla_audit.ipynb?month=2026-10&amp;lang=zh"' in zh
    assert "orders.csv, row 2: &lt;bad&gt;" in zh  # escaped, shown on its month
    en = landing_html(rows, "en", list(REVIEWS), "")
    assert '<html lang="en">' in en and "Monthly operations reviews" in en and "3 findings · 1 open" in en
    assert "http://" not in zh + en and "https://" not in zh + en


# ---------------------------------------------------------------------- a running server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(root: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    log = root / f"serve-{time.monotonic_ns()}.log"
    with log.open("w") as sink:  # a file, not a pipe: an unread pipe fills up and blocks the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "opskit.cli", "serve", "--data-root", str(root), *args],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return proc, log


def wait_ready(proc: subprocess.Popen, log: Path, timeout: float = 120) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        match = re.search(rf"{READY}: http://127\.0\.0\.1:(\d+)/", log.read_text())
        if match:
            return int(match.group(1))
        time.sleep(0.2)
    pytest.fail(f"opskit serve did not become ready:\n{log.read_text()}")


def stop(proc: subprocess.Popen) -> None:
    """Kill a server and everything under it (used when a test failed before stopping it cleanly)."""
    pids = descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    shutil.copytree(SAMPLES / "2026-10", root / "2026-10")
    (root / "2026-11").mkdir()
    (root / "2026-11" / "orders.csv").write_text("订单编号,渠道,下单时间\nN1,京东,2026-11-03\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def server(root):
    proc, log = start_server(root, "--port", "0")
    try:
        port = wait_ready(proc, log)
        yield port, proc, log
    finally:
        stop(proc)


def get(port: int, path: str, headers: dict | None = None, timeout: float = 120) -> tuple[int, str, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read().decode("utf-8", "replace"), dict(response.getheaders())


def test_ready_announces_the_real_port(server):
    port, proc, log = server
    assert proc.poll() is None
    with socket.create_connection(("127.0.0.1", port), timeout=5):
        pass
    assert f"{READY}: http://127.0.0.1:{port}/" in log.read_text()


def test_foreign_host_and_origin_are_refused(server):
    port = server[0]
    assert get(port, "/", {"Host": "evil.example.com"})[0] == 403
    assert get(port, "/", {"Host": f"evil.example.com:{port}"})[0] == 403
    assert get(port, "/voila/static/voila.js", {"Host": "rebind.attacker.test"})[0] == 403
    assert get(port, "/", {"Origin": "http://evil.example.com"})[0] == 403
    status, body, _ = get(port, "/", {"Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"})
    assert status == 200 and "运营月度报表" in body


def test_landing_page_in_chinese_then_english(server):
    port = server[0]
    status, body, _ = get(port, "/")
    assert status == 200 and '<html lang="zh">' in body and "<title>运营月度报表</title>" in body
    assert "2026-10" in body and "2026-11-01 00:00" in body and "20 条违规" in body
    assert "orders.csv, row 2, column 渠道 (channel)" in body  # the broken month says why, on its row
    assert 'href="/?lang=en"' in body
    status, body, _ = get(port, "/?lang=en")
    assert '<html lang="en">' in body and "Monthly operations reviews" in body and "20 findings" in body


PROBES = [
    "/voila/static/",
    "/voila/static/..%2f..%2fetc%2fpasswd",
    "/voila/static/%00",
    "/voila/templates/",
    "/voila/templates/opskit/index.html.j2",
    "/voila/templates/../../../etc/passwd",
    "/voila/labextensions/",
    "/voila/labextensions/%2e%2e/%2e%2e/etc/passwd",
    "/voila/api/themes/",
    "/voila/api/themes/..%2f..%2fsetup.py",
    "/voila/api/shutdown/not-a-kernel",
    "/voila/render/",
    "/voila/render/nothing.ipynb",
    "/voila/render/order_sla_audit.ipynb/extra",
    "/voila/render/..%2fnotebooks%2forder_sla_audit.ipynb",
    "/voila/files/",
    "/voila/tree",
    "/voila/tree/",
    "/voila/api/contents/",
    "/api/kernels/00000000-0000-0000-0000-000000000000",
    "/api/kernels/not-a-kernel/channels",
    "/api/kernelspecs",
    "/api/config/x",
    "/api/",
    "/login?next=http://evil.example.com",
    "/logout",
    "/static/",
    "/%ff",
    "/?lang=%ff%fe",
    "/nothing/here",
]


@pytest.mark.parametrize("path", PROBES)
def test_no_url_answers_500_or_leaks(server, path):
    status, body, _ = get(server[0], path)
    assert status < 500, (path, status, body[:300])
    assert "Traceback" not in body and "root:x:" not in body and "import opskit" not in body


def test_a_taken_port_is_an_error_naming_it(server, root):
    port = server[0]
    proc, log = start_server(root, "--port", str(port))
    try:
        assert proc.wait(timeout=120) == 2
    finally:
        stop(proc)
    text = log.read_text()
    assert f"port {port} on 127.0.0.1 is already in use" in text and "Traceback" not in text
    assert READY not in text


def test_sigterm_stops_the_server_and_every_kernel(root):
    proc, log = start_server(root, "--port", "0")
    try:
        port = wait_ready(proc, log)
        status, body, _ = get(port, "/voila/render/order_sla_audit.ipynb?lang=en&month=2026-10")
        assert status == 200
        assert '<html lang="en">' in body and "<title>Order SLA audit · Monthly operations reviews</title>" in body
        external = re.findall(r"""(?:src|href)=["'](?:https?:)?//[^"']+""", body)
        assert external == [], external  # nothing is loaded from outside the machine
        kernels = [p for p in descendants(proc.pid) if is_kernel(p)]
        assert kernels, "the page started no kernel"
        everything = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        deadline = time.time() + 10
        while time.time() < deadline and any(alive(p) for p in everything):
            time.sleep(0.2)
        assert not [p for p in everything if alive(p)]
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
        assert "dashboards stopped" in log.read_text()
    finally:
        stop(proc)
