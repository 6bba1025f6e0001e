"""Themes: any theme the palette offers works, a remembered theme that is gone is ignored with
a notice, a switch at run time recolours what is already on screen, and a crash exits
non-zero."""

from __future__ import annotations

import json
from collections.abc import Callable

from pygments.token import Keyword
from rich.style import Style
from rich.syntax import Syntax

from llmspell_tui.bridge import Launch
from llmspell_tui.commands.tui import exit_status
from llmspell_tui.layout import layout_file, load_layout
from llmspell_tui.messages import Output, StackLoaded
from tests.tui_fixtures import DEMO, RecordingApp, started

__all__ = ["started"]


def remembered_app() -> RecordingApp:
    """The TUI on the demo with no --theme: the remembered theme decides."""
    return RecordingApp(Launch(script=DEMO, name="demo"), theme=None)


def keyword_colour(app: RecordingApp) -> Style:
    """The style the source pane gives ``local`` on the demo's first code line."""
    line = app.source_pane.lines[1]
    for span in line.spans:
        if line.plain[span.start : span.end] == "local":
            style = span.style
            return style if isinstance(style, Style) else Style.parse(style)
    raise AssertionError(f"no 'local' span in {line.plain!r}")


def pygments_keyword(style: str) -> Style:
    return Syntax.get_theme(style).get_style_for_token(Keyword)


async def test_a_textual_theme_picked_in_the_palette_is_used_again_at_the_next_start(
    started: Callable[[RecordingApp], None],
) -> None:
    app = remembered_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(StackLoaded)
        app.theme = "catppuccin-latte"  # what the palette's "Theme" list does
        await pilot.pause()
    assert load_layout().theme == "catppuccin-latte"
    again = remembered_app()
    async with again.run_test(size=(100, 30)) as pilot:
        started(again)
        await again.waiter.wait_for(StackLoaded)
        assert again.theme == "catppuccin-latte"
        # a light theme of Textual's: Lua highlighted for a light ground
        assert keyword_colour(again).color == pygments_keyword("friendly").color


async def test_a_remembered_theme_that_is_gone_is_ignored_with_a_notice(
    started: Callable[[RecordingApp], None],
) -> None:
    path = layout_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"theme": "llmspell-sepia"}))
    app = remembered_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(StackLoaded)
        await pilot.pause()
        assert app.theme == "llmspell-dark"
        notices = [n.message for n in app._notifications]
        assert any("llmspell-sepia" in n and "not available" in n for n in notices), notices


async def test_switching_the_theme_recolours_the_source_and_the_console(
    started: Callable[[RecordingApp], None],
) -> None:
    app = RecordingApp(Launch(script=DEMO, name="demo", stop_on_entry=False))
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(Output)
        await pilot.pause()
        assert keyword_colour(app).color == pygments_keyword("monokai").color
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.theme == "llmspell-light"
        assert keyword_colour(app).color == pygments_keyword("friendly").color
        # the output already shown takes the light theme's foreground, not the dark one's
        light = app.get_theme("llmspell-light")
        assert light is not None
        foreground = light.foreground
        log = app.console_pane.log_view
        colours = {
            seg.style.color.triplet.hex
            for y in range(log.size.height)
            for seg in log.render_line(y)
            if seg.text.strip() and seg.style and seg.style.color and seg.style.color.triplet
        }
        assert foreground in colours, colours


def test_a_crash_in_the_tui_exits_non_zero() -> None:
    class Crashing(RecordingApp):
        def on_mount(self) -> None:
            raise RuntimeError("boom")

    app = Crashing(Launch(script=DEMO, name="demo"))
    app.run(headless=True)
    assert exit_status(app) == 1
