"""The ``?`` help screen and the command palette entries, both built from the key bindings."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


def described(bindings: Iterable[BindingType]) -> list[Binding]:
    """The bindings that have a description (every one a user can discover)."""
    return [b for b in bindings if isinstance(b, Binding) and b.description]


class HelpScreen(ModalScreen[None]):
    """Every key: the app's, then the source pane's."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close help", id="help.close"),
    ]

    def __init__(self, sections: list[tuple[str, list[Binding]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("Keys (Esc closes)", id="help-title")
            table: DataTable[str] = DataTable(id="help-table", cursor_type="row")
            table.add_columns("key", "action", "where")
            for where, bindings in self.sections:
                for binding in bindings:
                    table.add_row(self.app.get_key_display(binding), binding.description, where)
            yield table


class ActionCommands(Provider):
    """Every app action with a key, in the command palette (Ctrl+P)."""

    def _actions(self) -> list[Binding]:
        return described(self.app.BINDINGS)

    async def discover(self) -> Hits:
        for binding in self._actions():
            yield DiscoveryHit(
                binding.description,
                partial(self.app.run_action, binding.action),
                help=f"key: {self.app.get_key_display(binding)}",
            )

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for binding in self._actions():
            score = matcher.match(binding.description)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(binding.description),
                    partial(self.app.run_action, binding.action),
                    help=f"key: {self.app.get_key_display(binding)}",
                )


class ProfilingCommands(Provider):
    """The profiling commands of the command palette: start (two modes) or stop, as fits."""

    def _commands(self) -> list[tuple[str, str, str]]:
        """(name, action, help) of the commands that make sense now."""
        if getattr(self.app, "profiling", False):
            return [("Stop profiling", "stop_profiling", "and show the final profile")]
        return [
            ("Start profiling", "start_profiling('sampling')", "sample the stacks (low overhead)"),
            (
                "Start profiling (exact)",
                "start_profiling('exact')",
                "call/return hooks: exact calls and times, higher overhead",
            ),
        ]

    async def discover(self) -> Hits:
        for name, action, text in self._commands():
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(self.app.run_action, action),
                    help=text,
                )
