"""The console's output log: a bounded scrollback of plain lines, drawn in theme colours.

RichLog renders every line it is given into segments as it arrives (~80 µs a line), so a
script printing a million lines costs the UI a minute and gigabytes. Here a line is kept as
its text and the name of its theme colour; only the rows on screen are drawn (Line API), so
appending costs a list append, a theme switch recolours everything at once, and the log keeps
the newest ``max_lines`` lines (the ``[tui] scrollback`` setting).
"""

from __future__ import annotations

from typing import ClassVar

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from llmspell_tui.colours import theme_style

DEFAULT_SCROLLBACK = 10_000
TAB = 4


class ConsoleLog(ScrollView, can_focus=True):
    """Lines of output, wrapped to the width, newest at the bottom (followed while the view
    is at the bottom, left alone while scrolled up)."""

    DEFAULT_CSS: ClassVar[str] = """
    ConsoleLog {
        overflow-x: hidden;
    }
    """

    def __init__(self, *, max_lines: int = DEFAULT_SCROLLBACK, id: str | None = None) -> None:
        super().__init__(id=id)
        self.max_lines = max(max_lines, 1)
        self.entries: list[tuple[str, str]] = []  # (line, colour variable)
        # the rows on screen at the current width: (entry index + offset, text)
        self._rows: list[tuple[int, str]] = []
        self._row_counts: list[int] = []  # rows per entry, parallel to entries
        self._first = 0  # the absolute index of entries[0] (entries before it were dropped)
        self._width = 0
        self._styles: dict[str, Style] = {}
        self._held = False  # scrolled up by the user: the view stays where it is

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value >= self.max_scroll_y:
            self._held = False  # back at the bottom: follow the output again

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self._held = True  # the user looks back: new output does not move the view
        super()._on_mouse_scroll_up(event)

    def action_scroll_up(self) -> None:
        self._held = True
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self._held = True
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self._held = True
        super().action_scroll_home()

    def on_mount(self) -> None:
        # published once the new theme's variables are in place (a watch on "theme" runs first)
        self.app.theme_changed_signal.subscribe(self, self._recolour)

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            self._width = width
            self._rewrap()

    # ------------------------------------------------------------------ content

    @property
    def text_lines(self) -> list[str]:
        """Every line kept, as plain text."""
        return [line for line, _ in self.entries]

    def clear(self) -> None:
        """Forget every line."""
        self.entries.clear()
        self._rows.clear()
        self._row_counts.clear()
        self._update_size(follow=True)

    def write_lines(self, lines: list[str], colour: str) -> None:
        """Append lines (without their newlines) in the theme colour ``colour``."""
        follow = not self._held
        if len(lines) > self.max_lines:
            self._first += len(lines) - self.max_lines
            lines = lines[-self.max_lines :]
        start = self._first + len(self.entries)
        width = self._width
        entries, counts, rows = self.entries, self._row_counts, self._rows
        for index, given in enumerate(lines, start):
            # tabs, carriage returns, colour codes: rare, so checked once for all
            line = given if given.isprintable() else _printable(given)
            entries.append((line, colour))
            if len(line) <= width and line.isascii():  # the common case: one row
                counts.append(1)
                rows.append((index, line))
            else:
                wrapped = self._wrap(line)
                counts.append(len(wrapped))
                rows.extend((index, row) for row in wrapped)
        self._trim()
        self._update_size(follow=follow)

    def _trim(self) -> None:
        """Drop the oldest lines beyond ``max_lines`` (once per write, however many it had)."""
        excess = len(self.entries) - self.max_lines
        if excess <= 0:
            return
        rows = sum(self._row_counts[:excess])
        del self.entries[:excess]
        del self._row_counts[:excess]
        del self._rows[:rows]
        self._first += excess

    def _wrap(self, line: str) -> list[str]:
        width = self._width
        if width <= 0 or (len(line) <= width and (line.isascii() or cell_len(line) <= width)):
            return [line]
        if line.isascii():
            return [line[i : i + width] for i in range(0, len(line), width)]
        return chop_cells(line, width)

    def _rewrap(self) -> None:
        self._rows.clear()
        self._row_counts.clear()
        for index, (line, _) in enumerate(self.entries, self._first):
            rows = self._wrap(line)
            self._row_counts.append(len(rows))
            self._rows.extend((index, row) for row in rows)
        self._update_size(follow=True)

    def _update_size(self, *, follow: bool) -> None:
        self.virtual_size = Size(self._width, len(self._rows))
        if follow:
            # once laid out: the new rows count in max_scroll_y only after the next layout
            self.scroll_end(animate=False, x_axis=False)
        self.refresh()

    def _recolour(self, _theme: object) -> None:
        self._styles.clear()
        self.refresh()

    # ------------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not 0 <= index < len(self._rows):
            return Strip.blank(width, base)
        entry, text = self._rows[index]
        colour = self.entries[entry - self._first][1]
        style = self._styles.get(colour)
        if style is None:
            style = self._styles[colour] = base + theme_style(self.app, colour)
        return Strip([Segment(text, style)]).extend_cell_length(width, base)


def _printable(line: str) -> str:
    """The line as a terminal should show it: tabs expanded, colour codes and other control
    characters (which would move the cursor) left out; after a carriage return, what
    overwrote the line (a progress counter shows its last state)."""
    if "\r" in line:
        line = next((part for part in reversed(line.split("\r")) if part), "")
    if "\x1b" in line:
        line = Text.from_ansi(line).plain
    if "\t" in line:
        line = line.expandtabs(TAB)
    if not line.isprintable():
        line = "".join(c if c.isprintable() else "\ufffd" for c in line)
    return line
