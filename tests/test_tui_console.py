"""The console against a real kernel: multiline input, Tab completion, Up/Down history and
Ctrl+R reverse search over the history every client shares; snapshots of the search open.

Snapshots live in snapshots/test_tui_console/ (``--snapshot-update`` after a deliberate
change, then look at them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.asynchronous.client import AsyncKernelClient
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from kernel_core.kernel.registry import known_kernels
from llmspell_tui.bridge import Attach, Launch
from llmspell_tui.kernel_process import start_kernel, stop_kernel
from llmspell_tui.messages import KernelBusy, KernelConnected, Output
from llmspell_tui.panes.console import ConsolePane
from tests.tui_fixtures import RecordingApp, snapshots_in_snapshots_dir  # noqa: F401

pytestmark = pytest.mark.usefixtures("snapshots_in_snapshots_dir")


@pytest.fixture
async def session() -> AsyncIterator[RecordingApp]:
    """An interactive TUI session on a fresh kernel (not yet running)."""
    app = RecordingApp(Launch(stop_on_entry=False, name="console"))
    yield app
    if app.bridge.process is not None:
        assert app.bridge.process.returncode is not None, "the kernel outlived its TUI"
    assert known_kernels() == []


@pytest.fixture
async def shared_kernel() -> AsyncIterator[Path]:
    """A kernel named 'shared' that several clients use; its connection file."""
    connection_file, proc = await start_kernel(name="shared")
    try:
        yield connection_file
    finally:
        await stop_kernel(proc, connection_file)


async def run_in_another_client(connection_file: Path, code: str) -> None:
    """Execute ``code`` through jupyter_client, as a notebook or console would."""
    client = AsyncKernelClient()
    client.load_connection_file(str(connection_file))
    client.start_channels()
    try:
        reply = await client.execute_interactive(code, timeout=20, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()
        client.context.destroy(linger=0)


def console_text(app: RecordingApp) -> list[str]:
    """The console log's lines as plain text."""
    return [line.rstrip() for line in app.console_pane.log_view.text_lines]


async def ready(app: RecordingApp) -> None:
    """Wait for the kernel, then focus the console input."""
    await app.waiter.wait_for(KernelConnected)
    app.console_pane.input.focus()
    await app.waiter.wait_for(ConsolePane.HistoryLoaded)


async def run_cell(pilot: Pilot[Any], app: RecordingApp, code: str) -> None:
    """Type ``code`` on one line, press Enter and wait until it has run."""
    await pilot.press(*code, "enter")
    await app.waiter.wait_for(ConsolePane.Checked, lambda m: m.code == code)
    await app.waiter.wait_for(KernelBusy, lambda m: not m.busy)


async def test_enter_in_an_open_block_adds_an_indented_line_and_runs_the_block_once_closed(
    session: RecordingApp,
) -> None:
    app = session
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app)
        code_input = app.console_pane.input
        await pilot.press(*"for i = 1, 2 do", "enter")
        checked = await app.waiter.wait_for(ConsolePane.Checked)
        assert checked.status == "incomplete"
        await pilot.pause()
        first, second = code_input.text.split("\n")
        assert first == "for i = 1, 2 do"
        assert second.strip() == ""
        assert len(second) > 0
        await pilot.press(*"print(i * 10)", "enter")
        assert (await app.waiter.wait_for(ConsolePane.Checked)).status == "incomplete"
        await pilot.pause()
        await pilot.press("backspace", "backspace", *"end", "enter")
        assert (await app.waiter.wait_for(ConsolePane.Checked)).status == "complete"
        await app.waiter.wait_for(Output)
        await app.waiter.wait_for(KernelBusy, lambda m: not m.busy)
        assert code_input.text == ""
        shown = console_text(app)
        assert shown[0] == "> for i = 1, 2 do"
        assert shown[-2:] == ["10", "20"]


async def test_tab_completes_json_str_to_json_stringify(session: RecordingApp) -> None:
    app = session
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app)
        await pilot.press(*"JSON.str", "tab")
        completed = await app.waiter.wait_for(ConsolePane.Completed)
        await pilot.pause()
        assert completed.matches == ["stringify"]
        assert app.console_pane.input.text == "JSON.stringify"


async def test_tab_with_several_matches_lists_them_and_enter_picks_one(
    session: RecordingApp,
) -> None:
    app = session
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app)
        await run_cell(pilot, app, "alpha_one, alpha_two = 1, 2")
        await pilot.press(*"alpha_", "tab")
        completed = await app.waiter.wait_for(ConsolePane.Completed)
        await pilot.pause()
        assert completed.matches == ["alpha_one", "alpha_two"]
        listing = app.console_pane.completions
        assert listing.display
        assert listing.has_focus
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.console_pane.input.text == "alpha_two"
        assert not listing.display
        assert app.console_pane.input.has_focus


