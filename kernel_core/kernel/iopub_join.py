"""A client's first cell waits for its iopub subscription (ZeroMQ's slow joiner).

A client connects its iopub SUB socket and its shell socket together, but a subscription
reaches the kernel some milliseconds later, more on a loaded machine. A client that sends a
cell at once (``jupyter console`` does: it waits for kernel_info on shell, never for iopub)
misses everything the cell publishes, its ``idle`` status too, and waits for it forever.

So the first running request of each session (Jupyter's session id: one per client) claims
a subscription that arrived and no session claimed yet, or waits up to ``JOIN_WAIT`` for
one. Clients that subscribe and never run code leave subscriptions unclaimed, so a later
client without iopub runs at once: the kernel cannot tell whose a subscription is (a
subscription carries only a topic), and waiting on every session would slow those that
have none at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict

log = logging.getLogger(__name__)

# How long a new session's first cell waits for a subscription to arrive.
JOIN_WAIT = 2.0
# Sessions remembered as joined (the oldest are forgotten beyond this).
REMEMBERED_SESSIONS = 4096


class IopubJoins:
    """Subscriptions that arrived and the sessions that claimed one (protocol loop only)."""

    def __init__(self, wait: float = JOIN_WAIT) -> None:
        self._wait = wait
        self._unclaimed = 0
        self._joined: OrderedDict[str, None] = OrderedDict()
        self._arrived = asyncio.Event()

    def subscribed(self) -> None:
        """An iopub subscription arrived."""
        self._unclaimed += 1
        self._arrived.set()

    async def joined(self, session: str) -> None:
        """Return once ``session`` may run code without losing its output (or the wait
        for its subscription is over)."""
        if session in self._joined:
            return
        if not self._unclaimed:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), self._wait)
        if self._unclaimed:
            self._unclaimed -= 1
        else:
            log.info("session %s runs code with no iopub subscription of its own", session)
        self._joined[session] = None
        if len(self._joined) > REMEMBERED_SESSIONS:
            self._joined.popitem(last=False)
