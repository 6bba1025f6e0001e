"""llmspell's application: the command line, the Textual TUI and the line REPL."""

from __future__ import annotations

from kernel_core import __version__

__all__ = ["__version__"]
