"""The ``Debug`` global: levelled logging to stderr with a capture buffer, module filters,
timers with reports, value dumps (values.lua), memory statistics and stack traces.

Level gating happens in debug_global.lua, so a filtered-out ``Debug.debug`` costs no call
into Python; what passes arrives here to be filtered by module, formatted, written to the
runtime's stderr stream (stdout stays the script's own) and captured.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.errors import ScriptError

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

CAPTURE_LIMIT = 10_000
LEVEL_NAMES = {1: "ERROR", 2: "WARN", 3: "INFO", 4: "DEBUG", 5: "TRACE"}
FILTER_KINDS = ("exact", "wildcard", "regex", "hierarchical")


def rfc3339(epoch: float) -> str:
    """UTC time with milliseconds, e.g. ``2025-01-02T03:04:05.678Z``."""
    ms = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{ms:03d}Z"


def log_timestamp(epoch: float) -> str:
    """Local time as LLMSpell prints it: ``YYYY-mm-dd HH:MM:SS.mmm``."""
    ms = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch)) + f".{ms:03d}"


@dataclass
class FilterRule:
    """One module filter: ``kind`` is exact, wildcard, regex or hierarchical."""

    pattern: str
    kind: str
    enabled: bool
    regex: re.Pattern[str] | None = None

    def matches(self, module: str) -> bool:
        if self.kind == "exact":
            return module == self.pattern
        if self.kind == "wildcard":
            return fnmatch.fnmatchcase(module, self.pattern)
        if self.kind == "regex":
            assert self.regex is not None
            return self.regex.search(module) is not None
        return module == self.pattern or module.startswith(self.pattern + ".")


@dataclass
class ModuleFilters:
    """Which modules' messages are shown. The most recently added matching rule decides;
    a module no rule matches (or a message without a module) follows ``default_enabled``."""

    rules: list[FilterRule] = field(default_factory=list)
    default_enabled: bool = True

    def add(self, pattern: str, kind: str | None, enabled: bool) -> None:
        """Add (or replace) the rule for ``pattern``; ``kind`` None guesses from the pattern."""
        if kind is None:
            kind = "wildcard" if any(c in pattern for c in "*?[") else "hierarchical"
        kind = kind.lower()
        if kind not in FILTER_KINDS:
            raise ScriptError(
                f"unknown filter type '{kind}' (expected one of {', '.join(FILTER_KINDS)})"
            )
        regex = None
        if kind == "regex":
            try:
                regex = re.compile(pattern)
            except re.error as exc:
                raise ScriptError(f"invalid regex filter '{pattern}': {exc}") from None
        self.remove(pattern)
        self.rules.append(FilterRule(pattern, kind, enabled, regex))

    def remove(self, pattern: str) -> bool:
        """Drop the rule for ``pattern``; False when there was none."""
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.pattern != pattern]
        return len(self.rules) != before

    def allows(self, module: str | None) -> bool:
        """Whether a message from ``module`` is shown."""
        if module is not None:
            for rule in reversed(self.rules):
                if rule.matches(module):
                    return rule.enabled
        return self.default_enabled

    def summary(self) -> dict[str, Any]:
        """``Debug.getFilterSummary()``."""
        return {
            "default_enabled": self.default_enabled,
            "total_rules": len(self.rules),
            "rules": [
                {"pattern": r.pattern, "type": r.kind, "enabled": r.enabled} for r in self.rules
            ],
        }


@dataclass
class TimerRecord:
    """A ``Debug.timer``: started at ``started`` (perf_counter seconds)."""

    id: str
    name: str
    started: float
    stopped_ms: float | None = None
    laps: list[tuple[str, float]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def elapsed_ms(self) -> float:
        if self.stopped_ms is not None:
            return self.stopped_ms
        return (time.perf_counter() - self.started) * 1000.0

    def as_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "running": self.stopped_ms is None,
            "elapsed_ms": round(self.elapsed_ms(), 3),
            "laps": [{"name": n, "at_ms": round(ms, 3)} for n, ms in self.laps],
            "events": self.events,
        }


class DebugState:
    """Everything of the Debug global that lives in Python, for one runtime."""

    def __init__(self, runtime: ScriptRuntime) -> None:
        self.runtime = runtime
        self.filters = ModuleFilters()
        self.captured: deque[dict[str, Any]] = deque(maxlen=CAPTURE_LIMIT)
        self.timers: dict[str, TimerRecord] = {}
        self._timer_seq = 0

    # ---------------------------------------------------------------- logging

    def emit(self, level: int, message: str, module: str | None, data: Any = None) -> None:
        """Filter by module, print to stderr and capture one entry."""
        if not self.filters.allows(module):
            return
        now = time.time()
        name = LEVEL_NAMES.get(int(level), "INFO")
        where = f"[{module}] " if module else ""
        self.runtime.output.write("stderr", f"{log_timestamp(now)} {name:<5} {where}{message}\n")
        entry: dict[str, Any] = {"timestamp": rfc3339(now), "level": name, "message": message}
        if module:
            entry["module"] = module
        if data is not None:
            entry["metadata"] = self.runtime.convert.from_lua(data, lenient=True)
        self.captured.append(entry)

    def captured_entries(self, limit: Any = None) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (all when nil), oldest first."""
        entries = list(self.captured)
        if limit is not None and int(limit) >= 0:
            entries = entries[len(entries) - int(limit) :] if int(limit) else []
        return entries

    # ---------------------------------------------------------------- timers

    def timer_start(self, name: str) -> str:
        self._timer_seq += 1
        timer_id = f"timer-{self._timer_seq}"
        self.timers[timer_id] = TimerRecord(timer_id, str(name), time.perf_counter())
        return timer_id

    def _timer(self, timer_id: str) -> TimerRecord:
        timer = self.timers.get(str(timer_id))
        if timer is None:
            raise ScriptError(f"unknown timer id '{timer_id}' (use the object Debug.timer returns)")
        return timer

    def timer_stop(self, timer_id: str) -> float | None:
        timer = self._timer(timer_id)
        if timer.stopped_ms is not None:
            return None
        timer.stopped_ms = (time.perf_counter() - timer.started) * 1000.0
        return timer.stopped_ms

    def timer_lap(self, timer_id: str, name: str | None) -> bool:
        timer = self._timer(timer_id)
        if timer.stopped_ms is not None:
            return False
        timer.laps.append((name or f"lap {len(timer.laps) + 1}", timer.elapsed_ms()))
        return True

    def timer_elapsed(self, timer_id: str) -> float:
        return self._timer(timer_id).elapsed_ms()

    def record_event(self, timer_id: str, name: str, metadata: Any = None) -> bool:
        timer = self.timers.get(str(timer_id))
        if timer is None:
            return False
        event: dict[str, Any] = {"name": name, "at_ms": round(timer.elapsed_ms(), 3)}
        if metadata is not None:
            event["metadata"] = self.runtime.convert.from_lua(metadata, lenient=True)
        timer.events.append(event)
        return True

    def performance_report(self) -> str:
        """Timers summarised by name, then each timer's laps and events."""
        if not self.timers:
            return "Performance report: no timers (start one with Debug.timer(name))"
        by_name: dict[str, list[float]] = {}
        for timer in self.timers.values():
            by_name.setdefault(timer.name, []).append(timer.elapsed_ms())
        width = max(len(n) for n in by_name) + 2
        lines = [
            f"Performance report ({len(self.timers)} timers)",
            (
                f"  {'timer':<{width}}{'count':>6}{'total ms':>12}{'avg ms':>10}"
                f"{'min ms':>10}{'max ms':>10}"
            ),
        ]
        for name, times in by_name.items():
            lines.append(
                f"  {name:<{width}}{len(times):>6}{sum(times):>12.3f}"
                f"{sum(times) / len(times):>10.3f}{min(times):>10.3f}{max(times):>10.3f}"
            )
        for timer in self.timers.values():
            state = "running" if timer.stopped_ms is None else "stopped"
            if timer.laps or timer.events:
                lines.append(f"  {timer.name} ({timer.id}, {state}):")
            lines.extend(f"    lap {n}: {ms:.3f} ms" for n, ms in timer.laps)
            lines.extend(f"    event {e['name']}: {e['at_ms']:.3f} ms" for e in timer.events)
        return "\n".join(lines)

    def json_report(self) -> str:
        return to_json({"timers": [t.as_data() for t in self.timers.values()]})

    def flame_graph(self) -> str:
        """Folded stacks (``timer;lap microseconds`` per line), for flamegraph.pl/speedscope."""
        lines = []
        for timer in self.timers.values():
            previous = 0.0
            for lap, at in timer.laps:
                lines.append(f"{timer.name};{lap} {round((at - previous) * 1000)}")
                previous = at
            rest = timer.elapsed_ms() - previous
            if rest > 0 or not timer.laps:
                lines.append(f"{timer.name} {round(rest * 1000)}")
        return "\n".join(lines)

    # ---------------------------------------------------------------- sources and memory

    def source_line(self, source: str, line: int) -> str | None:
        """Text of ``line`` of a chunk (a file ``@path`` or a named snippet ``=name``)."""
        if source.startswith("@"):
            import linecache

            # a chunk can be named after any file (load(code, "@/etc/shadow"))
            if not self.runtime.sources.may_quote(source[1:]):
                return None
            text = linecache.getline(source[1:], int(line))
        else:
            chunk = self.runtime.chunk_sources.get(source[1:])
            if chunk is None:
                return None
            lines = chunk.splitlines()
            text = lines[int(line) - 1] if 0 < int(line) <= len(lines) else ""
        return text.strip() or None

    def allocated_bytes(self, used: int) -> int:
        """Bytes lupa's allocator counts for this Lua state (it counts only under a memory
        cap, and not what was allocated before the cap was set), at least ``used``."""
        return max(int(self.runtime.lua.get_memory_used() or 0), int(used))


