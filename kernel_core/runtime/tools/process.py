"""``process-executor``: runs an allow-listed command without a shell (tools.md §5)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from typing import Any

from kernel_core.runtime.tools import process_policy
from kernel_core.runtime.tools.errors import SecurityViolation, ToolValidationError
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, envelope_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

ALLOWED = frozenset(
    (
        "echo",
        "cat",
        "ls",
        "pwd",
        "whoami",
        "date",
        "uname",
        "which",
        "test",
        "head",
        "tail",
        "wc",
        "grep",
        "find",
        "sort",
        "uniq",
    )
)
BLOCKED = frozenset(
    (
        "rm",
        "rmdir",
        "mv",
        "cp",
        "chmod",
        "chown",
        "sudo",
        "su",
        "passwd",
        "ssh",
        "scp",
        "curl",
        "wget",
        "nc",
        "netcat",
        "nmap",
        "dd",
        "mkfs",
        "fdisk",
        "mount",
        "umount",
        "systemctl",
        "service",
        "kill",
        "killall",
        "pkill",
    )
)
PASSED_ENV = ("PATH", "HOME", "USER", "SHELL", "TERM", "LANG", "LC_ALL", "TZ")
TIMEOUT_SECONDS = 30.0
MAX_STREAM = 1024 * 1024
_SUBSTITUTION = re.compile(r"\$\([^)]*\)|`[^`]*`")
_META = re.compile(r"([;&|`$<>\\])")


def _escape(argument: str) -> str:
    # LLMSpell's quirk, kept so scripts see the same output: substitutions removed, shell
    # metacharacters backslash-escaped (harmless, as no shell runs)
    return _META.sub(r"\\\1", _SUBSTITUTION.sub("", argument))


def _truncate(data: bytes) -> str:
    text = data[:MAX_STREAM].decode("utf-8", "replace")
    return text + ("\n[output truncated]" if len(data) > MAX_STREAM else "")


def run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Run one allowed executable with arguments."""
    executable = params["executable"]
    if any(bad in executable for bad in ("..", ";", "|", "&", "`")):
        raise ToolValidationError(f"Invalid executable name: {executable}")
    if context.sandbox_level == "restricted":
        raise SecurityViolation(
            f"Execution of '{executable}' is not permitted: the restricted sandbox runs no "
            'processes (set [runtime] sandbox = "trusted" in llmspell.toml or run with '
            "--sandbox trusted)"
        )
    if not context.allow_process_execution:
        raise SecurityViolation(
            f"Execution of '{executable}' is not permitted: process execution is disabled "
            "([tools] allow_process_execution = false)"
        )
    base = os.path.basename(executable)
    if base in BLOCKED or base not in ALLOWED:
        if shutil.which(executable) is None:
            raise ToolValidationError(f"Executable not found in PATH: {executable}")
        raise SecurityViolation(
            f"Execution of '{executable}' is not permitted (allowed: {', '.join(sorted(ALLOWED))})"
        )
    resolved = process_policy.resolve_executable(executable, shutil.which)
    if resolved is None:
        raise ToolValidationError(f"Executable not found in PATH: {executable}")
    cwd = None
    if params.get("working_directory"):
        real = context.sandbox.resolve(str(params["working_directory"]), "execute in")
        if not real.is_dir():
            raise ToolValidationError(f"Working directory does not exist: {real}")
        cwd = str(real)
    # checked as they will run: the escaping removes substitutions, which can make new options
    arguments = [_escape(str(a)) for a in params.get("arguments") or []]

    def check_path(path: str) -> None:
        context.sandbox.resolve(os.path.join(cwd or os.getcwd(), path), f"{base} argument")

    process_policy.check(base, arguments, check_path)
    requested = params.get("environment") or {}
    env = {k: os.environ[k] for k in ("PATH",) if k in os.environ}
    env.update({k: str(v) for k, v in requested.items() if k in PASSED_ENV})
    started = time.perf_counter()
    proc = subprocess.Popen(
        [resolved, *arguments],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    timed_out = False
    deadline = started + TIMEOUT_SECONDS
    stdout = stderr = b""
    while True:
        try:
            stdout, stderr = proc.communicate(timeout=0.05)
            break
        except subprocess.TimeoutExpired:
            if context.cancelled.is_set() or time.perf_counter() > deadline:
                proc.kill()
                stdout, stderr = proc.communicate()
                timed_out = True
                break
    elapsed_ms = int((time.perf_counter() - started) * 1000)
    code = None if timed_out else proc.returncode
    if timed_out:
        message = f"Process '{executable}' timed out after {TIMEOUT_SECONDS:g}s"
    elif code == 0:
        message = f"Process '{executable}' executed successfully in {elapsed_ms}ms"
    else:
        message = f"Process '{executable}' failed with exit code Some({code})"
    return envelope_output(
        "execute",
        message,
        {
            "executable": executable,
            "arguments": arguments,
            "exit_code": code,
            "success": code == 0,
            "stdout": _truncate(stdout),
            "stderr": _truncate(stderr),
            "execution_time_ms": elapsed_ms,
            "timed_out": timed_out,
        },
    )


TOOLS = (
    ToolSpec(
        name="process-executor",
        description="Runs allow-listed commands (echo, ls, cat, grep, ...) without a shell, "
        "capturing output",
        category="system",
        security_level="restricted",
        parameters=(
            Param("executable", "string", "Command name, e.g. 'echo'", required=True),
            Param("arguments", "array", "Arguments as an array of strings"),
            Param("working_directory", "string", "Directory to run in (inside allowed paths)"),
            Param(
                "environment",
                "object",
                "Variables to pass (PATH, HOME, USER, SHELL, TERM, LANG, LC_ALL, TZ only)",
            ),
        ),
        run=run,
    ),
)
