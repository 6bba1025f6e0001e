"""The ``Event`` global: in-process publish/subscribe with glob patterns.

The bus holds plain Python data and is thread-safe, so another thread (the kernel) can
publish with :meth:`EventBus.publish` while a script waits in ``Event.receive``. The wait
happens in slices of at most 50 ms with a return to Lua between slices (event.lua), so an
interrupt armed on the Lua hook stops a waiting script promptly.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.globals.debug_global import rfc3339
from kernel_core.runtime.globals.hook import new_uuid

if TYPE_CHECKING:
    from collections.abc import Callable

    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

WAIT_SLICE_S = 0.05
QUEUE_LIMIT = 10_000  # per subscription; the oldest events are dropped beyond it
DEFAULT_TIMEOUT_MS = 5000


@dataclass
class Subscription:
    """A pattern and the events that matched it, oldest first."""

    id: str
    pattern: str
    language: str
    queue: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=QUEUE_LIMIT))
    dropped: int = 0


class EventBus:
    """Subscriptions and their queues; every method is safe from any thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._subs: dict[str, Subscription] = {}
        self._sequence = 0
        self.total_published = 0
        self.events_delivered = 0
        self.events_dropped = 0

    def publish(
        self,
        event_type: str,
        data: Any,
        *,
        language: str = "Lua",
        correlation_id: str | None = None,
        ttl_seconds: float | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Queue an event on every matching subscription; returns the event."""
        now = time.time()
        with self._cond:
            self._sequence += 1
            event = {
                "id": new_uuid(),
                "event_type": event_type,
                "data": data,
                "timestamp": rfc3339(now),
                "sequence": self._sequence,
                "correlation_id": correlation_id or new_uuid(),
                "language": language,
                "ttl": ttl_seconds,
                "metadata": metadata or {},
                "target_language": None,
                "serialization_version": "1.0",
                "_expires": now + ttl_seconds if ttl_seconds else None,
            }
            self.total_published += 1
            for sub in self._subs.values():
                if fnmatch.fnmatchcase(event_type, sub.pattern):
                    if len(sub.queue) == QUEUE_LIMIT:
                        sub.dropped += 1
                        self.events_dropped += 1
                    sub.queue.append(event)
            self._cond.notify_all()
        return event

    def subscribe(self, pattern: str, language: str = "lua") -> str:
        """A new subscription id for ``pattern`` (glob: ``*``, ``?``, ``[...]``)."""
        sub = Subscription(new_uuid(), pattern, language)
        with self._cond:
            self._subs[sub.id] = sub
        return sub.id

    def unsubscribe(self, sub_id: str) -> bool:
        with self._cond:
            return self._subs.pop(sub_id, None) is not None

    def exists(self, sub_id: str) -> bool:
        with self._cond:
            return sub_id in self._subs

    def poll(self, sub_id: str, wait_s: float) -> dict[str, Any] | None:
        """The next live event of a subscription, waiting up to ``wait_s`` for one.

        Raises KeyError for an unknown (or meanwhile removed) subscription.
        """
        deadline = time.monotonic() + max(0.0, wait_s)
        with self._cond:
            while True:
                sub = self._subs[sub_id]
                while sub.queue:
                    event = sub.queue.popleft()
                    expires = event["_expires"]
                    if expires is None or expires > time.time():
                        self.events_delivered += 1
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)

    def subscriptions(self) -> list[dict[str, str]]:
        with self._cond:
            return [
                {"id": s.id, "pattern": s.pattern, "language": s.language}
                for s in self._subs.values()
            ]

    def stats(self) -> dict[str, Any]:
        """``Event.get_stats()``: LLMSpell's shape plus totals."""
        with self._cond:
            by_language: dict[str, int] = {}
            for sub in self._subs.values():
                by_language[sub.language] = by_language.get(sub.language, 0) + 1
            return {
                "event_bus_stats": {
                    "events_processed": self.total_published,
                    "events_delivered": self.events_delivered,
                    "events_dropped": self.events_dropped,
                    "rate_limit_violations": 0,
                    "buffer_size": sum(len(s.queue) for s in self._subs.values()),
                },
                "bridge_stats": {
                    "active_subscriptions": len(self._subs),
                    "subscriptions_by_language": by_language,
                },
                "total_published": self.total_published,
            }


def _lua_type(value: Any) -> str:
    if value is None:
        return "no value"
    from lupa.lua54 import lua_type

    return lua_type(value) or type(value).__name__


_BUSES: weakref.WeakKeyDictionary[ScriptRuntime, EventBus] = weakref.WeakKeyDictionary()


def event_bus(runtime: ScriptRuntime) -> EventBus:
    """The bus of a runtime's ``Event`` global (publish on it from any thread)."""
    return _BUSES[runtime]


def install(runtime: ScriptRuntime) -> None:
    """Define ``Event``; :func:`event_bus` gives other threads its bus."""
    bus = EventBus()
    _BUSES[runtime] = bus

    def raw(fn: Callable[..., Any]) -> Callable[..., Any]:
        # ok, value | false, message: event.lua raises at the script's line
        def call(*args: Any) -> Any:
            try:
                return (True, runtime.to_lua(fn(*args)))
            except ScriptError as exc:
                return (False, str(exc))

        return call

    def publish(event_type: Any, data: Any = None, opts: Any = None) -> bool:
        options = runtime.from_lua(opts, what="Event.publish options") if opts else {}
        if not isinstance(options, dict):
            raise ScriptError(
                f"bad argument #3 to 'Event.publish' (table expected, got {_lua_type(opts)})"
            )
        ttl = options.get("ttl_seconds")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float)):
            raise ScriptError("Event.publish: ttl_seconds must be a number of seconds")
        correlation = options.get("correlation_id")
        bus.publish(
            str(event_type),
            runtime.from_lua(data, what="event data"),
            language=str(options.get("language") or "Lua"),
            correlation_id=None if correlation is None else str(correlation),
            ttl_seconds=ttl,
            metadata=options.get("metadata") if isinstance(options.get("metadata"), dict) else None,
        )
        return True

    def poll(sub_id: str, wait_ms: float) -> Any:
        try:
            event = bus.poll(sub_id, min(WAIT_SLICE_S, max(0.0, float(wait_ms) / 1000.0)))
        except KeyError:
            raise ScriptError(f"Event.receive: unknown subscription '{sub_id}'") from None
        if event is None:
            return None
        return {k: v for k, v in event.items() if not k.startswith("_")}

    host = runtime.lua.table()
    host.publish = raw(publish)
    host.subscribe = raw(bus.subscribe)
    host.unsubscribe = bus.unsubscribe
    host.exists = bus.exists
    host.poll = raw(poll)
    host.list = lambda: runtime.api.array(runtime.to_lua(bus.subscriptions()))
    host.stats = lambda: runtime.to_lua(bus.stats())
    host.now_ms = lambda: time.monotonic() * 1000.0
    host.default_timeout = DEFAULT_TIMEOUT_MS
    table = runtime.load_lua("kernel_core.runtime.globals", "event.lua", runtime.api, host)
    runtime.set_global("Event", table)
