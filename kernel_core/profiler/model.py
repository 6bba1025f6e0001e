"""A profile as plain data: frames, weighted stacks, call counts and the Lua heap over time.

The one shape every producer (the sampling profiler, ``--mode exact``) fills and every
consumer (the exports, the DAP events, the TUI's Flamegraph pane) reads. It never holds a Lua
object, so it may cross threads and processes (``to_json`` / ``from_json``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["sampling", "exact"]
Unit = Literal["samples", "microseconds"]

# What a frame is. "wait" and "native" are synthetic leaves for wall time during which no
# Lua instruction ran: "wait" while a host call (Agent, Tool, io.read ...) was in progress,
# "native" otherwise (a long C function of the standard library, a GC step, the OS).
FrameKind = Literal["lua", "main", "C", "wait", "native", "internal"]
SYNTHETIC_KINDS = frozenset({"wait", "native"})


@dataclass(frozen=True)
class Frame:
    """One function as a profile shows it."""

    name: str  # "fib", "main chunk", "wait: Agent.complete"
    file: str = ""  # the script path as Lua names it (short_src), "" for C and synthetic frames
    line: int = 0  # the line the function is defined on (0 when unknown)
    kind: FrameKind = "lua"

    @property
    def location(self) -> str:
        """``file:line`` (or what there is of it)."""
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or f"[{self.kind}]"

    @property
    def label(self) -> str:
        """The name with its location, unique enough for folded stacks and tables."""
        if self.kind in SYNTHETIC_KINDS or not self.file:
            return self.name
        return f"{self.name} ({self.location})"


Stack = tuple[int, ...]  # frame indexes, root first


@dataclass
class FunctionStats:
    """A row of the Top Functions table."""

    frame: Frame
    index: int
    self_weight: float
    total_weight: float
    calls: int | None  # known in exact mode only
    self_share: float  # 0..1 of the profile's total
    total_share: float


@dataclass
class Profile:
    """Weighted stacks over a frame table.

    In sampling mode a stack's weight counts samples (``interval`` seconds each, wall clock);
    in exact mode it is self time in microseconds and ``calls``/``inclusive`` are exact.
    """

    frames: list[Frame] = field(default_factory=list)
    stacks: dict[Stack, float] = field(default_factory=dict)
    mode: Mode = "sampling"
    unit: Unit = "samples"
    interval: float = 0.0  # seconds per sample (sampling mode)
    duration: float = 0.0  # profiled wall-clock seconds (pauses at breakpoints excluded)
    calls: dict[int, int] = field(default_factory=dict)  # frame index -> calls (exact mode)
    inclusive: dict[int, float] = field(default_factory=dict)  # frame index -> µs (exact mode)
    heap: list[tuple[float, float]] = field(default_factory=list)  # (seconds, KiB)
    heap_growth: dict[Stack, float] = field(default_factory=dict)  # KiB grown while there
    meta: dict[str, Any] = field(default_factory=dict)  # script, rate, overhead note, ...

    # ------------------------------------------------------------------ building

    def frame_index(self, frame: Frame) -> int:
        """The index of ``frame``, adding it when new."""
        index = self._index().get(frame)
        if index is None:
            index = len(self.frames)
            self.frames.append(frame)
            self._index()[frame] = index
        return index

    def _index(self) -> dict[Frame, int]:
        cache: dict[Frame, int] | None = self.__dict__.get("_frame_cache")
        if cache is None or len(cache) != len(self.frames):
            cache = {frame: i for i, frame in enumerate(self.frames)}
            self.__dict__["_frame_cache"] = cache
        return cache

    def add(self, frames: Iterable[Frame], weight: float = 1.0) -> None:
        """Add ``weight`` to the stack made of ``frames`` (root first)."""
        stack = tuple(self.frame_index(f) for f in frames)
        self.stacks[stack] = self.stacks.get(stack, 0.0) + weight

    # ------------------------------------------------------------------ reading

    @property
    def total(self) -> float:
        """The summed weight of every stack."""
        return float(sum(self.stacks.values()))

    @property
    def samples(self) -> int:
        """Samples taken (sampling mode), else 0."""
        return round(self.total) if self.unit == "samples" else 0

    def seconds(self, weight: float) -> float:
        """A weight as seconds."""
        if self.unit == "samples":
            return weight * self.interval
        return weight / 1e6

    def named_stacks(self) -> Iterator[tuple[list[Frame], float]]:
        """Every stack as its frames (root first) with its weight, heaviest first."""
        for stack, weight in sorted(self.stacks.items(), key=lambda kv: (-kv[1], kv[0])):
            yield [self.frames[i] for i in stack], weight

    def self_weights(self) -> dict[int, float]:
        """Weight of the stacks each frame is the leaf of."""
        out: dict[int, float] = {}
        for stack, weight in self.stacks.items():
            if stack:
                out[stack[-1]] = out.get(stack[-1], 0.0) + weight
        return out

    def total_weights(self) -> dict[int, float]:
        """Weight of the stacks each frame appears in (once per stack: recursion counts once)."""
        out: dict[int, float] = {}
        for stack, weight in self.stacks.items():
            for index in set(stack):
                out[index] = out.get(index, 0.0) + weight
        return out

    def top_functions(self, limit: int | None = None, by: str = "self") -> list[FunctionStats]:
        """Functions by self (or total) weight, heaviest first."""
        total = self.total or 1.0
        selfs, totals = self.self_weights(), self.total_weights()
        rows = [
            FunctionStats(
                frame=self.frames[i],
                index=i,
                self_weight=selfs.get(i, 0.0),
                total_weight=totals[i],
                calls=self.calls.get(i) if self.mode == "exact" else None,
                self_share=selfs.get(i, 0.0) / total,
                total_share=totals[i] / total,
            )
            for i in totals
        ]
        if by == "total":
            rows.sort(key=lambda r: (-r.total_weight, -r.self_weight, r.frame.label))
        else:
            rows.sort(key=lambda r: (-r.self_weight, -r.total_weight, r.frame.label))
        return rows[:limit] if limit is not None else rows

    def heap_growth_by_frame(self, limit: int | None = None) -> list[tuple[Frame, float]]:
        """Frames whose samples saw the Lua heap grow most (KiB, leaf frames), largest first."""
        out: dict[int, float] = {}
        for stack, kib in self.heap_growth.items():
            if stack:
                out[stack[-1]] = out.get(stack[-1], 0.0) + kib
        rows = sorted(((self.frames[i], kib) for i, kib in out.items()), key=lambda r: -r[1])
        return rows[:limit] if limit is not None else rows

    # ------------------------------------------------------------------ transport

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data (the body of DAP ``llmspell/profile`` messages)."""
        return {
            "version": 1,
            "mode": self.mode,
            "unit": self.unit,
            "interval": self.interval,
            "duration": self.duration,
            "frames": [[f.name, f.file, f.line, f.kind] for f in self.frames],
            "stacks": [[list(s), w] for s, w in self.stacks.items()],
            "calls": [[i, n] for i, n in self.calls.items()],
            "inclusive": [[i, us] for i, us in self.inclusive.items()],
            "heap": [[t, kib] for t, kib in self.heap],
            "heapGrowth": [[list(s), kib] for s, kib in self.heap_growth.items()],
            "meta": dict(self.meta),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        """The inverse of :meth:`to_json` (raises ValueError on malformed data)."""
        try:
            frames = [Frame(str(n), str(f), int(ln), k) for n, f, ln, k in data["frames"]]
            count = len(frames)

            def stack(items: Any) -> Stack:
                out = tuple(int(i) for i in items)
                if any(not 0 <= i < count for i in out):
                    raise ValueError(f"stack {list(out)} names a frame that does not exist")
                return out

            return cls(
                frames=frames,
                stacks={stack(s): float(w) for s, w in data["stacks"]},
                mode=data.get("mode", "sampling"),
                unit=data.get("unit", "samples"),
                interval=float(data.get("interval", 0.0)),
                duration=float(data.get("duration", 0.0)),
                calls={int(i): int(n) for i, n in data.get("calls", [])},
                inclusive={int(i): float(us) for i, us in data.get("inclusive", [])},
                heap=[(float(t), float(k)) for t, k in data.get("heap", [])],
                heap_growth={stack(s): float(k) for s, k in data.get("heapGrowth", [])},
                meta=dict(data.get("meta", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a llmspell profile: {exc}") from exc
