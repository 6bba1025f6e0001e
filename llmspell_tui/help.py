"""The ``?`` help screen and the command palette entries, both built from the key bindings."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import partial
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Vertical
from textual.keys import key_to_character
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

# Terminals send Shift+F1..F12 as F13..F24 (xterm's and tmux's encoding): the bindings list both,
# the screen names the key a person presses
_SHIFTED_F = {f"f{n + 12}": f"shift+f{n}" for n in range(1, 13)}
_MODIFIERS = {"ctrl": "Ctrl", "shift": "Shift", "alt": "Alt", "meta": "Meta", "super": "Super"}
_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "escape": "Esc",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "space": "Space",
    "enter": "Enter",
    "tab": "Tab",
    "delete": "Delete",
    "insert": "Insert",
    "backspace": "Backspace",
    "home": "Home",
    "end": "End",
    "up": "Up",
    "down": "Down",
    "left": "Left",
    "right": "Right",
}


def _one_key(key: str) -> str:
    *modifiers, name = key.split("+")
    if len(name) == 1:
        # a bare letter is the letter typed (n, b, c as in pudb); after a modifier, as the
        # docs write it (Ctrl+Q, Alt+P)
        label = name.upper() if modifiers else name
    else:
        label = _NAMES.get(name, name.upper() if re.fullmatch(r"f\d+", name) else name.title())
    ordered = [_MODIFIERS[m] for m in ("ctrl", "alt", "shift", "meta", "super") if m in modifiers]
    return "+".join([*ordered, label])


def _encoding_alias(key: str) -> bool:
    """A key that is how some terminal encodes another key of the binding, not a key of its
    own: macOS's Option+1 arrives as ``¡`` (inverted_exclamation_mark), Option+3 as ``£``."""
    if "+" in key or len(key) == 1:
        return False
    character = key_to_character(key)
    return character is not None and len(character) == 1 and not character.isascii()


def key_text(binding: Binding) -> str:
    """A binding's keys written one way everywhere: ``Shift+F11``, ``Ctrl+Q``, ``Alt+1``, ``F5``,
    ``n``; several keys for one action as ``Delete or x``."""
    keys: list[str] = []
    for written in binding.key.split(","):
        key = _SHIFTED_F.get(written.strip(), written.strip())
        if key and key not in keys:
            keys.append(key)
    pressed = [key for key in keys if not _encoding_alias(key)] or keys
    return " or ".join(_one_key(key) for key in pressed)


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
                    table.add_row(key_text(binding), binding.description, where)
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
                help=f"key: {key_text(binding)}",
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
                    help=f"key: {key_text(binding)}",
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
