"""The console: the script's output as it streams, and a multiline input.

The input evaluates in the selected frame while the script is paused, and runs code in the
kernel otherwise; the app decides which (the pane only says what was typed). Enter runs
code the kernel calls complete and otherwise opens an indented new line; Tab completes from
the kernel; Up/Down and Ctrl+R go through the kernel's history, which every client shares.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Protocol

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from llmspell_tui.messages import Completions
from llmspell_tui.panes.code_input import CodeInput
from llmspell_tui.panes.console_log import DEFAULT_SCROLLBACK, ConsoleLog
from llmspell_tui.panes.history_search import HistorySearch

log = logging.getLogger(__name__)

_CWD_PREFIX = os.getcwd().rstrip("/") + "/"
STREAM_COLOURS = {"stdout": "foreground", "stderr": "text-error", "console": "text-secondary"}
HISTORY_SIZE = 1000


class ConsoleKernel(Protocol):
    """What the console asks the kernel (``KernelBridge`` answers)."""

    async def is_complete(self, code: str) -> tuple[str, str]: ...

    async def complete(self, code: str, cursor: int) -> Completions | None: ...

    async def history(self, n: int = HISTORY_SIZE) -> list[str] | None: ...


class ConsolePane(Vertical):
    """Output log above an input; the history search overlays the log while open."""

    @dataclass
    class Submitted(Message):
        """The user entered code (``on_console_pane_submitted``)."""

        pane: ConsolePane
        code: str

    @dataclass
    class Checked(Message):
        """The kernel judged the code Enter was pressed on (``on_console_pane_checked``)."""

        pane: ConsolePane
        code: str
        status: str

    @dataclass
    class HistoryLoaded(Message):
        """The kernel's history arrived (``on_console_pane_history_loaded``)."""

        pane: ConsolePane
        entries: int

    @dataclass
    class Completed(Message):
        """The kernel answered a Tab (``on_console_pane_completed``)."""

        pane: ConsolePane
        matches: list[str]

    def __init__(
        self,
        kernel: ConsoleKernel,
        *,
        scrollback: int = DEFAULT_SCROLLBACK,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.kernel = kernel
        self.scrollback = scrollback
        self._partial: dict[str, str] = {}
        # offsets in the input of the newlines Enter put there, awaiting the kernel's verdict
        self._judging = False
        self._completions: Completions | None = None

    def compose(self) -> ComposeResult:
        yield ConsoleLog(max_lines=self.scrollback, id="console-log")
        yield HistorySearch(id="console-search")
        yield OptionList(id="console-completions")
        yield CodeInput(id="console-input")

    def on_mount(self) -> None:
        self.search.display = False
        self.completions.display = False
        self.set_paused(False)

    @property
    def input(self) -> CodeInput:
        """The input."""
        return self.query_one(CodeInput)

    @property
    def log_view(self) -> ConsoleLog:
        """The output log."""
        return self.query_one(ConsoleLog)

    @property
    def search(self) -> HistorySearch:
        """The Ctrl+R overlay."""
        return self.query_one(HistorySearch)

    @property
    def completions(self) -> OptionList:
        """The list of completions shown when Tab finds several."""
        return self.query_one("#console-completions", OptionList)

    # ------------------------------------------------------------------ input

    def on_descendant_focus(self) -> None:
        # entering the console: the history may have grown (this or another client ran code)
        self.load_history()

    def on_code_input_submit_asked(self, event: CodeInput.SubmitAsked) -> None:
        event.stop()
        if not event.at_end:
            # Enter inside the text (editing a block): the verdict decides, nothing typed on
            self._check_and_submit(event.code)
            return
        # Enter at the end, as one types: its new line is there already, so keys typed
        # before the kernel's verdict arrives went onto it, not onto the line entered (the
        # input noted where: CodeInput.enters)
        self._judge_enters()

    @work(group="console-submit", exit_on_error=False)
    async def _judge_enters(self) -> None:
        """Ask the kernel about each pending Enter in turn: run the code before it, or keep
        the line open (indented); what was typed after it stays in the input."""
        if self._judging:
            return  # the running loop takes this Enter too
        self._judging = True
        try:
            enters = self.input.enters
            while enters:
                end = enters[0]
                code = self.input.text[:end]
                status, indent = await self.kernel.is_complete(code)
                self.post_message(self.Checked(self, code, status))
                text = self.input.text
                if text[:end] != code or text[end : end + 1] != "\n":
                    enters.clear()  # edited meanwhile: the user takes it from here
                    return
                del enters[0]
                rest = text[end + 1 :]
                if status == "incomplete":
                    self.input.set_code(f"{code}\n{indent}{rest}")
                    enters[:] = [at + len(indent) for at in enters]
                    continue
                self.input.set_code(rest)
                enters[:] = [at - end - 1 for at in enters]
                if code.strip():
                    self.input.remember(code)
                    self.echo(code)
                    self.post_message(self.Submitted(self, code))
        finally:
            self._judging = False

    @work(group="console-check", exclusive=True, exit_on_error=False)
    async def _check_and_submit(self, code: str) -> None:
        status, indent = await self.kernel.is_complete(code)
        self.post_message(self.Checked(self, code, status))
        code_input = self.input
        if code_input.text != code:
            return  # typed on meanwhile: this Enter is stale
        if status == "incomplete":
            code_input.new_line(indent)
            return
        code_input.set_code("")
        code_input.remember(code)
        self.echo(code)
        self.post_message(self.Submitted(self, code))

    def on_code_input_completion_asked(self, event: CodeInput.CompletionAsked) -> None:
        event.stop()
        self._complete(event.code, event.cursor)

    @work(group="console-complete", exclusive=True, exit_on_error=False)
    async def _complete(self, code: str, cursor: int) -> None:
        found = await self.kernel.complete(code, cursor)
        code_input = self.input
        if found is None or code_input.text != code:
            return
        self.post_message(self.Completed(self, found.matches))
        if len(found.matches) == 1:
            code_input.replace_range(found.start, found.end, found.matches[0])
        elif found.matches:
            common = _common_prefix(found.matches)
            if len(common) > found.end - found.start:
                code_input.replace_range(found.start, found.end, common)
                found = Completions(found.matches, found.start, found.start + len(common))
            self._completions = found
            options = self.completions
            options.clear_options()
            options.add_options([Option(Text(match), id=match) for match in found.matches])
            options.highlighted = 0
            options.display = True
            options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list is not self.completions:
            return
        event.stop()
        found = self._completions
        if found is not None and event.option.id is not None:
            self.input.replace_range(found.start, found.end, event.option.id)
        self._close_completions()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.completions.display:
            event.stop()
            self._close_completions()

    def _close_completions(self) -> None:
        self._completions = None
        self.completions.display = False
        self.input.focus()

    # ------------------------------------------------------------------ history

    @work(group="console-history", exclusive=True, exit_on_error=False)
    async def load_history(self) -> None:
        """Fetch the kernel's history (kept as it was while the shell is busy)."""
        entries = await self.kernel.history(HISTORY_SIZE)
        if entries is None:
            return
        self.input.entries = entries
        if self.search.display:
            self.search.update_history(entries)
        self.post_message(self.HistoryLoaded(self, len(entries)))

    def on_code_input_search_asked(self, event: CodeInput.SearchAsked) -> None:
        event.stop()
        # the search takes the log's place and the input's line, as a shell's does
        self.log_view.display = False
        self.input.display = False
        self.search.display = True
        self.search.open(list(self.input.entries))
        self.load_history()

    def on_history_search_accepted(self, event: HistorySearch.Accepted) -> None:
        event.stop()
        self._close_search()
        self.input.set_code(event.entry)

    def on_history_search_cancelled(self, event: HistorySearch.Cancelled) -> None:
        event.stop()
        self._close_search()

    def _close_search(self) -> None:
        self.search.display = False
        self.log_view.display = True
        self.input.display = True
        self.input.focus()

    # ------------------------------------------------------------------ output

    def set_paused(self, paused: bool) -> None:
        """Say in the input where what is typed will run."""
        self.input.placeholder = (
            "evaluate in the selected frame" if paused else "Lua to run in the kernel"
        )

    def write_output(self, stream: str, text: str) -> None:
        """Script output: whole lines are shown, a partial line waits for its end.

        Paths under the current directory are shown relative to it, as tracebacks are."""
        text = text.replace(_CWD_PREFIX, "")
        pending = self._partial.pop(stream, "") + text
        complete, newline, rest = pending.rpartition("\n")
        if rest:
            self._partial[stream] = rest
        if newline:
            self.log_view.write_lines(
                complete.split("\n"), STREAM_COLOURS.get(stream, "foreground")
            )

    def write_dropped(self, lines: int) -> None:
        """Say that ``lines`` lines of output came too fast to be kept."""
        self._write(
            f"… {lines:,} lines of output not shown (they came faster than the screen "
            "could show them)",
            "text-warning",
        )

    def flush(self) -> None:
        """Show partial lines (the script ended or stopped)."""
        for stream, text in self._partial.items():
            self._write(text, STREAM_COLOURS.get(stream, "foreground"))
        self._partial.clear()

    def echo(self, code: str) -> None:
        """What the user typed (continuation lines marked as the REPL does)."""
        self._write("> " + code.replace("\n", "\n. "), "text-primary")

    def write_result(self, text: str) -> None:
        """A value an evaluation or cell returned."""
        self._write(text, "text-accent")

    def write_error(self, text: str) -> None:
        """An error."""
        self._write(text, "text-error")

    def _write(self, text: str, colour_variable: str) -> None:
        self.log_view.write_lines(text.split("\n"), colour_variable)


def _common_prefix(words: list[str]) -> str:
    first, last = min(words), max(words)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]
