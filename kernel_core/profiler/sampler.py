"""The sampling profiler's timer: a thread that arms the sample hook at the sampling rate.

This is how SIGPROF profilers work, without the signal: at every tick the timer arms a count
hook on the Lua threads (``lua_sethook`` from this thread, as the pause path does); the hook
records the stack in Lua and disarms itself (profiler.lua). While no sample is armed Lua runs
with no hook at all, so the cost is the samples themselves.

Ticks are wall-clock and count only while a run is in progress and not stopped at a
breakpoint. A tick's number rides in the hook's count (``SAMPLE_BASE + tick % SAMPLE_SPAN``),
so a sample that finds the tick after the last one's needs no Python call. When ticks went by
without a sample (the thread sat in a C function or a host call, such as an Agent's HTTP
request), the hook asks :meth:`Sampler.gap`, which also says which host calls those ticks were
spent in: the timer notes the host call in progress at each tick.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from kernel_core.hooks.async_arm import AsyncArmer

# Must match multiplexer.lua's SAMPLE_BASE and SAMPLE_SPAN.
SAMPLE_BASE = 256
SAMPLE_SPAN = 256


class Sampler:
    """Arms samples at ``rate`` Hz while active; counts wall-clock ticks."""

    def __init__(self, armer: AsyncArmer, rate: float, host_call: Callable[[], str | None]) -> None:
        if not 1 <= rate <= 20000:
            raise ValueError(f"sampling rate {rate:g} Hz is out of range: use 1 to 20000 Hz")
        self.rate = float(rate)
        self.interval = 1.0 / self.rate
        self._armer = armer
        self._host_call = host_call
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._active_since: float | None = None
        self._active_before = 0.0  # active seconds of earlier periods
        self._tick = 0  # the last tick armed
        self._waits: deque[tuple[int, str]] = deque()  # (tick, host call) of ticks in calls
        self._stopping = False
        self.armed = 0  # ticks armed (for tests and stats)
        self._thread = threading.Thread(target=self._loop, name="llmspell-sampler", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ control (any thread)

    def resume(self) -> None:
        """Start counting ticks (a run began, or a stop resumed)."""
        with self._lock:
            if self._active_since is None:
                self._active_since = time.monotonic()
                self._wake.notify()

    def pause(self) -> None:
        """Stop counting ticks (a run ended, or the script stopped at a breakpoint)."""
        with self._lock:
            if self._active_since is not None:
                self._active_before += time.monotonic() - self._active_since
                self._active_since = None

    def active_seconds(self) -> float:
        """Wall-clock seconds counted so far."""
        with self._lock:
            return self._active_locked(time.monotonic())

    def close(self) -> None:
        """Stop the timer thread."""
        with self._lock:
            self._stopping = True
            self._active_since = None
            self._wake.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    # ------------------------------------------------------------------ the hook's question

    def gap(self, last_tick: int) -> tuple[int, dict[str, int]]:
        """The tick now, and how many ticks after ``last_tick`` each host call took."""
        with self._lock:
            now = self._tick
            waits: dict[str, int] = {}
            while self._waits and self._waits[0][0] <= now:
                tick, name = self._waits.popleft()
                if tick > last_tick:
                    waits[name] = waits.get(name, 0) + 1
            return now, waits

    # ------------------------------------------------------------------ the timer thread

    def _active_locked(self, now: float) -> float:
        if self._active_since is None:
            return self._active_before
        return self._active_before + now - self._active_since

    def _loop(self) -> None:
        deadline = time.monotonic()
        while True:
            with self._lock:
                while self._active_since is None and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
            deadline += self.interval
            delay = deadline - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                deadline = time.monotonic()  # fell behind (a busy machine): do not burst
            with self._lock:
                if self._active_since is None:
                    continue
                tick = int(self._active_locked(time.monotonic()) / self.interval)
                if tick <= self._tick:
                    continue
                self._tick = tick
                name = self._host_call()
                if name is not None:
                    self._waits.append((tick, name))
                    if len(self._waits) > 100000:  # nobody asks: keep memory bounded
                        self._waits.popleft()
                # armed under the lock: once pause() returns, no sample is armed any more
                if self._armer.arm_sample(SAMPLE_BASE + tick % SAMPLE_SPAN):
                    self.armed += 1
