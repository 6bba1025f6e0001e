"""Theme colours for Rich text that widgets build themselves (logs, lists of entries)."""

from __future__ import annotations

from rich.style import Style
from textual.app import App
from textual.color import Color, ColorParseError


def theme_style(app: App[object], variable: str, *, bold: bool = False) -> Style:
    """The theme's ``variable`` as a Rich style (theme values may carry alpha; Rich's not)."""
    value = app.theme_variables.get(variable, "")
    try:
        colour = Color.parse(value).rich_color
    except ColorParseError:
        return Style(bold=bold or None)
    return Style(color=colour, bold=bold or None)
