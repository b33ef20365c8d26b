"""Dashboard kernels forked by the nursery: what a kernel gets, and that none outlives the nursery."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import pytest
from helpers import alive, descendants

from opskit.report.nursery import KERNEL_NAME, ForkedKernel, Nursery, NurseryKernelManager, is_kernel, kernel_command


@pytest.fixture
def nursery(tmp_path):
    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    keeper = Nursery(folder)
    keeper.start(own_group=True)
    try:
        deadline = time.time() + 60
        while not keeper.ready():
            assert keeper.process.poll() is None, "the nursery ended while importing"
            assert time.time() < deadline, "the nursery did not open its socket"
            time.sleep(0.1)
        yield keeper
    finally:
        below = descendants(keeper.process.pid)
        keeper.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(keeper.process.pid, signal.SIGKILL)
        for pid in below:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def run(manager: NurseryKernelManager, code: str) -> str:
    client = manager.client()
    client.start_channels()
    outputs: list[dict] = []
    try:
        await client.wait_for_ready(timeout=60)
        reply = await client.execute_interactive(code, timeout=60, output_hook=outputs.append)
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    finally:
        client.stop_channels()


def test_a_forked_kernel_runs_in_the_folder_and_environment_asked_for_with_the_imports_done(nursery, tmp_path):
    work = tmp_path / "work"
    work.mkdir()

    async def scenario() -> tuple[int, str, bool]:
        manager = NurseryKernelManager(kernel_name="python3")
        await manager.start_kernel(cwd=str(work), env={**os.environ, "OPSKIT_NURSERY_PROBE": "42"})
        try:
            pid = manager.provisioner.pid
            said = await run(
                manager,
                "import os, sys\n"
                "print(os.getcwd(), os.environ['OPSKIT_NURSERY_PROBE'], os.getpid() == os.getpgid(0), "
                "'pandas' in sys.modules and 'opskit.report.review' in sys.modules)\n"
                # what only a kernel can set up is set up in the kernel: the widgets' comm target, through
                # which a page asks for all its widgets' state at once
                "import ipywidgets\n"
                "print('jupyter.widget.control' in get_ipython().kernel.comm_manager.targets)",
            )
            await manager.interrupt_kernel()  # a signal to its own process group reaches it and it lives on
            assert await manager.is_alive()
        finally:
            await manager.shutdown_kernel(now=False)
        return pid, said, await manager.is_alive()

    pid, said, living = asyncio.run(scenario())
    assert said.split() == [str(work), "42", "True", "True", "True"]
    assert not living
    assert nursery.forked == 1
    deadline = time.time() + 10
    while alive(pid) and time.time() < deadline:
        time.sleep(0.1)
    assert not alive(pid)


def test_a_kernel_ends_when_the_nursery_is_killed(nursery):
    async def start() -> int:
        manager = NurseryKernelManager(kernel_name="python3")
        await manager.start_kernel()
        client = manager.client()
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        client.stop_channels()
        return manager.provisioner.pid

    pid = asyncio.run(start())
    assert Path(f"/proc/{pid}/comm").read_bytes().strip() == KERNEL_NAME and is_kernel(pid)
    assert pid in descendants(nursery.process.pid)
    nursery.process.kill()
    nursery.process.wait()
    deadline = time.time() + 15
    while alive(pid) and time.time() < deadline:
        time.sleep(0.2)
    assert not alive(pid), "a kernel outlived its nursery"


def test_without_a_nursery_the_kernel_is_started_as_a_process(tmp_path):
    assert Nursery.current is None or not Nursery.current.ready()
    saved, Nursery.current = Nursery.current, None

    async def scenario() -> tuple[bytes, bool]:
        manager = NurseryKernelManager(kernel_name="python3")
        await manager.start_kernel()
        try:
            cmdline = Path(f"/proc/{manager.provisioner.pid}/cmdline").read_bytes()
            return cmdline, isinstance(manager.provisioner.process, ForkedKernel)
        finally:
            await manager.shutdown_kernel(now=True)

    try:
        cmdline, forked = asyncio.run(scenario())
    finally:
        Nursery.current = saved
    assert b"ipykernel_launcher" in cmdline and not forked


def test_the_nursery_forks_only_this_pythons_ipykernel(nursery):
    assert kernel_command([sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not kernel_command(["/bin/sh", "-c", "echo hi"])
    assert not kernel_command([sys.executable, "-c", "print(1)"])
    assert nursery.spawn(["/bin/sh", "-c", "echo hi"], dict(os.environ), "/") is None
    assert nursery.forked == 0


def test_a_request_for_another_command_is_refused_by_the_nursery_itself(nursery):
    import json
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(nursery.path))
        sock.sendall(json.dumps({"argv": ["/bin/sh", "-c", "touch /tmp/x"], "env": {}, "cwd": "/"}).encode() + b"\n")
        assert sock.recv(4096) == b""  # closed, nothing forked
    assert descendants(nursery.process.pid) == set()


def test_where_pidfds_are_missing_there_is_no_nursery_and_kernels_start_as_processes(tmp_path, monkeypatch):
    import opskit.report.nursery as nursery_module

    monkeypatch.setattr(nursery_module, "SUPPORTED", False)
    keeper = Nursery(tmp_path)
    keeper.start()
    try:
        assert keeper.process is None and not keeper.ready() and not keeper.wait_ready(timeout=1)
        assert keeper.spawn([sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"], {}, "/") is None
    finally:
        keeper.stop()
    assert Nursery.current is None
