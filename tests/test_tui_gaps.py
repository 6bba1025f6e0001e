"""Gaps of issue #5 closed against a real kernel: a session without a script, the selected
frame's line, opening loaded sources, coroutine threads and two TUIs on one kernel."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from textual.message import Message
from textual.pilot import Pilot

from llmspell_tui.bridge import Attach, Launch
from llmspell_tui.commands.tui import target_from_args
from llmspell_tui.messages import (
    Frame,
    KernelBusy,
    KernelConnected,
    Output,
    ScopesLoaded,
    SourceLoaded,
    SourcesListed,
    StackLoaded,
    Stopped,
    ThreadsListed,
)
from llmspell_tui.panes.console import ConsolePane
from llmspell_tui.panes.source import CURRENT, SELECTED_FRAME
from tests.debug_fixtures import marker_line
from tests.test_tui import set_breakpoint, stop_on_entry
from tests.tui_fixtures import DEMO, TUI_LUA, RecordingApp, started

__all__ = ["started"]

FRAMES = TUI_LUA / "frames.lua"


def console_text(app: RecordingApp) -> list[str]:
    """The console log's lines as plain text."""
    return [line.rstrip() for line in app.console_pane.log_view.text_lines]


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


def frames_app() -> RecordingApp:
    """The TUI debugging tests/lua/tui/frames.lua, stopped on entry."""
    return RecordingApp(Launch(script=FRAMES, name="frames"))


async def stopped_inside_inner(pilot: Pilot[Any], app: RecordingApp) -> ThreadsListed:
    """From the entry stop, run to the breakpoint inside ``inner`` (called by ``outer``);
    the threads listed at that stop."""
    await stop_on_entry(app)
    await set_breakpoint(pilot, app, marker_line(FRAMES, "inner"))
    await pilot.press("f5")
    stop = await app.waiter.wait_for(Stopped, lambda m: m.reason == "breakpoint")
    start = next(i for i, msg in enumerate(app.waiter.handled) if msg is stop)
    # stack, scopes and threads load side by side: wait until all three have been handled
    while True:
        since = app.waiter.handled[start:]
        listed = [msg for msg in since if isinstance(msg, ThreadsListed)]
        loaded = {type(msg) for msg in since}
        if listed and {StackLoaded, ScopesLoaded} <= loaded:
            return listed[0]
        await app.waiter.wait_for(Message, timeout=5)


async def test_an_outer_frame_chosen_in_the_stack_is_marked_apart_from_the_current_line(
    started: Any,
) -> None:
    app = frames_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await stopped_inside_inner(pilot, app)
        inner, call = marker_line(FRAMES, "inner"), marker_line(FRAMES, "call")
        source = app.source_pane
        assert [f.line for f in app.stack_pane.frames[:2]] == [inner, call]
        assert (source.current_line, source.frame_line) == (inner, None)
        app.stack_pane.focus()
        await pilot.press("down")
        await app.waiter.wait_for(ScopesLoaded)
        await pilot.pause()
        assert (source.current_line, source.frame_line) == (inner, call)
        assert source.cursor_line == call
        gutter = source.gutter_width
        rows = {
            line: source.render_line(line - 1 - int(source.scroll_offset.y))
            for line in (inner, call)
        }
        assert rows[inner].text[gutter - 2] == CURRENT
        assert rows[call].text[gutter - 2] == SELECTED_FRAME
        current_style = rows[inner]._segments[-1].style
        frame_style = rows[call]._segments[-1].style
        assert current_style is not None
        assert frame_style is not None
        assert current_style.bgcolor != frame_style.bgcolor
        await pilot.press("up")  # back to the innermost frame: one mark again
        await app.waiter.wait_for(ScopesLoaded)
        assert (source.current_line, source.frame_line) == (inner, None)


async def test_open_source_in_the_palette_lists_the_loaded_sources_and_shows_the_chosen_one(
    started: Any,
) -> None:
    app = RecordingApp(Launch(script=None, stop_on_entry=False, name="sources"))
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(KernelConnected)
        app.console_pane.input.focus()
        await app.waiter.wait_for(ConsolePane.HistoryLoaded)
        for cell in ("local first = 1", "local second = 2"):
            await pilot.press(*cell, "enter")
            await app.waiter.wait_for(KernelBusy, lambda m: not m.busy)
        await pilot.press("ctrl+p")
        await pilot.press(*"Open source", "enter")
        listed = await app.waiter.wait_for(SourcesListed)
        texts = {path: Path(path).read_text() for path in listed.paths}
        assert sorted(texts.values()) == ["local first = 1", "local second = 2"]
        second = next(path for path, text in texts.items() if text == "local second = 2")
        await pilot.pause()
        await pilot.press(*Path(second).name, "enter")
        await app.waiter.wait_for(SourceLoaded, lambda m: m.path == second)
        await pilot.pause()
        assert app.source_pane.path == second
        assert app.source_pane.text == "local second = 2"
        assert app.source_pane.current_line is None  # nothing is stopped


async def test_the_stack_lists_a_suspended_coroutine_below_the_stopped_threads_frames(
    started: Any,
) -> None:
    app = frames_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        listed = await stopped_inside_inner(pilot, app)
        coroutines = [t for t in listed.threads if t.name.startswith("coroutine")]
        assert [t.name for t in coroutines] == [f"coroutine {coroutines[0].id} (suspended)"]
        await pilot.pause()
        stack = app.stack_pane
        shown = [str(stack.get_option_at_index(i).prompt) for i in range(stack.option_count)]
        assert shown[-1] == coroutines[0].name
        assert [row for row in stack.rows if isinstance(row, Frame)] == stack.frames
        frame = app.frame
        stack.focus()
        await pilot.press("end")
        await app.waiter.wait_for(StackLoaded, lambda m: m.thread_id == coroutines[0].id)
        await pilot.pause()
        # the kernel has frames for the stopped thread only: the row stays a row
        assert stack.option_count == len(shown)
        assert app.frame == frame
        assert app.source_pane.current_line == marker_line(FRAMES, "inner")


async def test_two_tuis_on_one_kernel_share_the_stop_and_one_steps_for_both(
    started: Any,
) -> None:
    launched = RecordingApp(Launch(script=DEMO, name="shared-demo"))
    attached = RecordingApp(Attach("shared-demo"))
    entry, second = marker_line(DEMO, "entry"), marker_line(DEMO, "second")
    async with launched.run_test(size=(100, 30)) as first_pilot:
        started(launched)
        await stop_on_entry(launched)
        async with attached.run_test(size=(100, 30)) as second_pilot:
            await attached.waiter.wait_for(Stopped, lambda m: m.reason == "attach")
            await attached.waiter.wait_for(StackLoaded)
            await second_pilot.pause()
            assert attached.source_pane.path == launched.source_pane.path == str(DEMO.resolve())
            assert attached.source_pane.current_line == launched.source_pane.current_line == entry
            await second_pilot.press("f10")
            for app in (attached, launched):
                stop = await app.waiter.wait_for(Stopped, lambda m: m.reason == "step")
                assert stop.thread_id == app.thread_id
                await app.waiter.wait_for(StackLoaded)
            await first_pilot.pause()
            assert launched.source_pane.current_line == second
            assert attached.source_pane.current_line == second
            assert launched.status.state == f"paused at demo.lua:{second}"
