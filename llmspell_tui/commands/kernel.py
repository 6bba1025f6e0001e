"""``llmspell kernel start|list|stop|install``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from kernel_core.errors import LlmspellError, UsageError
from kernel_core.kernel.connection import kernels_dir, read_connection_file
from kernel_core.kernel.registry import known_kernels, remove_stale, resolve_kernel, stale_reason

EPILOG = """\
examples:
  llmspell kernel start                      start a kernel in the background (ipc transport)
  llmspell kernel start --transport tcp --name work
  llmspell kernel start --foreground         keep it attached, log to the terminal
  llmspell kernel list                       every live kernel, its clients and state
                                             (idle, busy, paused, starting, unresponsive)
  llmspell kernel list --json                the same as one JSON array
  llmspell kernel stop work                  stop by name, id (or prefix) or connection file
  llmspell kernel stop --all
  llmspell kernel install --user             make it a Jupyter kernel
                                             (then: jupyter console --kernel llmspell)
  jupyter console --existing kernel-ID.json  attach Jupyter's console to a started kernel
"""


def add_parser(command: object) -> None:
    """Register ``kernel`` with the CLI."""
    p = command("kernel", "manage kernels", EPILOG, "kernel")  # type: ignore[operator]
    p.add_argument("action", choices=["start", "list", "stop", "install", "status"])
    p.add_argument("target", nargs="?", help="kernel id, name or connection file (stop/status)")
    p.add_argument("--transport", choices=["ipc", "tcp"], help="socket transport (start)")
    p.add_argument("--ip", help="address to bind with tcp (start)")
    p.add_argument("--port", type=int, help="accepted for LLMSpell compatibility: implies tcp")
    p.add_argument("--name", help="a name to find the kernel by (start)")
    p.add_argument("--foreground", action="store_true", help="stay attached (start)")
    p.add_argument("--daemon", action="store_true", help="run in the background (the default)")
    p.add_argument(
        "-f",
        "--connection-file",
        dest="connection_file",
        help="serve on this connection file (what Jupyter passes)",
    )
    p.add_argument("--all", action="store_true", help="stop every kernel (stop)")
    # the pipe `kernel start` reads the kernel's readiness from (where it cannot fork)
    p.add_argument("--ready-fd", dest="ready_fd", type=int, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="JSON output, as --output json (list)")
    p.add_argument("--user", action="store_true", help="install for this user (install)")
    p.add_argument("--prefix", help="install under this prefix, e.g. a venv (install)")


def main(args: argparse.Namespace) -> int:
    """Dispatch the kernel action."""
    action = {"start": _start, "list": _list, "status": _list, "stop": _stop, "install": _install}[
        args.action
    ]
    return action(args)


def _start(args: argparse.Namespace) -> int:
    from llmspell_tui.commands.common import config_from_args

    if args.name:
        _refuse_a_name_in_use(args.name)
    config = config_from_args(args)
    transport = args.transport or ("tcp" if args.port else None)
    if args.foreground or args.connection_file or args.ready_fd is not None:
        from kernel_core.kernel.main import run_kernel

        return run_kernel(
            config,
            connection_file=Path(args.connection_file) if args.connection_file else None,
            name=args.name,
            transport=transport,
            ip=args.ip,
            foreground=args.foreground,
            ready_fd=args.ready_fd,
        )
    from llmspell_tui.commands.kernel_start import start_in_background

    return start_in_background(args, config, transport, kernels_dir())


def _refuse_a_name_in_use(name: str) -> None:
    """A name names one running kernel: with two, every ``--connect NAME`` is ambiguous."""
    from kernel_core.errors import UsageError
    from kernel_core.kernel.registry import known_kernels

    for kernel in known_kernels():
        if kernel.name == name and kernel.pid_alive():
            raise UsageError(
                f"a kernel named '{name}' is already running ({kernel.kernel_id[:8]}); "
                f"use it, stop it with 'llmspell kernel stop {name}', or pick another name"
            )


def _list(args: argparse.Namespace) -> int:
    from kernel_core.kernel.leftovers import clean_leftovers

    rows = []
    clean_leftovers(kernels_dir())
    for kernel in known_kernels():
        reason = stale_reason(kernel)
        if reason is not None:
            remove_stale(kernel)
            print(
                f"removed stale connection file {kernel.connection_file} ({reason})",
                file=sys.stderr,
            )
            continue
        if (
            args.target
            and args.target not in (kernel.kernel_id, kernel.name)
            and not kernel.kernel_id.startswith(args.target)
        ):
            continue
        from kernel_core.kernel.probe import control_kernel_info

        reply = control_kernel_info(read_connection_file(kernel.connection_file), timeout=1.0)
        details = reply.get("llmspell") if reply else None
        if isinstance(details, dict):
            state = "paused" if details.get("paused") else details.get("state")
        elif reply is not None:
            details, state = {}, "unknown"  # another kind of kernel: no llmspell details
        else:
            # alive (its heartbeat answers) but its protocol loop did not: say so, keep it
            details, state = {}, "unresponsive"
        info = kernel.info
        rows.append(
            {
                "id": kernel.kernel_id,
                "name": details.get("name", kernel.name),
                "pid": details.get("pid", info.pid if info else None),
                "started": details.get("started", info.started if info else None),
                "transport": details.get("transport", info.transport if info else None),
                "clients": details.get("clients"),
                "state": state,
                "connection_file": str(kernel.connection_file),
            }
        )
    if args.json or args.output in ("json", "pretty"):
        print(json.dumps(rows, indent=2 if args.output == "pretty" else None))
        return 0
    if not rows:
        print("no running kernels (start one with 'llmspell kernel start')")
        return 0
    print(
        f"{'ID':<10} {'NAME':<14} {'PID':>7} {'STARTED':<19} {'TRANSPORT':<9} {'CLIENTS':>7} STATE"
    )
    for row in rows:
        started = datetime.fromtimestamp(float(row["started"] or 0)).strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{str(row['id'])[:8]:<10} {str(row['name'])[:14]:<14} {row['pid']!s:>7} "
            f"{started:<19} {row['transport']!s:<9} {row['clients']!s:>7} {row['state']}"
        )
    return 0


def _stop(args: argparse.Namespace) -> int:
    if args.all:
        targets = [k.connection_file for k in known_kernels() if k.pid_alive()]
    elif args.target:
        targets = [resolve_kernel(args.target)]
    else:
        raise UsageError("name the kernel to stop (id, name or connection file), or pass --all")
    for path in targets:
        from kernel_core.kernel.probe import control_request

        info_pid = None
        for kernel in known_kernels():
            if kernel.connection_file == path and kernel.info:
                info_pid = kernel.info.pid
        connection = read_connection_file(path)
        reply = control_request(connection, "shutdown_request", {"restart": False}, timeout=10)
        if reply is None:
            if info_pid is None:
                raise LlmspellError(
                    f"could not stop the kernel of {path}: no answer in 10 s, and no process "
                    "id on record to signal; if it is gone, `llmspell kernel list` removes "
                    "its files (their heartbeat is silent too)"
                )
            os.kill(info_pid, 15)  # it removes its files on SIGTERM
        deadline = time.monotonic() + 5
        while path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        print(f"stopped {path.stem.removeprefix('kernel-')}")
    return 0


def _install(args: argparse.Namespace) -> int:
    spec = {
        "argv": [
            sys.executable,
            "-m",
            "llmspell_tui",
            "kernel",
            "start",
            "-f",
            "{connection_file}",
        ],
        "display_name": "LLMSpell (Lua 5.4)",
        "language": "lua",
        "interrupt_mode": "message",
        "metadata": {"debugger": True},
    }
    if args.prefix:
        base = Path(args.prefix) / "share" / "jupyter"
    else:
        env = os.environ.get("JUPYTER_DATA_DIR")
        if env:
            base = Path(env)
        else:
            try:
                from jupyter_core.paths import jupyter_data_dir

                base = Path(jupyter_data_dir())
            except ImportError:
                base = Path.home() / ".local" / "share" / "jupyter"
    target = base / "kernels" / "llmspell"
    target.mkdir(parents=True, exist_ok=True)
    (target / "kernel.json").write_text(json.dumps(spec, indent=1))
    print(f"installed kernelspec llmspell in {target}")
    return 0


def connection_for(spec: str | None) -> Path:
    """Resolve ``--attach``/``--connect`` arguments (also used by other commands)."""
    return resolve_kernel(spec)


__all__ = ["add_parser", "connection_for", "main", "read_connection_file"]
