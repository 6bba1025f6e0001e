"""Where focus starts and how keys move it: a console session starts in the console, a
script session in the source (whose pudb keys step it); a character the source has no key
for goes to the console; Alt+1..4 work as a terminal sends them (ESC 1, which Textual reads
as Option+1's ¡); Ctrl+X goes between console and source as in pudb."""

from __future__ import annotations

from collections.abc import Callable

from textual.widget import Widget

from llmspell_tui.bridge import Launch
from llmspell_tui.messages import KernelConnected, StackLoaded, Stopped
from tests.debug_fixtures import marker_line
from tests.tui_fixtures import DEMO, RecordingApp, demo_app, started

__all__ = ["started"]


def focused(app: RecordingApp) -> Widget | None:
    """The focused widget (read anew each time: keys move it)."""
    return app.focused


async def test_a_console_session_starts_in_the_console(
    started: Callable[[RecordingApp], None],
) -> None:
    app = RecordingApp(Launch(stop_on_entry=False, name="console"))
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(KernelConnected)
        assert focused(app) is app.console_pane.input
        await pilot.press("x", "=", "1")
        assert app.console_pane.input.text == "x=1"


async def test_a_script_session_starts_in_the_source_whose_keys_step(
    started: Callable[[RecordingApp], None],
) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(StackLoaded)
        assert focused(app) is app.source_pane
        await pilot.press("n")  # pudb's next
        await app.waiter.wait_for(Stopped)
        stack = await app.waiter.wait_for(StackLoaded)
        assert stack.frames[0].line == marker_line(DEMO, "second")


async def test_a_character_the_source_has_no_key_for_goes_to_the_console(
    started: Callable[[RecordingApp], None],
) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(StackLoaded)
        await pilot.press("p", "r", "i")
        assert focused(app) is app.console_pane.input
        assert app.console_pane.input.text == "pri"
        await pilot.press("ctrl+x")  # back to the source, as pudb's Ctrl+X
        assert focused(app) is app.source_pane
        await pilot.press("ctrl+x")
        assert focused(app) is app.console_pane.input


async def test_alt_digits_as_a_terminal_sends_them_jump_between_panes(
    started: Callable[[RecordingApp], None],
) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(StackLoaded)
        # tmux, screen and ssh pass Alt+2 as ESC 2, which Textual reads as Option+2 (™)
        await pilot.press("trade_mark_sign")
        assert focused(app) is app.stack_pane
        await pilot.press("pound_sign")
        assert focused(app) is app.variables_pane
        await pilot.press("inverted_exclamation_mark")
        assert focused(app) is app.source_pane
        await pilot.press("cent_sign")
        assert focused(app) is app.console_pane.input
