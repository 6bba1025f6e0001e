"""Small modal dialogs: one line of Lua (a watch, a new value) and a breakpoint's options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class ExpressionDialog(ModalScreen[str | None]):
    """Ask for one line of Lua; Enter answers it (stripped), Esc answers None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]

    def __init__(self, title: str, value: str = "", *, placeholder: str = "") -> None:
        super().__init__(classes="dialog")
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(self.title_text, classes="dialog-title")
            yield Input(self.value, placeholder=self.placeholder, id="dialog-input")
            yield Static("Enter: OK   Esc: cancel", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


@dataclass(frozen=True)
class BreakpointOptions:
    """A breakpoint's condition, hit condition and log message (empty: none)."""

    condition: str = ""
    hit_condition: str = ""
    log_message: str = ""


class BreakpointDialog(ModalScreen[BreakpointOptions | None]):
    """Edit a breakpoint: stop only when a condition holds, on some hits, or log instead."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
    ]

    def __init__(self, location: str, options: BreakpointOptions) -> None:
        super().__init__(classes="dialog")
        self.location = location
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(f"Breakpoint at {self.location}", classes="dialog-title")
            yield Label("Condition (Lua expression; stops only when true)")
            yield Input(self.options.condition, placeholder="e.g. i > 2", id="bp-condition")
            yield Label("Hit condition (stop on pass: 5, >= 5, == 10, % 2)")
            yield Input(self.options.hit_condition, placeholder="e.g. >= 3", id="bp-hit")
            yield Label("Log message (logs instead of stopping; {expr} interpolates)")
            yield Input(self.options.log_message, placeholder="e.g. i = {i}", id="bp-log")
            yield Static("Tab: next field   Enter: OK   Esc: cancel", classes="dialog-hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(
            BreakpointOptions(
                condition=self.query_one("#bp-condition", Input).value.strip(),
                hit_condition=self.query_one("#bp-hit", Input).value.strip(),
                log_message=self.query_one("#bp-log", Input).value.strip(),
            )
        )

    def action_cancel(self) -> None:
        """Close, leaving the breakpoint as it was."""
        self.dismiss(None)
