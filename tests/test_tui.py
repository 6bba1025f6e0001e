"""The TUI against a real kernel: Pilot tests of the debugging story and SVG snapshots.

Snapshots live in snapshots/test_tui/ (``pytest tests/test_tui.py --snapshot-update`` after a
deliberate change, then look at them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from syrupy.location import PyTestLocation
from textual.pilot import Pilot
from textual.widgets import DataTable

from kernel_core.kernel.registry import known_kernels
from llmspell_tui.bridge import Attach, Launch
from llmspell_tui.help import HelpScreen
from llmspell_tui.kernel_process import start_kernel, stop_kernel
from llmspell_tui.messages import (
    BreakpointsSet,
    Evaluated,
    KernelBusy,
    KernelConnected,
    Output,
    ScriptFinished,
    StackLoaded,
    Stopped,
    VariablesLoaded,
)
from llmspell_tui.themes import ThemeError, load_theme, load_themes
from tests.conftest import CliResult
from tests.debug_fixtures import marker_line
from tests.tui_fixtures import DEMO, RecordingApp, demo_app, started

__all__ = ["started"]

SNAPSHOTS = Path(__file__).resolve().parent.parent / "snapshots"


class SnapshotsDirExtension(pytest_textual_snapshot.SVGImageExtension):  # type: ignore[misc]
    """pytest-textual-snapshot's SVG files, kept in snapshots/<test module>/."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(SNAPSHOTS / Path(test_location.filepath).stem)


@pytest.fixture(autouse=True)
def _snapshots_in_snapshots_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    # snap_compare looks the extension up by this name each time it runs
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", SnapshotsDirExtension)


def console_text(app: RecordingApp) -> list[str]:
    """The console log's lines as plain text."""
    return [line.rstrip() for line in app.console_pane.log_view.text_lines]


def locals_shown(app: RecordingApp) -> list[str]:
    """The Locals node's children as shown."""
    scope = app.variables_pane.root.children[0]
    assert str(scope.label) == "Locals"
    return [str(child.label) for child in scope.children]


async def stop_on_entry(app: RecordingApp) -> Stopped:
    """Wait until the app shows the entry stop with its locals loaded."""
    stop = await app.waiter.wait_for(Stopped)
    await app.waiter.wait_for(StackLoaded)
    await app.waiter.wait_for(VariablesLoaded)
    return stop


async def set_breakpoint(pilot: Pilot[Any], app: RecordingApp, line: int) -> None:
    """Move the source cursor to ``line`` with the arrow keys and press F9."""
    source = app.source_pane
    source.focus()
    moves = line - source.cursor_line
    await pilot.press(*(["down"] * moves if moves > 0 else ["up"] * -moves))
    assert source.cursor_line == line
    await pilot.press("f9")
    await app.waiter.wait_for(BreakpointsSet, lambda m: m.lines == [line])


async def test_tui_starts_the_script_stopped_on_its_first_line(started: Any) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        stop = await stop_on_entry(app)
        await pilot.pause()
        entry = marker_line(DEMO, "entry")
        assert stop.reason == "entry"
        assert app.source_pane.path == str(DEMO.resolve())
        assert app.source_pane.current_line == entry
        assert [f.name for f in app.stack_pane.frames] == ["main chunk"]
        assert app.status.state == f"paused at demo.lua:{entry}"
        assert app.status.kernel == "demo"
        assert console_text(app) == []  # nothing ran yet


async def test_f9_then_f5_stops_at_the_breakpoint_with_its_locals(started: Any) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await stop_on_entry(app)
        loop = marker_line(DEMO, "loop")
        await set_breakpoint(pilot, app, loop)
        assert app.source_pane.breakpoints == {loop}
        await pilot.press("f5")
        stop = await app.waiter.wait_for(Stopped)
        await app.waiter.wait_for(VariablesLoaded)
        assert stop.reason == "breakpoint"
        assert app.source_pane.current_line == loop
        assert app.status.state == f"paused at demo.lua:{loop}"
        shown = locals_shown(app)
        assert "total = 0" in shown
        assert "i = 1" in shown
        assert any(label.startswith("config = {") for label in shown)


