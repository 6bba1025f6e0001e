"""The watches pane: Lua expressions of this client, re-evaluated in the selected frame at each
stop; an error is shown in place of a value, and a value that changed since the previous stop
stands out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from llmspell_tui.dialogs import ExpressionDialog
from llmspell_tui.messages import WatchResult

HINT = "no watches: a adds one (w in the source)"


@dataclass
class Watch:
    """One watch expression and what it gave at the latest evaluation."""

    expression: str
    value: str = ""
    type: str = ""
    error: str = ""
    evaluated: bool = False
    stop: int = -1  # the stop its value comes from
    before: tuple[str, str] | None = None  # (value, error) at the previous stop

    @property
    def changed(self) -> bool:
        """Whether the value differs from the one at the previous stop."""
        return self.before is not None and self.before != (self.value, self.error)


class WatchesPane(OptionList):
    """Watch expressions and their values; a adds, e or Enter edits, Delete removes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a,insert", "add_watch", "Add watch", id="watches.add"),
        Binding("e", "edit_watch", "Edit watch", id="watches.edit"),
        Binding("delete,x", "remove_watch", "Remove watch", id="watches.remove"),
    ]

    @dataclass
    class Changed(Message):
        """The watch expressions changed and need evaluating (``on_watches_pane_changed``)."""

        pane: WatchesPane

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.watches: list[Watch] = []

    def on_mount(self) -> None:
        self._render_watches()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_edit_watch()

    def action_add_watch(self) -> None:
        """Ask for an expression to watch."""
        self.app.push_screen(
            ExpressionDialog("Watch expression", placeholder="e.g. #items, config.name"),
            self._add_answer,
        )

    def action_edit_watch(self) -> None:
        """Ask for a new text for the highlighted watch."""
        index = self.highlighted
        if index is None or not 0 <= index < len(self.watches):
            return
        watch = self.watches[index]
        self.app.push_screen(
            ExpressionDialog("Edit watch (empty removes it)", watch.expression),
            lambda answer: self._edit_answer(watch, answer),
        )

    def action_remove_watch(self) -> None:
        """Forget the highlighted watch."""
        index = self.highlighted
        if index is not None and 0 <= index < len(self.watches):
            self.remove_watch(index)

    # ------------------------------------------------------------------ content

    @property
    def expressions(self) -> list[str]:
        """The watched expressions, in order."""
        return [w.expression for w in self.watches]

    def add(self, expression: str) -> None:
        """Watch an expression (evaluated at once when the script is stopped)."""
        self.watches.append(Watch(expression))
        self._render_watches()
        self.highlighted = len(self.watches) - 1
        self.post_message(self.Changed(self))

    def edit(self, index: int, expression: str) -> None:
        """Replace the expression of a watch (its value history starts again)."""
        self.watches[index] = Watch(expression)
        self._render_watches()
        self.post_message(self.Changed(self))

    def remove_watch(self, index: int) -> None:
        """Stop watching an expression."""
        del self.watches[index]
        self._render_watches()
        if self.watches:
            self.highlighted = min(index, len(self.watches) - 1)

    def show_results(self, stop: int, results: list[WatchResult]) -> None:
        """The values at stop number ``stop`` (a later frame choice in one stop replaces them)."""
        by_expression = {r.expression: r for r in results}
        for watch in self.watches:
            result = by_expression.get(watch.expression)
            if result is None:
                continue  # added while this evaluation ran: its own follows
            if watch.stop != stop:
                if watch.evaluated:
                    watch.before = (watch.value, watch.error)
                watch.stop = stop
            watch.value, watch.type, watch.error = result.value, result.type, result.error
            watch.evaluated = True
        self._render_watches()

    def _add_answer(self, answer: str | None) -> None:
        if answer:
            self.add(answer)

    def _edit_answer(self, watch: Watch, answer: str | None) -> None:
        if answer is None or watch not in self.watches:
            return
        index = self.watches.index(watch)
        if answer:
            self.edit(index, answer)
        else:
            self.remove_watch(index)

    # ------------------------------------------------------------------ rendering

    def _render_watches(self) -> None:
        highlighted = self.highlighted
        self.clear_options()
        if not self.watches:
            self.add_option(
                Option(
                    Text(HINT, style="dim italic", no_wrap=True, overflow="ellipsis"), disabled=True
                )
            )
            return
        self.add_options(Option(self.label(w)) for w in self.watches)
        if highlighted is not None:
            self.highlighted = min(highlighted, len(self.watches) - 1)

    def label(self, watch: Watch) -> Text:
        """How one watch is shown: ``expr = value``, ``expr: error`` or ``expr`` before a stop."""
        if not watch.evaluated:
            return Text.assemble("  ", watch.expression, (" (not evaluated)", "dim italic"))
        if watch.error:
            error = self._colour("error")
            return Text.assemble(("✗ ", error), watch.expression, ": ", (watch.error, error))
        value_style = self._colour("text-accent")
        if watch.changed:
            value_style = self._colour("warning") + Style(bold=True)
        marker = ("● ", self._colour("warning")) if watch.changed else ("  ", "")
        return Text.assemble(marker, watch.expression, " = ", (watch.value, value_style))

    def _colour(self, variable: str) -> Style:
        colour = self.app.theme_variables.get(variable)
        return Style.parse(colour) if colour and colour.startswith("#") else Style()
