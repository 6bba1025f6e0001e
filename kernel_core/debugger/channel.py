"""How DAP requests reach the execution thread, whatever it is doing.

Every request is queued here and served on the execution thread (the only thread that may
touch Lua): by the paused loop while a script is stopped, by the multiplexer's hook (armed
asynchronously, ~80 µs) while a script runs, or by a job when the thread is idle. Several of
these may race; whichever comes first drains the queue.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PendingRequest:
    """A DAP request and the future its response resolves."""

    request: dict[str, Any]
    client: str = ""  # who sent it (the Jupyter session), for "last client leaves"
    future: concurrent.futures.Future[dict[str, Any]] = field(
        default_factory=concurrent.futures.Future
    )


class DebugChannel:
    """Thread-safe queue of DAP requests with wake-ups for the execution thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[PendingRequest] = queue.Queue()
        self._lock = threading.Lock()
        self.wake_running: Callable[[], None] | None = None  # arms the hook
        self.wake_idle: Callable[[], None] | None = None  # submits a drain job

    def submit(
        self,
        request: dict[str, Any],
        client: str = "",
        on_response: Callable[[dict[str, Any]], object] | None = None,
    ) -> concurrent.futures.Future[dict[str, Any]]:
        """Queue a request from ``client`` (any thread); its future resolves with the response.

        ``on_response`` is called on the thread that makes the response, before anything the
        request causes afterwards (events), so a reply can be ordered before its events.
        """
        pending = PendingRequest(request, client)
        if on_response is not None:
            callback = on_response
            pending.future.add_done_callback(lambda done: callback(done.result()))
        self._queue.put(pending)
        for wake in (self.wake_running, self.wake_idle):
            if wake is not None:
                wake()
        return pending.future

    def get(self, timeout: float | None) -> PendingRequest | None:
        """The next request, waiting up to ``timeout`` seconds (execution thread)."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def get_nowait(self) -> PendingRequest | None:
        """The next request if one is queued."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None
