"""Kernel clients that cannot miss a reply, for every notebook opskit executes: the dashboards'
pages (Voila), the monthly batch and notebooks run by papermill.

jupyter_client's asynchronous channel awaits one `poll` of its socket for a whole timeout, while its
`Session.send` writes through a plain shadow of that socket; a plain send lets libzmq consume the
socket's edge-triggered readiness, and a reply that arrives in that instant wakes nobody until the
poll times out. That happens when the executor sends while it waits for a reply, which nbclient does
whenever a notebook shows widgets: it stands in for the page's Output widgets and sends their
updates on the shell socket. A dashboard then sat on "Executing 4 of 5" for Voila's cell timeout
(120 s, about one load in 30), and a notebook run by papermill, whose cells have no timeout unless
one is given, waited for good.
"""

from __future__ import annotations

import time
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type


class WakefulChannel(AsyncZMQSocketChannel):
    """A kernel channel whose wait for the next message cannot miss one: it waits in slices of
    `wake_every` seconds, and every new poll first asks the socket whether a message is already there."""

    wake_every = 0.25

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = self.wake_every if deadline is None else min(self.wake_every, max(0.0, deadline - time.monotonic()))
            if await self.socket.poll(int(step * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty


class WakefulKernelClient(AsyncKernelClient):
    """The client notebooks are executed with: every channel is a `WakefulChannel`."""

    shell_channel_class = Type(WakefulChannel)
    iopub_channel_class = Type(WakefulChannel)
    stdin_channel_class = Type(WakefulChannel)
    control_channel_class = Type(WakefulChannel)


class WakefulKernelManager(AsyncKernelManager):
    """nbclient's (and so papermill's) kernel manager, handing out `WakefulKernelClient`s: pass it as
    `kernel_manager_class=` to `papermill.execute_notebook` or `nbclient.NotebookClient`."""

    client_class = DottedObjectName("opskit.report.kernels.WakefulKernelClient")
    client_factory = Type(WakefulKernelClient, klass=AsyncKernelClient, config=True)
