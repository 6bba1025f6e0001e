"""F5 after a finished run runs the script again from a clean Lua world, breakpoints kept.

Against a real kernel, with Pilot: what the user sees when pressing F5 once a run ended.
"""

from __future__ import annotations

from collections.abc import Callable

from llmspell_tui.bridge import Launch
from llmspell_tui.messages import BreakpointsSet, ScriptFinished, StackLoaded, Stopped
from tests.debug_fixtures import marker_line
from tests.tui_fixtures import TUI_LUA, RecordingApp, started

__all__ = ["started"]

NAMED_AGENT = TUI_LUA / "named_agent.lua"


def console_lines(app: RecordingApp) -> list[str]:
    return [line.rstrip() for line in app.console_pane.log_view.text_lines]


async def test_f5_after_a_finished_run_runs_again_in_a_clean_lua_world(
    started: Callable[[RecordingApp], None],
) -> None:
    app = RecordingApp(Launch(script=NAMED_AGENT, stop_on_entry=False))
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        first = await app.waiter.wait_for(ScriptFinished)
        assert first.exit_code == 0
        kernel = app.bridge.process
        # a breakpoint set between the runs stops the second one
        path = str(NAMED_AGENT.resolve())
        line = marker_line(NAMED_AGENT, "execute")
        app.breakpoints.toggle(path, line)
        app._send_breakpoints(path)
        await app.waiter.wait_for(BreakpointsSet)
        await pilot.press("f5")
        stop = await app.waiter.wait_for(Stopped)
        await app.waiter.wait_for(StackLoaded)
        assert stop.reason == "breakpoint"
        assert app.source_pane.current_line == line
        await pilot.press("f5")
        second = await app.waiter.wait_for(ScriptFinished)
        text = "\n".join(console_lines(app))
        assert "already exists" not in text, text
        assert second.exit_code == 0, text
        assert [row.split() for row in console_lines(app) if row.startswith("greeted:")] == [
            ["greeted:", "true"]
        ] * 2, text
        assert app.bridge.process is kernel  # the same kernel, its Lua world made anew
