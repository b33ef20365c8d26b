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

Those same updates are the last messages a dashboard's executor sends: nbclient hands the findings
table to its Output widget at the very end of the last cell, and Voila closes the client a few
milliseconds later. jupyter_client closes each channel with `linger=0` and then terminates the
client's zmq context, which throws away whatever libzmq had not yet written to the kernel; on a busy
machine that was the last Output-widget states (about one page in 40 at ten viewers on two cores).
The kernel then held an empty findings box, and the page drew exactly that: every widget, no table.
A `WakefulKernelClient` closes its channels letting libzmq deliver what was already sent, and ends
its context in the background so that nobody waits for the delivery.
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type

# Seconds nbclient waits for a cell's outputs after the kernel's reply to it (its own default is 4):
# the outputs travel on another socket, through the kernel's output thread, and on a busy machine
# they came more than 8 s after the reply. Past this, a dashboard drew no widget (nbclient drops the
# outputs silently there) and the batch failed its notebook (papermill raises).
IOPUB_WAIT = 60


class WakefulChannel(AsyncZMQSocketChannel):
    """A kernel channel whose wait for the next message cannot miss one: it waits in slices of
    `wake_every` seconds, and every new poll first asks the socket whether a message is already there."""

    wake_every = 0.25
    deliver_within_ms = 5000  # how long libzmq may still write what was sent before the channel closed

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = self.wake_every if deadline is None else min(self.wake_every, max(0.0, deadline - time.monotonic()))
            if await self.socket.poll(int(step * 1000)):
                return await self._recv()
            if deadline is not None and time.monotonic() >= deadline:
                raise Empty

    def close(self) -> None:
        """Close the socket but keep what was sent on it: jupyter_client's `linger=0` discards the
        messages libzmq has not written yet, such as the last Output-widget states of a page."""
        if self.socket is not None:
            with suppress(Exception):
                self.socket.close(linger=self.deliver_within_ms)
            self.socket = None

    stop = close


class WakefulKernelClient(AsyncKernelClient):
    """The client notebooks are executed with: every channel is a `WakefulChannel`."""

    shell_channel_class = Type(WakefulChannel)
    iopub_channel_class = Type(WakefulChannel)
    stdin_channel_class = Type(WakefulChannel)
    control_channel_class = Type(WakefulChannel)

    def stop_channels(self) -> None:
        """Stop the channels as jupyter_client does, but end the client's own zmq context in a
        background thread: terminating it waits until the closed channels have delivered what was
        sent on them (or `deliver_within_ms` passed), which the server's event loop must not wait for."""
        context = self.context if self._created_context else None
        self._created_context = False  # jupyter_client would terminate it here, with a 0.1 s linger
        super().stop_channels()
        if context is not None and not context.closed:
            threading.Thread(target=context.term, name="zmq-context-term", daemon=True).start()


class WakefulKernelManager(AsyncKernelManager):
    """nbclient's (and so papermill's) kernel manager, handing out `WakefulKernelClient`s: pass it as
    `kernel_manager_class=` to `papermill.execute_notebook` or `nbclient.NotebookClient`."""

    client_class = DottedObjectName("opskit.report.kernels.WakefulKernelClient")
    client_factory = Type(WakefulKernelClient, klass=AsyncKernelClient, config=True)
