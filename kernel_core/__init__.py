"""llmspell's core library: runs LLMSpell Lua scripts, debugs them, speaks the protocol.

Never imports textual: the TUI is a client of this library like any other.
"""

from __future__ import annotations

__version__ = "0.1.0"
