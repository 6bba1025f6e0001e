"""The ``Hook`` global and the dispatcher that runs registered Lua hooks.

One dispatch implementation serves both callers: Python components (Tool, Agent) call
``runtime.hooks.fire(...)``; Lua components (Workflow) call ``api.fire_hook(...)``, which
costs one table lookup while nothing is registered on the point and otherwise comes here.
Hooks on a point run in priority order (then registration order); each is guarded by a
circuit breaker (breaker.py) and its calls are counted and timed for the hooks pane.

A hook that raises is reported on stderr in one line, counted and skipped: the operation
goes on. Handles keep their hook registered until unregistered (a dropped handle does not
unregister it), so ``Hook.register(...)`` without keeping the handle works.
"""

from __future__ import annotations

import difflib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.breaker import BreakerSettings, CircuitBreaker, Transition
from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.hook_points import HOOK_POINTS, Action, HookDecision

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

# LLMSpell's Priority values (rs-llmspell's Priority::HIGHEST .. LOWEST)
PRIORITIES: dict[str, int] = {
    "highest": -(2**31),
    "high": -100,
    "normal": 0,
    "low": 100,
    "lowest": 2**31 - 1,
}
_KNOWN_POINTS = frozenset(HOOK_POINTS)
_TERMINAL: frozenset[str] = frozenset({"cancel", "skip", "replace", "redirect", "retry"})


