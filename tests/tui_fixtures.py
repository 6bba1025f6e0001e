"""Driving the TUI against a real kernel: an app that records the messages it has handled.

Tests wait for messages (``await app.waiter.wait_for(Stopped)``), never for a time: a message
is recorded after the app's handlers for it have run, so the screen state it causes is there.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

import pytest
import pytest_textual_snapshot
from syrupy.location import PyTestLocation
from textual.message import Message

from kernel_core.kernel.registry import known_kernels
from llmspell_tui.app import LlmspellApp
from llmspell_tui.bridge import Attach, Launch
from llmspell_tui.messages import KernelConnected

TUI_LUA = Path(__file__).parent / "lua" / "tui"
DEMO = TUI_LUA / "demo.lua"
SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"

M = TypeVar("M", bound=Message)


class Waiter:
    """Messages in the order the app handled them, and a way to wait for the next one."""

    def __init__(self) -> None:
        self.handled: list[Message] = []
        self._cursor = 0
        self._arrived: asyncio.Event | None = None

    def record(self, message: Message) -> None:
        """Note a handled message."""
        self.handled.append(message)
        if self._arrived is not None:
            self._arrived.set()

    async def wait_for(
        self,
        kind: type[M],
        predicate: Callable[[M], bool] = lambda _: True,
        timeout: float = 20.0,
    ) -> M:
        """The next handled message of ``kind`` matching ``predicate`` (after the last found)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._arrived = asyncio.Event()
        while True:
            for index in range(self._cursor, len(self.handled)):
                message = self.handled[index]
                if isinstance(message, kind) and predicate(message):
                    self._cursor = index + 1
                    return message
            self._arrived.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [type(m).__name__ for m in self.handled[self._cursor :]]
                raise TimeoutError(f"no {kind.__name__} within {timeout}s; handled since: {seen}")
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                continue


class RecordingApp(LlmspellApp):
    """The TUI, recording every message that reached the app once its handlers ran."""

    def __init__(self, target: Launch | Attach, *, theme: str | None = "dark") -> None:
        super().__init__(target, theme=theme)
        self.waiter = Waiter()
        # kernels this app started, noted as they connect (after the app's first frame)
        self.kernel_processes: list[asyncio.subprocess.Process] = []

    async def _on_message(self, message: Message) -> None:
        # Textual's dispatch entry point: the app's handlers for ``message`` run inside it.
        await super()._on_message(message)
        self.waiter.record(message)
        if isinstance(message, KernelConnected) and self.bridge.process is not None:
            self.kernel_processes.append(self.bridge.process)


@pytest.fixture
async def started() -> AsyncIterator[Callable[[RecordingApp], None]]:
    """Run apps under Pilot; afterwards, assert that no kernel they started is left."""
    apps: list[RecordingApp] = []
    yield apps.append
    for app in apps:
        for proc in app.kernel_processes:
            assert proc.returncode is not None, "the kernel outlived its TUI"
    assert known_kernels() == []


def demo_app(**launch: object) -> RecordingApp:
    """The TUI debugging tests/lua/tui/demo.lua on a kernel named 'demo'."""
    return RecordingApp(Launch(script=DEMO, name="demo", **launch))  # type: ignore[arg-type]


class SnapshotsDirExtension(pytest_textual_snapshot.SVGImageExtension):  # type: ignore[misc]
    """pytest-textual-snapshot's SVG files, kept in snapshots/<test module>/."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(SNAPSHOTS / Path(test_location.filepath).stem)


@pytest.fixture
def snapshots_in_snapshots_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Store this test's SVG snapshots in snapshots/<test module>/ (use it with autouse)."""
    # snap_compare looks the extension up by this name each time it runs
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", SnapshotsDirExtension)
