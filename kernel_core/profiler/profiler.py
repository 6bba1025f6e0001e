"""Profiling one Lua world: start, snapshots, stop.

A :class:`Profiler` is made on the execution thread and used there: it owns the Lua half
(profiler.lua, which aggregates stacks where the hook delivers them) and, in sampling mode,
the :class:`~kernel_core.profiler.sampler.Sampler` timer thread. The runtime tells it when
runs begin and end, the debugger when a script stops and resumes, so a profile counts only
time the script was running. :meth:`Profiler.drain` folds what Lua aggregated since the last
drain into one :class:`~kernel_core.profiler.model.Profile`, which holds no Lua objects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from kernel_core.profiler.model import SYNTHETIC_KINDS, Frame, FrameKind, Profile
from kernel_core.profiler.sampler import Sampler

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

DEFAULT_RATE = 1000  # Hz
MAX_RATE = 20000  # Hz: beyond this the timer thread cannot keep up anyway
MAX_HEAP_POINTS = 2000  # older points are thinned out beyond this
HEAP_POINTS_PER_SECOND = 50
# What exact mode costs, as measured (docs/benchmarks.md, Profiler: 224x on fib's tiny calls,
# 13x on string.format calls, nothing on a loop without calls): said the same way everywhere
EXACT_COST = "about 2.6 µs per call: up to 220 times slower on code made of small calls"
EXACT_NOTE = (
    f"exact mode: every call and return runs a hook ({EXACT_COST}); times are CPU time "
    "(os.clock): compare functions with each other, not with runs outside the profiler"
)
_KINDS: frozenset[str] = frozenset({"lua", "main", "C", "wait", "native", "internal"})


class ProfilerError(Exception):
    """A profiler request that cannot be done (bad mode or rate, not started)."""


class _LuaSide:
    """profiler.lua, loaded once per runtime, and the frames it has named so far."""

    def __init__(self, runtime: ScriptRuntime) -> None:
        self.host = runtime.lua.table()
        self.module = runtime.load_lua(
            "kernel_core.profiler", "profiler.lua", self.host, runtime.mux
        )
        self.frames: dict[int, Frame] = {}  # Lua frame id -> frame

    @classmethod
    def of(cls, runtime: ScriptRuntime) -> _LuaSide:
        side: _LuaSide | None = getattr(runtime, "_profiler_lua", None)
        if side is None:
            side = cls(runtime)
            runtime._profiler_lua = side  # type: ignore[attr-defined]
        return side


class Profiler:
    """A profile being recorded in one runtime (execution thread, except where noted)."""

    def __init__(
        self,
        runtime: ScriptRuntime,
        mode: str = "sampling",
        rate: float = DEFAULT_RATE,
        meta: dict[str, Any] | None = None,
    ) -> None:
        if mode not in ("sampling", "exact"):
            raise ProfilerError(f"unknown profiling mode '{mode}': use 'sampling' or 'exact'")
        if isinstance(rate, bool) or not 1 <= rate <= MAX_RATE:
            raise ProfilerError(
                f"sampling rate {rate!r} is out of range: use 1 to {MAX_RATE} Hz "
                "(samples per second; the default is 1000)"
            )
        if runtime.profiler is not None:
            raise ProfilerError("profiling is already on in this runtime: stop it first")
        self.runtime = runtime
        self.mode: Literal["sampling", "exact"] = "exact" if mode == "exact" else "sampling"
        self.rate = float(rate)
        self.profile = Profile(
            mode=self.mode,
            unit="microseconds" if self.mode == "exact" else "samples",
            interval=0.0 if self.mode == "exact" else 1.0 / self.rate,
            meta=dict(meta or {}),
        )
        self.profile.meta.setdefault("started", time.time())
        if self.mode == "exact":
            self.profile.meta["note"] = EXACT_NOTE
        else:
            self.profile.meta["rate"] = self.rate
        self._lua = _LuaSide.of(runtime)
        self.sampler: Sampler | None = None
        if self.mode == "sampling":
            self.sampler = Sampler(
                runtime._armer, self.rate, lambda: runtime.host_call, threading.get_ident()
            )
            self._lua.host.gap = self._gap
            runtime.add_closer(self.sampler.close)  # the world closes: no timer thread left
        self.on_run_ended: Callable[[Profile], None] | None = None  # gets the profile so far
        self._unsampled = 0.0  # running ticks waiting for samples to be spread over
        self._wall = 0.0  # exact mode: seconds of runs so far
        self._wall_since: float | None = None
        self._stopped = False
        self._lua.module.start(self.mode, max(1, round(self.rate / HEAP_POINTS_PER_SECOND)))
        runtime.profiler = self
        if runtime.running:
            self.run_started()

    # ------------------------------------------------------------------ lifecycle hooks

    def run_started(self) -> None:
        """A run began (called by the runtime)."""
        self._resume()

    def run_ended(self) -> None:
        """A run ended (called by the runtime): stop counting and collect what Lua holds."""
        self._pause()
        # a sample armed just before the timer paused must not fire in the next Lua call
        self.runtime.mux.apply_all()
        if self.mode == "exact":
            self._lua.module.close_open()
        self.drain()
        if self.on_run_ended is not None:
            self.on_run_ended(self.profile)

    def stopped(self) -> None:
        """The script stopped at a breakpoint or a pause (the debugger's stop loop)."""
        self._pause()
        self._lua.module.hold(True)

    def resumed(self) -> None:
        """The script resumed after a stop."""
        self._lua.module.hold(False)
        if self.runtime.running:
            self._resume()

    def _resume(self) -> None:
        if self.sampler is not None:
            self.sampler.resume()
        elif self._wall_since is None:
            self._wall_since = time.monotonic()

    def _pause(self) -> None:
        if self.sampler is not None:
            self.sampler.pause()
        elif self._wall_since is not None:
            self._wall += time.monotonic() - self._wall_since
            self._wall_since = None

    def _gap(self, last_tick: int) -> Any:
        assert self.sampler is not None
        now, waits, late = self.sampler.gap(int(last_tick))
        return now, self.runtime.lua.table_from(waits), late

    # ------------------------------------------------------------------ results

    @property
    def running(self) -> bool:
        """Whether this profiler is still recording."""
        return not self._stopped

    def duration(self) -> float:
        """Profiled wall-clock seconds so far (time stopped at breakpoints excluded)."""
        if self.sampler is not None:
            return self.sampler.active_seconds()
        extra = time.monotonic() - self._wall_since if self._wall_since is not None else 0.0
        return self._wall + extra

    def drain(self) -> Profile:
        """Fold what Lua aggregated since the last drain into :attr:`profile`."""
        if self._stopped:
            return self.profile
        data = self._lua.module.drain()
        frames = self._lua.frames
        for entry in data.frames.values():
            kind = str(entry[5])
            frames[int(entry[1])] = Frame(
                name=str(entry[2]),
                file=str(entry[3]),
                line=int(entry[4]),
                kind=_frame_kind(kind),
            )
        profile = self.profile
        index: dict[int, int] = {}

        def stack_of(key: Any) -> tuple[int, ...]:
            out = []
            for part in str(key).split(";") if key else ():
                lua_id = int(part)
                at = index.get(lua_id)
                if at is None:
                    at = profile.frame_index(frames[lua_id])
                    index[lua_id] = at
                out.append(at)
            if not out:
                out.append(profile.frame_index(Frame("(llmspell)", kind="internal")))
            return tuple(out)

        batch: dict[tuple[int, ...], float] = {}
        for key, weight in data.stacks.items():
            stack = stack_of(key)
            batch[stack] = batch.get(stack, 0.0) + float(weight)
        self._spread(batch, float(data.unsampled or 0))
        for stack, weight in batch.items():
            profile.stacks[stack] = profile.stacks.get(stack, 0.0) + weight
        for key, kib in data.growth.items():
            stack = stack_of(key)
            profile.heap_growth[stack] = profile.heap_growth.get(stack, 0.0) + float(kib)
        for lua_id, count in data.calls.items():
            at = profile.frame_index(frames[int(lua_id)])
            profile.calls[at] = profile.calls.get(at, 0) + int(count)
        for lua_id, micros in data.inclusive.items():
            at = profile.frame_index(frames[int(lua_id)])
            profile.inclusive[at] = profile.inclusive.get(at, 0.0) + float(micros)
        scale = profile.interval if self.mode == "sampling" else 1.0
        times, sizes = data.heap_t, data.heap_k
        for i in range(1, len(times) + 1):
            profile.heap.append((float(times[i]) * scale, float(sizes[i])))
        if len(profile.heap) > MAX_HEAP_POINTS:
            profile.heap[:] = profile.heap[::2]
        profile.duration = self.duration()
        return profile

    def _spread(self, batch: dict[tuple[int, ...], float], unsampled: float) -> None:
        """Share out running ticks that got no sample (the timer woke late, e.g. on a busy
        machine) in proportion to the samples taken meanwhile: the unbiased guess. Pinned
        on the next sample instead, they pile up wherever the timer tends to run."""
        self._unsampled += unsampled
        frames = self.profile.frames
        running = {
            stack: weight
            for stack, weight in batch.items()
            if stack and frames[stack[-1]].kind not in SYNTHETIC_KINDS
        }
        total = sum(running.values())
        if not self._unsampled or not total:
            return
        scale = self._unsampled / total
        for stack, weight in running.items():
            batch[stack] += weight * scale
        self._unsampled = 0.0

    def snapshot(self) -> Profile:
        """A copy of the profile so far (safe to hand to another thread)."""
        return Profile.from_json(self.drain().to_json())

    def stop(self) -> Profile:
        """Stop recording; returns the finished profile."""
        if self._stopped:
            return self.profile
        self._pause()
        self.drain()
        self._lua.module.stop()
        self.runtime.mux.apply_all()
        if self.sampler is not None:
            self.sampler.close()
        self._stopped = True
        if self.runtime.profiler is self:
            self.runtime.profiler = None
        return self.profile


def _frame_kind(kind: str) -> FrameKind:
    if kind in _KINDS:
        return kind  # type: ignore[return-value]
    return "internal"
