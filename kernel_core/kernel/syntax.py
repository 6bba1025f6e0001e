"""is_complete without the Lua world: code is compiled (never run) in a bare Lua 5.4 state
owned by the protocol thread, so a client deciding whether Enter runs its input gets an
answer at once, even while a cell runs or a script sits at a breakpoint."""

from __future__ import annotations

from typing import Any

from kernel_core.kernel.cells import is_complete


class SyntaxChecker:
    """Compiles code in a Lua state of its own (one thread only: the protocol loop's)."""

    def __init__(self) -> None:
        self._load: Any = None

    def _compile_error(self, source: str) -> str | None:
        if self._load is None:
            from lupa.lua54 import LuaRuntime

            lua = LuaRuntime(register_eval=False, register_builtins=False)
            self._load = lua.eval(
                "function(text) local _, err = load(text, '=(is_complete)', 't', {}) return err end"
            )
        error = self._load(source)
        return None if error is None else str(error)

    def is_complete(self, code: str) -> dict[str, str]:
        """Jupyter is_complete_reply content, judged as the kernel compiles a cell."""
        error = self._compile_error("return " + code)
        if error is not None:
            error = self._compile_error(code)  # statements compile as written (cells.py)
        status, indent = is_complete(code, error)
        reply = {"status": status}
        if status == "incomplete":
            reply["indent"] = indent
        return reply
