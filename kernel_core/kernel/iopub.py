"""The bridge between a running script and the clients: its output becomes iopub
``stream``/``display_data`` messages, ``io.read`` becomes an ``input_request`` to the client
that ran the cell.

``write`` is called on the execution thread; text is buffered and flushed on the protocol
loop at most every few milliseconds, so a loop printing 1,000 lines sends a handful of
messages, not 1,000.
"""

from __future__ import annotations

import asyncio
import queue
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any

from kernel_core.kernel.native_stdin import StdinPipe
from kernel_core.protocol.wire import Message
from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.native_streams import FdCapture, flush_c_stdio

if TYPE_CHECKING:
    from kernel_core.kernel.service import KernelService

FLUSH_DELAY = 0.005
MAX_BUFFER = 64 * 1024
# the longest a writer waits for a full buffer to drain (the loop may be shutting down)
BACKPRESSURE_WAIT = 1.0
# A client's stdin socket connects alongside its shell socket: give a just-connected one
# this long to become reachable before saying it cannot answer.
STDIN_REACH_TIMEOUT = 1.0
STDIN_RETRY_DELAY = 0.05
# How often, while a request runs, the kernel sends on C stdio's buffers and looks whether
# Lua waits on stdin.
STDIO_POLL = 0.01


def _on_loop_thread() -> bool:
    """Whether the caller runs an asyncio loop (the protocol loop must never wait on itself)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class KernelSink:
    """OutputSink for a kernel: streams to iopub, input from the stdin channel."""

    def __init__(self, service: KernelService) -> None:
        self._service = service
        self._lock = threading.Lock()
        # what waits to be published, in the order the script made it: a stream's text
        # (consecutive writes to one stream joined) or a display_data bundle
        self._pending: list[tuple[str, Any]] = []
        self._size = 0
        self._scheduled = False
        self._urgent = False  # a flush for a full buffer is on its way
        self._drained = threading.Condition(self._lock)  # notified by each flush
        self._parent: Message | None = None
        self._allow_stdin = False
        # input_reply messages, or None when the input_request could not be delivered
        self._replies: queue.Queue[Message | None] = queue.Queue()
        self.native_streams: frozenset[str] = frozenset()
        self.child_stdin: int | None = None  # what os.execute's shell gets as fd 0
        self._capture: FdCapture | None = None
        self._stdin_pipe = StdinPipe()
        self._request_active = threading.Event()  # between begin() and end()

    def capture_descriptors(self) -> None:
        """Take what is written to fd 1 and 2 as the running request's output, so scripts
        keep Lua's own print, io.write and io.stdout/io.stderr (as ipykernel captures at the
        descriptor level). The kernel's own Python output and logs keep their destination.
        Call before the Lua world is made (it reads ``native_streams``)."""
        self._capture = FdCapture(self.write, keep_python=True)
        self._capture.start()
        self.native_streams = frozenset({"stdout", "stderr"})
        self._native_stdin = self._stdin_pipe.start()
        if self._native_stdin:
            self.native_streams |= {"stdin"}
            # os.execute's shell must not block reading a pipe nobody fills for it
            self.child_stdin = subprocess.DEVNULL
        watcher = threading.Thread(target=self._watch_request, name="llmspell-stdio")
        watcher.daemon = True
        watcher.start()

    def drain(self) -> None:
        """Hand on what the script wrote to fd 1 and 2 (execution thread, after a run:
        ScriptRuntime.call), so a request's output comes before its reply."""
        if self._capture is not None:
            self._capture.drain()

    def _watch_request(self) -> None:
        """While a request runs: send on what C stdio buffered (Lua's io.write) every few
        milliseconds, and answer Lua's own reads of fd 0 with the client's input."""
        pipe = self._stdin_pipe
        while True:
            self._request_active.wait()
            time.sleep(STDIO_POLL)
            flush_c_stdio()
            if not self._native_stdin:
                continue
            engine = self._service.engine
            executor = engine.executor if engine is not None else None
            runtime = executor.runtime if executor is not None else None
            if runtime is None or not pipe.waiting(runtime.native_thread_id):
                continue
            thread_id = runtime.native_thread_id
            if runtime.abort_pending():  # the armed hook delivers it once read returns
                pipe.end_of_input(thread_id)
                continue
            if self._capture is not None:
                self._capture.drain()  # the prompt the script wrote comes first
            try:
                line = self.read_line("")
            except ScriptError as exc:
                # nobody can answer: end of input, as for a script whose stdin is closed,
                # and the reason on stderr
                self.write("stderr", f"{exc}\n")
                pipe.end_of_input(thread_id)
                continue
            if line is None:
                pipe.end_of_input(thread_id)
            else:
                pipe.feed(line + "\n")

    # ---- called on the loop thread

    def begin(self, parent: Message, *, allow_stdin: bool) -> None:
        """A request starts: its output carries ``parent`` as parent header."""
        if self._capture is not None:
            self._capture.drain(wait=False)  # the loop: the reader may wait for its flush
        self.flush()
        self._request_active.set()
        with self._lock:
            self._parent = parent
            self._allow_stdin = allow_stdin
        while not self._replies.empty():
            self._replies.get_nowait()

    def end(self) -> None:
        """The request is done: send what is buffered (also what C stdio still held)."""
        self._request_active.clear()
        if self._capture is not None:
            self._capture.drain(wait=False)  # the loop: the reader may wait for its flush
        self.flush()

    def flush(self) -> None:
        """Publish buffered output (loop thread)."""
        with self._lock:
            pending, self._pending = self._pending, []
            self._size = 0
            self._scheduled = self._urgent = False
            parent = self._parent
            self._drained.notify_all()
        for kind, payload in pending:
            if kind == "display":
                content = {"data": payload, "metadata": {}, "transient": {}}
                self._service.publish("display_data", content, parent)
            else:
                self._service.publish("stream", {"name": kind, "text": "".join(payload)}, parent)

    def receive_stdin(self, msg: Message) -> None:
        """An input_reply arrived on the stdin channel."""
        if msg.msg_type == "input_reply":
            self._replies.put(msg)

    # ---- called on the execution thread

    def write(self, stream: str, text: str) -> None:
        loop = self._service.loop
        assert loop is not None
        with self._lock:
            if self._pending and self._pending[-1][0] == stream:
                self._pending[-1][1].append(text)
            else:
                self._pending.append((stream, [text]))
            self._size += len(text)
            full = self._size >= MAX_BUFFER
            urgent = full and not self._urgent  # one early flush in flight, not one a write
            self._urgent = self._urgent or full
            schedule = not self._scheduled
            self._scheduled = True
        if urgent:
            loop.call_soon_threadsafe(self.flush)
        elif schedule:
            loop.call_soon_threadsafe(loop.call_later, FLUSH_DELAY, self.flush)
        if full and not _on_loop_thread():
            # back-pressure: a script printing faster than the loop publishes waits for the
            # buffer to drain, so a print loop costs the kernel MAX_BUFFER, not gigabytes
            with self._drained:
                self._drained.wait_for(lambda: self._size < MAX_BUFFER, BACKPRESSURE_WAIT)

    def display(self, bundle: dict[str, Any]) -> None:
        """Publish display_data after the output written before it (also what Lua's print
        wrote to fd 1 that the reader thread has not handed on yet) and before what is
        written after it."""
        loop = self._service.loop
        assert loop is not None
        if self._capture is not None and not _on_loop_thread():
            self._capture.drain()
        with self._lock:
            self._pending.append(("display", bundle))
            schedule = not self._scheduled
            self._scheduled = True
        if schedule:
            loop.call_soon_threadsafe(self.flush)

    def read_line(self, prompt: str) -> str | None:
        """Ask the client that ran the cell for a line; waits until it answers."""
        with self._lock:
            parent, allowed = self._parent, self._allow_stdin
        if parent is None or not allowed:
            raise ScriptError(
                "io.read: this client cannot answer input requests (it sent allow_stdin=false); "
                "pass the data as script arguments or State instead"
            )
        loop = self._service.loop
        assert loop is not None
        request = self._service.session.message(
            "input_request", {"prompt": prompt, "password": False}, parent
        )
        frames = self._service.session.serialize(request, parent.identities)
        if self._capture is not None and not _on_loop_thread():
            self._capture.drain()  # the prompt the script printed comes first
        self.flushing_then(lambda: self._ask(frames, time.monotonic() + STDIN_REACH_TIMEOUT))
        executor = self._service.engine.executor if self._service.engine else None
        while True:
            try:
                reply = self._replies.get(timeout=0.05)
            except queue.Empty:
                if executor is not None and executor.runtime.abort_pending():
                    return None  # the armed hook delivers the interrupt once Lua runs
                continue
            if reply is None:
                raise ScriptError(
                    "io.read: the client that ran this cell has disconnected (or has no stdin "
                    "channel), so nobody can answer; pass the data as script arguments or "
                    "State instead"
                )
            value = reply.content.get("value")
            return None if value is None else str(value)

    def _ask(self, frames: list[bytes], deadline: float) -> None:
        """Send an input_request (loop thread); None to read_line if nobody can answer."""
        import zmq

        def undelivered(exc: zmq.ZMQError) -> bool:
            loop = self._service.loop
            if exc.errno == zmq.EHOSTUNREACH and time.monotonic() < deadline and loop:
                loop.call_later(STDIN_RETRY_DELAY, self._ask, frames, deadline)
                return True
            self._replies.put(None)
            return False

        self._service.send_to_client(
            self._service.stdin, frames, "input_request", on_undelivered=undelivered
        )

    def flushing_then(self, action: Any) -> None:
        """Run ``action`` on the loop after flushing buffered output (ordering)."""
        loop = self._service.loop
        assert loop is not None

        def run() -> None:
            self.flush()
            action()

        loop.call_soon_threadsafe(run)
        time.sleep(0)
