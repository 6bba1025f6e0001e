"""``os.execute`` that an interrupt or a time limit can stop.

Lua's own calls ``system()``, which blocks the execution thread in C (and ignores SIGINT
while it waits): ``os.execute("sleep 10")`` under a 2 s limit ran 10 s, and Ctrl+C during it
was lost. Here the shell runs in its own process group and the wait polls the runtime's
pending abort; on one the whole group is stopped (SIGINT, then SIGKILL), and the armed hook
delivers the abort as soon as Lua runs again. Results are Lua's: ``true|nil, "exit"|"signal",
code``. The child inherits the process's standard streams, as with ``system()``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

POLL_SECONDS = 0.01
GRACE_SECONDS = 0.5  # after SIGINT, before SIGKILL


def execute(
    command: str, abort_pending: Callable[[], bool], *, stdin: int | None = None
) -> tuple[bool | None, str, int]:
    """Run ``command`` with ``/bin/sh -c`` as Lua's os.execute does, stoppable. ``stdin``
    replaces the inherited fd 0 (a kernel's is a pipe only the script's own reads fill)."""
    proc = subprocess.Popen(["/bin/sh", "-c", command], start_new_session=True, stdin=stdin)
    try:
        while True:
            try:
                code = proc.wait(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if abort_pending():
                    code = _stop(proc)
                    break
    except BaseException:  # KeyboardInterrupt in `llmspell run`'s main thread: never orphan it
        _stop(proc)
        raise
    if code < 0:
        return None, "signal", -code
    return (True if code == 0 else None), "exit", code


def _stop(proc: subprocess.Popen[bytes]) -> int:
    for sig, wait in ((signal.SIGINT, GRACE_SECONDS), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = None if wait is None else time.monotonic() + wait
        try:
            return proc.wait(timeout=None if deadline is None else wait)
        except subprocess.TimeoutExpired:
            continue
    return proc.wait()
