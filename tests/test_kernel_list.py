"""`llmspell kernel list` tells live kernels from stale files by their process and their
heartbeat only: a kernel running a long cell or paused at a breakpoint is listed as such,
its connection file kept, and `kernel stop` still reaches it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient

from tests.conftest import CliResult
from tests.debug_fixtures import Debugger, lua_fixture, marker_line

Cli = Callable[..., CliResult]
BASICS = lua_fixture("basics.lua")


@pytest.fixture
def work_kernel(cli: Cli) -> Iterator[tuple[Path, int, BlockingKernelClient]]:
    """A kernel started with `llmspell kernel start --name work`, and a client on it."""
    result = cli("kernel", "start", "--name", "work")
    assert result.returncode == 0, result.stderr
    found = re.search(r"pid (\d+)\nconnection file: (\S+)", result.stdout)
    assert found, result.stdout
    pid, path = int(found.group(1)), Path(found.group(2))
    client = BlockingKernelClient(connection_file=str(path))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        yield path, pid, client
    finally:
        client.stop_channels()
        cli("kernel", "stop", "--all")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _listed(cli: Cli) -> list[dict[str, Any]]:
    result = cli("kernel", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert "removed stale" not in result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def _wait_busy(client: BlockingKernelClient, msg_id: str) -> None:
    while True:
        msg = client.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
            return


def _interrupt(client: BlockingKernelClient) -> None:
    client.control_channel.send(client.session.msg("interrupt_request", {}))
    client.get_control_msg(timeout=10)


def test_kernel_list_keeps_a_kernel_running_a_long_cell_and_shows_it_busy(
    cli: Cli, work_kernel: tuple[Path, int, BlockingKernelClient]
) -> None:
    path, pid, client = work_kernel
    running = client.execute("while true do end")
    _wait_busy(client, running)
    try:
        rows = _listed(cli)
        assert [(r["name"], r["pid"], r["state"]) for r in rows] == [("work", pid, "busy")]
        assert path.exists()
        assert re.search(r"work .* busy$", cli("kernel", "list").stdout, re.MULTILINE)
    finally:
        _interrupt(client)
    stopped = cli("kernel", "stop", "work")
    assert stopped.returncode == 0, stopped.stderr
    assert not path.exists()


def test_kernel_list_shows_a_kernel_paused_at_a_breakpoint(
    cli: Cli, work_kernel: tuple[Path, int, BlockingKernelClient]
) -> None:
    path, _, client = work_kernel
    dbg = Debugger(client)
    dbg.start()
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "bump")})
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    assert [r["state"] for r in _listed(cli)] == ["paused"]
    assert path.exists()
    dbg.ok("setBreakpoints", source={"path": str(BASICS)}, breakpoints=[])
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    assert [r["state"] for r in _listed(cli)] == ["idle"]


def test_kernel_list_removes_a_kernel_whose_heartbeat_is_silent(
    cli: Cli, work_kernel: tuple[Path, int, BlockingKernelClient]
) -> None:
    path, pid, _ = work_kernel
    os.kill(pid, signal.SIGSTOP)  # the process exists but answers nothing
    try:
        result = cli("kernel", "list", "--json")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert f"removed stale connection file {path} (no heartbeat)" in result.stderr
    assert json.loads(result.stdout) == []
    assert not path.exists()
