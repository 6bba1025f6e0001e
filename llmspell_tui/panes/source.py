"""The source pane: read-only Lua with line numbers, a breakpoint gutter and the current line.

Rendered with the Line API, so only visible lines are drawn (10,000-line files cost nothing
more than short ones); highlighting is pygments' Lua lexer through Rich's ``Syntax``, in the
style named by the theme variable ``syntax-theme``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from llmspell_tui.themes import syntax_theme

BREAKPOINT = "●"
DISABLED_BREAKPOINT = "○"
CURRENT = "▶"
SELECTED_FRAME = "▷"


class SourcePane(ScrollView, can_focus=True):
    """The Lua source of the selected frame; F9, b or a gutter click toggles a breakpoint."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Line up", show=False, id="source.up"),
        Binding("down,j", "cursor(1)", "Line down", show=False, id="source.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="source.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="source.page_down"),
        Binding("home", "cursor_to(1)", "First line", show=False, id="source.home"),
        Binding("end", "cursor_to(-1)", "Last line", show=False, id="source.end"),
        Binding("b", "app.toggle_breakpoint", "Breakpoint", show=False, id="source.breakpoint"),
        Binding("n", "app.step_over", "Next", show=False, id="source.next"),
        Binding("s", "app.step_in", "Step in", show=False, id="source.step"),
        Binding("r", "app.step_out", "Return", show=False, id="source.return"),
        Binding("c", "app.continue", "Continue", show=False, id="source.continue"),
        Binding("ctrl+c", "app.pause", "Pause", show=False, id="source.pause"),
        Binding("w", "app.add_watch", "Watch", show=False, id="source.watch"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "source--gutter",
        "source--breakpoint",
        "source--breakpoint-disabled",
        "source--current-line",
        "source--current-marker",
        "source--cursor-line",
        "source--frame-line",
        "source--frame-marker",
    }

    cursor_line: reactive[int] = reactive(1)
    current_line: reactive[int | None] = reactive(None)
    # the line of the frame chosen in the stack when it is not the innermost one
    frame_line: reactive[int | None] = reactive(None)

    @dataclass
    class Typed(Message):
        """A printable key the pane and the app have no binding for (``on_source_pane_typed``):
        text meant for the console."""

        pane: SourcePane
        character: str

    @dataclass
    class BreakpointToggled(Message):
        """The user toggled a breakpoint (``on_source_pane_breakpoint_toggled``)."""

        pane: SourcePane
        path: str
        line: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.path: str | None = None
        self.text = ""
        self.lines: list[Text] = []
        self.breakpoints: set[int] = set()
        self.disabled_breakpoints: set[int] = set()

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._rehighlight, init=False)

    def watch_cursor_line(self) -> None:
        self.refresh()

    def watch_current_line(self) -> None:
        self.refresh()

    def watch_frame_line(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_key(self, event: events.Key) -> None:
        # a key's bindings (the pane's, then the app's) run after this handler: leave the
        # bound ones to them (n steps even while stepping is unavailable: it does nothing)
        if (
            event.is_printable
            and event.character
            and not event.character.isspace()
            and event.key not in self.app.active_bindings
        ):
            event.stop()
            self.post_message(self.Typed(self, event.character))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not self.lines:
            return
        line = int(self.scroll_offset.y) + offset.y + 1
        if not 1 <= line <= len(self.lines):
            return
        self.cursor_line = line
        if offset.x < 2:  # the breakpoint column
            self.action_toggle_breakpoint()

    def action_cursor(self, delta: int) -> None:
        """Move the cursor by ``delta`` lines."""
        self._move_cursor(self.cursor_line + delta)

    def action_page(self, direction: int) -> None:
        """Move the cursor by a screenful."""
        self._move_cursor(
            self.cursor_line + direction * max(self.scrollable_content_region.height - 1, 1)
        )

    def action_cursor_to(self, line: int) -> None:
        """Move the cursor to a line (-1: the last)."""
        self._move_cursor(len(self.lines) if line < 0 else line)

    def action_toggle_breakpoint(self) -> None:
        """Ask for a breakpoint on the cursor line to be set or cleared."""
        if self.path is not None and self.lines:
            self.post_message(self.BreakpointToggled(self, self.path, self.cursor_line))

    # ------------------------------------------------------------------ content

    def show(self, path: str, text: str) -> None:
        """Show a file (keeps the cursor when it is the same file)."""
        same = path == self.path
        self.path = path
        self.text = text
        self._rehighlight()
        if not same:
            self.cursor_line = 1
            self.scroll_to(0, 0, animate=False)
        self.border_title = path.rsplit("/", 1)[-1]

    def set_current_line(self, line: int | None, frame_line: int | None = None) -> None:
        """Mark the current (innermost) line and, when an outer frame is selected, that
        frame's line (drawn apart); bring the selected frame's line into view."""
        self.current_line = line
        self.frame_line = frame_line
        shown = frame_line if frame_line is not None else line
        if shown is not None:
            self._move_cursor(shown, center=True)

    def set_breakpoints(self, lines: set[int], disabled: set[int] | None = None) -> None:
        """The lines with breakpoints in this file (and with disabled ones, drawn hollow)."""
        self.breakpoints = set(lines)
        self.disabled_breakpoints = set(disabled or ()) - self.breakpoints
        self.refresh()

    @property
    def gutter_width(self) -> int:
        """Breakpoint column, line number, current-line marker and a space."""
        return 2 + len(str(max(len(self.lines), 1))) + 2

    def _rehighlight(self) -> None:
        # the theme just set, not theme_variables: those follow only once the CSS is refreshed
        theme = syntax_theme(self.app.current_theme)
        highlighted = Syntax(self.text, "lua", theme=theme).highlight(self.text)
        lines = list(highlighted.split("\n", allow_blank=True))
        if self.text.endswith("\n") and lines:
            lines.pop()
        for line in lines:
            line.style = ""  # the widget's background shows through, not pygments'
        self.lines = lines
        width = max((line.cell_len for line in lines), default=0)
        self.virtual_size = Size(self.gutter_width + width, len(lines))
        self.refresh()

    def _move_cursor(self, line: int, *, center: bool = False) -> None:
        if not self.lines:
            return
        self.cursor_line = max(1, min(line, len(self.lines)))
        self.scroll_to_region_line(self.cursor_line - 1, center=center)

    def scroll_to_region_line(self, index: int, *, center: bool) -> None:
        """Scroll so that the line at ``index`` (0-based) is visible."""
        height = self.scrollable_content_region.height
        top = int(self.scroll_offset.y)
        if center and not top <= index < top + height:
            self.scroll_to(y=max(index - height // 2, 0), animate=False)
        elif index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False)

    # ------------------------------------------------------------------ rendering

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        base = self.rich_style
        if index >= len(self.lines):
            return Strip.blank(width, base)
        number = index + 1
        gutter_style = base + self.get_component_rich_style("source--gutter")
        segments = [self._breakpoint_segment(number, gutter_style)]
        digits = len(str(len(self.lines)))
        segments.append(Segment(f"{number:>{digits}}", gutter_style))
        if number == self.frame_line:
            marker_style = gutter_style + self.get_component_rich_style("source--frame-marker")
            segments.append(Segment(f"{SELECTED_FRAME} ", marker_style))
        elif number == self.current_line:
            marker_style = gutter_style + self.get_component_rich_style("source--current-marker")
            segments.append(Segment(f"{CURRENT} ", marker_style))
        else:
            segments.append(Segment("  ", gutter_style))
        gutter = Strip(segments)
        code = Strip(self.lines[index].render(self.app.console), self.lines[index].cell_len)
        code = code.crop(scroll_x, scroll_x + width - gutter.cell_length)
        line_style = base
        if number == self.frame_line:
            line_style = base + self.get_component_rich_style("source--frame-line")
        elif number == self.current_line:
            line_style = base + self.get_component_rich_style("source--current-line")
        elif number == self.cursor_line and self.has_focus:
            line_style = base + self.get_component_rich_style("source--cursor-line")
        code = code.apply_style(Style(bgcolor=line_style.bgcolor)) if line_style.bgcolor else code
        return Strip.join([gutter, code]).extend_cell_length(width, line_style)

    def _breakpoint_segment(self, number: int, gutter_style: Style) -> Segment:
        if number in self.breakpoints:
            return Segment(
                f"{BREAKPOINT} ", gutter_style + self.get_component_rich_style("source--breakpoint")
            )
        if number in self.disabled_breakpoints:
            disabled = self.get_component_rich_style("source--breakpoint-disabled")
            return Segment(f"{DISABLED_BREAKPOINT} ", gutter_style + disabled)
        return Segment("  ", gutter_style)