def new_uuid() -> str:
    """A random (version 4) UUID string, without importing uuid (it costs at startup)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def unknown_point_message(point: Any) -> str:
    """``Unknown hook point: X`` with the nearest valid name."""
    text = str(point)
    match = difflib.get_close_matches(text, HOOK_POINTS, n=1, cutoff=0.5)
    if not match:
        match = [p for p in HOOK_POINTS if p.lower() == text.lower()]
    hint = (
        f" (did you mean '{match[0]}'?)" if match else " (see Hook points in docs/lua-api/hook.md)"
    )
    return f"Unknown hook point: {text}{hint}"


@dataclass
class RegisteredHook:
    """One Lua callback on one point, with its breaker and statistics."""

    id: str
    point: str
    fn: Any
    priority: str
    source: str
    seq: int
    breaker: CircuitBreaker
    calls: int = 0
    errors: int = 0
    skipped_open: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    last_error: str | None = None
    running: bool = False

    @property
    def rank(self) -> int:
        return PRIORITIES[self.priority]

    def stats(self) -> dict[str, Any]:
        """Plain data for the hooks pane and ``Hook.list``."""
        return {
            "id": self.id,
            "point": self.point,
            "name": f"lua_{self.id}",
            "source": self.source,
            "priority": self.priority,
            "calls": self.calls,
            "errors": self.errors,
            "skipped_while_open": self.skipped_open,
            "total_ms": round(self.total_ms, 3),
            "avg_ms": round(self.total_ms / self.calls, 3) if self.calls else 0.0,
            "max_ms": round(self.max_ms, 3),
            "last_error": self.last_error,
            "breaker": self.breaker.state,
            "retry_in_ms": round(self.breaker.retry_in_ms(), 1),
            "transitions": [
                {"from": t.from_state, "to": t.to_state, "at": t.at, "reason": t.reason}
                for t in self.breaker.transitions
            ],
        }


@dataclass
class _Chain:
    action: Action = "continue"
    data: Any = None
    reason: str | None = None
    target: str | None = None
    delay_ms: int = 1000
    max_attempts: int = 3
    hooks_run: int = 0
    notes: list[str] = field(default_factory=list)


class LuaHookDispatcher:
    """Runs the Lua hooks registered on a point. Use it on the runtime's execution thread."""

    def __init__(
        self,
        runtime: ScriptRuntime,
        lua_side: Any,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._runtime = runtime
        self._lua = lua_side
        self._clock = clock
        section = runtime.config.section("hooks")
        self._settings = BreakerSettings(
            failure_threshold=int(section["failure_threshold"]),
            slow_call_ms=float(section["slow_call_ms"]),
            slow_threshold=int(section["slow_threshold"]),
            cooldown_ms=float(section["cooldown_ms"]),
        )
        self._by_point: dict[str, list[RegisteredHook]] = {}
        self._by_id: dict[str, RegisteredHook] = {}
        self._seq = 0
        self._events: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- registration

    def register(self, point: str, fn: Any, priority: str | None, source: str) -> str:
        """Add ``fn`` on ``point``; returns the hook id. Unknown priorities mean normal."""
        if point not in _KNOWN_POINTS:
            raise ScriptError(unknown_point_message(point))
        name = (priority or "normal").lower()
        if name not in PRIORITIES:
            name = "normal"
        self._seq += 1
        hook_id = new_uuid()
        hook = RegisteredHook(hook_id, point, fn, name, source, self._seq, self._new_breaker())
        hook.breaker.on_transition = lambda t: self._on_transition(hook, t)
        hooks = self._by_point.setdefault(point, [])
        hooks.append(hook)
        hooks.sort(key=lambda h: (h.rank, h.seq))
        self._by_id[hook_id] = hook
        self._lua.set_active(point, len(hooks))
        return hook_id

    def unregister(self, hook_id: str) -> bool:
        """Remove a hook; False when there is none with this id."""
        hook = self._by_id.pop(str(hook_id), None)
        if hook is None:
            return False
        hooks = self._by_point[hook.point]
        hooks.remove(hook)
        self._lua.set_active(hook.point, len(hooks))
        return True

    def _new_breaker(self) -> CircuitBreaker:
        return CircuitBreaker(self._settings, clock=self._clock)

    # ---------------------------------------------------------------- firing

    def fire(
        self,
        point: str,
        component: tuple[str, str],
        data: dict[str, Any],
        metadata: dict[str, str] | None = None,
    ) -> HookDecision:
        """Run the hooks on ``point`` in priority order and combine their results."""
        hooks = self._by_point.get(point)
        if not hooks:
            if point not in _KNOWN_POINTS:
                raise ValueError(unknown_point_message(point))
            return HookDecision()
        runtime = self._runtime
        chain = self._run(
            hooks, point, component, runtime.to_lua(data), runtime.to_lua(metadata or {})
        )
        result = None
        if chain.data is not None:
            result = runtime.convert.from_lua(chain.data, lenient=True)
        return HookDecision(
            action=chain.action,
            data=result,
            reason=chain.reason,
            target=chain.target,
            delay_ms=chain.delay_ms,
            max_attempts=chain.max_attempts,
            hooks_run=chain.hooks_run,
            notes=chain.notes,
        )

    def fire_lua(self, point: str, ctype: Any, cname: Any, data: Any, metadata: Any = None) -> Any:
        """``api.fire_hook`` for Lua callers: Lua data in, a Lua decision table out."""
        chain = self._run(
            self._by_point.get(point, []),
            point,
            (str(ctype or ""), str(cname or "")),
            data,
            metadata,
        )
        decision: dict[str, Any] = {"action": chain.action, "hooks_run": chain.hooks_run}
        if chain.action in ("modified", "replace", "skip", "redirect"):
            decision["data"] = chain.data
        if chain.reason is not None:
            decision["reason"] = chain.reason
        if chain.target is not None:
            decision["target"] = chain.target
        if chain.action == "retry":
            decision["delay_ms"] = chain.delay_ms
            decision["max_attempts"] = chain.max_attempts
        return self._runtime.lua.table_from(decision)

    def _run(
        self,
        hooks: list[RegisteredHook],
        point: str,
        component: tuple[str, str],
        data: Any,
        metadata: Any,
    ) -> _Chain:
        chain = _Chain()
        correlation_id = new_uuid()
        invoke = self._lua.invoke
        ctype, cname = component
        # a copy: a hook may unregister itself (or others) while the chain runs
        for hook in list(hooks):
            if hook.running:
                chain.notes.append(f"hook {hook.id} skipped: it fired its own point again")
                continue
            if not hook.breaker.allow():
                hook.skipped_open += 1
                continue
            hook.running = True
            started = time.perf_counter()
            try:
                status, action, new_data, reason, target, delay, attempts = invoke(
                    hook.fn, point, correlation_id, ctype, cname, metadata, data
                )
            finally:
                hook.running = False
            elapsed_ms = (time.perf_counter() - started) * 1000.0
            hook.calls += 1
            hook.total_ms += elapsed_ms
            hook.max_ms = max(hook.max_ms, elapsed_ms)
            chain.hooks_run += 1
            if status == "abort":
                # the run is being interrupted: stop here; the script sees the abort
                raise ScriptError(str(action))
            if status == "error":
                self._hook_failed(hook, str(action))
                chain.notes.append(f"hook {hook.id} failed: {action}")
                continue
            hook.breaker.record_success(elapsed_ms)
            if action == "modified":
                data = new_data
                chain.action = "modified"
                chain.data = data
                continue
            if action in _TERMINAL:
                chain.action = action
                chain.data = new_data
                chain.reason = None if reason is None else str(reason)
                chain.target = None if target is None else str(target)
                if action == "retry":
                    chain.delay_ms = int(delay)
                    chain.max_attempts = int(attempts)
                break
        return chain

    def _hook_failed(self, hook: RegisteredHook, message: str) -> None:
        hook.errors += 1
        hook.last_error = message
        log.debug("hook %s on %s failed: %s", hook.id, hook.point, message)
        self._runtime.output.write(
            "stderr",
            f"[hook] {hook.point} hook at {hook.source} failed (the operation continues): "
            f"{message}\n",
        )
        hook.breaker.record_failure(message)

    def _on_transition(self, hook: RegisteredHook, transition: Transition) -> None:
        self._events.append(
            {
                "hook_id": hook.id,
                "point": hook.point,
                "source": hook.source,
                "from": transition.from_state,
                "to": transition.to_state,
                "at": transition.at,
                "reason": transition.reason,
            }
        )
        if transition.to_state == "open":
            seconds = self._settings.cooldown_ms / 1000.0
            self._runtime.output.write(
                "stderr",
                f"[hook] {hook.point} hook at {hook.source} is skipped for {seconds:g} s by "
                f"its circuit breaker: {transition.reason}\n",
            )

    # ---------------------------------------------------------------- views (plain data)

    def stats(self) -> list[dict[str, Any]]:
        """One dict per registered hook, in firing order per point."""
        return [hook.stats() for hooks in self._by_point.values() for hook in hooks]

    def drain_events(self) -> list[dict[str, Any]]:
        """Breaker transitions since the last call."""
        events, self._events = self._events, []
        return events

    def hook(self, hook_id: str) -> RegisteredHook | None:
        """The registered hook with this id."""
        return self._by_id.get(hook_id)

    def list_entries(self, selector: Any = None) -> list[dict[str, Any]]:
        """``Hook.list``: LLMSpell's entry shape plus this dispatcher's statistics."""
        point = language = priority = tag = None
        if isinstance(selector, str):
            point = selector
        elif isinstance(selector, dict):
            point = selector.get("hook_point")
            language, priority, tag = (
                selector.get("language"),
                selector.get("priority"),
                selector.get("tag"),
            )
        entries = []
        for hook in sorted(self._by_id.values(), key=lambda h: h.seq):
            label = f"Priority({hook.rank})"
            if point is not None and hook.point != point:
                continue
            if language is not None and str(language).lower() != "lua":
                continue
            if priority is not None and str(priority).lower() not in (hook.priority, label.lower()):
                continue
            if tag is not None and tag not in ("cross-language", "lua"):
                continue
            entry = hook.stats()
            entry.pop("transitions")
            entry.update(
                {
                    "priority": label,
                    "priority_name": hook.priority,
                    "language": "lua",
                    "version": "1.0.0",
                    "description": f"Lua hook on {hook.point} ({hook.source})",
                    "tags": ["cross-language", "lua"],
                }
            )
            entries.append(entry)
        return entries


def install(runtime: ScriptRuntime) -> None:
    """Define ``Hook``, make ``runtime.hooks`` dispatch to it and replace ``api.fire_hook``."""
    host = runtime.lua.table()
    host.points = runtime.lua.table_from(list(HOOK_POINTS))
    dispatcher: LuaHookDispatcher | None = None

    def register(point: str, fn: Any, priority: Any, source: str) -> str:
        assert dispatcher is not None
        return dispatcher.register(point, fn, priority, source)

    def unregister(hook_id: Any) -> bool:
        assert dispatcher is not None
        return dispatcher.unregister(hook_id)

    def list_hooks(selector: Any = None) -> Any:
        assert dispatcher is not None
        plain = runtime.from_lua(selector, what="Hook.list filter") if selector else None
        return runtime.api.array(runtime.to_lua(dispatcher.list_entries(plain)))

    def fire(point: str, ctype: Any, cname: Any, data: Any, metadata: Any = None) -> Any:
        assert dispatcher is not None
        return dispatcher.fire_lua(point, ctype, cname, data, metadata)

    host.register = runtime.host_function("Hook.register", register)
    host.unregister = runtime.host_function("Hook.unregister", unregister)
    host.list = runtime.host_function("Hook.list", list_hooks)
    host.fire = runtime.host_function("api.fire_hook", fire)
    host.unknown_point = unknown_point_message
    lua_side = runtime.load_lua(
        "kernel_core.runtime.globals", "hook.lua", runtime.api, runtime.mux, host
    )
    dispatcher = LuaHookDispatcher(runtime, lua_side)
    runtime.hooks = dispatcher
    runtime.api.fire_hook_impl = lua_side.fire_hook
    runtime.set_global("Hook", lua_side.Hook)
