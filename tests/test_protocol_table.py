"""The request table of docs/protocol.md, as a test: every request type on every channel the
table names gets the reply it names, with the request's header as parent, inside a status
busy/idle pair (or none, where the table says no), and is answered while a cell runs or
queued behind it, as the table says. Driven by jupyter_client."""

from __future__ import annotations

import queue
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient

from kernel_core.config import Config
from tests.conftest import ROOT
from tests.kernel_fixtures import start_kernel, stop_kernel

HEADER_KEYS = ("msg_id", "msg_type", "session", "username")


@dataclass
class Row:
    """One row of the table."""

    request: str
    channels: list[str]
    reply: str
    status: bool
    while_busy: dict[str, str]  # channel -> "answered" | "queued"


def table() -> list[Row]:
    """The rows of the request table in docs/protocol.md."""
    lines = (ROOT / "docs" / "protocol.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| request | channel |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        request, channels, reply, status, busy = (c.strip() for c in line.strip("|").split("|"))
        names = [c.strip() for c in channels.split(",")]
        if ":" in busy:
            while_busy = {
                part.split(":")[0].strip(): part.split(":")[1].strip() for part in busy.split(";")
            }
        else:
            while_busy = dict.fromkeys(names, busy)
        rows.append(Row(request.strip("`"), names, reply.strip("`"), status == "yes", while_busy))
    return rows


def _content(request: str, tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "hello.lua"
    script.write_text('print("hello")\n')
    contents: dict[str, dict[str, Any]] = {
        "kernel_info_request": {},
        "execute_request": {"code": "1 + 1", "silent": False, "allow_stdin": False},
        "llmspell_run_request": {"path": str(script), "allow_stdin": False},
        "complete_request": {"code": "JSON.str", "cursor_pos": 8},
        "inspect_request": {"code": "JSON", "cursor_pos": 4, "detail_level": 0},
        "is_complete_request": {"code": "x = 1"},
        "history_request": {"hist_access_type": "tail", "n": 3, "output": False, "raw": True},
        "comm_info_request": {},
        "debug_request": {"seq": 1, "type": "request", "command": "debugInfo", "arguments": {}},
        "interrupt_request": {},
        "shutdown_request": {"restart": False},
    }
    assert request in contents, f"docs/protocol.md names {request}: give the test its content"
    return contents[request]


def _send(
    client: BlockingKernelClient, channel: str, msg_type: str, content: dict[str, Any]
) -> dict[str, Any]:
    msg: dict[str, Any] = client.session.msg(msg_type, content)
    getattr(client, f"{channel}_channel").send(msg)
    return msg


def _reply(client: BlockingKernelClient, channel: str, timeout: float = 20) -> dict[str, Any]:
    reply: dict[str, Any] = getattr(client, f"get_{channel}_msg")(timeout=timeout)
    return reply


def _iopub_until_idle(client: BlockingKernelClient, msg_id: str) -> list[dict[str, Any]]:
    """iopub messages up to the idle status of ``msg_id``."""
    seen = []
    while True:
        msg = client.get_iopub_msg(timeout=20)
        seen.append(msg)
        if (
            msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
            and msg["parent_header"].get("msg_id") == msg_id
        ):
            return seen


def _same_header(parent: dict[str, Any], header: dict[str, Any]) -> bool:
    return all(parent.get(k) == header[k] for k in HEADER_KEYS)


def _check_round_trip(client: BlockingKernelClient, row: Row, channel: str, tmp_path: Path) -> None:
    msg = _send(client, channel, row.request, _content(row.request, tmp_path))
    reply = _reply(client, channel)
    what = f"{row.request} on {channel}"
    assert reply["msg_type"] == row.reply, what
    assert _same_header(reply["parent_header"], msg["header"]), what
    if row.request == "shutdown_request":
        return
    # a kernel_info afterwards: once its idle is seen, every status of the request is too
    probe = _send(client, "shell", "kernel_info_request", {})
    _reply(client, "shell")
    seen = _iopub_until_idle(client, probe["header"]["msg_id"])
    states = [
        m["content"]["execution_state"]
        for m in seen
        if m["msg_type"] == "status" and m["parent_header"].get("msg_id") == msg["header"]["msg_id"]
    ]
    assert states == (["busy", "idle"] if row.status else []), what
    for m in seen:
        if m["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            assert _same_header(m["parent_header"], msg["header"]), what


def _drain(client: BlockingKernelClient) -> None:
    while True:
        try:
            client.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            return


def test_every_request_gets_the_reply_and_status_the_table_names(tmp_path: Path) -> None:
    rows = table()
    assert {r.request for r in rows} >= {"kernel_info_request", "debug_request"}
    km, client = start_kernel({"LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3")})
    try:
        _drain(client)
        for row in rows:
            if row.request == "shutdown_request":
                continue
            for channel in row.channels:
                _check_round_trip(client, row, channel, tmp_path)
    finally:
        stop_kernel(km, client)
    for row in rows:
        if row.request != "shutdown_request":
            continue
        for channel in row.channels:
            km, client = start_kernel({"LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3")})
            try:
                _check_round_trip(client, row, channel, tmp_path)
            finally:
                stop_kernel(km, client, now=True)


def _stop(client: BlockingKernelClient, *, first_tried: bool = False) -> dict[str, Any]:
    """Interrupt the loop until its reply comes; the first shell reply.

    An interrupt that lands while the cell's Lua is still starting can be lost (its hook
    armed before the run's is set), so it is sent again until the loop ends.
    """
    for attempt in range(40):
        if attempt or not first_tried:
            _send(client, "control", "interrupt_request", {})
            _reply(client, "control")
        try:
            return _reply(client, "shell", timeout=0.5)
        except queue.Empty:
            continue
    raise AssertionError("the loop did not stop")


def _while_a_cell_runs(
    client: BlockingKernelClient, row: Row, channel: str, tmp_path: Path
) -> None:
    """Send the request while a loop runs; check it is answered before the loop ends, or
    queued behind it (its reply comes after the loop's, which an interrupt ends)."""
    loop = _send(client, "shell", "execute_request", {"code": "while true do end", "silent": False})
    while True:  # the loop runs once its busy is out
        msg = client.get_iopub_msg(timeout=20)
        if (
            msg["parent_header"].get("msg_id") == loop["header"]["msg_id"]
            and msg["msg_type"] == "execute_input"
        ):
            break
    msg = _send(client, channel, row.request, _content(row.request, tmp_path))
    what = f"{row.request} on {channel} while a cell runs"
    expected = row.while_busy[channel]
    if expected == "answered":
        reply = _reply(client, channel)  # the loop never ends by itself: this reply is first
        assert reply["msg_type"] == row.reply, what
        assert _same_header(reply["parent_header"], msg["header"]), what
        if row.request == "shutdown_request":
            return  # the kernel ends, and the loop with it
        loop_reply = _stop(client, first_tried=row.request == "interrupt_request")
        assert loop_reply["parent_header"]["msg_id"] == loop["header"]["msg_id"], what
    else:
        assert expected == "queued", what
        first = _stop(client)
        assert first["parent_header"]["msg_id"] == loop["header"]["msg_id"], what
        reply = _reply(client, channel)
        assert reply["msg_type"] == row.reply, what
        assert _same_header(reply["parent_header"], msg["header"]), what
    _drain(client)


def test_requests_are_answered_or_queued_while_a_cell_runs_as_the_table_says(
    tmp_path: Path,
) -> None:
    rows = table()
    km, client = start_kernel({"LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3")})
    try:
        _drain(client)
        for row in rows:
            if row.request == "shutdown_request":
                continue
            for channel in row.channels:
                _while_a_cell_runs(client, row, channel, tmp_path)
    finally:
        stop_kernel(km, client)
    for row in rows:
        if row.request != "shutdown_request":
            continue
        for channel in row.channels:
            km, client = start_kernel({"LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3")})
            try:
                _while_a_cell_runs(client, row, channel, tmp_path)
            finally:
                stop_kernel(km, client, now=True)


