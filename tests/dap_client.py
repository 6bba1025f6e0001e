"""A small DAP client over stdio for tests: spawns ``llmspell dap`` and talks to it as an
editor does. Every message received is kept in order (``timeline``), each with its index
in ``"_i"``, so tests can assert the order of responses and events explicitly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kernel_core.dap.framing import FrameReader, FramingError

TIMEOUT = 15.0
Message = dict[str, Any]


class DapTimeout(AssertionError):
    """What a test waited for did not come."""


class DapClient:
    """One ``llmspell dap`` process and the DAP conversation with it."""

    def __init__(self, *, cwd: Path | None = None, extra_args: list[str] | None = None) -> None:
        command = [sys.executable, "-m", "llmspell_tui", *(extra_args or []), "dap"]
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
        )
        self.timeline: list[Message] = []
        self.errors: list[str] = []
        self.kernel_pids: set[int] = set()
        self._seq = 0
        self._cursor: dict[str, int] = {}
        self._changed = threading.Condition()
        self._stderr: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # ------------------------------------------------------------------ wire

    def _read(self) -> None:
        assert self.process.stdout is not None
        frames = FrameReader(requests_only=False)
        while True:
            data = os.read(self.process.stdout.fileno(), 65536)
            with self._changed:
                if not data:
                    self._changed.notify_all()
                    return
                for item in frames.feed(data):
                    if isinstance(item, FramingError):
                        self.errors.append(item.message)
                        continue
                    item["_i"] = len(self.timeline)
                    self.timeline.append(item)
                self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)

    @property
    def stderr(self) -> str:
        """What the adapter wrote on stderr so far."""
        return b"".join(self._stderr).decode(errors="replace")

    def write_raw(self, data: bytes) -> None:
        """Write bytes as they are (for framing tests)."""
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, command: str, arguments: dict[str, Any] | None = None, **extra: Any) -> int:
        """Send a request; returns its seq."""
        self._seq += 1
        message: Message = {"seq": self._seq, "type": "request", "command": command, **extra}
        if arguments is not None:
            message["arguments"] = arguments
        body = json.dumps(message).encode()
        self.write_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self._seq

    # ------------------------------------------------------------------ waiting

    def wait_for(
        self, predicate: Callable[[Message], bool], *, after: int = 0, timeout: float = TIMEOUT
    ) -> Message:
        """The first message at index >= ``after`` that matches."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for message in self.timeline[after:]:
                    if predicate(message):
                        return message
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (
                    self.process.poll() is not None and not self._reader.is_alive()
                ):
                    raise DapTimeout(
                        f"waited {timeout}s in vain; received: {self.summary()}\n"
                        f"adapter stderr: {self.stderr[-2000:]}"
                    )
                self._changed.wait(min(remaining, 0.2))

    def response(self, seq: int, timeout: float = TIMEOUT) -> Message:
        """The response to request ``seq``."""
        return self.wait_for(
            lambda m: m.get("type") == "response" and m.get("request_seq") == seq, timeout=timeout
        )

    def request(
        self, command: str, arguments: dict[str, Any] | None = None, timeout: float = TIMEOUT
    ) -> Message:
        """Send a request and return its response (successful or not)."""
        return self.response(self.send(command, arguments), timeout)

    def ok(self, command: str, arguments: dict[str, Any] | None = None, **kw: Any) -> Message:
        """Send a request that must succeed; returns its body."""
        response = self.request(command, arguments, **kw)
        assert response["success"], f"{command} failed: {response.get('message')}"
        body: Message = response.get("body") or {}
        return body

    def event(self, name: str, timeout: float = TIMEOUT) -> Message:
        """The next event called ``name`` (events of each name are consumed in order)."""
        message = self.wait_for(
            lambda m: m.get("type") == "event" and m.get("event") == name,
            after=self._cursor.get(name, 0),
            timeout=timeout,
        )
        self._cursor[name] = message["_i"] + 1
        return message

    def events(self, name: str) -> list[Message]:
        """Every event called ``name`` received so far."""
        with self._changed:
            return [m for m in self.timeline if m.get("type") == "event" and m["event"] == name]

    def output(self, category: str | None = None) -> str:
        """All output events' text so far (of one category)."""
        return "".join(
            str(m["body"].get("output", ""))
            for m in self.events("output")
            if category is None or m["body"].get("category") == category
        )

    def summary(self) -> str:
        """The timeline in short, for failure messages."""
        return ", ".join(
            f"{m.get('event') or m.get('command')}"
            + ("" if m.get("type") == "event" else f"({'ok' if m.get('success') else 'failed'})")
            for m in self.timeline
        )

    # ------------------------------------------------------------------ sessions

    def start(
        self, program: Path, *, arguments: dict[str, Any] | None = None, note_kernel: bool = True
    ) -> Message:
        """initialize + launch (waits for initialized); returns initialize's body."""
        capabilities = self.ok("initialize", {"clientID": "tests", "adapterID": "llmspell"})
        self.ok("launch", {"program": str(program), **(arguments or {})}, timeout=40)
        self.event("initialized")
        if note_kernel:
            self.note_kernels()
        return capabilities

    def note_kernels(self) -> None:
        """Remember the pids of the kernels now running (asserted gone at the end)."""
        from kernel_core.kernel.registry import known_kernels

        self.kernel_pids |= {k.info.pid for k in known_kernels() if k.info is not None}

    def stopped(self, reason: str | None = None) -> Message:
        """The next stopped event's body (checking its reason)."""
        body: Message = self.event("stopped")["body"]
        if reason is not None:
            assert body["reason"] == reason, body
        return body

    def frames(self, thread_id: int = 1) -> list[Message]:
        """The stack of a stopped thread."""
        frames: list[Message] = self.ok("stackTrace", {"threadId": thread_id})["stackFrames"]
        return frames

    def locals(self, frame_id: int) -> dict[str, str]:
        """name -> value of a frame's locals."""
        scopes = self.ok("scopes", {"frameId": frame_id})["scopes"]
        ref = next(s["variablesReference"] for s in scopes if s["name"] == "Locals")
        variables = self.ok("variables", {"variablesReference": ref})["variables"]
        return {v["name"]: v["value"] for v in variables}

    def close(self, timeout: float = 20.0) -> int:
        """Disconnect if still running and wait for the adapter to exit; its status."""
        if self.process.poll() is None:
            try:
                self.send("disconnect", {"terminateDebuggee": True})
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return self.process.returncode


def bp_line(path: Path, marker: str) -> int:
    """The line of ``-- @bp MARKER`` in a fixture."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        tail = line.partition("-- @bp")[2].split()
        if tail and tail[0] == marker:
            return number
    raise LookupError(f"no '-- @bp {marker}' in {path}")
