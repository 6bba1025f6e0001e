"""Lua values <-> plain Python (JSON-shaped) values.

The rules follow LLMSpell's (../shared/llmspell-api/lua-globals.md §0) where they are sound,
and do the right thing where the original silently loses data:

* nil -> None, booleans, integers stay integers, floats stay floats (NaN/inf -> None).
* A table whose keys are exactly 1..n is an array. An integer-keyed table with holes is an
  array with nulls unless it is very sparse (then an object with string keys). A table with
  any non-integer key is an object; its integer keys become strings (nothing is dropped).
* ``{}`` is an object, unless it carries the array marker metatable (``JSON.array()`` or a
  table produced from a JSON array), so ``[]`` round-trips.
* Functions, userdata and threads cannot be converted: a ConversionError names the path.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lupa.lua54 import LUA_MAXINTEGER, LUA_MININTEGER, lua_type

from kernel_core.runtime.errors import ScriptError

MAX_DEPTH = 200


class ConversionError(ScriptError):
    """A Lua value cannot be turned into data (JSON, State, tool parameters)."""


def _path_join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


class Converter:
    """Converts between Lua and Python for one runtime.

    ``is_array_marked`` is a Lua function telling whether a table carries the array marker;
    ``new_table`` makes an empty Lua table, ``mark_array`` marks one.
    """

    def __init__(
        self,
        new_table: Callable[[], Any],
        is_array_marked: Callable[[Any], bool],
        mark_array: Callable[[Any], Any],
        table_id: Callable[[Any], str],
    ) -> None:
        self._new_table = new_table
        self._is_array_marked = is_array_marked
        self._mark_array = mark_array
        self._table_id = table_id

    # ---- Lua -> Python -------------------------------------------------------------

    def from_lua(self, value: Any, *, what: str = "value", lenient: bool = False) -> Any:
        """Plain Python data for a Lua value. ``lenient`` turns unconvertible values into
        their ``tostring``-like description instead of raising (for display)."""
        return self._from(value, what, 0, set(), lenient)

    def _from(self, value: Any, path: str, depth: int, seen: set[str], lenient: bool) -> Any:
        kind = lua_type(value)
        if kind is None:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            if isinstance(value, bytes):
                return value.decode("utf-8", "replace")
            return value
        if kind != "table":
            if lenient:
                return f"<{kind}>"
            raise ConversionError(
                f"cannot convert a {kind} to data (at {path}); only nil, booleans, numbers, "
                "strings and tables of those can be stored or sent"
            )
        if depth >= MAX_DEPTH:
            raise ConversionError(f"table nested more than {MAX_DEPTH} levels deep (at {path})")
        marker = self._table_id(value)
        if marker in seen:
            if lenient:
                return "<cycle>"
            raise ConversionError(f"table contains itself (at {path}); cannot convert a cycle")
        seen.add(marker)
        try:
            items = list(value.items())
            int_keys = [k for k, _ in items if isinstance(k, int) and not isinstance(k, bool)]
            if len(int_keys) == len(items) and (items or self._is_array_marked(value)):
                top = max((k for k in int_keys), default=0)
                if not items or (min(int_keys) >= 1 and top <= 2 * len(items) + 8):
                    out: list[Any] = [None] * top
                    for k, v in items:
                        out[k - 1] = self._from(v, _path_join(path, k), depth + 1, seen, lenient)
                    return out
            result: dict[str, Any] = {}
            for k, v in items:
                if isinstance(k, bool) or not isinstance(k, str | int | float):
                    if lenient:
                        continue
                    raise ConversionError(
                        f"table key of type {lua_type(k) or type(k).__name__} cannot be "
                        f"converted (at {path}); use string or number keys"
                    )
                key = k if isinstance(k, str) else _number_key(k)
                result[key] = self._from(v, _path_join(path, k), depth + 1, seen, lenient)
            return result
        finally:
            seen.discard(marker)

    # ---- Python -> Lua -------------------------------------------------------------

    def to_lua(self, value: Any) -> Any:
        """A Lua value for plain Python data (dicts and lists become tables)."""
        return self._to(value, 0)

    def _to(self, value: Any, depth: int) -> Any:
        if value is None or isinstance(value, bool | str | bytes):
            return value
        if isinstance(value, int):
            if LUA_MININTEGER <= value <= LUA_MAXINTEGER:
                return value
            return float(value)
        if isinstance(value, float):
            return value
        if depth >= MAX_DEPTH:
            raise ConversionError(f"data nested more than {MAX_DEPTH} levels deep")
        if isinstance(value, Mapping):
            table = self._new_table()
            for k, v in value.items():
                table[k] = self._to(v, depth + 1)
            return table
        if isinstance(value, Sequence):
            table = self._new_table()
            for i, v in enumerate(value, 1):
                if v is not None:
                    table[i] = self._to(v, depth + 1)
            if not value or None in value:
                self._mark_array(table)
            return table
        if lua_type(value) is not None:
            return value  # already a Lua object
        raise ConversionError(f"cannot hand a Python {type(value).__name__} to Lua")


def _number_key(key: float) -> str:
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)
