"""An asyncio client for llmspell kernels (any Jupyter kernel, in fact).

Used by the line REPL, ``llmspell run --connect``, ``kernel list/stop``, the TUI and the DAP
adapter. Replies are matched to requests by parent ``msg_id``; iopub messages go to every
registered listener; ``input_request`` on stdin goes to the ``on_input`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Self, TypeVar

import zmq
import zmq.asyncio

from kernel_core.errors import LlmspellError
from kernel_core.kernel.connection import ConnectionInfo, read_connection_file
from kernel_core.protocol.errors import ProtocolError
from kernel_core.protocol.wire import Message, Session

log = logging.getLogger(__name__)

Listener = Callable[[Message], None]
InputHandler = Callable[[str, bool], Awaitable[str]]
T = TypeVar("T")


class KernelTimeout(LlmspellError):
    """The kernel did not answer in time."""


class KernelGone(LlmspellError):
    """The kernel stopped answering its heartbeat while a request waited for its reply."""

    exit_status = 1


# A kernel answers its heartbeat from a thread of its own while Lua runs or is paused, so
# silence means the process is gone (stopped, killed, crashed) and no reply will come.
# Several misses in a row, so that a loaded machine's slow answer is not taken for death.
HEARTBEAT_EVERY = 1.0
HEARTBEAT_MISSES = 3


class KernelClient:
    """A connection to one kernel: shell, control, stdin, iopub and heartbeat."""

    def __init__(self, connection: ConnectionInfo, *, username: str = "llmspell") -> None:
        self.connection = connection
        self.session = Session(connection.key.encode(), username=username)
        self._ctx = zmq.asyncio.Context()
        self._pending: dict[str, asyncio.Future[Message]] = {}
        self._listeners: list[Listener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.on_input: InputHandler | None = None
        self._started = False

    @classmethod
    def from_file(cls, path: Path | str) -> KernelClient:
        """A client for the kernel described by a connection file."""
        return cls(read_connection_file(Path(path)))

    async def start(self) -> None:
        """Connect every channel and start reading."""
        if self._started:
            return
        identity = self.session.session_id.encode()
        self.shell = self._connect(zmq.DEALER, "shell", identity)
        self.control = self._connect(zmq.DEALER, "control", identity)
        self.stdin = self._connect(zmq.DEALER, "stdin", identity)
        self.iopub = self._connect(zmq.SUB, "iopub", None)
        self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
        for sock in (self.shell, self.control):
            self._tasks.append(asyncio.create_task(self._read_replies(sock)))
        self._tasks.append(asyncio.create_task(self._read_iopub()))
        self._tasks.append(asyncio.create_task(self._read_stdin()))
        self._started = True
        await self._wait_iopub_live()

    async def _wait_iopub_live(self, timeout: float = 2.0) -> None:
        """Wait for the kernel's iopub_welcome, so no output of our first request is lost to
        ZeroMQ's slow-joiner window. Kernels without welcome messages just take the timeout
        into account once (we then go on)."""
        live = asyncio.get_running_loop().create_future()

        def listener(msg: Message) -> None:
            if not live.done():
                live.set_result(None)

        remove = self.add_listener(listener)
        try:
            await asyncio.wait_for(live, timeout)
        except TimeoutError:
            log.debug("no iopub message within %ss; going on", timeout)
        finally:
            remove()

    def _connect(self, kind: int, channel: str, identity: bytes | None) -> zmq.asyncio.Socket:
        sock = self._ctx.socket(kind)
        sock.linger = 0
        if identity is not None:
            sock.setsockopt(zmq.IDENTITY, identity)
        sock.connect(self.connection.endpoint(channel))
        return sock

    async def close(self) -> None:
        """Disconnect."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        self._ctx.destroy(linger=0)
        self._started = False

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ reading

    def _parse(self, frames: list[bytes]) -> Message | None:
        try:
            return self.session.deserialize(frames)
        except ProtocolError as exc:
            log.warning("ignored an invalid message from the kernel: %s", exc)
            return None

    async def _read_replies(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            msg = self._parse(await sock.recv_multipart())
            if msg is None:
                continue
            future = self._pending.pop(str(msg.parent_header.get("msg_id", "")), None)
            if future is not None and not future.done():
                future.set_result(msg)

    async def _read_iopub(self) -> None:
        while True:
            frames = await self.iopub.recv_multipart()
            msg = self._parse(frames)
            if msg is not None:
                for listener in list(self._listeners):
                    try:
                        listener(msg)
                    except Exception:
                        log.exception("iopub listener failed")
            # a message already queued arrives without suspending (the future is done), so
            # a flood of output would hold the loop: let the other tasks (a UI's keys) in
            await asyncio.sleep(0)

    async def _read_stdin(self) -> None:
        while True:
            msg = self._parse(await self.stdin.recv_multipart())
            if msg is None or msg.msg_type != "input_request":
                continue
            value = ""
            if self.on_input is not None:
                try:
                    value = await self.on_input(
                        str(msg.content.get("prompt", "")), bool(msg.content.get("password"))
                    )
                except (EOFError, KeyboardInterrupt):
                    value = ""
            reply = self.session.message("input_reply", {"value": value}, msg)
            await self.stdin.send_multipart(self.session.serialize(reply, []))

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Receive every iopub message; returns a function that removes the listener."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # ------------------------------------------------------------------ requests

    async def request(
        self,
        msg_type: str,
        content: dict[str, Any] | None = None,
        *,
        channel: str = "shell",
        timeout: float | None = 30.0,
    ) -> Message:
        """Send a request and wait for its reply."""
        await self.start()
        msg = self.session.message(msg_type, content or {})
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[msg.msg_id] = future
        sock = self.shell if channel == "shell" else self.control
        await sock.send_multipart(self.session.serialize(msg, []))
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self._pending.pop(msg.msg_id, None)
            raise KernelTimeout(f"the kernel did not answer {msg_type} within {timeout}s") from None

    async def send(self, msg_type: str, content: dict[str, Any], channel: str = "shell") -> Message:
        """Send without waiting; returns the message (its msg_id identifies the reply)."""
        await self.start()
        msg = self.session.message(msg_type, content)
        sock = self.shell if channel == "shell" else self.control
        await sock.send_multipart(self.session.serialize(msg, []))
        return msg

    async def kernel_info(self, timeout: float = 10.0) -> dict[str, Any]:
        """The kernel_info_reply content."""
        return (await self.request("kernel_info_request", timeout=timeout)).content

    async def wait_ready(self, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until the kernel answers kernel_info (retrying while it starts)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                return await self.kernel_info(timeout=min(1.0, max(deadline - loop.time(), 0.1)))
            except KernelTimeout:
                if loop.time() >= deadline:
                    raise

    async def execute(
        self,
        code: str,
        *,
        on_message: Listener | None = None,
        silent: bool = False,
        store_history: bool = True,
        allow_stdin: bool = True,
        timeout: float | None = None,
        msg_type: str = "execute_request",
        content: dict[str, Any] | None = None,
    ) -> Message:
        """Execute code; ``on_message`` gets this request's iopub messages until idle.

        Returns the execute_reply once the kernel is idle again (all output delivered).
        """
        await self.start()
        idle = asyncio.get_running_loop().create_future()
        msg = self.session.message(
            msg_type,
            content
            or {
                "code": code,
                "silent": silent,
                "store_history": store_history,
                "user_expressions": {},
                "allow_stdin": allow_stdin and self.on_input is not None,
                "stop_on_error": True,
            },
        )

        def listener(m: Message) -> None:
            if m.parent_header.get("msg_id") != msg.msg_id:
                return
            if on_message is not None:
                on_message(m)
            if (
                m.msg_type == "status"
                and m.content.get("execution_state") == "idle"
                and not idle.done()
            ):
                idle.set_result(None)

        remove = self.add_listener(listener)
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[msg.msg_id] = future
        try:
            await self.shell.send_multipart(self.session.serialize(msg, []))
            reply = await asyncio.wait_for(future, timeout)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(idle, 5.0)
            return reply
        finally:
            remove()

    async def unless_gone(self, request: Awaitable[T], what: str = "the request") -> T:
        """Await ``request``; raise KernelGone once the kernel stops answering its heartbeat.

        A reply waited for without a timeout (a cell, a script) would otherwise wait forever
        for a kernel that ``kernel stop`` ended or that died.
        """
        task = asyncio.ensure_future(request)
        misses = 0
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
                if done:
                    return task.result()
                misses = 0 if await self.heartbeat(timeout=HEARTBEAT_EVERY) else misses + 1
                if task.done():
                    return task.result()
                if misses >= HEARTBEAT_MISSES:
                    raise KernelGone(f"the kernel stopped while {what} ran (it no longer answers)")
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def interrupt(self) -> None:
        """Ask the kernel to interrupt the running code."""
        await self.request("interrupt_request", channel="control", timeout=10)

    async def shutdown(self, restart: bool = False) -> None:
        """Ask the kernel to shut down (or restart in place)."""
        await self.request("shutdown_request", {"restart": restart}, channel="control", timeout=10)

    async def heartbeat(self, timeout: float = 1.0) -> bool:
        """Whether the kernel answers a heartbeat ping in time."""
        sock = self._ctx.socket(zmq.REQ)
        sock.linger = 0
        sock.connect(self.connection.endpoint("hb"))
        try:
            await sock.send(b"ping")
            return bool(await asyncio.wait_for(sock.recv(), timeout))
        except (TimeoutError, zmq.ZMQError):
            return False
        finally:
            sock.close(linger=0)
