"""``llmspell repl``: a line REPL on a kernel (started for you, or attached)."""

from __future__ import annotations

import argparse

EPILOG = """\
examples:
  llmspell repl                       start a kernel and talk to it
  llmspell repl --attach work         attach to the running kernel named 'work'
  llmspell repl --connect kernel-1234.json

Keys: Enter runs a complete statement (an incomplete one continues on the next line),
Tab completes from the kernel, Ctrl+R searches the kernel's history (shared by every
client), Up/Down walk it, Ctrl+C interrupts running code, Ctrl+D exits.
Meta commands: .help .kernels .info .interrupt .restart .clear .exit
"""


def add_parser(command: object) -> None:
    """Register ``repl`` with the CLI."""
    p = command("repl", "interactive Lua REPL on a kernel", EPILOG, "repl")  # type: ignore[operator]
    p.add_argument(
        "--attach",
        "--connect",
        dest="attach",
        metavar="KERNEL",
        nargs="?",
        const="",
        help="attach to a running kernel (id, name or connection file)",
    )
    p.add_argument("--engine", default="lua", help="script engine; only 'lua' is supported")
    p.add_argument(
        "--history", metavar="FILE", help="accepted for compatibility (history lives in the kernel)"
    )


def main(args: argparse.Namespace) -> int:
    """Run the REPL until the user leaves."""
    from llmspell_tui.repl.session import run_repl

    return run_repl(args)
