"""``llmspell profile --host PID|KERNEL``: the kernel process's own Python side, with py-spy.

The Lua profiler sees the script; this sees the host: the protocol loop, the execution
thread's Python, serialisation, the Agent HTTP client. py-spy reads the process's memory
from outside (ptrace), so the kernel needs no restart and pays almost nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from kernel_core.errors import LlmspellError, UsageError

DEFAULT_RATE = 100  # Hz, py-spy's own default: a kernel's Python side needs no more
PYSPY_PREFIX = "py-spy>"

PTRACE_HELP = (
    "py-spy reads the process's memory with ptrace, which the system refused. Run it as the "
    'user who started the kernel, or with sudo (sudo env "PATH=$PATH" llmspell profile '
    "--host ...); in a container, grant CAP_SYS_PTRACE (docker run --cap-add SYS_PTRACE); on "
    "Linux with Yama, 'sysctl kernel.yama.ptrace_scope=0' lets a user trace processes that "
    "are not its children"
)


class HostProfileError(LlmspellError):
    """py-spy could not profile the process (missing, not allowed, or the process is gone)."""


def profile_host(args: argparse.Namespace) -> int:
    """Record the process with py-spy into a speedscope file; returns the exit status."""
    from llmspell_tui.commands.profile import check_writable

    pid, what = resolve_pid(str(args.host))
    _check_format(args)
    pyspy = find_pyspy()
    if pyspy is None:
        raise HostProfileError(
            "py-spy is not installed (it comes with llmspell): pip install 'py-spy>=0.3'"
        )
    _check_alive(pid, what)
    rate = round(args.rate) if args.rate is not None else DEFAULT_RATE
    if args.out == "-":
        # py-spy writes only to files: record to a temporary one, then copy it out
        with tempfile.TemporaryDirectory(prefix="llmspell-host-") as tmp:
            target = Path(tmp) / "kernel.speedscope.json"
            _record(_pyspy_command(pyspy, pid, target, rate, args.duration), what, target)
            sys.stdout.write(target.read_text(encoding="utf-8"))
            sys.stdout.flush()
        where = "stdout"
    else:
        target = Path(args.out).expanduser() if args.out else Path(f"kernel-{pid}.speedscope.json")
        check_writable(target)
        _record(_pyspy_command(pyspy, pid, target, rate, args.duration), what, target)
        where = str(target)
    print(f"profile of {what} written to {where} (speedscope)", file=sys.stderr)
    return 0


def find_pyspy() -> str | None:
    """The py-spy installed with llmspell (beside this interpreter: a venv or pipx install need
    not be on PATH), else the one on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("py-spy")


def resolve_pid(spec: str) -> tuple[int, str]:
    """The process id ``spec`` names (a pid, or a kernel's id, name or connection file),
    with how to speak of it ("kernel work (pid 123)")."""
    if spec.isdigit():
        return int(spec), f"pid {spec}"
    from kernel_core.kernel.registry import KernelNotFound, known_kernels, resolve_kernel

    try:
        path = resolve_kernel(spec)
    except KernelNotFound as exc:
        raise KernelNotFound(
            f"{exc}; --host takes a kernel's id or name (see 'llmspell kernel list') or a "
            "process id"
        ) from None
    for kernel in known_kernels():
        if kernel.connection_file == path and kernel.info is not None:
            return (
                kernel.info.pid,
                f"kernel {kernel.name or kernel.kernel_id} (pid {kernel.info.pid})",
            )
    raise UsageError(
        f"the kernel of {path} has no process id on record (its .info.json is missing): "
        "give its pid to --host instead"
    )


def _check_format(args: argparse.Namespace) -> None:
    from kernel_core.profiler.export import format_for

    if args.format is not None or (args.out and args.out != "-"):
        fmt = format_for(args.out if args.out and args.out != "-" else "", args.format)
        if fmt != "speedscope":
            raise UsageError(
                f"--host writes speedscope JSON (py-spy's format), not {fmt}: name the file "
                "*.speedscope.json or drop --format"
            )


def _check_alive(pid: int, what: str) -> None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise UsageError(
            f"no process {pid} is running: 'llmspell kernel list' shows the kernels and their pids"
        ) from None
    except PermissionError:
        raise HostProfileError(f"{what} belongs to another user. {PTRACE_HELP}") from None


def _pyspy_command(
    pyspy: str, pid: int, target: Path, rate: int, duration: int | None
) -> list[str]:
    command = [pyspy, "record", "--pid", str(pid), "--format", "speedscope"]
    command += ["--output", str(target), "--rate", str(rate)]
    if duration is not None:
        command += ["--duration", str(duration)]
    return command


def _record(command: list[str], what: str, target: Path) -> None:
    """Run ``py-spy record``; its progress lines pass through to stderr."""
    # py-spy stops on SIGINT and still writes the file; a Ctrl+C in the terminal reaches it
    # directly (same process group), one sent to llmspell alone is passed on
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )

    def on_sigint(signum: int, frame: Any) -> None:
        proc.send_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGINT, on_sigint)
    problems: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(PYSPY_PREFIX):
                sys.stderr.write(line)
                sys.stderr.flush()
            elif line.strip():
                problems.append(line.rstrip())
        status = proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
    if status != 0 or not target.is_file():
        raise HostProfileError(_failure(what, status, problems))


def _failure(what: str, status: int, problems: list[str]) -> str:
    """What went wrong, from py-spy's own words."""
    text = "\n".join(problems)
    lowered = text.lower()
    if "permission denied" in lowered or "operation not permitted" in lowered:
        return f"py-spy may not read {what}. {PTRACE_HELP}"
    if "check that the process is running" in lowered or "no such process" in lowered:
        return f"{what} ended before py-spy could read it"
    if "python" in lowered and ("version" in lowered or "interpreter" in lowered):
        return f"{what} does not look like a Python process (py-spy: {problems[0]})"
    # the first line is py-spy's message; the rest is a Rust backtrace
    detail = problems[0] if problems else "no output"
    return f"py-spy failed on {what} (exit status {status}): {detail}"
