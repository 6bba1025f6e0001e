"""The sampling profiler's timer: a thread that arms the sample hook at the sampling rate.

This is how SIGPROF profilers work, without the signal: about once per tick the timer arms a
count hook on the Lua threads (``lua_sethook`` from this thread, as the pause path does); the
hook records the stack in Lua and disarms itself (profiler.lua). While no sample is armed Lua
runs with no hook at all, so the cost is the samples themselves.

Time counts only while a run is in progress and not stopped at a breakpoint, and it is wall
clock time split three ways, each tick labelled by what it was:

- the Lua thread running (its own CPU clock advanced): ticks that samples land in;
- a host call in progress (an Agent's HTTP request, io.read): "wait: <call>" ticks, however
  long the call sleeps;
- neither: the OS ran something else (a busy machine): "wait: CPU (thread not scheduled)".
  Arming on wall time alone would put such time wherever the thread happened to resume, which
  is after preemption points (system calls), and skew the profile.

A tick's number rides in the hook's count (``SAMPLE_BASE + tick % SAMPLE_SPAN``), so a sample
that finds the tick after the last one's needs no Python call. When more ticks went by, the
hook asks :meth:`Sampler.gap` how many and what they were.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable

from kernel_core.hooks.async_arm import AsyncArmer

# Must match multiplexer.lua's SAMPLE_BASE and SAMPLE_SPAN.
SAMPLE_BASE = 2
SAMPLE_SPAN = 8
PENDING = range(SAMPLE_BASE, SAMPLE_BASE + SAMPLE_SPAN)
# The host call name of ticks the Lua thread spent not running (a "wait: ..." frame)
OFF_CPU = "CPU (thread not scheduled)"
MAX_QUEUED = 100000  # labelled ticks kept for a sample to collect (nobody asks: bounded)


class Sampler:
    """Arms samples at about ``rate`` Hz while active; counts and labels ticks."""

    def __init__(
        self,
        armer: AsyncArmer,
        rate: float,
        host_call: Callable[[], str | None],
        lua_thread: int | None = None,
    ) -> None:
        if not 1 <= rate <= 20000:
            raise ValueError(f"sampling rate {rate:g} Hz is out of range: use 1 to 20000 Hz")
        self.rate = float(rate)
        self.interval = 1.0 / self.rate
        self._armer = armer
        self._host_call = host_call
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._active = False
        self._stopping = False
        self._cpu_clock: int | None = None
        if lua_thread is not None and hasattr(time, "pthread_getcpuclockid"):
            try:
                self._cpu_clock = time.pthread_getcpuclockid(lua_thread)
            except OSError:
                self._cpu_clock = None
        self._marks = (0.0, 0.0)  # (wall, Lua thread CPU) when time was last counted
        self._counted = 0.0  # seconds counted: running or in host calls
        self._off = 0.0  # seconds the thread was not scheduled, outside host calls
        self._off_ticks = 0  # ticks of _off already labelled
        self._tick = 0  # ticks so far: int((_counted + _off) / interval)
        self._waits: deque[tuple[int, str]] = deque()  # (tick, label) of labelled ticks
        self._late: deque[int] = deque()  # running ticks that got no arm of their own
        self.armed = 0  # arms made (for tests and stats)
        self._thread = threading.Thread(target=self._loop, name="llmspell-sampler", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ control (any thread)

    def resume(self) -> None:
        """Start counting (a run began, or a stop resumed)."""
        with self._lock:
            if not self._active:
                self._active = True
                self._marks = (time.monotonic(), self._cpu_now(0.0))
                self._wake.notify()

    def pause(self) -> None:
        """Stop counting (a run ended, or the script stopped at a breakpoint)."""
        with self._lock:
            if self._active:
                self._count(time.monotonic())
                self._active = False

    def active_seconds(self) -> float:
        """Wall-clock seconds counted so far."""
        with self._lock:
            extra = time.monotonic() - self._marks[0] if self._active else 0.0
            return self._counted + self._off + extra

    def close(self) -> None:
        """Stop the timer thread."""
        with self._lock:
            self._stopping = True
            self._active = False
            self._wake.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    # ------------------------------------------------------------------ the hook's question

    def gap(self, last_tick: int) -> tuple[int, dict[str, int], int]:
        """The tick now; how many ticks after ``last_tick`` each host call (or the OS) took;
        and how many running ticks got no arm of their own (the timer woke late: the
        script ran on, so they count where the sample lands)."""
        with self._lock:
            now = self._tick
            waits: dict[str, int] = {}
            while self._waits and self._waits[0][0] <= now:
                tick, name = self._waits.popleft()
                if tick > last_tick:
                    waits[name] = waits.get(name, 0) + 1
            late = 0
            while self._late and self._late[0] <= now:
                if self._late.popleft() > last_tick:
                    late += 1
            return now, waits, late

    # ------------------------------------------------------------------ the timer thread

    def _cpu_now(self, wall_elapsed: float) -> float:
        if self._cpu_clock is not None:
            try:
                return time.clock_gettime(self._cpu_clock)
            except OSError:  # the thread is gone
                self._cpu_clock = None
        return self._marks[1] + wall_elapsed  # no per-thread clock: all wall time ran

    def _count(self, now: float) -> tuple[int, bool]:
        """Count the time since the marks; returns (new ticks, whether a sample may land: the
        Lua thread ran, or sits in a host call it will come back from)."""
        wall, cpu = self._marks
        spent = max(0.0, now - wall)
        cpu_now = self._cpu_now(spent)
        ran = min(max(0.0, cpu_now - cpu), spent)
        self._marks = (now, cpu_now)
        host = self._host_call()
        if host is not None:
            self._counted += spent
        else:
            self._counted += ran
            self._off += spent - ran
        total = int((self._counted + self._off) / self.interval)
        new = total - self._tick
        if new <= 0:
            return 0, False
        off_new = min(new, int(self._off / self.interval) - self._off_ticks)
        self._off_ticks += off_new
        first = self._tick + 1
        for tick in range(first, first + off_new):
            self._waits.append((tick, OFF_CPU))
        running = new - off_new
        for i, tick in enumerate(range(first + off_new, total + 1)):
            if host is not None:
                self._waits.append((tick, host))
            elif i < running - 1:
                self._late.append(tick)  # only the last running tick is armed now
        while len(self._waits) > MAX_QUEUED:
            self._waits.popleft()
        while len(self._late) > MAX_QUEUED:
            self._late.popleft()
        self._tick = total
        return new, running > 0 or host is not None

    def _loop(self) -> None:
        # Wake at a random moment around every tick (0.5 to 1.5 intervals apart): a fixed
        # period beats against a script's own loops and puts many samples at one point of a
        # cycle; the jitter keeps samples independent of the script's rhythm.
        rng = random.Random()
        while True:
            with self._lock:
                while not self._active and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
            time.sleep(self.interval * (0.5 + rng.random()))
            with self._lock:
                if not self._active:
                    continue
                new, ran = self._count(time.monotonic())
                # armed under the lock: once pause() returns, no sample is armed any more.
                # Only when the thread ran (or sits in a host call): a thread the OS is not
                # running would take the sample wherever it resumes.
                if new and ran:
                    sample = SAMPLE_BASE + self._tick % SAMPLE_SPAN
                    if self._armer.arm_sample(sample, PENDING):
                        self.armed += 1
