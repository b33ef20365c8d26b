"""Dashboard kernels forked from a process that has already imported what they need.

Why: every page a viewer opens starts a kernel, and a new Python that imports ipykernel, IPython,
pandas, pyarrow, ipywidgets, matplotlib and opskit spends ~0.9 s of processor time before it runs
the first cell, about half of all a kernel does for a page. With ten managers opening pages at once
on two cores, that start-up is paid ten times over while the pages wait. The nursery pays it once:
it is one process, started beside the server, that imports all of it and then only forks. A forked
kernel starts with the imports done and shares their memory with the nursery until it writes to it.

How it fits jupyter-server: `NurseryKernelManager` gives each kernel a `NurseryProvisioner`, which
asks the nursery for a kernel instead of starting a process; the rest (connection file, ports, the
messages, interrupt, shutdown, culling) is jupyter_client's own. When the nursery is not there (still
importing in the first second after the server starts, or gone), the kernel is started as a process
in the ordinary way; the page only pays the import again.

What a forked kernel gets that a started one would: its own session and process group (signals and
`killpg` reach it and nothing else), the environment and working folder jupyter-server asked for,
standard input from /dev/null, the server's standard output and error. It watches the nursery as its
parent (`JPY_PARENT_PID`) and ends when the nursery ends; the nursery ends with the server
(`PR_SET_DEATHSIG`) and when the server stops it. Its process name (`comm`) is `opskit-kernel`.

The nursery only forks: it runs nothing a page sends, reads requests only from the server through a
Unix socket in the server's private folder (mode 0700), and accepts only the ipykernel command.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner
from jupyter_server.services.kernels.kernelmanager import ServerKernelManager

KERNEL_NAME = b"opskit-kernel"
SOCKET_NAME = "nursery.sock"
KERNEL_MODULE = "ipykernel_launcher"
# What a dashboard kernel imports before and while it runs a review notebook (measured with
# `python -X importtime` in a kernel): importing them here is what the nursery is for. Not
# `matplotlib_inline.backend_inline`: importing it is what hooks matplotlib's figures into the kernel's
# display (PNG output), and with no kernel yet, imported here, it hooks nothing and charts vanish.
# Not `ipywidgets` (nor `opskit.report.dashboard`, which imports it), for the same reason: importing it
# in a kernel registers the `jupyter.widget.control` comm target through which a page asks for all its
# widgets at once; imported here, the target is missing, the page falls back to asking widget by widget,
# and under load some pages then never drew their widgets (3 of 4 ten-viewer rounds).
PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.comm",
    "pandas",
    "opskit",
    "opskit.month",
    "opskit.report.review",
    "opskit.report.html",
    "opskit.report.charts",
)
REQUEST_LIMIT = 1 << 20
# pidfds (Linux 5.3+) are how the server holds a kernel that is not its child; elsewhere there is no
# nursery and each kernel is started as a process
SUPPORTED = sys.platform.startswith("linux") and hasattr(os, "pidfd_open") and hasattr(signal, "pidfd_send_signal")


def kernel_command(cmd: list[str]) -> bool:
    """Whether a kernel command is the one the nursery can stand in for: this Python's ipykernel."""
    return len(cmd) >= 3 and cmd[0] == sys.executable and cmd[1:3] == ["-m", KERNEL_MODULE]


def is_kernel(pid: int) -> bool:
    """Whether a process is a kernel: started as a process (`ipykernel` in its command line) or forked by
    the nursery (named `opskit-kernel`, its command line being the nursery's)."""
    try:
        return (
            b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()
            or Path(f"/proc/{pid}/comm").read_bytes().strip() == KERNEL_NAME
        )
    except OSError:
        return False


# ---------------------------------------------------------------------- the server's side


