"""The TUI on a script error (stop at the raise with the message, the stack and the hint),
Ctrl+C from the source, and Ctrl+Shift+F5 restarting the script on the same kernel."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from syrupy.location import PyTestLocation
from textual.pilot import Pilot
from textual.widgets import Static

from kernel_core.kernel.registry import known_kernels
from llmspell_tui.bridge import Launch
from llmspell_tui.messages import (
    KernelBusy,
    ScriptFinished,
    StackLoaded,
    Stopped,
    VariablesLoaded,
)
from tests.conftest import CliResult
from tests.debug_fixtures import marker_line
from tests.tui_fixtures import DEMO, TUI_LUA, RecordingApp, demo_app, started

__all__ = ["started"]

TYPO = TUI_LUA / "typo.lua"
SPIN = Path(__file__).parent / "lua" / "debug" / "spin.lua"
SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"


class SnapshotsDirExtension(pytest_textual_snapshot.SVGImageExtension):  # type: ignore[misc]
    """pytest-textual-snapshot's SVG files, kept in snapshots/<test module>/."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(SNAPSHOTS / Path(test_location.filepath).stem)


@pytest.fixture(autouse=True)
def _snapshots_in_snapshots_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", SnapshotsDirExtension)


def typo_app(theme: str = "dark") -> RecordingApp:
    """The TUI running tests/lua/tui/typo.lua at once (it fails on string.uper)."""
    return RecordingApp(Launch(script=TYPO, stop_on_entry=False, name="typo"), theme=theme)


def console_text(app: RecordingApp) -> list[str]:
    """The console log's lines as plain text."""
    return [line.rstrip() for line in app.console_pane.log_view.text_lines]


async def stop_at_the_error(app: RecordingApp) -> Stopped:
    """Wait until the app shows the exception stop with its locals loaded."""
    stop = await app.waiter.wait_for(Stopped)
    await app.waiter.wait_for(StackLoaded)
    await app.waiter.wait_for(VariablesLoaded)
    return stop


async def test_a_script_error_stops_at_the_raise_with_message_stack_and_hint(
    started: Callable[[RecordingApp], None],
) -> None:
    app = typo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        stop = await stop_at_the_error(app)
        await pilot.pause()
        assert stop.reason == "exception"
        assert "did you mean string.upper?" in stop.suggestion
        assert app.source_pane.current_line == marker_line(TYPO, "raise")
        assert [f.name for f in app.stack_pane.frames] == ["shout", "main chunk"]
        banner = app.query_one("#error-banner", Static)
        assert banner.display
        shown = str(banner.render())
        assert "attempt to call a nil value (field 'uper')" in shown
        assert "hint: string has no 'uper'; did you mean string.upper?" in shown
        assert console_text(app)[-1] == "hint: string has no 'uper'; did you mean string.upper?"
        await pilot.press("f5")  # the error goes on to end the script
        finished = await app.waiter.wait_for(ScriptFinished)
        assert finished.exit_code == 1
        assert not banner.display


async def test_ctrl_c_in_the_source_pauses_a_running_script(
    started: Callable[[RecordingApp], None],
) -> None:
    app = RecordingApp(Launch(script=SPIN, stop_on_entry=False))
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(KernelBusy, lambda m: m.busy)
        assert app.focused is app.source_pane
        await pilot.press("ctrl+c")
        stop = await app.waiter.wait_for(Stopped)
        assert stop.reason == "pause"


async def test_ctrl_shift_f5_restarts_the_script_stopped_on_entry_again(
    started: Callable[[RecordingApp], None],
) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(Stopped, lambda m: m.reason == "entry")
        await pilot.press("f10")
        await app.waiter.wait_for(Stopped, lambda m: m.reason == "step")
        kernel = app.bridge.process
        await pilot.press("ctrl+shift+f5")
        await app.waiter.wait_for(ScriptFinished)
        stop = await app.waiter.wait_for(Stopped)
        await app.waiter.wait_for(StackLoaded)
        assert stop.reason == "entry"
        assert app.source_pane.current_line == marker_line(DEMO, "entry")
        assert app.bridge.process is kernel  # the same kernel ran it again
        await pilot.press("f5")
        finished = await app.waiter.wait_for(ScriptFinished)
        assert finished.exit_code == 0
        assert console_text(app)[-2:] == ["demo: 6", "done"]


@pytest.mark.parametrize("theme", ["dark", "light"])
@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_script_error(size: tuple[int, int], theme: str, snap_compare: Any) -> None:
    app = typo_app(theme)

    async def run_before(pilot: Pilot[Any]) -> None:
        await stop_at_the_error(app)

    try:
        assert snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        assert known_kernels() == []


SYNTAX = TUI_LUA / "syntax.lua"


async def test_a_syntax_error_shows_the_report_llmspell_run_prints_and_marks_the_line(
    started: Callable[[RecordingApp], None], cli: Callable[..., CliResult]
) -> None:
    printed = cli("run", str(SYNTAX), cwd=Path.cwd())
    assert printed.returncode == 1
    report = [line.rstrip() for line in (printed.stdout + printed.stderr).splitlines() if line]
    line = marker_line(SYNTAX, "error")
    assert f"  --> {SYNTAX.relative_to(Path.cwd())}:{line}" in report
    app = RecordingApp(Launch(script=SYNTAX, name="syntax"))
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(ScriptFinished)
        await pilot.pause()
        shown = console_text(app)
        assert shown[-len(report) :] == report  # the same report, line for line
        assert app.source_pane.path == str(SYNTAX)
        assert app.source_pane.current_line == line
        banner = app.query_one("#error-banner", Static)
        assert banner.display
        rendered = str(banner.render())
        assert "syntax error: ')' expected" in rendered
        assert f"--> {SYNTAX.relative_to(Path.cwd())}:{line}" in rendered
