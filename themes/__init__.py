"""The TUI's stylesheets: ``app.tcss`` (layout) and one theme per other ``*.tcss`` file.

A package only so that the wheel ships the files, as ``llmspell_tui.stylesheets`` (setup.py);
``llmspell_tui.themes`` finds them by path.
A theme file holds only TCSS variable declarations (``$primary: #5fafff;``); see
``llmspell_tui/themes.py`` for the keys it may set.
"""
