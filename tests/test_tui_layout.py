"""Panes focused, hidden and resized from the keyboard, and the layout (with the theme)
remembered in the config directory for the next run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from textual.widget import Widget

from llmspell_tui.app import LlmspellApp
from llmspell_tui.bridge import Launch
from llmspell_tui.layout import Layout, layout_file, load_layout
from llmspell_tui.messages import StackLoaded
from tests.conftest import CliResult
from tests.tui_fixtures import DEMO, RecordingApp, demo_app, started

__all__ = ["started"]


def focused(app: RecordingApp) -> Widget | None:
    """The focused widget (read anew each time: keys move it)."""
    return app.focused


async def test_hidden_panes_and_sizes_are_remembered_for_the_next_run(
    started: Callable[[RecordingApp], None],
) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(StackLoaded)
        side = app.query_one("#side")
        width_before = side.size.width
        await pilot.press("alt+s", "alt+left", "alt+left", "alt+up")
        await pilot.pause()
        assert not app.stack_pane.display
        width_after = side.size.width
        assert width_after > width_before
    assert json.loads(layout_file().read_text()) == {
        "hidden": ["stack"],
        "side_width": 50,
        "console_height": 35,
        "theme": None,
    }
    again = demo_app()
    async with again.run_test(size=(100, 30)) as pilot:
        started(again)
        await pilot.pause()
        assert not again.stack_pane.display
        assert again.query_one("#side").size.width == width_after == 50  # 50% of 100
        await pilot.press("alt+s")  # shown again, and remembered so
        await pilot.pause()
        assert again.stack_pane.display
    assert load_layout().hidden == set()


async def test_f7_cycles_focus_over_shown_panes_and_alt_number_jumps_to_a_hidden_one(
    started: Callable[[RecordingApp], None],
) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(StackLoaded)
        assert focused(app) is app.source_pane
        await pilot.press("alt+s", "f7")  # the stack is hidden: F7 skips it
        assert focused(app) is app.variables_pane
        await pilot.press("shift+f7")
        assert focused(app) is app.source_pane
        await pilot.press("alt+2")
        await pilot.pause()
        assert app.stack_pane.display
        assert focused(app) is app.stack_pane
        await pilot.press("alt+4")
        assert focused(app) is app.console_pane.query_one("#console-input")


async def test_ctrl_t_switches_the_theme_and_the_next_start_uses_it(
    started: Callable[[RecordingApp], None],
) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)) as pilot:
        started(app)
        await app.waiter.wait_for(StackLoaded)
        assert app.theme == "llmspell-dark"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.theme == "llmspell-light"
    assert load_layout().theme == "light"
    # no --theme and no [tui] theme: the theme last picked wins; either one given wins over it
    assert LlmspellApp(Launch(script=DEMO), theme=None).theme_short == "light"
    assert LlmspellApp(Launch(script=DEMO), theme="dark").theme_short == "dark"


def test_a_layout_file_that_makes_no_sense_is_ignored(tmp_path: Path) -> None:
    broken = tmp_path / "layout.json"
    broken.write_text("{not json")
    assert load_layout(broken) == Layout()
    broken.write_text('{"hidden": ["stack", "nonsense"], "side_width": 500, "theme": 3}')
    assert load_layout(broken) == Layout(hidden={"stack"}, side_width=70)


def test_the_tui_theme_setting_is_checked_against_the_theme_files(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    config = tmp_path / "llmspell.toml"
    config.write_text('[tui]\ntheme = "sepia"\n')
    result = cli("--config", str(config), "tui", str(DEMO))
    assert result.returncode != 0
    assert "unknown theme 'sepia'; choose one of: dark, light" in result.stderr


async def test_at_80x24_every_pane_shows_its_title_and_the_footer_shows_the_keys_key(
    started: Callable[[RecordingApp], None],
) -> None:
    app = demo_app()
    async with app.run_test(size=(80, 24)) as pilot:
        started(app)
        await app.waiter.wait_for(StackLoaded)
        await pilot.pause()
        screen = app.screen.region
        panes = ["source", "stack", "variables", "watches", "breakpoints", "hooks", "console"]
        regions = {name: app.query_one(f"#{name}").region for name in panes}
        for name, region in regions.items():
            # the title line and at least one row of the pane, inside the screen
            assert region.height >= 2, (name, region)
            assert screen.contains_region(region), (name, region)
        for name, region in regions.items():
            for other, theirs in regions.items():
                if name < other:
                    assert not region.overlaps(theirs), (name, other)
        footer_keys = {getattr(key, "action", "") for key in app.query("FooterKey") if key.region}
        assert "help" in footer_keys or "app.help" in footer_keys, footer_keys
