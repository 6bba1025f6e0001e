"""Audit lines for messages the kernel drops (bad signatures, malformed frames), rate-limited
per peer: a flood of unauthenticated traffic writes a few lines and a count, not a line per
message (100,000 bad messages once wrote 11.8 MB of log in 6 s)."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

# Per peer and kind of trouble: this many lines in full per window, then a count.
BURST = 5
WINDOW = 10.0


@dataclass
class _Window:
    started: float
    logged: int = 0
    suppressed: int = 0
    summary: asyncio.TimerHandle | None = None


class AuditLog:
    """Writes ``logger`` warnings, at most BURST per (kind, peer) per WINDOW seconds; the
    others are counted and summarised in one line when the window ends."""

    def __init__(self, logger: logging.Logger, loop: asyncio.AbstractEventLoop) -> None:
        self._logger = logger
        self._loop = loop
        self._windows: dict[tuple[str, str], _Window] = {}

    def report(self, kind: str, peer: str, message: str, *args: object) -> None:
        """Log ``message % args`` (naming the peer) unless this peer's burst is spent."""
        key = (kind, peer)
        now = time.monotonic()
        if len(self._windows) > 1000:  # many peers (a ROUTER names each connection anew)
            for old in [k for k, w in self._windows.items() if now - w.started >= WINDOW]:
                self._summarise(old)
        window = self._windows.get(key)
        if window is None or now - window.started >= WINDOW:
            if window is not None:
                self._summarise(key)
            window = self._windows[key] = _Window(now)
        if window.logged < BURST:
            window.logged += 1
            self._logger.warning("%s (peer %s)", message % args, peer)
            return
        window.suppressed += 1
        if window.summary is None:
            window.summary = self._loop.call_at(
                self._loop.time() + WINDOW - (now - window.started), self._summarise, key
            )

    def _summarise(self, key: tuple[str, str]) -> None:
        window = self._windows.pop(key, None)
        if window is None:
            return
        if window.summary is not None:
            window.summary.cancel()
        if window.suppressed:
            kind, peer = key
            self._logger.warning(
                "%d more %s from peer %s in %.0f s, not logged one by one",
                window.suppressed,
                kind,
                peer,
                WINDOW,
            )

    def close(self) -> None:
        """Write the summaries still pending (the kernel is stopping)."""
        for key in list(self._windows):
            self._summarise(key)
