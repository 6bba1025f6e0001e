"""Variable handles for one stop: DAP ``variablesReference`` numbers for scopes and values.

Handles hold Lua values (tables, functions, threads) and are valid until the script resumes;
they live on the execution thread only, like every Lua object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lupa.lua54 import lua_type

EXPANDABLE = {"table", "function", "thread", "userdata"}


@dataclass
class Handle:
    """What a variablesReference points at."""

    kind: str  # "locals" | "upvalues" | "varargs" | "globals" | "repl" | "value"
    frame: int = 0  # 1-based frame index for scopes
    value: Any = None
    evaluate_name: str | None = None
    keys: dict[str, Any] = field(default_factory=dict)  # shown name -> Lua key (for set)


class VariableStore:
    """Numbers handles from 1; cleared when the script resumes."""

    def __init__(self) -> None:
        self._handles: dict[int, Handle] = {}
        self._next = 1

    def add(self, handle: Handle) -> int:
        ref = self._next
        self._next += 1
        self._handles[ref] = handle
        return ref

    def get(self, ref: int) -> Handle | None:
        return self._handles.get(ref)

    def clear(self) -> None:
        self._handles.clear()
        self._next = 1


def expandable(value: Any) -> bool:
    """Whether a Lua value has children to show."""
    return lua_type(value) in EXPANDABLE
