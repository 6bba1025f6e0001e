"""Subcommands beyond run/exec/config register their parsers here (kernel, repl, tui, ...)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

CommandFactory = Callable[[str, str, str, str], argparse.ArgumentParser]


def add_commands(command: CommandFactory) -> None:
    """Add the parsers of the other subcommands. Each one's module has a ``main(args)``."""
    from llmspell_tui.commands import dap, kernel, profile, repl, tui

    dap.add_parser(command)
    kernel.add_parser(command)
    profile.add_parser(command)
    repl.add_parser(command)
    tui.add_parser(command)