def test_debug_events_carry_the_debug_request_that_caused_them(tmp_path: Path) -> None:
    km, client = start_kernel({"LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3")})
    try:
        _drain(client)
        content = {"seq": 1, "type": "request", "command": "initialize", "arguments": {}}
        msg = _send(client, "control", "debug_request", content)
        assert _reply(client, "control")["content"]["success"] is True
        seen = _iopub_until_idle(client, msg["header"]["msg_id"])
        while not any(m["msg_type"] == "debug_event" for m in seen):
            seen.append(client.get_iopub_msg(timeout=20))
        event = next(m for m in seen if m["msg_type"] == "debug_event")
        assert event["content"]["event"] == "initialized"
        assert _same_header(event["parent_header"], msg["header"])
    finally:
        stop_kernel(km, client)


def test_the_table_names_every_request_the_kernel_handles(
    config_for: Callable[..., Config],
) -> None:
    from kernel_core.kernel.connection import ConnectionInfo
    from kernel_core.kernel.service import KernelService

    connection = ConnectionInfo("tcp", "127.0.0.1", 0, 0, 0, 0, 0, key="")
    service = KernelService(config_for(), connection, kernel_id="table", name="table")
    try:
        handled: dict[str, set[str]] = {}
        for channel, handlers in (
            ("shell", service.shell_handlers),
            ("control", service.control_handlers),
        ):
            for name in handlers:
                handled.setdefault(name, set()).add(channel)
        assert {r.request: set(r.channels) for r in table()} == handled
    finally:
        service.history.close()
