"""The LLMSpell globals. Each module has ``install(runtime)``.

A few cheap globals are installed when the runtime is made; the rest are installed the
first time a script reads them (``lazy_globals.lua``), so a script pays only for what it
uses: ~5 ms less start-up, ~350 KB less Lua heap for the garbage collector to walk.
The Lua-facing part of a global lives in a ``.lua`` file next to its module when there is
logic worth keeping in Lua; Python provides what needs Python (SQLite, HTTP, orjson, tools).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

# Installed with the runtime, in this order (Config copies the configuration that later
# globals read).
EAGER_MODULES = ["json_global", "args", "config_global", "misc"]

# Global name -> the module that installs it, on first use.
LAZY_GLOBALS = {
    "Debug": "debug_global",
    "Hook": "hook",
    "Event": "event",
    "State": "state",
    "Tool": "tool",
    "Provider": "provider",
    "Agent": "agent",
    "Workflow": "workflow",
    "Streaming": "streaming",
    "Session": "session",
    "Artifact": "session",
}

GLOBAL_MODULES = EAGER_MODULES + sorted(set(LAZY_GLOBALS.values()))


def install_module(runtime: ScriptRuntime, module_name: str) -> None:
    """Install one global module (once per runtime)."""
    if module_name in runtime.installed_globals:
        return
    runtime.installed_globals.add(module_name)
    module = importlib.import_module(f"kernel_core.runtime.globals.{module_name}")
    module.install(runtime)


def install_all(runtime: ScriptRuntime) -> None:
    """Install the eager globals and arrange for the others to install on first use."""
    for name in EAGER_MODULES:
        install_module(runtime, name)

    def install_global(name: str) -> None:
        install_module(runtime, LAZY_GLOBALS[name])

    pending = runtime.lua.table_from(dict.fromkeys(LAZY_GLOBALS, True))
    runtime.lazy_globals = runtime.load_lua(
        "kernel_core.runtime.lua", "lazy_globals.lua", pending, install_global
    )
    # where the debugger puts the names its compiled checks read (not keys of _G)
    runtime.mux.hidden_globals = runtime.lazy_globals.hidden
