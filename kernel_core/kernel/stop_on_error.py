"""Which execute requests a failed cell's ``stop_on_error`` aborts.

Those still queued when the cell fails are aborted there (KernelService). A client that
sends several cells at once (JupyterLab's Run All) may have the next one reach the kernel
a moment after the failure, on a loaded machine: it was sent before the client could know,
and must be aborted too, while a cell the client sent after reading the error reply (nbclient
runs one cell at a time) must run.

The test uses the client's own clock only (the header dates of its two requests, so clock
skew between machines does not matter) against how long the kernel took to fail the first:
a request sent less than that after the failed one was sent before its reply could arrive.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime

from kernel_core.protocol.wire import Message

REMEMBERED_SESSIONS = 1024


def _sent_at(msg: Message) -> datetime | None:
    value = msg.header.get("date")
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class StopOnError:
    """The last failed cell of each session: when it was sent, and how long it took."""

    def __init__(self) -> None:
        self._failed: OrderedDict[str, tuple[datetime, float]] = OrderedDict()

    def started(self) -> float:
        """A cell starts (its time, for ``failed``)."""
        return time.monotonic()

    def failed(self, msg: Message, started: float) -> None:
        """``msg``'s cell failed with stop_on_error."""
        sent = _sent_at(msg)
        if sent is None:
            return
        self._failed[msg.session] = (sent, time.monotonic() - started)
        self._failed.move_to_end(msg.session)
        if len(self._failed) > REMEMBERED_SESSIONS:
            self._failed.popitem(last=False)

    def aborts(self, msg: Message) -> bool:
        """Whether ``msg`` (an execute request) was sent before the client could have
        read the reply of its session's last failed cell."""
        failure = self._failed.get(msg.session)
        sent = _sent_at(msg)
        if failure is None or sent is None:
            return False
        failed_sent, took = failure
        try:
            after = (sent - failed_sent).total_seconds()
        except TypeError:  # one date with a time zone, one without
            return False
        if 0 <= after < took:
            return True
        del self._failed[msg.session]  # sent later: the client knew, and later cells run
        return False