class ForkedKernel:
    """A forked kernel seen through the `subprocess.Popen` methods jupyter_client calls.

    The kernel is the nursery's child, not the server's: the server holds a pidfd (a handle on that
    very process, so a reused pid can never be signalled by mistake) and learns that the kernel has
    ended when the pidfd becomes readable. The exit status stays with the nursery, which reaps the
    kernel; `returncode` is then 0 (jupyter_client only logs it).
    """

    stdin = stdout = stderr = None

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self._pidfd: int | None = pidfd
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self._pidfd is not None:
            ready, _, _ = select.select([self._pidfd], [], [], 0)
            if ready:
                self.returncode = 0
                self._close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired([KERNEL_NAME.decode()], timeout or 0)
            select.select([self._pidfd], [], [], left)
        return 0

    def send_signal(self, signum: int) -> None:
        if self.poll() is None and self._pidfd is not None:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self._pidfd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _close(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None

    def __del__(self) -> None:
        self._close()


class Nursery:
    """The server's handle on the nursery process: start, ask for a kernel, stop."""

    current: Nursery | None = None  # the one the provisioners of this server use

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / SOCKET_NAME
        self.process: subprocess.Popen | None = None
        self.forked = 0

    def start(self, *, own_group: bool = False) -> None:
        """Start importing in the background; kernels are forked once the socket is there (~1 s).
        `own_group` puts the nursery in a process group of its own (for a caller that stops it by group)."""
        if not SUPPORTED:
            return
        env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}  # no BLAS threads in a process that forks
        self.process = subprocess.Popen(
            [sys.executable, "-m", "opskit.report.nursery", str(self.path)],
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=own_group,
        )
        Nursery.current = self

    def ready(self) -> bool:
        return self.process is not None and self.process.poll() is None and self.path.exists()

    def wait_ready(self, timeout: float = 30) -> bool:
        """Wait until the nursery forks (its imports take ~1 s), so that the first viewers get forked kernels."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            if self.process is None or self.process.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def spawn(self, cmd: list[str], env: dict[str, str], cwd: str) -> ForkedKernel | None:
        """A kernel forked for `cmd`, or None when the nursery cannot give one (start it the usual way)."""
        if not kernel_command(cmd) or not self.ready():
            return None
        request = json.dumps({"argv": cmd, "env": dict(env), "cwd": str(cwd)}).encode() + b"\n"
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(10)
                sock.connect(str(self.path))
                sock.sendall(request)
                message, fds, _, _ = socket.recv_fds(sock, 4096, 1)
        except OSError:
            return None
        try:
            pid = int(json.loads(message)["pid"])
        except (ValueError, KeyError, TypeError):
            pid = None
        if pid is None or len(fds) != 1:
            for fd in fds:
                os.close(fd)
            return None
        self.forked += 1
        return ForkedKernel(pid, fds[0])

    def stop(self) -> None:
        if Nursery.current is self:
            Nursery.current = None
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class NurseryProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with the process forked by the nursery when it can be."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        nursery = Nursery.current
        env = kwargs.get("env") or dict(os.environ)
        cwd = str(kwargs.get("cwd") or Path.cwd())
        child = await asyncio.to_thread(nursery.spawn, cmd, env, cwd) if nursery is not None else None
        if child is None:
            return await super().launch_kernel(cmd, **kwargs)
        self.process = child
        self.pid = self.pgid = child.pid  # the kernel leads its own process group
        self.cwd = cwd
        return self.connection_info


class NurseryKernelManager(ServerKernelManager):
    """jupyter-server's kernel manager whose kernels come from the nursery (see the module docstring)."""

    async def _async_pre_start_kernel(self, **kw: Any):
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
            self.provisioner = NurseryProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)


# ---------------------------------------------------------------------- the nursery process


def _die_with_parent() -> None:
    """Ask Linux to send SIGTERM when the server ends, however it ends."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _reap(*_: Any) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _read_request(conn: socket.socket) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk or len(data) > REQUEST_LIMIT:
            raise ValueError("incomplete request")
        data += chunk
    request = json.loads(data)
    if not kernel_command(request.get("argv", [])):
        raise ValueError("not an ipykernel command")
    return request


def _become_kernel(request: dict, listener: socket.socket, conn: socket.socket) -> int:
    """In the forked child: turn into the kernel jupyter-server asked for; returns its exit status."""
    os.setsid()
    for signum in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    listener.close()
    conn.close()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    with contextlib.suppress(OSError):
        Path("/proc/self/comm").write_bytes(KERNEL_NAME)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    nursery = str(os.getppid())
    os.environ["JPY_PARENT_PID"] = nursery
    # ipykernel read JPY_PARENT_PID when the nursery imported it (a class default): say it again, so the
    # kernel watches the nursery and ends when it ends
    argv = [*request["argv"][3:], f"--IPKernelApp.parent_handle={nursery}"]
    sys.argv = [request["argv"][0], *argv]
    from ipykernel import kernelapp

    try:
        kernelapp.launch_new_instance(argv=argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1
    return 0


def main(path: str) -> int:
    """The nursery: import, then fork a kernel for each request until SIGTERM."""
    _die_with_parent()
    stop = lambda signum, frame: sys.exit(0)  # noqa: E731
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if sys.path and (sys.path[0] in ("", os.getcwd())):
        del sys.path[0]  # as ipykernel_launcher does; the kernel adds its own folder back
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as ipykernel sets it
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - a kernel imports it again and reports it itself
            print(f"opskit kernel nursery: {name} not preloaded: {exc}", file=sys.stderr, flush=True)
    with contextlib.suppress(Exception):
        from .charts import refresh_font_cache

        refresh_font_cache()
    import gc

    gc.collect()
    gc.freeze()  # what is here now is never scanned again, so forked kernels do not copy its pages
    signal.signal(signal.SIGCHLD, _reap)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staging = f"{path}.{os.getpid()}"
    listener.bind(staging)
    listener.listen(64)
    os.replace(staging, path)  # the socket appears once everything above is done
    try:
        while True:
            conn, _ = listener.accept()
            with conn:
                try:
                    conn.settimeout(10)
                    request = _read_request(conn)
                except (OSError, ValueError) as exc:
                    print(f"opskit kernel nursery: request refused: {exc}", file=sys.stderr, flush=True)
                    continue
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        code = _become_kernel(request, listener, conn)
                    except BaseException:  # noqa: BLE001 - reported on the server's standard error
                        import traceback

                        traceback.print_exc()
                    finally:
                        with contextlib.suppress(Exception):
                            sys.stdout.flush()
                            sys.stderr.flush()
                        os._exit(code)
                pidfd = os.pidfd_open(pid)
                try:
                    socket.send_fds(conn, [json.dumps({"pid": pid}).encode()], [pidfd])
                except OSError:
                    os.kill(pid, signal.SIGKILL)
                finally:
                    os.close(pidfd)
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
