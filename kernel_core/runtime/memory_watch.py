"""A thread that watches a Lua world's heap while a run with a memory limit is in progress.

lupa's ``max_memory`` makes the allocator refuse what would exceed the limit; Lua then raises
LUA_ERRMEM, for which no message handler runs: the stack is gone before anyone can say where
the script was. So the watcher stops a growing script a little earlier, at the *soft* threshold
(90% of the limit), through the asynchronously armed hook the time limit uses: the abort is
raised at the script's current instruction and the report has its location and traceback. The
allocator's limit stays the hard cap, for a burst between two polls (one huge string).

While the heap is above a quarter of the limit and growing, the watcher also asks the script
where it is (a "where" ask, recorded by the multiplexer): when the hard cap fails an
allocation, the report names the last place the heap was seen growing.

``LuaRuntime.get_memory_used()`` reads lupa's allocation counter without taking the runtime's
lock (lupa 2.x: a plain field read), so polling never waits for Lua.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

SOFT_FRACTION = 0.9  # the run stops when the heap reaches this share of the limit
WHERE_FROM = 0.25  # above this share, a new high asks where the script is
WHERE_STEP = 1 / 32  # ... when it grew by at least this share since the last ask
POLL = 0.010  # seconds between polls while the heap is below half the limit
POLL_NEAR = 0.002  # ... and above it


PARK_AFTER = 1.0  # seconds without a run before the thread sleeps until the next one


class _Shared:
    """What the thread and the watcher share; holds no reference to either."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.wake = threading.Event()  # set to wake a parked thread
        self.active = False  # a run is in progress
        self.parked = False  # the thread waits on `wake`
        self.closed = False
        self.generation = 0  # runs started: a decision made for one run never hits the next


class MemoryWatcher:
    """Polls ``lua.get_memory_used()`` while a run is in progress.

    ``on_soft(used)`` is called (on the watcher thread) once per run when the heap reaches the
    soft threshold; ``on_where()`` when the script should report where it is. Both are called
    only while the run they were decided for is still in progress.

    Starting and ending a run only flip a flag (a kernel cell, a hook callback's nested run
    must not pay for waking a thread); the thread polls on its own cadence and parks after
    PARK_AFTER without a run.
    """

    def __init__(
        self,
        lua: Any,
        limit: int,
        on_soft: Callable[[int], None],
        on_where: Callable[[], None],
    ) -> None:
        self.lua = lua
        self.limit = limit
        self.soft = int(limit * SOFT_FRACTION)
        self.on_soft = on_soft
        self.on_where = on_where
        self._shared = _Shared()
        self._thread: threading.Thread | None = None
        self.stopped_softly = False  # this run was stopped at the soft threshold
        self.last_where = 0  # heap size at the last "where" ask of this run (0: none)
        self.polls = 0  # looks at the heap so far (bench/memory_watch.py)

    def run_started(self) -> None:
        """A run begins (execution thread): poll until :meth:`run_ended`."""
        shared = self._shared
        with shared.lock:
            shared.generation += 1
            self.stopped_softly = False
            self.last_where = 0
            shared.active = True
            if shared.parked:
                shared.parked = False
                shared.wake.set()
        if self._thread is None:
            # one thread for the world's life: starting one per kernel cell would cost more
            # than the cell
            self._thread = threading.Thread(
                target=_watch, args=(weakref.ref(self), shared), name="llmspell-memory", daemon=True
            )
            self._thread.start()
            weakref.finalize(self, _stop, shared)

    def run_ended(self) -> None:
        """The run is over (execution thread): no decision of the watcher reaches it now."""
        with self._shared.lock:
            self._shared.active = False

    def close(self) -> None:
        """Stop the thread (the world is closed)."""
        _stop(self._shared)
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    def poll(self, generation: int) -> float:
        """One look at the heap (watcher thread); returns the time to the next look."""
        used = int(self.lua.get_memory_used() or 0)
        self.polls += 1
        shared = self._shared
        if used >= self.soft:
            with shared.lock:
                live = shared.generation == generation and shared.active
                if live and not self.stopped_softly:
                    self.stopped_softly = True
                    self.on_soft(used)
        elif used >= self.limit * WHERE_FROM and used >= self.last_where + self.limit * WHERE_STEP:
            with shared.lock:
                if shared.generation == generation and shared.active:
                    self.last_where = used
                    self.on_where()
        return POLL_NEAR if used >= self.limit // 2 else POLL


def _stop(shared: _Shared) -> None:
    shared.closed = True
    shared.wake.set()  # wake a parked thread so that it sees `closed`


def _watch(ref: weakref.ref[MemoryWatcher], shared: _Shared) -> None:
    idle, delay = 0.0, POLL
    while not shared.closed:
        if idle >= PARK_AFTER:
            with shared.lock:
                if not shared.active:
                    shared.parked = True
                    shared.wake.clear()
            if shared.parked:
                shared.wake.wait()
            idle = 0.0
            continue
        time.sleep(delay)
        if not shared.active:
            idle, delay = idle + delay, POLL
            continue
        idle = 0.0
        watcher = ref()
        if watcher is None:
            return
        delay = watcher.poll(shared.generation)
        del watcher  # no strong reference while asleep: the world can be collected


def _mib(n: float) -> str:
    return f"{n / 1024**2:.1f} MiB"


def memory_hint(
    limit: int, *, soft: bool, used: int, held_after: int, last_seen: bool, located: bool
) -> str:
    """The hint of a run the memory limit ended: what happened, and how to give it more.

    ``used`` is the heap when the run ended (before collecting), ``held_after`` after a full
    collection; ``soft``: the watcher stopped the run; ``last_seen``: the location is the last
    place the heap was seen growing; ``located``: the report has a location at all.
    """
    if soft:
        what = (
            f"the script held {_mib(used)} of its {_mib(limit)} when it was stopped "
            f"(a run stops at {SOFT_FRACTION:.0%} of memory_limit, here where it allocated)"
        )
    else:
        left = max(0, limit - used)
        what = (
            f"one allocation needed more than the {_mib(left)} left (a long string such as "
            "string.rep or table.concat makes, or a big table growing its array)"
        )
        if last_seen:
            what += "; the location is where the heap was last seen growing"
        elif not located:
            what += "; Lua reports no location for an allocation the limit refuses"
    bigger = f"{max(2 * limit // 1024**2, 1)}MiB"
    hint = (
        f"{what}. Raise [runtime] memory_limit in llmspell.toml or pass --memory-limit "
        f"(e.g. --memory-limit {bigger}), or keep fewer values alive"
    )
    if held_after > limit // 2:
        hint += f"; {_mib(held_after)} are still held after the run (globals, kept cell locals)"
    return hint
