"""Waking the execution thread from a read of stdin when its run is aborted.

Lua's io.read blocks in ``read(0, ...)`` in C, where neither the armed hook nor a Python
signal handler (it runs on the main thread) reaches it: ``llmspell run --time-limit 1``
waited on its input for ever, and Ctrl+C too. A signal sent to that thread itself, with a
handler installed (one that does nothing), makes ``read`` fail with EINTR; Lua's io.read
returns nil and the armed hook raises the abort at the next instruction.

Linux tells that a thread waits in read on fd 0 (``/proc/self/task/TID/syscall``); the
signal is sent only then, again every few milliseconds while the abort is still pending
(a read entered just after a signal). Elsewhere nothing changes. The kernel feeds fd 0
from a pipe and ends its input instead (kernel/native_stdin.py): it installs no handler.
"""

from __future__ import annotations

import platform
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

WAKE = signal.SIGURG  # ignored by default: a stray one harms nothing
_READ_SYSCALL = {"x86_64": 0, "amd64": 0, "aarch64": 63, "arm64": 63}.get(
    platform.machine().lower()
)
_installed = False
RETRY_SECONDS = 0.02
GIVE_UP_SECONDS = 2.0


def install() -> None:
    """Let :func:`wake` interrupt a blocked read (main thread, before the run starts)."""
    global _installed
    if _READ_SYSCALL is None or not hasattr(signal, "pthread_kill"):
        return
    signal.signal(WAKE, lambda signum, frame: None)
    _installed = True


def reading_stdin(native_id: int) -> bool:
    """Whether thread ``native_id`` is blocked in read(2) on fd 0."""
    try:
        parts = Path(f"/proc/self/task/{native_id}/syscall").read_text().split()
    except OSError:
        return False
    return len(parts) > 1 and parts[0] == str(_READ_SYSCALL) and parts[1] == "0x0"


def wake(thread_ident: int, native_id: int, still_pending: Callable[[], bool]) -> None:
    """Interrupt the thread's read of stdin while ``still_pending()`` (any thread)."""
    if not _installed:
        return

    def nudge() -> None:
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while still_pending() and time.monotonic() < deadline:
            if reading_stdin(native_id):
                try:
                    signal.pthread_kill(thread_ident, WAKE)
                except (ProcessLookupError, OSError):
                    return  # the thread has ended
            time.sleep(RETRY_SECONDS)

    threading.Thread(target=nudge, name="llmspell-wake", daemon=True).start()
