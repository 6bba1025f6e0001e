"""Errors of the Lua runtime."""

from __future__ import annotations

from kernel_core.errors import LlmspellError


class ScriptError(LlmspellError):
    """Raised by a host function called from Lua; becomes a Lua error with this message,
    raised at the script's calling line."""


class RuntimeSetupError(LlmspellError):
    """The Lua runtime could not be created (bad configuration, missing lupa module)."""
