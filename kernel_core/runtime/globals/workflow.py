"""The ``Workflow`` global: sequential, parallel, conditional and loop workflows.

Everything runs in Lua (``workflow*.lua`` next to this module) so that the debugger steps
through workflow code, step functions and hooks on one Lua stack, and parallel branches can
be coroutines. Python provides only a monotonic clock, sleeping and unique ids (kept out of
Lua so a script's ``math.random`` sequence, which recordings replay, is not disturbed).
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

_PACKAGE = __name__.rpartition(".")[0]


def _now_ms() -> float:
    return time.monotonic() * 1000.0


def _sleep_ms(ms: Any) -> None:
    # retry backoff and hook-requested delays; never negative, never absurd
    seconds = min(max(float(ms), 0.0), 3_600_000.0) / 1000.0
    if seconds > 0:
        time.sleep(seconds)


def _new_id() -> str:
    return str(uuid.uuid4())


def install(runtime: ScriptRuntime) -> None:
    """Define the ``Workflow`` global."""
    host = runtime.lua.table()
    host.now_ms = _now_ms
    host.sleep_ms = _sleep_ms
    host.new_id = _new_id
    stringify = runtime.lua.globals().JSON.stringify
    template = runtime.load_lua(_PACKAGE, "workflow_template.lua", stringify)
    steps = runtime.load_lua(_PACKAGE, "workflow_steps.lua", template)
    engine = runtime.load_lua(
        _PACKAGE, "workflow_engine.lua", runtime.api, runtime.mux, host, template, steps
    )
    workflow, internals = runtime.load_lua(
        _PACKAGE, "workflow.lua", runtime.api, host, steps, engine
    )
    runtime.load_lua(_PACKAGE, "workflow_instance.lua", runtime.api, engine, internals)
    runtime.set_global("Workflow", workflow)
    log.debug("Workflow global installed")
