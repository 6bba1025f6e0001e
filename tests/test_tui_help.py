"""The ``?`` screen and the command palette write every key one way (Shift+F11, Ctrl+Q, F5,
n), whatever the binding's spelling (``shift+f7,f19``, ``ctrl+shift+f5``, ``⇧F11``)."""

from __future__ import annotations

import re

from textual.app import App
from textual.binding import Binding
from textual.widgets import DataTable

from llmspell_tui.app import LlmspellApp
from llmspell_tui.help import HelpScreen, described, key_text
from llmspell_tui.panes.source import SourcePane

# modifiers in a fixed order, then F-keys, named keys, or one character
ONE_KEY = r"(?:(?:Ctrl|Alt|Shift)\+)*(?:F\d{1,2}|[A-Z][a-z]+|PgUp|PgDn|Esc|.)"
GRAMMAR = re.compile(rf"{ONE_KEY}(?: or {ONE_KEY})*")


def test_a_key_is_written_as_the_docs_write_it() -> None:
    cases = {
        "shift+f7,f19": "Shift+F7",
        "ctrl+shift+f5": "Ctrl+Shift+F5",
        "shift+f11,f23": "Shift+F11",
        "ctrl+q": "Ctrl+Q",
        "alt+1": "Alt+1",
        "f5": "F5",
        "n": "n",
        "delete,x": "Delete or x",
        "question_mark": "?",
        "slash": "/",
        "alt+1,inverted_exclamation_mark": "Alt+1",  # how macOS's Option+1 arrives
        "alt+3,pound_sign": "Alt+3",
    }
    for key, text in cases.items():
        assert key_text(Binding(key, "noop", "a description", key_display="⇧X")) == text


async def test_the_help_screen_writes_every_key_one_way() -> None:
    sections = [
        ("everywhere", described(LlmspellApp.BINDINGS)),
        ("source", described(SourcePane.BINDINGS)),
    ]
    async with App[None]().run_test() as pilot:
        await pilot.app.push_screen(HelpScreen(sections))
        await pilot.pause()
        table: DataTable[str] = pilot.app.screen.query_one(DataTable)
        keys = [str(table.get_row_at(row)[0]) for row in range(table.row_count)]
    assert len(keys) == sum(len(bindings) for _, bindings in sections)
    for key in keys:
        assert GRAMMAR.fullmatch(key), key
    assert {"Shift+F7", "Ctrl+Shift+F5", "Shift+F11", "Ctrl+Q", "F5", "n"} <= set(keys)