async def test_up_recalls_the_previous_entry_and_down_returns_to_the_draft(
    session: RecordingApp,
) -> None:
    app = session
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app)
        await run_cell(pilot, app, "first = 1")
        await run_cell(pilot, app, "second = 2")
        code_input = app.console_pane.input
        await pilot.press(*"dra", "up")
        assert code_input.text == "second = 2"
        await pilot.press("up")
        assert code_input.text == "first = 1"
        await pilot.press("down", "down")
        assert code_input.text == "dra"


async def test_ctrl_r_finds_an_entry_another_client_ran_and_enter_accepts_it(
    shared_kernel: Path,
) -> None:
    await run_in_another_client(shared_kernel, "from_the_notebook = 6 * 7")
    app = RecordingApp(Attach("shared"))
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app)
        await run_cell(pilot, app, "local_entry = 1")
        await pilot.press("ctrl+r")
        await app.waiter.wait_for(ConsolePane.HistoryLoaded)
        search = app.console_pane.search
        assert search.display
        assert search.query_one(Input).has_focus
        await pilot.press(*"ntbk")  # fuzzy: n, t, b, k in order
        await pilot.pause()
        assert [match.entry for match in search.matches] == ["from_the_notebook = 6 * 7"]
        prompt = search.query_one(OptionList).get_option_at_index(0).prompt
        assert [span.start for span in getattr(prompt, "spans", [])] == [9, 11, 13, 16]
        await pilot.press("enter")
        await pilot.pause()
        assert not search.display
        assert app.console_pane.input.text == "from_the_notebook = 6 * 7"
        assert app.console_pane.input.has_focus


async def test_ctrl_r_again_goes_to_the_older_match_and_esc_cancels(
    session: RecordingApp,
) -> None:
    app = session
    async with app.run_test(size=(100, 30)) as pilot:
        await ready(app)
        await run_cell(pilot, app, "value_a = 1")
        await run_cell(pilot, app, "value_b = 2")
        code_input = app.console_pane.input
        await pilot.press(*"draft", "ctrl+r")
        await app.waiter.wait_for(ConsolePane.HistoryLoaded)
        await pilot.press(*"value")
        search = app.console_pane.search
        await pilot.pause()
        assert search.chosen == "value_b = 2"  # newest first
        await pilot.press("ctrl+r")
        assert search.chosen == "value_a = 1"
        await pilot.press("escape")
        await pilot.pause()
        assert not search.display
        assert code_input.text == "draft"
        assert app.console_pane.log_view.display


def _search_open(snap_compare: Callable[..., bool], size: tuple[int, int], theme: str) -> bool:
    app = RecordingApp(Launch(stop_on_entry=False, name="console"), theme=theme)

    async def run_before(pilot: Pilot[Any]) -> None:
        await ready(app)
        for code in ("answer = 42", "print(answer)", "for i = 1, 3 do print(i) end"):
            await run_cell(pilot, app, code)
        await pilot.press("ctrl+r")
        await app.waiter.wait_for(ConsolePane.HistoryLoaded)
        await pilot.press(*"prnt")
        await pilot.pause()

    try:
        return snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        assert known_kernels() == []


def _sizes_and_themes() -> Iterator[Any]:
    for theme in ("dark", "light"):
        for size in ((80, 24), (160, 48)):
            yield pytest.param(size, theme, id=f"{size[0]}x{size[1]}-{theme}")


@pytest.mark.parametrize(("size", "theme"), list(_sizes_and_themes()))
def test_snapshot_ctrl_r_search_open(
    size: tuple[int, int], theme: str, snap_compare: Callable[..., bool]
) -> None:
    assert _search_open(snap_compare, size, theme)


async def test_lines_typed_fast_run_one_by_one_nothing_glued_onto_a_line_ending_in_end(
    session: RecordingApp,
) -> None:
    app = session
    async with app.run_test(size=(100, 30)):
        await ready(app)
        # all at once, as fast typing (or a paste of keys) comes: the second line is typed
        # while the kernel's verdict on the first is still out
        for key in [*"if true then x = 41 end", "enter", *"print(x + 1)", "enter"]:
            name = {" ": "space", "(": "left_parenthesis", ")": "right_parenthesis"}.get(key, key)
            name = {"=": "equals_sign", "+": "plus"}.get(name, name)
            event = events.Key(name, "\r" if key == "enter" else key)
            event.set_sender(app)
            assert app._driver is not None
            app._driver.send_message(event)  # as Pilot does, without waiting in between
        await app.waiter.wait_for(ConsolePane.Checked, lambda m: m.code == "print(x + 1)")
        await app.waiter.wait_for(Output, lambda m: "42" in m.text)
        await app.waiter.wait_for(KernelBusy, lambda m: not m.busy)
        assert app.console_pane.input.text == ""
        shown = console_text(app)
        assert "> if true then x = 41 end" in shown
        assert shown[-2:] == ["> print(x + 1)", "42"]
