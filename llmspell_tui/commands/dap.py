"""``llmspell dap``: the Debug Adapter Protocol on stdio, for VS Code, nvim-dap and others."""

from __future__ import annotations

import argparse

EPILOG = """\
examples:
  llmspell dap                       serve one debug session on stdin/stdout
  llmspell dap --log-file dap.log    the same, logging the adapter's work to a file
  llmspell -p development dap        launched kernels use the 'development' profile

Editors start this command and speak DAP to it. Launch configurations:
  {"type": "llmspell", "request": "launch", "program": "${file}", "args": [],
   "cwd": "${workspaceFolder}", "env": {}, "stopOnEntry": false}
  {"type": "llmspell", "request": "attach", "kernel": "work"}       (id, name or
   "connectionFile": "/path/kernel-....json")
A launch starts a kernel for the session (shut down when the session ends); an attach
debugs a kernel started with 'llmspell kernel start' and leaves it running.
See docs/debugger.md, "DAP and editors", for VS Code and nvim-dap set-ups.
"""


def add_parser(command: object) -> None:
    """Register ``dap`` with the CLI."""
    p = command(  # type: ignore[operator]
        "dap", "Debug Adapter Protocol on stdio (VS Code, nvim-dap)", EPILOG, "dap"
    )
    p.add_argument(
        "--log-file",
        metavar="FILE",
        help="write the adapter's log here (stdout carries DAP; stderr may be unseen)",
    )


def main(args: argparse.Namespace) -> int:
    """Serve one DAP session on stdin/stdout until the client disconnects."""
    import asyncio
    import logging

    from kernel_core.dap.adapter import serve_stdio

    if args.log_file:
        handler = logging.FileHandler(args.log_file)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
        logging.getLogger().setLevel(logging.DEBUG)
    asyncio.run(
        serve_stdio(
            config_file=getattr(args, "config", None), profile=getattr(args, "profile", None)
        )
    )
    return 0
