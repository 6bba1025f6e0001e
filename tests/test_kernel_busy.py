"""Requests a client sends while the kernel is busy: kernel_info, is_complete, complete,
inspect and history are answered while a cell runs or a script sits at a breakpoint, as
JupyterLab and jupyter_client expect (they ask kernel_info to know the kernel is alive).
Completions at a stop see the stopped frame. Driven by jupyter_client."""

from __future__ import annotations

from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.debug_fixtures import Debugger, dbg, debug_kernel, lua_fixture, marker_line
from tests.kernel_fixtures import kernel, run_cell

__all__ = ["dbg", "debug_kernel", "kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]
BASICS = lua_fixture("basics.lua")


def _reply(client: BlockingKernelClient, msg_id: str, timeout: float = 10) -> dict[str, Any]:
    while True:
        reply: dict[str, Any] = client.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def _quick_requests_answer(client: BlockingKernelClient) -> None:
    """Every quick request gets its reply while something holds the execution thread."""
    info = client.kernel_info(reply=True, timeout=5)
    assert info["msg_type"] == "kernel_info_reply"
    assert info["content"]["llmspell"]["state"] == "busy"
    complete = _reply(client, client.is_complete("for i = 1, 3 do"), timeout=5)
    assert complete["content"] == {"status": "incomplete", "indent": "  "}
    history = _reply(client, client.history(hist_access_type="tail", n=5), timeout=5)
    assert history["content"]["status"] == "ok"
    matches = _reply(client, client.complete("JSON.str"), timeout=5)["content"]
    assert matches["matches"] == ["stringify"]
    found = _reply(client, client.inspect("JSON"), timeout=5)["content"]
    assert found["found"] is True


def test_quick_requests_are_answered_while_a_cell_runs(kernel: Kernel) -> None:
    _, client = kernel
    running = client.execute("while true do end")
    while True:  # the cell has started: its execute_input is out
        msg = client.get_iopub_msg(timeout=10)
        if msg["parent_header"].get("msg_id") == running and msg["msg_type"] == "execute_input":
            break
    try:
        _quick_requests_answer(client)
    finally:
        _interrupt(client)
    assert _reply(client, running)["content"]["ename"] == "Interrupted"
    assert run_cell(client, "1 + 1")[0]["content"]["status"] == "ok"


def _interrupt(client: BlockingKernelClient) -> None:
    msg = client.session.msg("interrupt_request", {})
    client.control_channel.send(msg)
    client.get_control_msg(timeout=10)


def test_quick_requests_are_answered_while_a_script_is_paused(dbg: Debugger) -> None:
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "bump")})
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    _quick_requests_answer(dbg.client)
    dbg.ok("setBreakpoints", source={"path": str(BASICS)}, breakpoints=[])
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_a_new_client_is_ready_at_once_while_a_script_is_paused(
    debug_kernel: tuple[KernelManager, Debugger],
) -> None:
    km, dbg = debug_kernel
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "bump")})
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    newcomer = km.blocking_client()
    newcomer.start_channels()
    try:
        newcomer.wait_for_ready(timeout=10)
    finally:
        newcomer.stop_channels()
    dbg.ok("setBreakpoints", source={"path": str(BASICS)}, breakpoints=[])
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_completion_at_a_stop_sees_the_stopped_frame(dbg: Debugger) -> None:
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "bump")})
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    client = dbg.client
    # `step` is a local of bump, `counter` its upvalue; neither is a global
    assert "step" in _reply(client, client.complete("ste"))["content"]["matches"]
    assert "counter" in _reply(client, client.complete("coun"))["content"]["matches"]
    assert _reply(client, client.complete("JSON.str"))["content"]["matches"] == ["stringify"]
    found = _reply(client, client.inspect("counter"))["content"]
    assert found["found"] is True
    assert found["data"]["text/plain"].startswith("counter: number")
    dbg.ok("setBreakpoints", source={"path": str(BASICS)}, breakpoints=[])
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_completion_at_a_stop_completes_fields_of_a_frame_local(dbg: Debugger) -> None:
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "after")})
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    client = dbg.client
    content = _reply(client, client.complete("config.ne"))["content"]
    assert content["matches"] == ["nested"]
    assert content["cursor_start"] == len("config.")
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
