"""Loading the theme files in ``themes/`` as Textual themes, validated.

A theme file is TCSS that holds only variable declarations, one per statement::

    $dark: true;
    $primary: #5fafff;
    $syntax-theme: monokai;

The Textual base colours (primary, secondary, accent, warning, error, success, foreground,
background, surface, panel, boost) must be colours; ``dark`` is true or false; any other
variable (``syntax-theme``, the pygments style for Lua) is passed through as a theme variable.
A file that breaks these rules is a :class:`ThemeError` naming the file, the line and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from kernel_core.errors import LlmspellError

# The repository's themes/, which the wheel installs as llmspell_tui/stylesheets/ (setup.py);
# found by path, not imported, so a stale editable install cannot shadow it
_INSTALLED_THEMES = Path(__file__).resolve().parent / "stylesheets"
THEMES_DIR = (
    _INSTALLED_THEMES
    if _INSTALLED_THEMES.is_dir()
    else Path(__file__).resolve().parent.parent / "themes"
)
LAYOUT_FILE = THEMES_DIR / "app.tcss"

COLOUR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
THEME_PREFIX = "llmspell-"
_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_DECLARATION = re.compile(r"^\$([a-z][a-z0-9-]*)\s*:\s*(.+)$")


# Textual's own themes (picked from the command palette) carry no syntax-theme: the pygments
# style of the same family where there is one, else one that reads on a dark or light ground
SYNTAX_FOR_TEXTUAL_THEME = {
    "monokai": "monokai",
    "dracula": "dracula",
    "nord": "nord",
    "gruvbox": "gruvbox-dark",
    "solarized-dark": "solarized-dark",
    "solarized-light": "solarized-light",
    "atom-one-dark": "one-dark",
}
DARK_SYNTAX = "monokai"
LIGHT_SYNTAX = "friendly"


class ThemeError(LlmspellError):
    """A theme file that cannot be used."""


def theme_name(short: str) -> str:
    """The registered name of the theme in ``themes/<short>.tcss``."""
    return f"{THEME_PREFIX}{short}"


def syntax_theme(theme: Theme) -> str:
    """The pygments style that highlights Lua in ``theme`` (its own, or one that suits it)."""
    own = theme.variables.get("syntax-theme")
    if own:
        return own
    return SYNTAX_FOR_TEXTUAL_THEME.get(theme.name) or (DARK_SYNTAX if theme.dark else LIGHT_SYNTAX)


def saved_name(theme: str) -> str:
    """How a registered theme is remembered: ours by their file name (``dark``), Textual's
    own by theirs (``catppuccin-latte``)."""
    return theme.removeprefix(THEME_PREFIX)


def registered_name(saved: str, registered: Collection[str]) -> str | None:
    """The registered theme a remembered name stands for (None: no such theme any more)."""
    for name in (theme_name(saved), saved):
        if name in registered:
            return name
    return None


def available_themes(directory: Path = THEMES_DIR) -> list[str]:
    """Short names of the theme files in ``directory`` (``dark``, ``light``, ...)."""
    return sorted(p.stem for p in directory.glob("*.tcss") if p.name != LAYOUT_FILE.name)


def load_theme(path: Path) -> Theme:
    """Parse and validate one theme file."""
    text = _COMMENT.sub(lambda m: "\n" * m.group().count("\n"), path.read_text(encoding="utf-8"))
    values: dict[str, str] = {}
    line = 1
    for statement in text.split(";"):
        start = line + statement[: len(statement) - len(statement.lstrip())].count("\n")
        line += statement.count("\n")
        body = statement.strip()
        if not body:
            continue
        match = _DECLARATION.match(body)
        if match is None:
            raise ThemeError(
                f"{path}:{start}: expected a variable declaration like '$primary: #5fafff;', "
                f"got {body!r}"
            )
        values[match.group(1)] = match.group(2).strip()
    if "primary" not in values:
        raise ThemeError(f"{path}: a theme needs '$primary: <colour>;'")
    colours: dict[str, str] = {}
    for key in COLOUR_KEYS:
        if key in values:
            value = values.pop(key)
            try:
                Color.parse(value)
            except ColorParseError:
                raise ThemeError(
                    f"{path}: ${key} is {value!r}, not a colour (use #rrggbb, rgb(...) or a name)"
                ) from None
            colours[key] = value
    dark = values.pop("dark", "true").lower()
    if dark not in ("true", "false"):
        raise ThemeError(f"{path}: $dark is {dark!r}; use true or false")
    return Theme(
        name=theme_name(path.stem),
        primary=colours["primary"],
        secondary=colours.get("secondary"),
        accent=colours.get("accent"),
        warning=colours.get("warning"),
        error=colours.get("error"),
        success=colours.get("success"),
        foreground=colours.get("foreground"),
        background=colours.get("background"),
        surface=colours.get("surface"),
        panel=colours.get("panel"),
        boost=colours.get("boost"),
        dark=dark == "true",
        variables=values,
    )


def load_themes(directory: Path = THEMES_DIR) -> list[Theme]:
    """Every theme in ``directory``."""
    return [load_theme(directory / f"{short}.tcss") for short in available_themes(directory)]
