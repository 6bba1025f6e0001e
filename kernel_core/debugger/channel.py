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
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)
    # The kernel's own requests (a client count that reached zero) are served from a table
    # of their own, which no message from the wire can reach.
    internal: bool = False
    # A job (a completion, an inspection) to run where DAP requests are served: on the
    # execution thread, at a stop, from the armed hook while a script runs, or when idle.
    job: Callable[[], Any] | None = None
    # The Jupyter message that asked for this (events it causes carry it as their parent).
    parent: Any = None

    def run_job(self) -> None:
        """Run the job and resolve the future with its result or exception."""
        assert self.job is not None
        try:
            self.future.set_result(self.job())
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting protocol loop
            self.future.set_exception(exc)


class DebugChannel:
    """Thread-safe queue of DAP requests with wake-ups for the execution thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[PendingRequest] = queue.Queue()
        self._lock = threading.Lock()
        # The Jupyter message behind what the debugger does now: the request being served,
        # or the resume request until the stop it leads to. debug_events carry it as parent.
        self.cause: Any = None
        self.wake_running: Callable[[], None] | None = None  # arms the hook
        self.wake_idle: Callable[[], None] | None = None  # submits a drain job

    def submit(
        self,
        request: dict[str, Any],
        client: str = "",
        on_response: Callable[[dict[str, Any]], object] | None = None,
        *,
        parent: Any = None,
        internal: bool = False,
    ) -> concurrent.futures.Future[Any]:
        """Queue a request from ``client`` (any thread); its future resolves with the response.

        ``on_response`` is called on the thread that makes the response, before anything the
        request causes afterwards (events), so a reply can be ordered before its events.
        ``internal`` requests are the kernel's own (never a client's).
        """
        pending = PendingRequest(request, client, internal=internal, parent=parent)
        if on_response is not None:
            callback = on_response
            pending.future.add_done_callback(lambda done: callback(done.result()))
        self._put(pending)
        return pending.future

    def submit_job(self, job: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Queue a job for the execution thread that must not wait for a running cell or a
        stop to end (any thread); its future resolves with the job's result."""
        pending = PendingRequest({}, job=job)
        self._put(pending)
        return pending.future

    def drain_jobs(self) -> None:
        """Serve what is queued when no debugger exists to do it (execution thread, idle)."""
        while (pending := self.get_nowait()) is not None:
            if pending.job is not None:
                pending.run_job()
            else:
                pending.future.set_result(
                    {
                        "type": "response",
                        "request_seq": pending.request.get("seq", 0),
                        "command": pending.request.get("command"),
                        "success": False,
                        "message": "the debugger is not available",
                    }
                )

    def _put(self, pending: PendingRequest) -> None:
        self._queue.put(pending)
        for wake in (self.wake_running, self.wake_idle):
            if wake is not None:
                wake()

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
