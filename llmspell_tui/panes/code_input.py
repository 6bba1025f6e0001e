"""The console's input: multiline Lua with the kernel's history, completion and Ctrl+R.

The widget only edits text and says what the user asked for (run this, complete here,
search the history); the console pane asks the kernel and answers through the methods here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea


class CodeInput(TextArea):
    """A multiline input line: Enter runs complete code, Up/Down walk the history."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # run by _on_key below, in turn with the characters typed before them
        Binding("enter", "submit", "Run", id="console.submit"),
        Binding("tab", "complete", "Complete", id="console.complete"),
        Binding("up", "history_previous", "Older entry", id="console.history_up"),
        Binding("down", "history_next", "Newer entry", id="console.history_down"),
        Binding("ctrl+r", "search", "Search history", id="console.search"),
    ]
    # Keys whose action must see every character typed before them. A priority binding runs
    # when the app receives the key, ahead of the characters still queued for this widget:
    # typed fast, "x = 1 end" + Enter submitted "x = 1 e" and glued "nd" onto the next line.
    IN_ORDER: ClassVar[dict[str, str]] = {
        "enter": "submit",
        "tab": "complete",
        "up": "history_previous",
        "down": "history_next",
    }

    @dataclass
    class SubmitAsked(Message):
        """Enter was pressed on ``code`` (``on_code_input_submit_asked``)."""

        input: CodeInput
        code: str
        # Enter came at the end of the text, where a new line now waits for what is typed
        # next while the kernel judges ``code``
        at_end: bool = False

    @dataclass
    class CompletionAsked(Message):
        """Tab at ``cursor`` in ``code`` (``on_code_input_completion_asked``)."""

        input: CodeInput
        code: str
        cursor: int

    @dataclass
    class SearchAsked(Message):
        """Ctrl+R (``on_code_input_search_asked``)."""

        input: CodeInput

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            "",
            id=id,
            soft_wrap=True,
            tab_behavior="focus",
            highlight_cursor_line=False,
            compact=True,
        )
        self.entries: list[str] = []  # oldest first
        # Offsets of the Enters typed at the end whose line the kernel has not judged yet
        # (each where its new line begins, minus one). Recorded here, as the new line is
        # inserted, because the pane that judges them shortens the text meanwhile: an
        # offset carried in SubmitAsked was from before that and pointed past the line.
        self.enters: list[int] = []
        self._browsing: int | None = None  # index into history while Up/Down browse it
        self._draft = ""  # what was typed before browsing began

    async def _on_key(self, event: events.Key) -> None:
        if event.key.startswith("alt+"):
            return  # not text (TextArea typed Alt+1's "1"): the app's bindings take it
        action = self.IN_ORDER.get(event.key)
        if action is None:
            await super()._on_key(event)
            return
        event.stop()
        event.prevent_default()
        await self.run_action(action)

    def action_submit(self) -> None:
        """Enter: ask whether the code is complete (the pane decides: run, or a new line)."""
        code = self.text
        if not code.strip():
            return
        at_end = self.cursor_index == len(code)
        if at_end:
            self.enters.append(len(code))
            self.insert("\n")  # now, so that keys already on their way go onto it
        self.post_message(self.SubmitAsked(self, code, at_end))

    def action_complete(self) -> None:
        """Tab: indent at the start of a line, otherwise ask the kernel for completions."""
        row, column = self.cursor_location
        if not self.document.get_line(row)[:column].strip():
            self.insert("  ")
            return
        self.post_message(self.CompletionAsked(self, self.text, self.cursor_index))

    def action_history_previous(self) -> None:
        """Up: the line above, or (on the first line) the previous history entry."""
        if self.cursor_location[0] > 0 or not self.entries:
            self.action_cursor_up()
            return
        if self._browsing is None:
            self._draft = self.text
            self._browsing = len(self.entries)
        if self._browsing > 0:
            self._browsing -= 1
            self._show(self.entries[self._browsing])

    def action_history_next(self) -> None:
        """Down: the line below, or (on the last line) the next history entry or the draft."""
        if self.cursor_location[0] < self.document.line_count - 1 or self._browsing is None:
            self.action_cursor_down()
            return
        self._browsing += 1
        if self._browsing >= len(self.entries):
            self._browsing = None
            self._show(self._draft)
        else:
            self._show(self.entries[self._browsing])

    def action_search(self) -> None:
        """Ctrl+R: reverse search through the history."""
        self.post_message(self.SearchAsked(self))

    @property
    def cursor_index(self) -> int:
        """The cursor as an offset into ``text`` (what the kernel calls cursor_pos)."""
        row, column = self.cursor_location
        return sum(len(self.document.get_line(n)) + 1 for n in range(row)) + column

    def set_code(self, code: str) -> None:
        """Replace the text, cursor at its end, and stop browsing the history."""
        self._browsing = None
        self._show(code)

    def new_line(self, indent: str) -> None:
        """Break the line at the cursor, indented as the kernel suggests."""
        self.insert("\n" + indent)

    def replace_range(self, start: int, end: int, text: str) -> None:
        """Put ``text`` in place of ``start:end`` (offsets into ``text``)."""
        self.replace(text, self._location(start), self._location(end))

    def remember(self, code: str) -> None:
        """Add an entry that just ran (the kernel's copy arrives with the next refresh)."""
        if not self.entries or self.entries[-1] != code:
            self.entries.append(code)
        self._browsing = None

    def _location(self, index: int) -> tuple[int, int]:
        before = self.text[:index]
        return before.count("\n"), index - (before.rfind("\n") + 1)

    def _show(self, code: str) -> None:
        self.load_text(code)
        last = self.document.line_count - 1
        self.move_cursor((last, len(self.document.get_line(last))))
