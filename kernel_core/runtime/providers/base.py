"""What every LLM provider speaks: chat messages, tool calls, and a chat call in flight.

A provider never touches Lua. ``ChatProvider.start`` returns a :class:`ChatCall`; the
execution thread polls it in short slices (so an interrupt armed on the Lua side is seen
between slices) and receives plain events: text deltas, then one completion or one failure.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


class ProviderError(Exception):
    """A provider could not answer; the message says why and what to do."""


@dataclass(frozen=True)
class ToolCall:
    """The model asks for a tool to run with these arguments."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Message:
    """One chat message. ``tool_calls`` only on assistant messages, ``tool_call_id`` and
    ``name`` only on tool messages."""

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: its name, description and JSON-Schema parameters."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ChatRequest:
    """Everything a provider needs for one completion."""

    model: str
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...] = ()
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None  # None: the provider's configured timeout


@dataclass(frozen=True)
class Usage:
    """Token counts reported for one completion."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class ChatResponse:
    """A finished completion: text and/or tool calls."""

    content: str
    model: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"


@dataclass(frozen=True)
class TextDelta:
    """A piece of streamed text."""

    text: str


@dataclass(frozen=True)
class Completed:
    """The call finished with this response (always the last event on success)."""

    response: ChatResponse


@dataclass(frozen=True)
class Failed:
    """The call failed (always the last event on failure)."""

    error: ProviderError


ChatEvent = TextDelta | Completed | Failed


class ChatCall:
    """A chat completion in flight. Producers (a worker thread, or the local provider
    synchronously) ``put`` events; the execution thread ``poll``s them."""

    def __init__(self) -> None:
        self._events: queue.SimpleQueue[ChatEvent] = queue.SimpleQueue()
        self.cancelled = threading.Event()
        self._on_cancel: list[Any] = []

    def put(self, event: ChatEvent) -> None:
        """Deliver an event (any thread)."""
        self._events.put(event)

    def poll(self, timeout: float) -> list[ChatEvent]:
        """Events available now, waiting at most ``timeout`` seconds for the first one."""
        try:
            events = [self._events.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def on_cancel(self, fn: Any) -> None:
        """Call ``fn()`` when the call is cancelled (close a socket to unblock a read)."""
        self._on_cancel.append(fn)
        if self.cancelled.is_set():
            fn()

    def cancel(self) -> None:
        """Stop the call: the worker is unblocked and its result dropped."""
        if self.cancelled.is_set():
            return
        self.cancelled.set()
        for fn in self._on_cancel:
            with contextlib.suppress(OSError):  # the worker may have closed it already
                fn()


class ChatProvider(Protocol):
    """A configured provider that can answer chat requests."""

    name: str
    kind: Literal["local", "http"]

    def start(self, request: ChatRequest, *, stream: bool) -> ChatCall:
        """Begin a completion; events arrive on the returned call."""
