"""The TUI's stylesheets: ``app.tcss`` (layout) and one theme per other ``*.tcss`` file.

A theme file holds only TCSS variable declarations (``$primary: #5fafff;``); see
``llmspell_tui/themes.py`` for the keys it may set.
"""

from __future__ import annotations

from pathlib import Path

THEMES_DIR = Path(__file__).parent
LAYOUT_FILE = THEMES_DIR / "app.tcss"