async def test_a_breakpoint_set_before_the_kernel_is_there_is_hit(started: Any) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        loop = marker_line(DEMO, "loop")
        app.source_pane.focus()
        app.source_pane.cursor_line = loop  # the source shows at once; the kernel comes later
        await pilot.press("f9")
        await app.waiter.wait_for(BreakpointsSet, lambda m: m.lines == [loop])  # once connected
        order = [type(m).__name__ for m in app.waiter.handled]
        assert order.index("BreakpointToggled") < order.index("KernelConnected")
        await app.waiter.wait_for(Stopped)  # on entry
        await app.waiter.wait_for(VariablesLoaded)
        await pilot.press("f5")
        stop = await app.waiter.wait_for(Stopped)
        assert stop.reason == "breakpoint"
        assert app.source_pane.current_line == loop


async def test_f10_moves_the_current_line_to_the_next_statement(started: Any) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await stop_on_entry(app)
        await pilot.press("f10")
        stop = await app.waiter.wait_for(Stopped)
        await app.waiter.wait_for(StackLoaded)
        assert stop.reason == "step"
        assert app.source_pane.current_line == marker_line(DEMO, "second")
        assert app.status.state == f"paused at demo.lua:{marker_line(DEMO, 'second')}"


async def test_console_evaluates_in_the_stopped_frame(started: Any) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await stop_on_entry(app)
        await set_breakpoint(pilot, app, marker_line(DEMO, "loop"))
        await pilot.press("f5")
        await app.waiter.wait_for(Stopped)
        await app.waiter.wait_for(StackLoaded)
        app.console_pane.input.focus()
        await pilot.press(*"total + i * 10", "enter")
        evaluated = await app.waiter.wait_for(Evaluated)
        assert evaluated.result == "10"
        assert console_text(app)[-2:] == ["> total + i * 10", "10"]


async def test_no_stop_runs_at_once_streaming_stdout_and_stderr(started: Any) -> None:
    app = demo_app(stop_on_entry=False)
    async with app.run_test(size=(100, 30)):
        started(app)
        finished = await app.waiter.wait_for(ScriptFinished)
        assert finished.exit_code == 0
        assert app.status.state == "finished (exit 0)"
        assert console_text(app) == ["demo: 6", "done"]
        log = app.console_pane.log_view
        # stderr is drawn in the theme's error colour, stdout is not
        styles = [next(iter(log.render_line(y))).style for y in range(2)]
        assert styles[0] != styles[1]


