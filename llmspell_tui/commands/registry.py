"""Subcommands beyond run/exec/config register their parsers here (kernel, repl, tui, ...)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

CommandFactory = Callable[[str, str, str, str], argparse.ArgumentParser]

# command name -> the module under llmspell_tui.commands that defines its parser and main
COMMANDS = {"dap": "dap", "kernel": "kernel", "profile": "profile", "repl": "repl", "tui": "tui"}


def add_commands(command: CommandFactory, only: str | None = None) -> None:
    """Add the parsers of the other subcommands (just ``only``'s when it names one: the
    other modules' imports are not paid by a command that does not use them). Each
    command's module has ``add_parser(command)`` and ``main(args)``."""
    names = [only] if only in COMMANDS else list(COMMANDS)
    for name in names:
        module = importlib.import_module(f"llmspell_tui.commands.{COMMANDS[name]}")
        module.add_parser(command)
