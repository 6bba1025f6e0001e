"""Terminal escape sequences in text bound for a place that shows them raw (a DAP console,
a pipe): one pattern for every such place, so that none lets through what another strips."""

from __future__ import annotations

import re

# CSI sequences (colours, cursor moves) and OSC sequences (titles, links), as ECMA-48 frames them
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def strip_ansi(text: str) -> str:
    """``text`` without its escape sequences (colour, style, cursor, titles, links)."""
    return ANSI_ESCAPE.sub("", text)
