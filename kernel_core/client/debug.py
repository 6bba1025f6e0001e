"""DAP through a kernel: ``debug_request`` on the control channel, ``debug_event`` on iopub.

This is the Jupyter debugger protocol (what JupyterLab's debugger panel speaks), wrapped for
clients written in Python: the TUI, the DAP adapter and the tests.

    debug = DebugClient(client)
    with MessageStream(client) as stream:
        await debug.request("initialize", {"clientID": "tui", "adapterID": "llmspell"})
        async for event in debug.events(stream): ...
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from kernel_core.client.client import KernelClient
from kernel_core.errors import LlmspellError
from kernel_core.protocol.wire import Message


class DebugRequestFailed(LlmspellError):
    """The debugger answered a request with ``success: false``."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"{command}: {message}")
        self.command = command
        self.message = message


@dataclass(frozen=True)
class DebugEvent:
    """One DAP event as the kernel published it."""

    event: str
    body: dict[str, Any]
    seq: int = 0

    @classmethod
    def from_content(cls, content: dict[str, Any]) -> DebugEvent:
        """The event carried by a ``debug_event`` message's content."""
        body = content.get("body")
        return cls(
            event=str(content.get("event", "")),
            body=body if isinstance(body, dict) else {},
            seq=int(content.get("seq") or 0),
        )


class MessageStream:
    """Every iopub message from the moment it is created, as an async iterator.

    Registration happens in the constructor (not on first iteration), so nothing published
    between subscribing and iterating is lost. Close it (or use ``with``) to unsubscribe.
    """

    def __init__(self, client: KernelClient) -> None:
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._remove = client.add_listener(self._queue.put_nowait)

    def close(self) -> None:
        """Stop receiving messages."""
        self._remove()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Message:
        return await self._queue.get()

    async def next(self, msg_type: str, timeout: float | None = 10.0) -> Message:
        """The next message of ``msg_type`` (earlier messages of other types are dropped)."""

        async def find() -> Message:
            while (msg := await self._queue.get()).msg_type != msg_type:
                pass
            return msg

        return await asyncio.wait_for(find(), timeout)


class DebugClient:
    """DAP requests to a kernel's debugger over an existing :class:`KernelClient`."""

    def __init__(self, client: KernelClient) -> None:
        self.client = client
        self._seq = itertools.count(1)

    async def request(
        self, command: str, arguments: dict[str, Any] | None = None, *, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Send one DAP request; returns the response body or raises DebugRequestFailed."""
        content = {
            "seq": next(self._seq),
            "type": "request",
            "command": command,
            "arguments": arguments or {},
        }
        reply = await self.client.request(
            "debug_request", content, channel="control", timeout=timeout
        )
        response = reply.content
        if not response.get("success", False):
            raise DebugRequestFailed(command, str(response.get("message") or "failed"))
        body = response.get("body")
        return body if isinstance(body, dict) else {}

    @staticmethod
    async def events(stream: MessageStream) -> AsyncIterator[DebugEvent]:
        """The DAP events among a stream's messages."""
        async for msg in stream:
            if msg.msg_type == "debug_event":
                yield DebugEvent.from_content(msg.content)

    @staticmethod
    async def next_event(
        stream: MessageStream, event: str, timeout: float | None = 10.0
    ) -> DebugEvent:
        """The next DAP event named ``event`` on ``stream``."""

        async def find() -> DebugEvent:
            while True:
                msg = await stream.next("debug_event", timeout=None)
                found = DebugEvent.from_content(msg.content)
                if found.event == event:
                    return found

        return await asyncio.wait_for(find(), timeout)
