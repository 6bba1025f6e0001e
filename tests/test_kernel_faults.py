"""The kernel under faults: failing hooks, vanishing clients, restarts, kill -9 and the
memory limit. Driven by jupyter_client (and a raw ZeroMQ socket where a client misbehaves)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session

from kernel_core.kernel.connection import kernels_dir
from tests.kernel_fixtures import collect, kernel, outputs, run_cell, start_kernel, stop_kernel

__all__ = ["kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]


def _stderr(messages: list[dict[str, Any]]) -> str:
    return "".join(text for kind, (name, text) in _streams(messages) if name == "stderr")


def _streams(messages: list[dict[str, Any]]) -> list[tuple[str, tuple[str, str]]]:
    return [o for o in outputs(messages) if o[0] == "stream"]


def _details(client: BlockingKernelClient) -> dict[str, Any]:
    details: dict[str, Any] = client.kernel_info(reply=True, timeout=10)["content"]["llmspell"]
    return details


def _raw_client(km: KernelManager) -> tuple[zmq.Socket[bytes], Session]:
    """A DEALER on the shell channel and a Session that signs with the kernel's key."""
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    sock: zmq.Socket[bytes] = ctx.socket(zmq.DEALER)
    sock.linger = 2000  # deliver what we queued, even after close()
    info = km.get_connection_info()
    if info["transport"] == "ipc":
        sock.connect(f"ipc://{info['ip']}-{info['shell_port']}")
    else:
        sock.connect(f"tcp://{info['ip']}:{info['shell_port']}")
    key = info["key"]
    return sock, Session(key=key if isinstance(key, bytes) else key.encode())


def _log_text(km: KernelManager) -> str:
    kernel_id = Path(km.connection_file).stem.removeprefix("kernel-")
    return (kernels_dir() / f"kernel-{kernel_id}.log").read_text()


def test_a_failing_hook_is_reported_on_stderr_and_the_cell_completes(kernel: Kernel) -> None:
    _, client = kernel
    reply, _ = run_cell(
        client, 'Hook.register("BeforeToolExecution", function() error("boom") end)'
    )
    assert reply["content"]["status"] == "ok"
    reply, messages = run_cell(client, 'Tool.execute("calculator", {input = "1+2"}).result.result')
    assert reply["content"]["status"] == "ok"
    assert ("execute_result", {"text/plain": "3.0"}) in outputs(messages)
    stderr = _stderr(messages)
    assert "BeforeToolExecution hook" in stderr
    assert "failed (the operation continues)" in stderr
    assert "boom" in stderr
    assert outputs(run_cell(client, "'still serving'")[1]) == [
        ("execute_result", {"text/plain": '"still serving"'})
    ]


def test_a_client_vanishing_mid_request_is_logged_and_others_are_served(kernel: Kernel) -> None:
    km, client = kernel
    sock, session = _raw_client(km)
    slow_cell = (
        "local t = os.clock() while os.clock() - t < 1 do end\nvanished_cell_finished = true"
    )
    request = session.send(sock, "execute_request", {"code": slow_cell, "silent": False})
    sock.close()  # gone before the kernel can answer
    assert request is not None
    # every client's iopub shows the vanished client's cell running to its end
    kinds = [m["msg_type"] for m in collect(client, request["header"]["msg_id"], timeout=30)]
    assert kinds == ["status", "execute_input", "status"]
    reply, messages = run_cell(client, "vanished_cell_finished")
    assert reply["content"]["status"] == "ok"
    assert outputs(messages) == [("execute_result", {"text/plain": "true"})]
    assert _details(client)["undelivered_messages"] == 1
    assert "execute_reply not delivered: client" in _log_text(km)
    assert "has disconnected" in _log_text(km)


