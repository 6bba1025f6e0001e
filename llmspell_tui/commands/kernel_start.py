"""``llmspell kernel start`` in its daemonising form: start a kernel in the background and
return once it serves.

The kernel tells us itself that it is ready: it writes one JSON line to a pipe we pass it,
once its sockets are bound and its connection file written (``run_kernel(ready_fd=...)``).
Nothing polls for the file or probes with a client. On Linux the kernel is a fork of this
process, so it skips a second interpreter start and the CLI's imports; elsewhere (fork
without exec is unsafe on macOS) it is a new interpreter given the pipe's descriptor.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from kernel_core.config import Config
from kernel_core.errors import LlmspellError
from kernel_core.kernel.leftovers import clean_leftovers

READY_TIMEOUT = 15.0


def start_in_background(
    args: argparse.Namespace, config: Config, transport: str | None, runtime: Path
) -> int:
    """Start the kernel detached from this terminal; print its id and connection file."""
    started = time.time()
    out_path = runtime / f"kernel-start-{os.getpid()}.out"
    read_fd, write_fd = os.pipe()
    if sys.platform.startswith("linux"):
        pid = _fork_kernel(args, config, transport, (read_fd, write_fd), out_path)
    else:
        pid = _spawn_kernel(args, transport, write_fd, out_path)
    os.close(write_fd)
    # tidy dead kernels' leftovers while the kernel starts (on the other core): its own
    # log and cell dir are never touched (newest log, live pid)
    clean_leftovers(runtime)
    try:
        ready = _read_ready(read_fd, READY_TIMEOUT)
    finally:
        os.close(read_fd)
    if ready is None:
        status = _exit_status(pid)
        text = out_path.read_text(errors="replace").strip() if out_path.exists() else ""
        out_path.unlink(missing_ok=True)
        if status is None:
            os.kill(pid, 15)
            raise LlmspellError(
                f"the kernel (pid {pid}) did not become ready within {READY_TIMEOUT:.0f} s "
                f"and was stopped; {_where_it_logged(runtime, started, text)}"
            )
        raise LlmspellError(f"the kernel exited at start (status {status}): {text}")
    out_path.unlink(missing_ok=True)
    print(f"kernel {ready['kernel_id']} ({ready['name']}) started, pid {ready['pid']}")
    print(f"connection file: {ready['connection_file']}")
    return 0


def _where_it_logged(runtime: Path, started: float, printed: str) -> str:
    """Where to look for why a kernel did not start: its log (the newest one written since
    ``started``), and what it printed before the log was open."""
    logs = [p for p in runtime.glob("kernel-*.log") if p.stat().st_mtime >= started - 1]
    where = (
        f"its log is {max(logs, key=lambda p: p.stat().st_mtime)}"
        if logs
        else f"it wrote no log in {runtime}"
    )
    if printed:
        where += f"; it printed: {printed[-500:]}"
    return where


def _fork_kernel(
    args: argparse.Namespace,
    config: Config,
    transport: str | None,
    pipe: tuple[int, int],
    out: Path,
) -> int:
    read_fd, ready_fd = pipe
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    # the kernel: a session of its own (no terminal, no job-control signals), stdio to a
    # file (what it prints before its log is open), and never back into the CLI's code
    status = 1
    try:
        os.close(read_fd)
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        sink = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(sink, 1)
        os.dup2(sink, 2)
        os.close(null)
        os.close(sink)
        from kernel_core.kernel.main import run_kernel

        status = run_kernel(
            config,
            name=args.name,
            transport=transport,
            ip=args.ip,
            foreground=False,
            ready_fd=ready_fd,
        )
    except LlmspellError as exc:
        print(f"llmspell: {exc}", file=sys.stderr)
        status = exc.exit_status
    except BaseException:  # noqa: BLE001 - the child's last word, whatever ended it
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _spawn_kernel(
    args: argparse.Namespace, transport: str | None, ready_fd: int, out_path: Path
) -> int:
    command = [sys.executable, "-m", "llmspell_tui", "kernel", "start", "--ready-fd"]
    command.append(str(ready_fd))
    for flag, value in (
        ("--transport", transport),
        ("--ip", args.ip),
        ("--name", args.name),
        ("--config", getattr(args, "config", None)),
        ("--profile", getattr(args, "profile", None)),
    ):
        if value:
            command += [flag, value]
    with open(out_path, "wb") as out:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            pass_fds=(ready_fd,),
        )
    return proc.pid


def _read_ready(fd: int, timeout: float) -> dict[str, Any] | None:
    """The kernel's ready line; None if it closed the pipe without one (it died) or
    stayed silent for ``timeout`` seconds."""
    data = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 4096)
        if not chunk:
            return None
        data += chunk
    try:
        ready: dict[str, Any] = json.loads(data.split(b"\n", 1)[0])
    except json.JSONDecodeError:
        return None
    return ready


def _exit_status(pid: int) -> int | None:
    """The kernel's exit status once it has ended (it closed the pipe: it is ending), else
    None after a grace period (reaped: it is our child)."""
    deadline = time.monotonic() + 2.0
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.01)
