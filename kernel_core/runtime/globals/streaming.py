"""The ``Streaming`` global: generators over hooked coroutines (streaming.lua)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime


def install(runtime: ScriptRuntime) -> None:
    """Define ``Streaming``."""
    table = runtime.load_lua(
        "kernel_core.runtime.globals", "streaming.lua", runtime.api, runtime.mux.create
    )
    runtime.set_global("Streaming", table)