def resident_bytes() -> int:
    """The process's resident set size."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def to_json(data: Any) -> str:
    """Compact JSON with sorted keys."""
    import json

    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def install(runtime: ScriptRuntime) -> None:
    """Define the ``Debug`` global."""
    state = DebugState(runtime)
    fn = runtime.host_function
    host = runtime.lua.table()
    host.emit = fn("Debug.log", state.emit)

    def add_filter(pattern: str, kind: str | None, enabled: bool) -> tuple[bool, str | None]:
        try:
            state.filters.add(str(pattern), kind, bool(enabled))
        except ScriptError as exc:
            return (False, str(exc))
        return (True, None)

    def set_default(enabled: bool) -> None:
        state.filters.default_enabled = bool(enabled)

    def clear_filters() -> None:
        state.filters.rules.clear()

    def captured(limit: Any = None) -> Any:
        return runtime.api.array(runtime.to_lua(state.captured_entries(limit)))

    def frames_json(value: Any) -> str:
        return to_json(runtime.convert.from_lua(value, lenient=True))

    host.add_filter = fn("Debug.addAdvancedFilter", add_filter)
    host.remove_filter = fn("Debug.removeModuleFilter", state.filters.remove)
    host.clear_filters = fn("Debug.clearModuleFilters", clear_filters)
    host.set_default_filter = fn("Debug.setDefaultFilterEnabled", set_default)
    host.filter_summary = fn("Debug.getFilterSummary", state.filters.summary)
    host.captured = fn("Debug.getCapturedEntries", captured)
    host.clear_captured = fn("Debug.clearCaptured", state.captured.clear)
    host.timer_start = fn("Debug.timer", state.timer_start)
    host.timer_stop = fn("DebugTimer:stop", state.timer_stop)
    host.timer_lap = fn("DebugTimer:lap", state.timer_lap)
    host.timer_elapsed = fn("DebugTimer:elapsed", state.timer_elapsed)
    host.record_event = fn("Debug.recordEvent", state.record_event)
    host.performance_report = fn("Debug.performanceReport", state.performance_report)
    host.json_report = fn("Debug.jsonReport", state.json_report)
    host.flame_graph = fn("Debug.flameGraph", state.flame_graph)
    host.active_timers = fn(
        "Debug.memorySnapshot",
        lambda: [t.name for t in state.timers.values() if t.stopped_ms is None],
    )
    host.source_line = state.source_line
    host.allocated_bytes = state.allocated_bytes
    host.resident_bytes = resident_bytes
    host.now_iso = lambda: rfc3339(time.time())
    host.to_json = fn("Debug.stackTraceJson", frames_json)
    values = runtime.load_lua("kernel_core.runtime.lua", "values.lua")
    # Debug.stackTrace reads locals; the restricted sandbox trims the global `debug`, so take
    # the library as Lua opened it
    # the full library even in the restricted sandbox (which hides it from scripts)
    real_debug = runtime.mux.real_debug
    debug_global = runtime.load_lua(
        "kernel_core.runtime.globals",
        "debug_global.lua",
        runtime.api,
        values,
        host,
        real_debug,
        runtime.config.get("debug", "level"),
        runtime.config.get("debug", "enabled"),
    )
    runtime.set_global("Debug", debug_global)
