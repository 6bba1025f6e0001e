"""Ctrl+R: fuzzy reverse search over the kernel's history (every client's entries).

Matches are listed newest first with the matched characters highlighted; Ctrl+R again
moves to the next (older) match, Enter accepts it into the input, Esc cancels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.fuzzy import FuzzySearch
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from llmspell_tui.colours import theme_style

MAX_SHOWN = 200  # matches listed; older ones are reached by narrowing the query


@dataclass(frozen=True)
class Match:
    """A history entry that matches the query, with the offsets that matched."""

    entry: str
    offsets: tuple[int, ...]


def find_matches(query: str, history: list[str], matcher: FuzzySearch) -> list[Match]:
    """Entries matching ``query`` fuzzily, newest first, each entry once."""
    seen: set[str] = set()
    found: list[Match] = []
    for entry in reversed(history):
        if entry in seen:
            continue
        seen.add(entry)
        if not query:
            found.append(Match(entry, ()))
        else:
            score, offsets = matcher.match(query, entry)
            if score > 0:
                found.append(Match(entry, tuple(offsets)))
        if len(found) >= MAX_SHOWN:
            break
    return found


def highlighted(match: Match, style: Style) -> Text:
    """An entry on one line (newlines shown as ⏎) with its matched characters styled."""
    text = Text(match.entry.replace("\n", "⏎"), no_wrap=True, overflow="ellipsis")
    for offset in match.offsets:
        text.stylize(style, offset, offset + 1)
    return text


class HistorySearch(Vertical):
    """The search overlay: matches above a query line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "older", "Older match", id="search.older"),
        Binding("up", "older", "Older match", show=False, id="search.up"),
        Binding("down", "newer", "Newer match", show=False, id="search.down"),
        Binding("escape", "cancel", "Cancel", id="search.cancel"),
    ]

    @dataclass
    class Accepted(Message):
        """Enter on a match (``on_history_search_accepted``)."""

        search: HistorySearch
        entry: str

    @dataclass
    class Cancelled(Message):
        """Esc (``on_history_search_cancelled``)."""

        search: HistorySearch

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.history: list[str] = []
        self.matches: list[Match] = []
        self._matcher = FuzzySearch()

    def compose(self) -> ComposeResult:
        yield OptionList(id="search-matches")
        yield Input(placeholder="type to search the history", id="search-query")

    def on_mount(self) -> None:
        self.query_one(OptionList).can_focus = False

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._refilter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        chosen = self.chosen
        if chosen is None:
            self.post_message(self.Cancelled(self))
        else:
            self.post_message(self.Accepted(self, chosen))

    def action_older(self) -> None:
        """Ctrl+R again: the next older match."""
        options = self.query_one(OptionList)
        if options.option_count and (options.highlighted or 0) < options.option_count - 1:
            options.highlighted = (options.highlighted or 0) + 1

    def action_newer(self) -> None:
        """Down: back to a newer match."""
        options = self.query_one(OptionList)
        if options.highlighted:
            options.highlighted -= 1

    def action_cancel(self) -> None:
        """Esc: leave the input as it was."""
        self.post_message(self.Cancelled(self))

    def open(self, history: list[str]) -> None:
        """Start a search over ``history`` (oldest first) with an empty query."""
        self.history = history
        query = self.query_one(Input)
        query.value = ""
        self._refilter()
        query.focus()

    def update_history(self, history: list[str]) -> None:
        """Fresh entries from the kernel: search them, keeping the query."""
        chosen = self.chosen
        self.history = history
        self._refilter()
        # a refresh must not move the user's place (Ctrl+R pressed while it was in flight)
        entries = [match.entry for match in self.matches]
        if chosen in entries:
            self.query_one(OptionList).highlighted = entries.index(chosen)

    @property
    def query_text(self) -> str:
        """What is typed in the search line."""
        return self.query_one(Input).value

    @property
    def chosen(self) -> str | None:
        """The highlighted match's entry."""
        index = self.query_one(OptionList).highlighted
        if index is None or index >= len(self.matches):
            return None
        return self.matches[index].entry

    def _refilter(self) -> None:
        self.matches = find_matches(self.query_text, self.history, self._matcher)
        style = theme_style(self.app, "text-accent", bold=True) + Style(underline=True)
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([Option(highlighted(match, style)) for match in self.matches])
        if self.matches:
            options.highlighted = 0
        self.border_title = (
            f"reverse search · {len(self.matches)} match{'es' if len(self.matches) != 1 else ''}"
            " · Ctrl+R older · Enter accept · Esc cancel"
        )
