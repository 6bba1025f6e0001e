"""A blocking call (os.execute) is stopped by Ctrl+C, by an interrupt and by the time limit;
it used to run to its end in system(), where none of them reaches."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.conftest import CliResult
from tests.kernel_fixtures import collect, kernel, outputs, run_cell

__all__ = ["kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]


def _sleeper(tmp_path: Path) -> tuple[str, Path, Path]:
    """Lua that runs a shell which writes its pid, sleeps, then leaves a marker."""
    pid_file, marker = tmp_path / "shell.pid", tmp_path / "finished"
    code = f'os.execute("echo $$ > {pid_file}; sleep 20; touch {marker}")'
    return code, pid_file, marker


def _wait_for(path: Path, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_time_limit_stops_a_running_shell_command(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    code, pid_file, marker = _sleeper(tmp_path)
    script = tmp_path / "slow.lua"
    script.write_text(code + '\nprint("after")\n')
    result = cli("run", "--time-limit", "1", str(script))
    assert result.returncode == 1
    assert "time limit of 1s exceeded" in result.stderr
    assert "after" not in result.stdout
    assert _gone(_wait_for(pid_file))
    assert not marker.exists()


def test_ctrl_c_stops_a_running_shell_command(tmp_path: Path) -> None:
    code, pid_file, marker = _sleeper(tmp_path)
    script = tmp_path / "slow.lua"
    script.write_text(code + '\nprint("after")\n')
    env = dict(os.environ, LLMSPELL_STATE__PATH=str(tmp_path / "state.sqlite3"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmspell_tui", "run", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    pid = _wait_for(pid_file)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "after" not in out
    assert _gone(pid)
    assert not marker.exists()


def test_interrupt_stops_a_running_shell_command_in_the_kernel(
    kernel: Kernel, tmp_path: Path
) -> None:
    km, client = kernel
    code, pid_file, marker = _sleeper(tmp_path)
    msg_id = client.execute(code)
    pid = _wait_for(pid_file)
    km.interrupt_kernel()
    reply = client.get_shell_msg(timeout=20)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "Interrupted"
    collect(client, msg_id)
    assert _gone(pid)
    assert not marker.exists()
    assert outputs(run_cell(client, "40 + 2")[1]) == [("execute_result", {"text/plain": "42"})]


def test_interrupt_stops_a_read_of_stdin_nobody_answers(kernel: Kernel) -> None:
    # `return io.read()` tail-calls the C function: once the read returns, the first Lua
    # the armed hook meets is the runner's own code after the run, where the abort used to
    # escape as a bare LuaError and leave every later request failing
    km, client = kernel
    msg_id = client.execute("io.read()", allow_stdin=True)
    assert client.get_stdin_msg(timeout=20)["msg_type"] == "input_request"
    km.interrupt_kernel()
    reply = client.get_shell_msg(timeout=20)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "Interrupted", reply["content"]
    collect(client, msg_id)
    assert outputs(run_cell(client, "40 + 2")[1]) == [("execute_result", {"text/plain": "42"})]


def _reader(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    """`llmspell run` of a script that reads stdin, from a pipe nobody writes to."""
    script = tmp_path / "read.lua"
    script.write_text('io.stderr:write("reading\\n")\nlocal l = io.read()\nprint("after", l)\n')
    env = dict(os.environ, LLMSPELL_STATE__PATH=str(tmp_path / "state.sqlite3"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmspell_tui", "run", *extra, str(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline() == "reading\n"
    return proc


def test_time_limit_stops_a_read_of_stdin(tmp_path: Path) -> None:
    proc = _reader(tmp_path, "--time-limit", "1")
    try:
        proc.wait(timeout=30)  # stdin stays open: no end of input
        assert proc.stdout is not None
        assert proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 1, err
    assert "time limit of 1s exceeded" in err
    assert "after" not in out


def test_ctrl_c_stops_a_read_of_stdin(tmp_path: Path) -> None:
    proc = _reader(tmp_path)
    try:
        time.sleep(0.3)  # into read(0)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        assert proc.stdout is not None
        assert proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 130, err
    assert "after" not in out
