"""Many clients on one kernel: they come and go (with or without a DAP disconnect), and
the kernel counts them, keeps its debugger working for the next one, and never leaves a
script paused for nobody. Driven by jupyter_client."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from kernel_core.kernel.connection import kernels_dir
from tests.debug_fixtures import (
    Debugger,
    dbg,
    debug_kernel,
    lua_fixture,
    marker_line,
    second_client,
)
from tests.kernel_fixtures import kernel, run_cell, start_kernel, stop_kernel

__all__ = ["dbg", "debug_kernel", "kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]
BASICS = lua_fixture("basics.lua")


def _details(client: BlockingKernelClient) -> dict[str, Any]:
    details: dict[str, Any] = client.kernel_info(reply=True, timeout=10)["content"]["llmspell"]
    return details


def _eventually(check: Callable[[], bool], within: float = 10) -> bool:
    """Whether ``check`` holds within ``within`` seconds (ZeroMQ tells of a gone peer a
    moment after it goes)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def test_disconnect_with_terminate_while_idle_leaves_a_working_debugger(
    debug_kernel: tuple[KernelManager, Debugger],
) -> None:
    km, first = debug_kernel
    first.ok("disconnect", terminateDebuggee=True)
    # the next client debugs as if nobody had been there
    nxt = second_client(km)
    try:
        nxt.set_breakpoints(BASICS, {"line": marker_line(BASICS, "after")})
        msg_id = nxt.run_file(BASICS)
        nxt.stopped()
        assert nxt.evaluate("counter") == "78"
        nxt.ok("continue", threadId=1)
        assert nxt.shell_reply(msg_id)["status"] == "ok"
        reply, _ = run_cell(nxt.client, "1 + 1")
        assert reply["content"]["status"] == "ok"
    finally:
        nxt.client.stop_channels()


def test_a_client_quitting_as_the_tui_does_leaves_no_error_in_the_kernel_log(
    debug_kernel: tuple[KernelManager, Debugger],
) -> None:
    km, first = debug_kernel
    # the TUI on quit: disconnect (terminating what runs), then its sockets close
    first.ok("disconnect", terminateDebuggee=True)
    _vanish(first.client)
    nxt = second_client(km)
    try:
        assert _eventually(lambda: _details(nxt.client)["clients"] == 1)
        assert nxt.ok("evaluate", expression="1 + 2")["result"] == "3"
    finally:
        nxt.client.stop_channels()
    kernel_id = Path(km.connection_file).stem.removeprefix("kernel-")
    log = (kernels_dir() / f"kernel-{kernel_id}.log").read_text()
    assert "failed" not in log
    assert "Traceback" not in log


def test_terminate_while_idle_does_not_break_the_next_cell(dbg: Debugger) -> None:
    dbg.ok("terminate")
    reply, _ = run_cell(dbg.client, "1 + 1")
    assert reply["content"]["status"] == "ok"
    assert dbg.ok("evaluate", expression="1 + 2")["result"] == "3"


def test_internal_requests_are_not_reachable_from_the_wire(dbg: Debugger) -> None:
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "after")})
    for command in ("llmspell/clientsGone", "clientsGone", "clients_gone"):
        assert "unknown command" in dbg.fails(command)
    breakpoints = dbg.ok("debugInfo")["breakpoints"]
    assert [bp["source"] for bp in breakpoints] == [str(BASICS)]


def test_the_client_count_follows_clients_that_come_and_go(kernel: Kernel) -> None:
    km, first = kernel
    assert _eventually(lambda: _details(first)["clients"] == 1)
    for _ in range(3):
        others = [km.blocking_client() for _ in range(3)]
        for other in others:
            other.start_channels()
            other.wait_for_ready(timeout=10)
        assert _eventually(lambda: _details(first)["clients"] == 4)
        for other in others:
            other.stop_channels()
        assert _eventually(lambda: _details(first)["clients"] == 1)


def _vanish(client: BlockingKernelClient) -> None:
    """A client that goes without a word (a crashed editor): its sockets just close."""
    client.stop_channels()


def test_a_script_paused_for_clients_that_all_vanished_continues(tmp_path: Path) -> None:
    km, owner = start_kernel({"LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3")})
    try:
        _vanish(owner)
        debuggers = [second_client(km), second_client(km)]
        debuggers[0].set_breakpoints(BASICS, {"line": marker_line(BASICS, "after")})
        debuggers[0].run_file(BASICS)
        for d in debuggers:
            d.stopped()
        for d in debuggers:
            _vanish(d.client)
        newcomer = km.blocking_client()
        newcomer.start_channels()
        try:
            newcomer.wait_for_ready(timeout=10)
            assert _eventually(lambda: _details(newcomer)["state"] == "idle")
            assert Debugger(newcomer).ok("debugInfo")["breakpoints"] == []
        finally:
            newcomer.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
        km.cleanup_resources()


def test_with_pause_when_last_client_leaves_a_vanished_clients_script_stays_paused() -> None:
    km, owner = start_kernel({"LLMSPELL_KERNEL__PAUSE_WHEN_LAST_CLIENT_LEAVES": "true"})
    try:
        _vanish(owner)
        debuggers = [second_client(km), second_client(km)]
        debuggers[0].set_breakpoints(BASICS, {"line": marker_line(BASICS, "after")})
        debuggers[0].run_file(BASICS)
        for d in debuggers:
            d.stopped()
            _vanish(d.client)
        back = second_client(km)  # ready at once although the script is paused
        try:
            assert _eventually(lambda: _details(back.client)["clients"] == 1)
            assert back.ok("debugInfo")["stoppedThreads"] == [1]
            back.ok("continue", threadId=1)
            assert _eventually(lambda: _details(back.client)["state"] == "idle")
        finally:
            stop_kernel(km, back.client, now=True)
    finally:
        if km.is_alive():
            km.shutdown_kernel(now=True)


def test_a_client_that_runs_a_cell_before_its_iopub_is_connected_sees_all_of_it(
    kernel: Kernel,
) -> None:
    # jupyter console sends its first cell as soon as kernel_info answers on shell; its
    # iopub subscription may reach the kernel later (more so on a loaded machine), and a
    # client that missed the cell's idle status waits for it forever
    km, first = kernel
    run_cell(first, "return 1")  # the first client's subscription is claimed: no spare one
    late = km.blocking_client()
    late.start_channels(iopub=False, stdin=False, hb=False)
    try:
        msg_id = late.execute("return 6 * 7")
        time.sleep(0.3)
        late.iopub_channel.start()
        seen: list[tuple[str, Any]] = []
        deadline = time.monotonic() + 10
        while ("status", "idle") not in seen and time.monotonic() < deadline:
            try:
                msg = late.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status":
                seen.append(("status", msg["content"]["execution_state"]))
            elif kind == "execute_result":
                seen.append(("result", msg["content"]["data"]["text/plain"]))
        assert seen == [("status", "busy"), ("result", "42"), ("status", "idle")]
        assert late.get_shell_msg(timeout=10)["content"]["status"] == "ok"
    finally:
        late.stop_channels()
