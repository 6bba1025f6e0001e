"""What keeps the TUI quick, as behaviour: a step redraws the panes once (the last stop stays
on screen until the new one's), a script that ends right after a resume shows its end, and
keys are handled while a flood of output keeps coming."""

from __future__ import annotations

import asyncio
from typing import Any

from llmspell_tui.app import RUNNING_VIEW_DELAY
from llmspell_tui.bridge import Launch
from llmspell_tui.messages import (
    Continued,
    Output,
    ScriptFinished,
    StackLoaded,
    Stopped,
    VariablesLoaded,
)
from tests.debug_fixtures import marker_line
from tests.tui_fixtures import DEMO, TUI_LUA, RecordingApp, demo_app, started

__all__ = ["started"]


async def stop_on_entry(app: RecordingApp) -> None:
    await app.waiter.wait_for(Stopped)
    await app.waiter.wait_for(StackLoaded)
    await app.waiter.wait_for(VariablesLoaded)


class StepApp(RecordingApp):
    """The TUI, noting what the source and stack panes show once a continue is handled."""

    def __init__(self) -> None:
        super().__init__(Launch(script=DEMO, name="demo"))
        self.after_continue: list[tuple[int | None, list[str]]] = []

    def on_continued(self, event: Continued) -> None:
        super().on_continued(event)
        frames = [f.name for f in self.stack_pane.frames]
        self.after_continue.append((self.source_pane.current_line, frames))


async def test_a_step_keeps_the_last_stop_on_screen_until_the_new_one(started: Any) -> None:
    app = StepApp()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await stop_on_entry(app)
        entry, second = marker_line(DEMO, "entry"), marker_line(DEMO, "second")
        await pilot.press("f10")
        await app.waiter.wait_for(Continued)
        # not emptied for the moment between the continue and the stop: no frame is drawn
        # for it, and the new line is not drawn behind that frame
        assert app.after_continue == [(entry, ["main chunk"])]
        await app.waiter.wait_for(StackLoaded)
        await pilot.pause()
        assert app.source_pane.current_line == second
        assert app.status.state == f"paused at demo.lua:{second}"
        await pilot.press("ctrl+q")


async def test_a_script_that_ends_right_after_a_resume_shows_its_end(started: Any) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await stop_on_entry(app)
        await pilot.press("f5")
        await app.waiter.wait_for(ScriptFinished)
        await asyncio.sleep(RUNNING_VIEW_DELAY * 3)  # past the moment "running" would show
        await pilot.pause()
        assert app.status.state == "finished (exit 0)"
        assert app.stack_pane.frames == []
        assert app.source_pane.current_line is None
        await pilot.press("ctrl+q")


async def test_a_script_that_runs_on_after_a_resume_shows_it_running(started: Any) -> None:
    app = RecordingApp(Launch(script=TUI_LUA / "flood.lua", name="flood"))
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await stop_on_entry(app)
        await pilot.press("f5")
        await app.waiter.wait_for(Continued)
        await app.waiter.wait_for(Output)
        await asyncio.sleep(RUNNING_VIEW_DELAY * 3)
        await pilot.pause()
        assert app.status.state == "running"
        assert app.stack_pane.frames == []
        assert app.source_pane.current_line is None
        await pilot.press("f6")
        await app.waiter.wait_for(Stopped)
        await pilot.press("ctrl+q")


async def test_keys_typed_while_output_floods_reach_the_console(started: Any) -> None:
    app = RecordingApp(Launch(script=TUI_LUA / "flood.lua", name="flood", stop_on_entry=False))
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        for _ in range(3):
            await app.waiter.wait_for(Output)
        app.console_pane.input.focus()
        await pilot.press("a", "b", "c")
        assert app.console_pane.input.text == "abc"
        await app.waiter.wait_for(Output)  # the flood goes on: the keys did not wait for it
        assert app.running
        await pilot.press("ctrl+q")
