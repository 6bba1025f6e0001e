"""A kernel's fd 0 as a pipe that the clients fill, so a script keeps Lua's own ``io.read``,
``io.lines`` and ``io.stdin``.

Lua reads stdin with C stdio, which blocks in ``read(0, ...)``; nothing in Lua announces
that it waits. Linux tells: ``/proc/self/task/TID/syscall`` names the system call a thread is
blocked in and its arguments. While a request runs, the kernel looks there every few
milliseconds; when the execution thread waits in ``read`` on fd 0 and the pipe is empty, it
asks the client for a line (``input_request``) and writes the answer into the pipe. At end
of input (nobody can answer, an interrupt) the pipe's writing end is closed, so ``read``
returns, and a fresh pipe takes fd 0 for later reads (Lua clears stdin's end-of-file flag
before every read).

Where /proc does not say (other systems), :meth:`StdinPipe.start` returns False and the
kernel keeps serving ``io.read`` through its sink.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import platform
import struct
import termios
import time
from pathlib import Path

log = logging.getLogger(__name__)

# the number of read(2), by machine (asm/unistd.h)
_READ_SYSCALL = {"x86_64": 0, "amd64": 0, "aarch64": 63, "arm64": 63}


class StdinPipe:
    """fd 0 as a pipe the kernel writes into."""

    def __init__(self) -> None:
        self._write_fd = -1
        self._read_nr = _READ_SYSCALL.get(platform.machine().lower())

    def start(self) -> bool:
        """Put a pipe on fd 0; False where blocked reads cannot be seen (nothing changed)."""
        if self._read_nr is None or not Path(f"/proc/self/task/{os.getpid()}/syscall").exists():
            return False
        try:
            Path(f"/proc/self/task/{os.getpid()}/syscall").read_text()
        except OSError:
            return False  # exists but unreadable (some sandboxes)
        self._new_pipe()
        return True

    def _new_pipe(self) -> None:
        read_end, write_end = os.pipe()
        os.dup2(read_end, 0)
        os.close(read_end)
        old, self._write_fd = self._write_fd, write_end
        if old >= 0:
            with contextlib.suppress(OSError):
                os.close(old)

    def waiting(self, thread_id: int) -> bool:
        """Whether thread ``thread_id`` is blocked reading fd 0 with nothing to read."""
        try:
            text = Path(f"/proc/self/task/{thread_id}/syscall").read_text()
        except OSError:
            return False
        parts = text.split()
        if len(parts) < 2 or parts[0] != str(self._read_nr):
            return False
        try:
            if int(parts[1], 16) != 0:
                return False
        except ValueError:
            return False
        return self._pending() == 0

    def _pending(self) -> int:
        try:
            raw = fcntl.ioctl(0, termios.FIONREAD, b"\0\0\0\0")
        except OSError:
            return 0
        return int(struct.unpack("i", raw)[0])

    def feed(self, text: str) -> None:
        """Give the waiting read ``text`` (a line, with its newline)."""
        data = text.encode("utf-8", "surrogateescape")
        while data:
            data = data[os.write(self._write_fd, data) :]

    def end_of_input(self, thread_id: int, timeout: float = 1.0) -> None:
        """Make the waiting read see end of file, then give fd 0 a fresh pipe."""
        os.close(self._write_fd)
        self._write_fd = -1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.waiting_any(thread_id):
            time.sleep(0.002)
        self._new_pipe()

    def waiting_any(self, thread_id: int) -> bool:
        """Whether the thread is still inside read(0) (whatever the pipe holds)."""
        try:
            parts = Path(f"/proc/self/task/{thread_id}/syscall").read_text().split()
        except OSError:
            return False
        return len(parts) > 1 and parts[0] == str(self._read_nr) and parts[1] == "0x0"
