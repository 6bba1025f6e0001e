"""``Logger`` and ``Utils``: empty tables in LLMSpell (lua-globals.md §0, §15), defined so
that scripts testing for them, or adding their own functions to them, work."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime


def install(runtime: ScriptRuntime) -> None:
    """Define the empty ``Logger`` and ``Utils`` tables."""
    for name in ("Logger", "Utils"):
        runtime.set_global(name, runtime.lua.table())
