"""``ARGS`` and ``arg``: the script's command-line arguments.

LLMSpell's rules (lua-globals.md §13): ``--key value`` gives ``ARGS.key = "value"``; a
``--flag`` followed by another ``--...`` or nothing gives ``"true"``; other words are
positional from 1; ``ARGS[0]`` is the script's file name. ``arg`` holds the positional
entries with ``arg[0]`` the script path, as Lua's standalone interpreter has it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime


def parse_args(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split raw arguments into positional words and ``--key value`` pairs."""
    positional: list[str] = []
    named: dict[str, str] = {}
    i = 0
    while i < len(args):
        word = args[i]
        if word.startswith("--") and len(word) > 2:
            key = word[2:]
            if i + 1 < len(args) and not args[i + 1].startswith("--"):
                named[key] = args[i + 1]
                i += 2
                continue
            named[key] = "true"
        else:
            positional.append(word)
        i += 1
    return positional, named


def install_args(runtime: ScriptRuntime, script: Path | None, args: list[str]) -> None:
    """Define ``ARGS`` and ``arg`` for a run."""
    positional, named = parse_args(args)
    args_table: dict[Any, Any] = dict(named)
    arg_table: dict[Any, Any] = {}
    for i, word in enumerate(positional, 1):
        args_table[i] = word
        arg_table[i] = word
    if script is not None:
        args_table[0] = script.name
        arg_table[0] = str(script)
    runtime.set_global("ARGS", runtime.lua.table_from(args_table))
    runtime.set_global("arg", runtime.lua.table_from(arg_table))


def install(runtime: ScriptRuntime) -> None:
    """Both tables always exist, so ``ARGS and ARGS.x or default`` works everywhere."""
    install_args(runtime, None, [])
