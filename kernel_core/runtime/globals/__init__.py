"""The LLMSpell globals. Each module has ``install(runtime)``; this installs them all.

The Lua-facing part of a global lives in a ``.lua`` file next to its module when there is
logic worth keeping in Lua (argument checks that raise at the caller's line, builders,
dispatch); Python provides what needs Python (SQLite, HTTP, orjson, tools).
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

# Order matters: later globals use earlier ones (Tool fires Hook points, Agent uses Tool...).
GLOBAL_MODULES = [
    "json_global",
    "args",
    "debug_global",
    "config_global",
    "hook",
    "event",
    "state",
    "tool",
    "provider",
    "agent",
    "workflow",
    "streaming",
    "session",
    "misc",
]


def install_all(runtime: ScriptRuntime) -> None:
    """Install every global module that exists (modules land one by one)."""
    for name in GLOBAL_MODULES:
        try:
            module = importlib.import_module(f"kernel_core.runtime.globals.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"kernel_core.runtime.globals.{name}":
                continue
            raise
        module.install(runtime)
