"""The breakpoints pane: every breakpoint with its place, options, hits and enabled state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from llmspell_tui.breakpoint_book import Breakpoint

HINT = "no breakpoints: F9 in the source sets one"
ENABLED = "●"
DISABLED = "○"


class BreakpointsPane(OptionList):
    """Breakpoints in the order set; Space toggles, e edits, Delete removes, Enter shows."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_enabled", "Enable/disable", id="breakpoints.toggle"),
        Binding("e", "edit", "Edit breakpoint", id="breakpoints.edit"),
        Binding("delete,x", "delete", "Delete breakpoint", id="breakpoints.delete"),
    ]

    @dataclass
    class Chosen(Message):
        """Show a breakpoint's line in the source (``on_breakpoints_pane_chosen``)."""

        pane: BreakpointsPane
        breakpoint: Breakpoint

    @dataclass
    class EnabledToggled(Message):
        """Enable or disable a breakpoint (``on_breakpoints_pane_enabled_toggled``)."""

        pane: BreakpointsPane
        breakpoint: Breakpoint

    @dataclass
    class EditRequested(Message):
        """Open a breakpoint's dialog (``on_breakpoints_pane_edit_requested``)."""

        pane: BreakpointsPane
        breakpoint: Breakpoint

    @dataclass
    class Deleted(Message):
        """Delete a breakpoint (``on_breakpoints_pane_deleted``)."""

        pane: BreakpointsPane
        breakpoint: Breakpoint

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shown: list[Breakpoint] = []

    def on_mount(self) -> None:
        self.show([])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        chosen = self._highlighted()
        if chosen is not None:
            self.post_message(self.Chosen(self, chosen))

    def action_toggle_enabled(self) -> None:
        """Enable the highlighted breakpoint, or disable it (it stays listed)."""
        self._post(self.EnabledToggled)

    def action_edit(self) -> None:
        """Edit the highlighted breakpoint's condition, hit condition and log message."""
        self._post(self.EditRequested)

    def action_delete(self) -> None:
        """Delete the highlighted breakpoint."""
        self._post(self.Deleted)

    def show(self, breakpoints: list[Breakpoint]) -> None:
        """Show these breakpoints (the highlight stays on the same row)."""
        highlighted = self.highlighted
        self.shown = list(breakpoints)
        self.clear_options()
        if not self.shown:
            self.add_option(
                Option(
                    Text(HINT, style="dim italic", no_wrap=True, overflow="ellipsis"), disabled=True
                )
            )
            return
        self.add_options(Option(self.label(bp)) for bp in self.shown)
        self.highlighted = min(highlighted or 0, len(self.shown) - 1)

    def label(self, bp: Breakpoint) -> Text:
        """``● demo.lua:5  if i > 2  hits 3`` (○ and dimmed when disabled)."""
        marker = (ENABLED, self._colour("error")) if bp.enabled else (DISABLED, "dim")
        text = Text.assemble(marker, " ", (bp.location, "bold" if bp.enabled else "dim"))
        details = []
        if bp.condition:
            details.append(f"if {bp.condition}")
        if bp.hit_condition:
            details.append(f"hit {bp.hit_condition}")
        if bp.log_message:
            details.append(f"log {bp.log_message!r}")
        details.append(f"hits {bp.hits}")
        if not bp.enabled:
            details.append("disabled")
        text.append("  " + "  ".join(details), style="dim")
        if bp.message:
            text.append(f"  {bp.message}", style=self._colour("warning"))
        return text

    def _highlighted(self) -> Breakpoint | None:
        index = self.highlighted
        if index is None or not 0 <= index < len(self.shown):
            return None
        return self.shown[index]

    def _post(self, kind: Callable[[BreakpointsPane, Breakpoint], Message]) -> None:
        chosen = self._highlighted()
        if chosen is not None:
            self.post_message(kind(self, chosen))

    def _colour(self, variable: str) -> Style:
        colour = self.app.theme_variables.get(variable)
        return Style.parse(colour) if colour and colour.startswith("#") else Style()
