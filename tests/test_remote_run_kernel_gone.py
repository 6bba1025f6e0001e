"""`llmspell run SCRIPT --connect KERNEL` when the kernel goes away under the running script.

Seen as a user: `kernel stop` of a busy kernel (or the kernel killed) left the `--connect`
run waiting for a reply forever. It must end, non-zero, saying why.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def _wait_busy(cli: Cli, name: str, timeout: float = 30) -> int:
    """The pid of kernel ``name`` once `kernel list` shows it busy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = json.loads(cli("kernel", "list", "--output", "json").stdout or "[]")
        for row in rows:
            if row["name"] == name and row["state"] == "busy":
                return int(row["pid"])
        time.sleep(0.2)
    raise AssertionError(f"kernel {name} never became busy")


@pytest.mark.parametrize("how", ["kernel stop", "SIGKILL"])
def test_a_connect_run_ends_when_its_kernel_goes_away(
    cli: Cli, tmp_path: Path, how: str, request: pytest.FixtureRequest
) -> None:
    started = cli("kernel", "start", "--name", "gone")
    assert started.returncode == 0, started.stderr
    request.addfinalizer(lambda: cli("kernel", "stop", "--all"))
    script = tmp_path / "spin.lua"
    script.write_text("print('spinning')\nwhile true do end\n")
    env = dict(os.environ)
    env.setdefault("LLMSPELL_STATE__PATH", str(tmp_path / "cli-state.sqlite3"))
    run = subprocess.Popen(
        [sys.executable, "-m", "llmspell_tui", "run", str(script), "--connect", "gone"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        pid = _wait_busy(cli, "gone")
        if how == "kernel stop":
            assert cli("kernel", "stop", "gone").returncode == 0
        else:
            os.kill(pid, signal.SIGKILL)
        out, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert run.returncode == 1
    assert out == "spinning\n"
    assert "the kernel stopped while the script ran" in err
