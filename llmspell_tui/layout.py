"""The TUI's layout as the user left it: hidden panes, the side column's and the console's
sizes, the theme. Kept as JSON in the user's config directory and read at the next start.

A file that cannot be read or makes no sense is ignored (with a log line): a layout is a
convenience, never a reason for the TUI not to start.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel_core.paths import config_dir

log = logging.getLogger(__name__)

LAYOUT_FILENAME = "tui-layout.json"
# every pane but the source, in the order F7 visits them
HIDEABLE = ("stack", "variables", "watches", "breakpoints", "hooks", "console")
# sizes are percentages of the screen, in steps a key press moves them by
SIDE_WIDTH = (20, 40, 70)  # min, default, max: the side column's width
CONSOLE_HEIGHT = (15, 30, 70)  # min, default, max: the console's height
STEP = 5


def layout_file() -> Path:
    """Where the layout is kept (``tui-layout.json`` in the user's config directory)."""
    return config_dir() / LAYOUT_FILENAME


def _clamp(value: Any, bounds: tuple[int, int, int]) -> int:
    low, default, high = bounds
    if not isinstance(value, int) or isinstance(value, bool):
        return default
    return max(low, min(value, high))


@dataclass
class Layout:
    """What is remembered between runs."""

    hidden: set[str] = field(default_factory=set)
    side_width: int = SIDE_WIDTH[1]
    console_height: int = CONSOLE_HEIGHT[1]
    theme: str | None = None  # the theme last picked in the TUI (None: never picked)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Layout:
        """A layout from its JSON form; unknown or out-of-range values fall back to defaults."""
        hidden = data.get("hidden")
        theme = data.get("theme")
        return cls(
            hidden={p for p in hidden if p in HIDEABLE} if isinstance(hidden, list) else set(),
            side_width=_clamp(data.get("side_width"), SIDE_WIDTH),
            console_height=_clamp(data.get("console_height"), CONSOLE_HEIGHT),
            theme=theme if isinstance(theme, str) and theme else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "hidden": sorted(self.hidden),
            "side_width": self.side_width,
            "console_height": self.console_height,
            "theme": self.theme,
        }

    def resize_side(self, delta: int) -> None:
        """Widen (delta > 0) or narrow the side column by ``delta`` steps."""
        self.side_width = _clamp(self.side_width + delta * STEP, SIDE_WIDTH)

    def resize_console(self, delta: int) -> None:
        """Make the console taller (delta > 0) or shorter by ``delta`` steps."""
        self.console_height = _clamp(self.console_height + delta * STEP, CONSOLE_HEIGHT)

    def toggle(self, pane: str) -> bool:
        """Hide a shown pane or show a hidden one; True if it is shown now."""
        if pane not in HIDEABLE:
            raise ValueError(f"no pane {pane!r} can be hidden; use one of {', '.join(HIDEABLE)}")
        self.hidden.symmetric_difference_update({pane})
        return pane not in self.hidden


def load_layout(path: Path | None = None) -> Layout:
    """The remembered layout, or the default one."""
    path = path or layout_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Layout()
    except (OSError, ValueError) as exc:
        log.warning("ignoring the TUI layout in %s: %s", path, exc)
        return Layout()
    if not isinstance(data, dict):
        log.warning("ignoring the TUI layout in %s: not a JSON object", path)
        return Layout()
    return Layout.from_dict(data)


def save_layout(layout: Layout, path: Path | None = None) -> None:
    """Remember the layout (written whole, then renamed, so a crash leaves the old one)."""
    path = path or layout_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".json.tmp")
        partial.write_text(json.dumps(layout.to_dict(), indent=2) + "\n", encoding="utf-8")
        partial.replace(path)
    except OSError as exc:
        log.warning("could not save the TUI layout to %s: %s", path, exc)
