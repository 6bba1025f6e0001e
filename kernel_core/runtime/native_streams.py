"""A script's output through the process's own file descriptors, as plain Lua writes it.

Lua's ``print`` and ``io.write`` are C functions writing to C stdio's ``stdout``; replacing
them with Lua functions that call Python is something a script can see
(``debug.getinfo(print).what``, ``string.dump(print)``, ``io.type(io.stdout)``,
``io.output() == io.stdout``). So where the process's descriptors are the script's own
(``llmspell run``) nothing is replaced, and where output must go somewhere else (a kernel's
iopub, ``--output json``) it is captured at the file-descriptor level, as ipykernel does:
a pipe is ``dup2``-ed onto fd 1 and 2 and a reader thread hands what arrives on.

C stdio buffers: :func:`flush_c_stdio` empties ``stdout``/``stderr`` (what Lua's
``io.write`` wrote but did not flush) before anyone reads what the script wrote.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import select
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

log = logging.getLogger(__name__)

STREAMS = {"stdout": 1, "stderr": 2}
_IOFBF = 0  # setvbuf mode: fully buffered (glibc and the BSDs agree)
BUFFER_SIZE = 65536


class _CStdio:
    """libc's fflush and setvbuf on its stdout/stderr, found once."""

    def __init__(self) -> None:
        import ctypes  # on first use: `llmspell run` may never need it

        self._ctypes = ctypes
        self.libc: Any = None
        self.files: dict[str, int | None] = {}
        self.buffers: dict[str, Any] = {}  # given to setvbuf: they live as long as the process
        try:
            self.libc = ctypes.CDLL(None)
            self.libc.fflush.argtypes = [ctypes.c_void_p]
            self.libc.setvbuf.argtypes = [
                ctypes.c_void_p,
                ctypes.c_void_p,
                ctypes.c_int,
                ctypes.c_size_t,
            ]
        except (OSError, AttributeError):
            self.libc = None
            return
        for name in STREAMS:
            pointer = None
            # glibc exports `stdout`; macOS `__stdoutp`
            for symbol in (name, f"__{name}p"):
                with contextlib.suppress(ValueError):
                    pointer = ctypes.c_void_p.in_dll(self.libc, symbol).value
                    break
            self.files[name] = pointer

    def flush(self) -> None:
        if self.libc is None:
            return
        files = [f for f in self.files.values() if f]
        if len(files) < len(STREAMS):
            self.libc.fflush(None)  # no symbol for one of them: every output stream
            return
        for pointer in files:
            self.libc.fflush(pointer)

    def fully_buffered(self, name: str) -> None:
        pointer = self.files.get(name)
        if self.libc is not None and pointer and name not in self.buffers:
            buffer = self._ctypes.create_string_buffer(BUFFER_SIZE)
            if self.libc.setvbuf(pointer, buffer, _IOFBF, BUFFER_SIZE) == 0:
                self.buffers[name] = buffer


_stdio: _CStdio | None = None


def _c() -> _CStdio:
    global _stdio  # libc's stdio is one per process, like fd 1 and 2
    if _stdio is None:
        _stdio = _CStdio()
    return _stdio


def flush_c_stdio() -> None:
    """Write out what C stdio holds for stdout and stderr (Lua's io.write buffers)."""
    _c().flush()


def write_fd(stream: str, text: str) -> None:
    """Write ``text`` to the descriptor of ``stream`` after what Lua wrote before it."""
    flush_c_stdio()
    data = text.encode("utf-8", "surrogateescape")
    fd = STREAMS[stream]
    while data:
        written = os.write(fd, data)
        data = data[written:]


class FdCapture:
    """Captures fd 1 and 2 into ``on_text(stream, text)`` until :meth:`stop`.

    ``on_text`` is called on the reader thread, or on the thread calling :meth:`drain`.
    With ``keep_python=True`` Python's own ``sys.stdout``/``sys.stderr`` (and logging
    handlers writing to them) keep writing where they wrote before, so only what C code
    (Lua) writes is captured.
    """

    def __init__(self, on_text: Callable[[str, str], None], *, keep_python: bool = False) -> None:
        self._on_text = on_text
        self._keep_python = keep_python
        self._lock = threading.Lock()
        self._saved: dict[str, int] = {}
        self._readers: dict[int, str] = {}
        self._decoders: dict[str, codecs.IncrementalDecoder] = {}
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._python: dict[str, TextIO] = {}
        self.active = False

    def start(self) -> None:
        """Redirect fd 1 and 2 into pipes and start reading them."""
        flush_c_stdio()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for name, fd in STREAMS.items():
            read_end, write_end = os.pipe()
            self._saved[name] = os.dup(fd)
            os.dup2(write_end, fd)
            os.close(write_end)
            os.set_blocking(read_end, False)
            self._readers[read_end] = name
            self._decoders[name] = codecs.getincrementaldecoder("utf-8")("replace")
        # Buffered, whatever PYTHONUNBUFFERED made of them: print then writes a line in one
        # write (it flushes), so its text reaches the reader whole; the owner flushes the
        # rest (io.write) every few milliseconds (flush_c_stdio), and drain() at the end.
        for name in STREAMS:
            _c().fully_buffered(name)
        if self._keep_python:
            self._keep_python_streams()
        self._wake_r, self._wake_w = os.pipe()
        self.active = True
        self._thread = threading.Thread(target=self._read_loop, name="llmspell-fd-capture")
        self._thread.daemon = True
        self._thread.start()

    def _keep_python_streams(self) -> None:
        for name in STREAMS:
            old = getattr(sys, name)
            new = open(  # noqa: SIM115 - lives as long as the process's sys.stdout
                self._saved[name], "w", buffering=1, encoding="utf-8", closefd=False
            )
            self._python[name] = old
            setattr(sys, name, new)
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is old:
                    handler.setStream(new)

    def _read_loop(self) -> None:
        fds = [*self._readers, self._wake_r]
        while self.active:
            try:
                ready, _, _ = select.select(fds, [], [])
            except (OSError, ValueError):
                return
            if self._wake_r in ready:
                return
            with self._lock:
                for fd in ready:
                    self._read_available(fd)

    def _read_available(self, fd: int) -> None:
        name = self._readers[fd]
        while True:
            try:
                data = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError:
                return
            if not data:
                return
            text = self._decoders[name].decode(data)
            if text:
                try:
                    self._on_text(name, text)
                except Exception:
                    log.exception("forwarding captured %s", name)

    def drain(self, *, wait: bool = True) -> None:
        """Hand on everything written so far (after flushing C stdio); any thread.

        ``wait=False`` (a thread ``on_text`` may wait for, such as a kernel's protocol loop)
        returns at once when the reader thread is handing something on: it then hands on
        the rest itself."""
        if not self.active:
            return
        flush_c_stdio()
        if not self._lock.acquire(blocking=wait):
            return
        try:
            for fd in self._readers:
                self._read_available(fd)
        finally:
            self._lock.release()

    def stop(self) -> None:
        """Put fd 1 and 2 back, after handing on what they received."""
        if not self.active:
            return
        self.drain()
        self.active = False
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2)
        for name, fd in STREAMS.items():
            os.dup2(self._saved[name], fd)
            os.close(self._saved[name])
        for name, old in self._python.items():
            setattr(sys, name, old)
        for fd in [*self._readers, self._wake_r, self._wake_w]:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._readers.clear()
