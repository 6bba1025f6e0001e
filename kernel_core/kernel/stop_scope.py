"""Names as a script stopped at a breakpoint sees them, for complete and inspect: the
locals and upvalues of the stopped frame first, then what the REPL sees (its locals, the
globals). Execution thread only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lupa.lua54 import LuaError, lua_type

if TYPE_CHECKING:
    from kernel_core.debugger.session import DebugSession

INNERMOST = 1  # frame index of the stop's innermost user frame


class StopScope:
    """The innermost frame of a stop, as complete and inspect resolve names in it."""

    def __init__(self, debugger: DebugSession) -> None:
        self._lua = debugger.lua

    def frame_names(self) -> list[str]:
        """Locals, then upvalues, of the stopped frame."""
        names: list[str] = []
        for listing in (self._lua.locals(INNERMOST), self._lua.upvalues(INNERMOST)):
            names.extend(str(listing[i].name) for i in range(1, len(listing) + 1))
        return names

    def resolve(self, path: str) -> Any:
        """The value of a dotted or colon path ("config", "config.nested") in the frame,
        or None. Only names and fields are read: nothing is called."""
        parts = [p for p in path.replace(":", ".").split(".") if p]
        if not parts or not parts[0].isidentifier():
            return None
        ok, result = self._lua.evaluate(INNERMOST, parts[0])
        if not ok or int(result.n) < 2:
            return None
        value = result[2]
        for part in parts[1:]:
            if lua_type(value) != "table":
                return None
            try:
                value = value[part]
            except LuaError:
                return None
            if value is None:
                return None
        return value
