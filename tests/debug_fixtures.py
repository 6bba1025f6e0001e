"""Driving the kernel's debugger over Jupyter: DAP requests on control, events on iopub.

Everything runs on the test's thread: a request is sent on the control channel and its
reply awaited there, while iopub messages that arrive meanwhile are read into a buffer, so
events are never lost and their order against replies is known from the kernel's own
message timestamps.
"""

from __future__ import annotations

import queue
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.kernel_fixtures import start_kernel, stop_kernel

LUA_DIR = Path(__file__).parent / "lua" / "debug"


def lua_fixture(name: str) -> Path:
    """Path of a Lua fixture in tests/lua/debug."""
    return LUA_DIR / name


def marker_line(path: Path | str, marker: str) -> int:
    """The 1-based line carrying ``-- @bp <marker>`` (fixtures name lines, tests look them up)."""
    pattern = re.compile(rf"--\s*@bp\s+{re.escape(marker)}\s*$")
    for number, text in enumerate(Path(path).read_text().splitlines(), start=1):
        if pattern.search(text):
            return number
    raise LookupError(f"no '-- @bp {marker}' in {path}")


def marker_in_code(code: str, marker: str) -> int:
    """Like :func:`marker_line` for a cell's code."""
    pattern = re.compile(rf"--\s*@bp\s+{re.escape(marker)}\s*$")
    for number, text in enumerate(code.splitlines(), start=1):
        if pattern.search(text):
            return number
    raise LookupError(f"no '-- @bp {marker}' in the cell")


@dataclass
class Received:
    """An iopub message, with the kernel's timestamp for ordering."""

    msg_type: str
    content: dict[str, Any]
    parent_id: str
    date: datetime


@dataclass
class DapFailure(Exception):
    """A DAP request that came back with success false."""

    response: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.response.get('command')}: {self.response.get('message')}"


