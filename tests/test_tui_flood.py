"""A script that prints without end: the TUI keeps handling keys, shows the newest output
and keeps no more of it than its scrollback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from llmspell_tui.bridge import Launch
from llmspell_tui.messages import Output, Stopped
from tests.conftest import CliResult
from tests.tui_fixtures import TUI_LUA, RecordingApp, started

__all__ = ["started"]

FLOOD = TUI_LUA / "flood.lua"
SCROLLBACK = 500


async def test_f6_pauses_a_script_printing_without_end_and_the_console_stays_bounded(
    started: Callable[[RecordingApp], None],
) -> None:
    app = RecordingApp(Launch(script=FLOOD, name="flood", stop_on_entry=False))
    app.scrollback = SCROLLBACK
    app.bridge.scrollback = SCROLLBACK
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        # well past the scrollback: the console has dropped old lines by now
        for _ in range(6):
            await app.waiter.wait_for(Output)
        while app.console_pane.log_view._first < 5 * SCROLLBACK:
            await app.waiter.wait_for(Output)
        await pilot.press("f6")
        stop = await app.waiter.wait_for(Stopped)
        assert stop.reason == "pause"
        await pilot.pause()
        shown = app.console_pane.log_view.text_lines
        assert len(shown) <= SCROLLBACK
        # the newest lines, in order, up to where the script was paused
        numbers = [int(line.split()[1]) for line in shown if line.startswith("line ")]
        assert numbers == sorted(numbers)
        assert numbers[-1] > 5 * SCROLLBACK
        await pilot.press("ctrl+q")


def test_an_output_flood_coalesces_into_one_message_keeping_the_newest_lines() -> None:
    message = Output("stdout", "first\n", keep=100)
    for n in range(1000):
        assert message.add("stdout", f"line {n}\n")
    text = message.text.splitlines()
    assert 100 <= len(text) <= 201  # trimmed in batches
    assert text[-1] == "line 999"
    assert message.dropped + len(text) == 1001
    message.taken = True
    assert not message.add("stdout", "later\n")  # handled: the bridge starts a new one


def test_the_scrollback_setting_must_be_a_positive_number_of_lines(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    config = tmp_path / "llmspell.toml"
    config.write_text("[tui]\nscrollback = 0\n")
    result = cli("--config", str(config), "tui", str(FLOOD))
    assert result.returncode != 0
    assert "scrollback" in result.stderr
    assert "expected 1 or more, got 0" in result.stderr
