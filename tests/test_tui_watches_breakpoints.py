"""The TUI's watches, breakpoints and variables panes against a real kernel, with snapshots.

Snapshots live in snapshots/test_tui_watches_breakpoints/ (``--snapshot-update`` after a
deliberate change, then look at them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_textual_snapshot
from textual.pilot import Pilot
from textual.widgets import Input
from textual.widgets.tree import TreeNode

from kernel_core.kernel.registry import known_kernels
from llmspell_tui.bridge import Launch
from llmspell_tui.dialogs import BreakpointDialog, ExpressionDialog
from llmspell_tui.messages import (
    BreakpointHit,
    BreakpointsSet,
    Output,
    ScriptFinished,
    StackLoaded,
    Stopped,
    ValueCopied,
    VariableSet,
    VariableSetFailed,
    VariablesLoaded,
    WatchesEvaluated,
)
from llmspell_tui.panes.variables import Node
from tests.debug_fixtures import marker_line
from tests.test_tui import SnapshotsDirExtension
from tests.tui_fixtures import TUI_LUA, RecordingApp, started

__all__ = ["started"]

TABLES = TUI_LUA / "tables.lua"
ENTRY = marker_line(TABLES, "entry")
LOOP = marker_line(TABLES, "loop")
AFTER = marker_line(TABLES, "after")


@pytest.fixture(autouse=True)
def _snapshots_in_snapshots_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytest_textual_snapshot, "SVGImageExtension", SnapshotsDirExtension)


def tables_app(theme: str = "dark") -> RecordingApp:
    """The TUI debugging tests/lua/tui/tables.lua, stopped on entry."""
    return RecordingApp(Launch(script=TABLES, name="tables"), theme=theme)


async def stopped_on_entry(app: RecordingApp) -> None:
    """Wait for the entry stop with its locals shown."""
    await app.waiter.wait_for(Stopped)
    await app.waiter.wait_for(VariablesLoaded)


async def breakpoint_at(pilot: Pilot[Any], app: RecordingApp, line: int) -> None:
    """Move the source cursor to ``line`` and press F9."""
    source = app.source_pane
    source.focus()
    await pilot.press("home", *(["down"] * (line - 1)))
    assert source.cursor_line == line
    await pilot.press("f9")
    await app.waiter.wait_for(BreakpointsSet, lambda m: line in m.lines)


async def continue_to(app: RecordingApp, pilot: Pilot[Any], line: int) -> None:
    """F5, then wait until the app shows the stop at ``line`` with its locals."""
    await pilot.press("f5")
    await app.waiter.wait_for(Stopped)
    stack = await app.waiter.wait_for(StackLoaded)
    assert stack.frames[0].line == line
    await app.waiter.wait_for(VariablesLoaded)


async def add_watch(pilot: Pilot[Any], app: RecordingApp, expression: str) -> None:
    """Press w in the source and type an expression into the dialog."""
    app.source_pane.focus()
    await pilot.press("w")
    await pilot.pause()
    assert isinstance(app.screen, ExpressionDialog)
    await pilot.press(*expression, "enter")
    await app.waiter.wait_for(
        WatchesEvaluated, lambda m: expression in [r.expression for r in m.results]
    )


def locals_node(app: RecordingApp, name: str) -> TreeNode[Node]:
    """The child of Locals called ``name``."""
    scope = app.variables_pane.root.children[0]
    for child in scope.children:
        variable = child.data.variable if child.data is not None else None
        if variable is not None and variable.name == name:
            return child
    raise LookupError(f"no local {name!r}: {[str(c.label) for c in scope.children]}")


def watch_labels(app: RecordingApp) -> list[str]:
    """The watches as shown."""
    return [str(app.watches_pane.label(w)) for w in app.watches_pane.watches]


async def test_a_watch_is_re_evaluated_on_f10_and_a_changed_value_is_highlighted(
    started: Callable[[RecordingApp], None],
) -> None:
    app = tables_app()
    async with app.run_test(size=(120, 40)) as pilot:
        started(app)
        await stopped_on_entry(app)
        await breakpoint_at(pilot, app, LOOP)
        await continue_to(app, pilot, LOOP)
        await add_watch(pilot, app, "total")
        await add_watch(pilot, app, "#items")
        assert watch_labels(app) == ["  total = 0", "  #items = 250"]
        total, length = app.watches_pane.watches
        assert not total.changed  # nothing to compare with before a second stop
        app.source_pane.focus()
        await pilot.press("f10")
        await app.waiter.wait_for(Stopped)
        await app.waiter.wait_for(WatchesEvaluated)
        assert (total.value, total.changed) == ("1", True)
        assert (length.value, length.changed) == ("250", False)
        assert watch_labels(app) == ["● total = 1", "  #items = 250"]


async def test_a_watch_that_errors_shows_the_error_in_place_of_its_value(
    started: Callable[[RecordingApp], None],
) -> None:
    app = tables_app()
    async with app.run_test(size=(120, 40)) as pilot:
        started(app)
        await stopped_on_entry(app)
        await breakpoint_at(pilot, app, LOOP)
        await continue_to(app, pilot, LOOP)
        await add_watch(pilot, app, "config.missing.x")
        (watch,) = app.watches_pane.watches
        assert "attempt to index a nil value" in watch.error
        assert watch_labels(app) == [f"✗ config.missing.x: {watch.error}"]
        # editing it (e) to something valid replaces the error with a value
        app.watches_pane.focus()
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExpressionDialog)
        dialog.query_one(Input).value = "config.name"
        await pilot.press("enter")
        await app.waiter.wait_for(WatchesEvaluated)
        assert watch_labels(app) == ['  config.name = "tables"']
        await pilot.press("delete")
        assert app.watches_pane.watches == []


async def test_a_condition_set_in_the_dialog_stops_only_when_it_holds_and_counts_hits(
    started: Callable[[RecordingApp], None],
) -> None:
    app = tables_app()
    async with app.run_test(size=(120, 40)) as pilot:
        started(app)
        await stopped_on_entry(app)
        source = app.source_pane
        source.focus()
        await pilot.press("home", *(["down"] * (LOOP - 1)), "shift+f9")
        await pilot.pause()
        assert isinstance(app.screen, BreakpointDialog)
        await pilot.press(*"i == 3", "enter")
        await app.waiter.wait_for(BreakpointsSet, lambda m: m.lines == [LOOP])
        (bp,) = app.breakpoints
        assert (bp.line, bp.condition, bp.enabled) == (LOOP, "i == 3", True)
        await continue_to(app, pilot, LOOP)
        assert "i = 3" in [str(c.label) for c in app.variables_pane.root.children[0].children]
        # the kernel counts a hit (an event) before it stops: both handled by now
        hits = [m for m in app.waiter.handled if isinstance(m, BreakpointHit)]
        assert [m.hits for m in hits] == [1]
        assert bp.hits == 1
        assert str(app.breakpoints_pane.label(bp)) == f"● tables.lua:{LOOP}  if i == 3  hits 1"
        await pilot.press("f5")
        finished = await app.waiter.wait_for(ScriptFinished)
        assert finished.exit_code == 0
        assert not any(isinstance(m, Stopped) for m in app.waiter.handled[-20:])


async def test_a_disabled_breakpoint_stays_listed_but_does_not_stop_until_enabled(
    started: Callable[[RecordingApp], None],
) -> None:
    app = tables_app()
    async with app.run_test(size=(120, 40)) as pilot:
        started(app)
        await stopped_on_entry(app)
        await breakpoint_at(pilot, app, LOOP)
        await breakpoint_at(pilot, app, AFTER)
        pane = app.breakpoints_pane
        pane.focus()
        await pilot.press("home", "space")  # disable the first: the loop's
        await app.waiter.wait_for(BreakpointsSet, lambda m: m.lines == [AFTER])
        assert [(b.line, b.enabled) for b in app.breakpoints] == [(LOOP, False), (AFTER, True)]
        assert app.source_pane.disabled_breakpoints == {LOOP}
        assert app.source_pane.breakpoints == {AFTER}
        assert str(pane.label(pane.shown[0])).endswith("hits 0  disabled")
        await pilot.press("space")  # enabled again
        await app.waiter.wait_for(BreakpointsSet, lambda m: m.lines == [LOOP, AFTER])
        await continue_to(app, pilot, LOOP)
        pane.focus()
        await pilot.press("home", "space")  # disabled while stopped there
        await app.waiter.wait_for(BreakpointsSet, lambda m: m.lines == [AFTER])
        await continue_to(app, pilot, AFTER)  # the loop's three other passes ran on
        pane.focus()
        await pilot.press("home", "delete")
        await pilot.pause()
        assert [b.line for b in app.breakpoints] == [AFTER]
        await pilot.press("enter")  # jumps the source to it
        assert app.source_pane.cursor_line == AFTER


async def test_a_large_table_comes_a_page_at_a_time(
    started: Callable[[RecordingApp], None],
) -> None:
    app = tables_app()
    async with app.run_test(size=(120, 40)) as pilot:
        started(app)
        await stopped_on_entry(app)
        await breakpoint_at(pilot, app, LOOP)
        await continue_to(app, pilot, LOOP)
        items = locals_node(app, "items")
        items.expand()
        await app.waiter.wait_for(VariablesLoaded, lambda m: m.start == 0 and m.count == 100)
        assert len(items.children) == 101
        assert str(items.children[0].label) == "[1] = 1"
        more = items.children[-1]
        assert str(more.label) == "… 150 more"
        tree = app.variables_pane
        tree.focus()
        tree.move_cursor(more)
        await pilot.press("enter")
        await app.waiter.wait_for(VariablesLoaded, lambda m: m.start == 100)
        assert len(items.children) == 201
        assert str(items.children[100].label) == "[101] = 10201"
        assert str(items.children[-1].label) == "… 50 more"
        tree.move_cursor(items.children[-1])
        await pilot.press("enter")
        await app.waiter.wait_for(VariablesLoaded, lambda m: m.start == 200)
        assert len(items.children) == 250
        assert str(items.children[-1].label) == "[250] = 62500"


async def test_a_value_is_edited_in_place_and_a_bad_one_is_a_notification(
    started: Callable[[RecordingApp], None],
) -> None:
    app = tables_app()
    async with app.run_test(size=(120, 40)) as pilot:
        started(app)
        await stopped_on_entry(app)
        await breakpoint_at(pilot, app, LOOP)
        await continue_to(app, pilot, LOOP)
        tree = app.variables_pane
        tree.focus()
        tree.move_cursor(locals_node(app, "total"))
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ExpressionDialog)
        dialog.query_one(Input).value = "40 + 1"
        await pilot.press("enter")
        await app.waiter.wait_for(VariableSet)
        assert str(locals_node(app, "total").label) == "total = 41"
        tree.move_cursor(locals_node(app, "total"))
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExpressionDialog)
        app.screen.query_one(Input).value = "1 +"
        await pilot.press("enter")
        failed = await app.waiter.wait_for(VariableSetFailed)
        assert "cannot evaluate '1 +'" in failed.message
        assert [n.message for n in app._notifications] == [failed.message]
        assert str(locals_node(app, "total").label) == "total = 41"
        # F9 clears the loop's breakpoint; the script ends with the value set: 41 + 1 + 2 + 3 + 4
        await pilot.press("f9")
        await app.waiter.wait_for(BreakpointsSet, lambda m: m.lines == [])
        await pilot.press("f5")
        await app.waiter.wait_for(ScriptFinished)
        printed = "".join(m.text for m in app.waiter.handled if isinstance(m, Output))
        assert printed.startswith("total\t51\n")


async def test_copy_value_puts_the_whole_rendered_value_on_the_clipboard(
    started: Callable[[RecordingApp], None],
) -> None:
    app = tables_app()
    async with app.run_test(size=(120, 40)) as pilot:
        started(app)
        await stopped_on_entry(app)
        await breakpoint_at(pilot, app, LOOP)
        await continue_to(app, pilot, LOOP)
        tree = app.variables_pane
        tree.focus()
        tree.move_cursor(locals_node(app, "config"))
        await pilot.press("y")
        copied = await app.waiter.wait_for(ValueCopied)
        assert copied.name == "config"
        assert app.clipboard == copied.text
        assert 'name = "tables"' in copied.text
        assert "limit = 3" in copied.text


def _snapshot(snap_compare: Any, size: tuple[int, int], theme: str, scene: str) -> bool:
    app = tables_app(theme)

    async def run_before(pilot: Pilot[Any]) -> None:
        await stopped_on_entry(app)
        await breakpoint_at(pilot, app, LOOP)
        await continue_to(app, pilot, LOOP)
        if scene == "table":
            config = locals_node(app, "config")
            config.expand()
            await app.waiter.wait_for(VariablesLoaded, lambda m: m.start == 0 and m.count > 0)
            app.variables_pane.move_cursor(config.children[-1])  # in view at 80x24 too
        else:
            await add_watch(pilot, app, "total + i")
            await add_watch(pilot, app, "config.missing.x")
        app.source_pane.focus()
        await pilot.pause()

    try:
        return bool(snap_compare(app, terminal_size=size, run_before=run_before))
    finally:
        assert known_kernels() == []


SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
THEMES = pytest.mark.parametrize("theme", ["dark", "light"])


@SIZES
@THEMES
def test_snapshot_stopped_at_a_breakpoint_with_a_table_expanded(
    size: tuple[int, int], theme: str, snap_compare: Any
) -> None:
    assert _snapshot(snap_compare, size, theme, "table")


@SIZES
@THEMES
def test_snapshot_watches_with_an_error(
    size: tuple[int, int], theme: str, snap_compare: Any
) -> None:
    assert _snapshot(snap_compare, size, theme, "watches")


def test_fixture_markers_are_in_order() -> None:
    assert ENTRY < LOOP < AFTER
    assert Path(TABLES).exists()
