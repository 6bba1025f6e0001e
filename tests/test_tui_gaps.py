"""Gaps of issue #5 closed against a real kernel: a session without a script, the selected
frame's line, opening loaded sources, coroutine threads and two TUIs on one kernel."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from textual.widgets import RichLog

from kernel_core.kernel.registry import known_kernels
from llmspell_tui.bridge import Launch
from llmspell_tui.commands.tui import target_from_args
from llmspell_tui.messages import KernelBusy, KernelConnected, Output
from llmspell_tui.panes.console import ConsolePane
from tests.tui_fixtures import RecordingApp


@pytest.fixture
async def started() -> AsyncIterator[Callable[[RecordingApp], None]]:
    """Run apps under Pilot; afterwards, assert that no kernel they started is left."""
    apps: list[RecordingApp] = []
    yield apps.append
    for app in apps:
        if app.bridge.process is not None:
            assert app.bridge.process.returncode is not None, "the kernel outlived its TUI"
    assert known_kernels() == []


def console_text(app: RecordingApp) -> list[str]:
    """The console log's lines as plain text."""
    return [strip.text.rstrip() for strip in app.query_one(RichLog).lines]


async def test_tui_without_a_script_is_a_console_session_on_a_fresh_kernel(started: Any) -> None:
    # what `llmspell tui --name session` builds: no script, so nothing stops on entry
    args = argparse.Namespace(attach=None, script=None, script_args=[], no_stop=False)
    args.name = "session"
    target = target_from_args(args)
    assert target == Launch(script=None, stop_on_entry=False, name="session")
    app = RecordingApp(target)
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        connected = await app.waiter.wait_for(KernelConnected)
        assert connected.script is None
        assert app.status.state == "idle"
        for pane in ("#source", "#stack", "#variables", "#console"):
            assert app.query_one(pane).display
        app.console_pane.input.focus()
        await app.waiter.wait_for(ConsolePane.HistoryLoaded)
        await pilot.press(*'x = 6 * 7 print("x is " .. x)', "enter")
        await app.waiter.wait_for(Output, lambda m: "x is 42" in m.text)
        await app.waiter.wait_for(KernelBusy, lambda m: not m.busy)
        await pilot.press(*"x + 1", "enter")
        await app.waiter.wait_for(KernelBusy, lambda m: not m.busy)
        await pilot.pause()
        shown = console_text(app)
        assert "x is 42" in shown
        assert shown[-1] == "43"
        assert app.thread_id is None  # nothing stopped: the cells ran
        assert app.status.kernel == "session"
