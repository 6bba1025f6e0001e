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
from functools import cache

import lupa.lua54

LUA_MASKCALL = 1 << 0
LUA_MASKRET = 1 << 1
LUA_MASKLINE = 1 << 2
LUA_MASKCOUNT = 1 << 3


@cache
def _lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(lupa.lua54.__file__)
    lib.lua_sethook.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    lib.lua_sethook.restype = None
    lib.lua_gethook.argtypes = [ctypes.c_void_p]
    lib.lua_gethook.restype = ctypes.c_void_p
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
        """Arm a count hook on every tracked thread; returns how many were armed."""
        if not self._hook_fn:
            return 0
        lib = _lib()
        with self._lock:
            for state in self._states:
                lib.lua_sethook(state, self._hook_fn, LUA_MASKCOUNT, count)
            return len(self._states)

    def __len__(self) -> int:
        with self._lock:
            return len(self._states)
