"""When the CLI's own reports (error tracebacks, hints) are coloured: one rule for every
command, local or ``--connect``.

Colour only on a terminal; ``NO_COLOR`` (https://no-color.org, any non-empty value) turns it
off everywhere, and ``FORCE_COLOR`` (non-empty, not ``0``) turns it on for a pipe or a file,
as most tools read them. ``NO_COLOR`` wins when both are set.
"""

from __future__ import annotations

import os
from typing import TextIO

from kernel_core.ansi import strip_ansi


def use_colour(stream: TextIO) -> bool:
    """Whether text written to ``stream`` may carry ANSI colour."""
    if os.environ.get("NO_COLOR", ""):
        return False
    if os.environ.get("FORCE_COLOR", "") not in ("", "0"):
        return True
    try:
        return stream.isatty()
    except ValueError:  # a closed stream
        return False


__all__ = ["strip_ansi", "use_colour"]
