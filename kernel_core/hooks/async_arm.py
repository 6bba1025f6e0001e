"""Arm a Lua hook from another thread, the way ``lua.c`` handles Ctrl+C.

Lua declares ``L->hook`` volatile and ``L->hookmask`` as ``l_signalT`` so that ``lua_sethook``
may be called asynchronously. We call it through ctypes on the symbols lupa's extension
module exports. While disarmed this costs nothing; armed, the hook runs at the next VM
instruction (~80 µs, notes/lupa-measurements.md §2 e4).

Only pointers of live ``lua_State``s may be armed: the multiplexer (multiplexer.lua) keeps
every tracked coroutine alive until Python has forgotten its pointer.
"""

from __future__ import annotations

import ctypes
import threading
import time
from functools import cache

import lupa.lua54

LUA_MASKCALL = 1 << 0
LUA_MASKRET = 1 << 1
LUA_MASKLINE = 1 << 2
LUA_MASKCOUNT = 1 << 3
# How long a sample defers to an armed ask that has not fired (an ask fires within ~0.1 ms
# while Lua runs; one armed while no Lua runs may never fire, and must not stop sampling)
ASK_GRACE = 0.005


@cache
def _lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(lupa.lua54.__file__)
    lib.lua_sethook.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.lua_sethook.restype = None
    lib.lua_gethook.argtypes = [ctypes.c_void_p]
    lib.lua_gethook.restype = ctypes.c_void_p
    lib.lua_gethookmask.argtypes = [ctypes.c_void_p]
    lib.lua_gethookmask.restype = ctypes.c_int
    lib.lua_gethookcount.argtypes = [ctypes.c_void_p]
    lib.lua_gethookcount.restype = ctypes.c_int
    return lib


def read_hook_pointer(state_ptr: int) -> int:
    """The C hook currently installed on a lua_State (ldblib's dispatcher while one is set)."""
    value = _lib().lua_gethook(state_ptr)
    return int(value or 0)


class AsyncArmer:
    """The set of live Lua threads of one runtime, and the means to arm them all at once.

    ``add``/``forget`` are called on the execution thread (from Lua, through the host
    table); ``arm`` is called from any thread. A lock makes arming and forgetting exclusive,
    so a pointer is never armed after Lua was told it may free the thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: set[int] = set()
        self._hook_fn = 0
        self._asked_at = 0.0  # when an "ask" (count 1) was armed and has not fired yet

    def set_dispatcher(self, hook_fn: int) -> None:
        """Remember ldblib's C hook dispatcher (read once while a Lua hook is installed)."""
        self._hook_fn = hook_fn

    def add(self, pointer: str) -> None:
        """Track a new Lua thread, given as the ``%p`` string Lua formats."""
        with self._lock:
            self._states.add(int(pointer, 16))

    def forget(self, pointers: list[str]) -> None:
        """Stop tracking threads that Lua is about to free."""
        with self._lock:
            for pointer in pointers:
                self._states.discard(int(pointer, 16))

    def arm(self, count: int = 1) -> int:
        """Arm a count hook on every tracked thread; returns how many were armed.

        The count is added to each thread's own mask: Lua decides which events an
        instruction raises from the mask it read before the count hook ran, so replacing
        the mask lost the line (and call) events of the instruction the hook fires at. That
        is the first instruction after a long C call, the first of the next line: a late
        breakpoint or a step there went by (tests/test_debugger_async_arm.py)."""
        if not self._hook_fn:
            return 0
        lib = _lib()
        with self._lock:
            if count == 1:
                self._asked_at = time.monotonic()
            for state in self._states:
                mask = lib.lua_gethookmask(state) & (LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE)
                lib.lua_sethook(state, self._hook_fn, mask | LUA_MASKCOUNT, count)
            return len(self._states)

    def asked(self) -> None:
        """The armed hook fired and asked Python why (execution thread)."""
        self._asked_at = 0.0

    def arm_sample(self, count: int, pending: range) -> int:
        """Arm a profiler sample: a count hook of ``count`` added to each thread's own mask.

        The line or call hooks a thread carries (stepping, breakpoints, exact profiling) stay
        on. A thread whose count is still in ``pending`` (a sample armed earlier has not fired)
        is left alone: arming resets the countdown, and a thread that runs a few Lua
        instructions between long host calls (an Agent polling its provider) would never
        reach zero. An ask armed in the last few milliseconds that has not fired yet wins:
        replacing its count would lose a pause or an interrupt. Neither loses time: the next
        sample that fires learns from Python how many ticks went by.
        """
        if not self._hook_fn:
            return 0
        lib = _lib()
        armed = 0
        with self._lock:
            if self._asked_at and time.monotonic() - self._asked_at < ASK_GRACE:
                return 0
            for state in self._states:
                mask = lib.lua_gethookmask(state)
                if mask & LUA_MASKCOUNT and lib.lua_gethookcount(state) in pending:
                    continue
                lib.lua_sethook(state, self._hook_fn, mask | LUA_MASKCOUNT, count)
                armed += 1
            return armed

    def __len__(self) -> int:
        with self._lock:
            return len(self._states)
