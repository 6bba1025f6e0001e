"""jq for ``json-processor``: the whole jq language and its messages, from libjq (the ``jq``
package), run in a worker process (jq_worker.py) so that a query that exhausts memory or never
ends costs that process, not the kernel.

Queries that could read outside their input (the environment, other inputs, files through
modules) are refused before they run; see :data:`REFUSED`.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import select
import subprocess
import sys
import threading
import time
from typing import Any

import orjson

from kernel_core.runtime.tools.errors import (
    ResourceLimitError,
    SecurityViolation,
    ToolCancelledError,
    ToolError,
    ToolValidationError,
)

MAX_OUTPUTS = 100_000
TIMEOUT = 10.0  # seconds a query may run
WORKER_MEMORY = 2 * 1024**3  # the worker's address space: a runaway query ends there

# jq names that reach outside the query's input: the process environment, further inputs,
# stderr, the input file's name, module files, the process's exit.
REFUSED = frozenset(
    {
        "env",
        "$ENV",
        "input",
        "inputs",
        "debug",
        "stderr",
        "input_filename",
        "input_line_number",
        "halt",
        "halt_error",
        "import",
        "include",
        "modulemeta",
        "get_search_list",
        "get_prog_origin",
        "get_jq_origin",
        "$__prog_args",
    }
)
# a name, not a field (`.env`), not an object key (`{env: 1}`)
_NAME = re.compile(r"(?<![\w.$])\$?[A-Za-z_]\w*(?:::\w+)*(?!\w|\s*:(?!:))")


class JqError(ToolError):
    """A jq query failed (compile or run time)."""


def code_of(query: str) -> str:
    """The query without its string literals and comments, keeping string interpolations
    (``"\\(env)"`` is code)."""
    out: list[str] = []
    stack = [0]  # paren depth per open code level; a string sits between code levels
    in_string = False
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if in_string:
            if ch == "\\" and i + 1 < n:
                if query[i + 1] == "(":
                    in_string = False
                    stack.append(0)
                    out.append(" (")
                i += 2
                continue
            if ch == '"':
                in_string = False
                out.append(" ")
            i += 1
            continue
        if ch == '"':
            in_string = True
        elif ch == "#":
            while i < n and query[i] != "\n":
                i += 1
            continue
        elif ch == "(":
            stack[-1] += 1
            out.append(ch)
        elif ch == ")":
            if stack[-1] == 0 and len(stack) > 1:  # the end of an interpolation
                stack.pop()
                in_string = True
                out.append(") ")
            else:
                stack[-1] -= 1
                out.append(ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def refused_name(query: str) -> str | None:
    """The first name in the query that :data:`REFUSED` holds, if any (``.env``, a field,
    and ``"env"``, a string, are not names)."""
    for m in _NAME.finditer(code_of(query)):
        if m.group() in REFUSED:
            return m.group()
    return None


class JqWorker:
    """One worker process, started on first use and again after it dies."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "LANG")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "kernel_core.runtime.tools.jq_worker", str(WORKER_MEMORY)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._proc = proc
        return proc

    def stop(self) -> None:
        """End the worker (its stdin closes; killed if it does not go)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(1)
        _end(proc)

    def ask(
        self, request: dict[str, Any], timeout: float, cancelled: threading.Event | None = None
    ) -> dict[str, Any]:
        """Send one request and wait for its reply (the worker is stopped on ``cancelled``:
        the tool's caller gave up, its timeout)."""
        with self._lock:
            proc = self._proc if self._proc is not None and self._proc.poll() is None else None
            proc = proc or self._start()
            assert proc.stdin is not None
            assert proc.stdout is not None
            try:
                proc.stdin.write(orjson.dumps(request) + b"\n")
                proc.stdin.flush()
            except BrokenPipeError:
                self._died()
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._proc = None
                    _end(proc)
                    raise ResourceLimitError(
                        f"the jq query ran for more than {timeout:g} s and was stopped"
                    )
                if cancelled is not None and cancelled.is_set():
                    self._proc = None
                    _end(proc)
                    raise ToolCancelledError("the jq query was stopped: its caller stopped waiting")
                ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.05))
                if ready:
                    break
            line = proc.stdout.readline()
            if not line:
                self._died()
            reply: dict[str, Any] = orjson.loads(line)
            return reply

    def _died(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            _end(proc)
        raise ResourceLimitError(
            "the jq query ran out of memory or recursed too deeply (libjq gave up)"
        )


def _end(proc: subprocess.Popen[bytes]) -> None:
    """Kill a worker and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):  # a write the dead worker never read
                pipe.close()


_WORKER = JqWorker()
atexit.register(_WORKER.stop)


def query(
    text: str, value: Any, *, timeout: float = TIMEOUT, cancelled: threading.Event | None = None
) -> list[Any]:
    """Every output of the jq query ``text`` on ``value``."""
    name = refused_name(text)
    if name is not None:
        raise SecurityViolation(
            f"jq query refused: '{name}' reads outside the query's input, which "
            "json-processor does not allow"
        )
    reply = _WORKER.ask({"query": text, "input": value, "max": MAX_OUTPUTS}, timeout, cancelled)
    if "ok" in reply:
        outputs: list[Any] = reply["ok"]
        return outputs
    message = str(reply.get("message", ""))
    if reply.get("error") == "compile":
        raise ToolValidationError(f"Invalid jq query '{text}': {_compile_message(message)}")
    if reply.get("error") == "limit":
        raise ResourceLimitError(message)
    raise JqError(f"jq query '{text}' failed: {message}")


def _compile_message(message: str) -> str:
    """libjq's compile message without its ``jq: error:`` prefixes and the count line."""
    lines = [line for line in message.splitlines() if not re.match(r"jq: \d+ compile error", line)]
    return "\n".join(line.removeprefix("jq: error: ") for line in lines).strip()
