"""The console: the script's output as it streams, and an input line.

The input evaluates in the selected frame while the script is paused, and runs code in the
kernel otherwise; the app decides which (the pane only says what was typed).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, RichLog

STREAM_COLOURS = {"stdout": "foreground", "stderr": "text-error", "console": "text-secondary"}


class ConsolePane(Vertical):
    """Output log above an input line."""

    @dataclass
    class Submitted(Message):
        """The user entered code (``on_console_pane_submitted``)."""

        pane: ConsolePane
        code: str

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._partial: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield RichLog(id="console-log", wrap=True, markup=False, auto_scroll=True)
        yield Input(placeholder="Lua to run in the kernel", id="console-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        code = event.value
        if not code.strip():
            return
        event.input.value = ""
        self.echo(code)
        self.post_message(self.Submitted(self, code))

    def set_paused(self, paused: bool) -> None:
        """Say in the input line where what is typed will run."""
        self.query_one(Input).placeholder = (
            "evaluate in the selected frame" if paused else "Lua to run in the kernel"
        )

    def write_output(self, stream: str, text: str) -> None:
        """Script output: whole lines are shown, a partial line waits for its end."""
        pending = self._partial.pop(stream, "") + text
        complete, _, rest = pending.rpartition("\n")
        if rest:
            self._partial[stream] = rest
        if complete or pending.endswith("\n"):
            self._write(complete, STREAM_COLOURS.get(stream, "foreground"))

    def flush(self) -> None:
        """Show partial lines (the script ended or stopped)."""
        for stream, text in self._partial.items():
            self._write(text, STREAM_COLOURS.get(stream, "foreground"))
        self._partial.clear()

    def echo(self, code: str) -> None:
        """What the user typed."""
        self._write("> " + code, "text-primary")

    def write_result(self, text: str) -> None:
        """A value an evaluation or cell returned."""
        self._write(text, "text-accent")

    def write_error(self, text: str) -> None:
        """An error."""
        self._write(text, "text-error")

    def _write(self, text: str, colour_variable: str) -> None:
        colour = self.app.theme_variables.get(colour_variable, "")
        style = Style.parse(colour) if colour.startswith("#") else Style()
        self.query_one(RichLog).write(Text(text, style=style))