def test_io_read_for_a_client_without_stdin_is_an_error_not_a_hang(kernel: Kernel) -> None:
    km, client = kernel
    sock, session = _raw_client(km)  # shell only: nobody will ever see an input_request
    try:
        session.send(sock, "execute_request", {"code": "return io.read()", "allow_stdin": True})
        assert sock.poll(20_000), "no execute_reply: io.read waits for an answer forever"
        _, reply = session.recv(sock)
    finally:
        sock.close()
    assert reply is not None
    # Lua's own io.read sees end of input (stderr, on iopub, says why)
    assert reply["content"]["status"] == "ok"
    assert outputs(run_cell(client, "1 + 1")[1]) == [("execute_result", {"text/plain": "2"})]


def test_restart_keeps_state_but_not_lua_globals(kernel: Kernel) -> None:
    km, client = kernel
    run_cell(client, "State.set('k', 42) plain_global = 1")
    before = _details(client)["pid"]
    km.restart_kernel(now=False)
    client.wait_for_ready(timeout=30)
    assert _details(client)["pid"] != before
    _, messages = run_cell(client, "return State.get('k'), plain_global")
    assert outputs(messages) == [("execute_result", {"text/plain": "42\tnil"})]


def test_kill_9_of_the_kernel_loses_no_state_whose_set_returned(tmp_path: Path) -> None:
    env = {"LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3")}
    km, client = start_kernel(env)
    try:
        reply, _ = run_cell(
            client, "for i = 1, 50 do State.set('key' .. i, {i = i}) end State.set('last', 'set')"
        )
        assert reply["content"]["status"] == "ok"
        os.kill(_details(client)["pid"], signal.SIGKILL)
        deadline = time.monotonic() + 10
        while km.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not km.is_alive()
    finally:
        stop_kernel(km, client, now=True)
    km, client = start_kernel(env)
    try:
        _, messages = run_cell(
            client,
            "local n = 0 for i = 1, 50 do if State.get('key' .. i).i == i then n = n + 1 end end"
            "\nreturn n, State.get('last')",
        )
        assert outputs(messages) == [("execute_result", {"text/plain": '50\t"set"'})]
    finally:
        stop_kernel(km, client, now=True)


@pytest.fixture
def limited_kernel(tmp_path: Path) -> Iterator[Kernel]:
    """A kernel whose Lua world may use 32 MiB."""
    km, client = start_kernel(
        {
            "LLMSPELL_RUNTIME__MEMORY_LIMIT": "32MiB",
            "LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3"),
        }
    )
    yield km, client
    stop_kernel(km, client, now=True)


def _assert_memory_limit_error(reply: dict[str, Any]) -> None:
    content = reply["content"]
    assert content["status"] == "error"
    assert content["ename"] == "LimitExceeded"
    assert content["evalue"] == "memory limit of 32 MiB exceeded"


def test_memory_limit_inside_a_hook_callback_ends_the_cell_clearly(
    limited_kernel: Kernel,
) -> None:
    _, client = limited_kernel
    run_cell(
        client,
        'Hook.register("BeforeToolExecution", function()\n'
        "  local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(64) .. i end\n"
        "end)",
    )
    reply, messages = run_cell(
        client, 'Tool.execute("calculator", {input = "1+2"})\nprint("not reached")'
    )
    _assert_memory_limit_error(reply)
    assert "not reached" not in "".join(text for _, (_, text) in _streams(messages))
    assert "Cell In[" in "\n".join(reply["content"]["traceback"])
    # the hook stays registered and still blows the limit; everything else works
    assert outputs(run_cell(client, "'usable'")[1]) == [
        ("execute_result", {"text/plain": '"usable"'})
    ]


def test_memory_limit_inside_a_tool_call_is_a_clear_error(limited_kernel: Kernel) -> None:
    _, client = limited_kernel
    reply, _ = run_cell(
        client,
        'local r = Tool.execute("text_manipulator",'
        ' {operation = "uppercase", input = ("x"):rep(20 * 1024 * 1024)})',
    )
    _assert_memory_limit_error(reply)
    assert outputs(run_cell(client, "#('y'):rep(1000)")[1]) == [
        ("execute_result", {"text/plain": "1000"})
    ]