@dataclass
class Debugger:
    """One Jupyter client speaking DAP to the kernel."""

    client: BlockingKernelClient
    seq: int = 0
    iopub: list[Received] = field(default_factory=list)
    cursor: int = 0  # events before this index were consumed by wait_event
    reply_dates: dict[int, datetime] = field(default_factory=dict)
    thread: int = 1  # the thread of the last stop (frames and steps default to it)

    # ---- requests

    def send(self, command: str, **arguments: Any) -> str:
        """Send a DAP request without waiting; returns the Jupyter msg_id."""
        self.seq += 1
        content = {"seq": self.seq, "type": "request", "command": command, "arguments": arguments}
        msg = self.client.session.msg("debug_request", content)
        self.client.control_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def response(self, msg_id: str, timeout: float = 10) -> dict[str, Any]:
        """The debug_reply content for ``msg_id`` (iopub keeps being read meanwhile)."""
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            try:
                reply = self.client.get_control_msg(timeout=0.02)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no debug_reply within {timeout}s") from None
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                content: dict[str, Any] = reply["content"]
                self.reply_dates[int(content.get("request_seq", -1))] = reply["header"]["date"]
                self.drain()
                return content

    def request(self, command: str, timeout: float = 10, **arguments: Any) -> dict[str, Any]:
        """Send a DAP request, wait for its response, return it (success or not)."""
        return self.response(self.send(command, **arguments), timeout)

    def ok(self, command: str, timeout: float = 10, **arguments: Any) -> dict[str, Any]:
        """The body of a request that must succeed."""
        response = self.request(command, timeout, **arguments)
        if not response.get("success"):
            raise DapFailure(response)
        body: dict[str, Any] = response.get("body") or {}
        return body

    def fails(self, command: str, timeout: float = 10, **arguments: Any) -> str:
        """The message of a request that must fail."""
        response = self.request(command, timeout, **arguments)
        assert response["success"] is False, response
        message = str(response.get("message") or "")
        assert message, response
        return message

    # ---- iopub

    def drain(self, timeout: float = 0.0) -> None:
        """Read every iopub message available now (or within ``timeout``)."""
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                return
            timeout = 0.0
            self.iopub.append(
                Received(
                    msg["msg_type"],
                    msg["content"],
                    str(msg["parent_header"].get("msg_id", "")),
                    msg["header"]["date"],
                )
            )

    def events(self, name: str | None = None) -> list[Received]:
        """debug_events received so far (of one kind when named)."""
        return [
            m
            for m in self.iopub
            if m.msg_type == "debug_event" and (name is None or m.content["event"] == name)
        ]

    def wait_event(self, name: str, timeout: float = 10) -> dict[str, Any]:
        """The next ``name`` event after the last one waited for; its DAP body."""
        return self.wait_event_message(name, timeout).content.get("body") or {}

    def wait_event_message(self, name: str, timeout: float = 10) -> Received:
        """Like :meth:`wait_event`, returning the whole message (for its timestamp)."""
        deadline = time.monotonic() + timeout
        while True:
            for index in range(self.cursor, len(self.iopub)):
                m = self.iopub[index]
                if m.msg_type == "debug_event" and m.content["event"] == name:
                    self.cursor = index + 1
                    return m
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [m.content["event"] for m in self.events()[-10:]]
                raise TimeoutError(f"no '{name}' event within {timeout}s (last: {seen})")
            self.drain(min(remaining, 0.1))

    def no_event(self, name: str, within: float = 0.5) -> None:
        """Assert that no ``name`` event arrives within ``within`` seconds."""
        start = len(self.iopub)
        self.drain(within)
        late = [
            m
            for m in self.iopub[start:]
            if m.msg_type == "debug_event" and m.content["event"] == name
        ]
        assert not late, f"unexpected {name}: {late[0].content}"

    def outputs(self, category: str | None = None) -> list[str]:
        """Text of the output events received so far."""
        return [
            str(m.content["body"]["output"])
            for m in self.events("output")
            if category is None or m.content["body"].get("category") == category
        ]

    def stream_text(self, parent_id: str) -> str:
        """stdout written by one execute request."""
        return "".join(
            str(m.content["text"])
            for m in self.iopub
            if m.msg_type == "stream" and m.parent_id == parent_id
        )

    # ---- running code

    def execute(self, code: str) -> str:
        """Start a cell without waiting for it; returns its msg_id."""
        return str(self.client.execute(code))

    def run_file(self, path: Path | str, *args: str) -> str:
        """Start ``llmspell_run_request`` for a file without waiting; returns its msg_id."""
        content = {"path": str(path), "args": list(args)}
        msg = self.client.session.msg("llmspell_run_request", content)
        self.client.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def shell_reply(self, msg_id: str, timeout: float = 10) -> dict[str, Any]:
        """The shell reply to ``msg_id`` (an execute or run request); iopub keeps flowing."""
        deadline = time.monotonic() + timeout
        while True:
            self.drain()
            try:
                reply = self.client.get_shell_msg(timeout=0.05)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no shell reply within {timeout}s") from None
                continue
            if reply["parent_header"].get("msg_id") == msg_id:
                self.drain(0.05)
                content: dict[str, Any] = reply["content"]
                return content

    def run_cell_file(self, path: Path | str) -> str:
        """Run a fixture's text as a cell (dumped first, as JupyterLab does); its msg_id."""
        return self.execute(Path(path).read_text())

    def interrupt(self) -> dict[str, Any]:
        """Send interrupt_request on the control channel; its reply content."""
        msg = self.client.session.msg("interrupt_request", {})
        self.client.control_channel.send(msg)
        return self.response(str(msg["header"]["msg_id"]))

    # ---- common sequences

    def start(self) -> dict[str, Any]:
        """initialize (+ attach) as JupyterLab does; returns the capabilities."""
        caps = self.ok("initialize", clientID="tests", adapterID="llmspell", linesStartAt1=True)
        self.wait_event("initialized")
        return caps

    def stopped(self, timeout: float = 10) -> dict[str, Any]:
        """Wait for the next stop; returns the stopped body."""
        body = self.wait_event("stopped", timeout)
        self.thread = int(body["threadId"])
        return body

    def frames(self, thread_id: int | None = None, **arguments: Any) -> list[dict[str, Any]]:
        """Stack frames of the stopped thread."""
        body = self.ok("stackTrace", threadId=thread_id or self.thread, **arguments)
        frames: list[dict[str, Any]] = body["stackFrames"]
        return frames

    def top(self, thread_id: int | None = None) -> dict[str, Any]:
        """The innermost frame."""
        return self.frames(thread_id, levels=1)[0]

    def scopes(self, frame_id: int) -> dict[str, int]:
        """Scope name -> variablesReference for a frame."""
        return {
            s["name"]: s["variablesReference"]
            for s in self.ok("scopes", frameId=frame_id)["scopes"]
        }

    def variables(self, ref: int, **arguments: Any) -> dict[str, dict[str, Any]]:
        """Children of a reference by name."""
        body = self.ok("variables", variablesReference=ref, **arguments)
        return {v["name"]: v for v in body["variables"]}

    def locals(self, frame_id: int | None = None) -> dict[str, str]:
        """Locals of a frame (the innermost by default) as name -> shown value."""
        if frame_id is None:
            frame_id = int(self.top()["id"])
        scopes = self.scopes(frame_id)
        return {name: v["value"] for name, v in self.variables(scopes["Locals"]).items()}

    def evaluate(self, expression: str, frame_id: int | None = None, **extra: Any) -> str:
        """The result text of an evaluation that must succeed."""
        if frame_id is None:
            frame_id = int(self.top()["id"])
        return str(self.ok("evaluate", expression=expression, frameId=frame_id, **extra)["result"])

    def set_breakpoints(self, path: Path | str, *specs: dict[str, Any]) -> list[dict[str, Any]]:
        """setBreakpoints for a source; returns the breakpoints as bound."""
        body = self.ok("setBreakpoints", source={"path": str(path)}, breakpoints=list(specs))
        bps: list[dict[str, Any]] = body["breakpoints"]
        return bps

    def current_line(self) -> int:
        """The line the innermost frame is at."""
        return int(self.top()["line"])

    def step(self, command: str, thread_id: int | None = None) -> dict[str, Any]:
        """Step and wait for the stop that ends the step; returns the stopped body."""
        self.ok(command, threadId=thread_id or self.thread)
        return self.stopped()


Kernel = tuple[KernelManager, BlockingKernelClient]


@pytest.fixture
def debug_kernel(tmp_path: Path) -> Iterator[tuple[KernelManager, Debugger]]:
    """A kernel and one debugging client, initialized and configured."""
    km, client = start_kernel({"LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3")})
    dbg = Debugger(client)
    try:
        dbg.start()
        yield km, dbg
    finally:
        stop_kernel(km, client, now=True)


@pytest.fixture
def dbg(debug_kernel: tuple[KernelManager, Debugger]) -> Debugger:
    """The debugging client of :func:`debug_kernel`."""
    return debug_kernel[1]


def second_client(km: KernelManager) -> Debugger:
    """Another Jupyter client (its own session) on the same kernel, initialized."""
    client = km.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=10)
    other = Debugger(client)
    other.start()
    return other


def after(first: datetime, second: datetime) -> bool:
    """Whether the kernel stamped ``second`` no earlier than ``first``."""
    return second >= first
