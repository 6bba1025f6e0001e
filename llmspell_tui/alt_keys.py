"""Alt+digit arrives as Alt+digit.

A terminal sends Alt+1 as ESC 1. Textual's table of input sequences turns ESC 1..0 into
the characters macOS's Option key types on a US layout (¡ ™ £ ¢ ∞ § ¶ • ª º), for WezTerm on
macOS, which sends them that way: so in a text field (the console) Alt+1 typed "¡" instead
of going to the source pane. Without those entries Textual reads ESC 1 as ``alt+1``. A
keyboard that types ¡ itself (a Spanish layout, Option without "as Meta") sends the
character, not ESC 1, and still types it.

The table is Textual's module-level dict (``textual._ansi_sequences``; the parser looks the
sequence up there as it reads input), so this is done once, before the app starts reading
keys. Textual names no public hook for it.
"""

from __future__ import annotations

from typing import Any, cast

from textual._ansi_sequences import ANSI_SEQUENCES_KEYS

ALT_DIGITS = [f"\x1b{digit}" for digit in "1234567890"]


def read_alt_digits_as_alt() -> None:
    """Drop the entries that turn ESC+digit into a character (idempotent)."""
    table = cast("dict[str, Any]", ANSI_SEQUENCES_KEYS)  # typed Mapping; a dict at run time
    for sequence in ALT_DIGITS:
        if isinstance(table.get(sequence), str):
            del table[sequence]