def _take(
    terminal_size: tuple[int, int], snap_compare: Any, at_breakpoint: bool, theme: str = "dark"
) -> bool:
    app = (
        demo_app()
        if theme == "dark"
        else RecordingApp(Launch(script=DEMO, name="demo"), theme=theme)
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await stop_on_entry(app)
        if at_breakpoint:
            await set_breakpoint(pilot, app, marker_line(DEMO, "loop"))
            await pilot.press("f5")
            await app.waiter.wait_for(Stopped)
            await app.waiter.wait_for(VariablesLoaded)

    try:
        return bool(snap_compare(app, terminal_size=terminal_size, run_before=run_before))
    finally:
        assert known_kernels() == []


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_stopped_on_entry(size: tuple[int, int], snap_compare: Any) -> None:
    assert _take(size, snap_compare, at_breakpoint=False)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_stopped_on_entry_light(size: tuple[int, int], snap_compare: Any) -> None:
    assert _take(size, snap_compare, at_breakpoint=False, theme="light")


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_stopped_at_a_breakpoint_light(size: tuple[int, int], snap_compare: Any) -> None:
    assert _take(size, snap_compare, at_breakpoint=True, theme="light")


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_snapshot_stopped_at_a_breakpoint(size: tuple[int, int], snap_compare: Any) -> None:
    assert _take(size, snap_compare, at_breakpoint=True)


async def test_question_mark_opens_a_help_screen_listing_every_key(started: Any) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await stop_on_entry(app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        rows = [tuple(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]
        assert ("F10", "Step over", "everywhere") in rows
        assert ("n", "Next", "source pane") in rows
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


def test_a_theme_file_with_a_bad_colour_is_an_error_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tcss"
    bad.write_text("$dark: true;\n$primary: #5fafff;\n$error: reddish;\n")
    with pytest.raises(ThemeError, match=r"\$error is 'reddish', not a colour"):
        load_theme(bad)


def test_a_theme_file_with_a_rule_is_an_error_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tcss"
    bad.write_text("/* colours */\n$primary: #5fafff;\nScreen { color: red; }\n")
    with pytest.raises(ThemeError, match=r"bad.tcss:3: expected a variable declaration"):
        load_theme(bad)


def test_shipped_themes_load_as_dark_and_light() -> None:
    themes = {theme.name: theme for theme in load_themes()}
    assert themes["llmspell-dark"].dark
    assert not themes["llmspell-light"].dark
    assert themes["llmspell-dark"].variables["syntax-theme"] == "monokai"


async def test_f6_pauses_a_script_spinning_in_a_loop(started: Any) -> None:
    spin = Path(__file__).parent / "lua" / "debug" / "spin.lua"
    app = RecordingApp(Launch(script=spin, stop_on_entry=False))
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(KernelBusy, lambda m: m.busy)
        await pilot.pause(0.3)  # spinning by now (a pause before that stops at line 2)
        await pilot.press("f6")
        stop = await app.waiter.wait_for(Stopped)
        await app.waiter.wait_for(VariablesLoaded)
        assert stop.reason == "pause"
        assert app.source_pane.current_line == marker_line(spin, "spin")
        assert any(label.startswith("n = ") for label in locals_shown(app))


async def test_attach_joins_a_running_kernel_and_runs_console_code_there(started: Any) -> None:
    connection_file, proc = await start_kernel(name="shared")
    try:
        app = RecordingApp(Attach("shared"))
        async with app.run_test(size=(100, 30)) as pilot:
            connected = await app.waiter.wait_for(KernelConnected)
            assert connected.name == "shared"
            assert connected.script is None
            assert app.status.state == "idle"
            app.console_pane.input.focus()
            await pilot.press(*"print(6 * 7)", "enter")
            await app.waiter.wait_for(Output)
            await app.waiter.wait_for(KernelBusy, lambda m: not m.busy)
            assert console_text(app)[-2:] == ["> print(6 * 7)", "42"]
        assert proc.returncode is None  # attached, not owned: the kernel stays
    finally:
        await stop_kernel(proc, connection_file)


def test_tui_refuses_a_missing_script_an_unknown_theme_and_an_absent_kernel(
    cli: Callable[..., CliResult],
) -> None:
    missing = cli("tui", "nowhere.lua")
    assert missing.returncode != 0
    assert "script not found: nowhere.lua" in missing.stderr
    theme = cli("tui", str(DEMO), "--theme", "blue")
    assert theme.returncode != 0
    assert "unknown theme 'blue'; choose one of: dark, light" in theme.stderr
    absent = cli("tui", "--attach", "nosuch")
    assert absent.returncode != 0
    assert "no running kernel" in absent.stderr


async def test_clicking_the_gutter_sets_a_breakpoint_and_f5_stops_there(started: Any) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await stop_on_entry(app)
        line = marker_line(DEMO, "loop")
        source = app.source_pane
        # the gutter is the first content column; rows count from the top of the view
        row = line - 1 - int(source.scroll_offset.y)
        await pilot.click(source, offset=(1 + 0, 1 + row))
        await app.waiter.wait_for(BreakpointsSet, lambda m: m.lines == [line])
        await pilot.press("f5")
        stop = await app.waiter.wait_for(Stopped)
        assert stop.reason == "breakpoint"
        await app.waiter.wait_for(StackLoaded)
        assert app.source_pane.current_line == line
