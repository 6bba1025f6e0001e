"""Errors a tool raises; ``str(error)`` is ``"<kind>: <message>"`` as LLMSpell displays it."""

from __future__ import annotations

from kernel_core.errors import LlmspellError


class ToolError(LlmspellError):
    """A tool failed; ``kind`` is the display name of the failure class (tools.md §3)."""

    kind = "Tool execution error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class ToolValidationError(ToolError):
    """Parameters are missing, of the wrong type or out of range."""

    kind = "Validation error"


class SecurityViolation(ToolError):
    """The call would leave the sandbox (paths, executables, environment variables)."""

    kind = "Security violation"


class StorageError(ToolError):
    """A file could not be read or written."""

    kind = "Storage error"


class ResourceLimitError(ToolError):
    """Input or output is larger than the tool allows."""

    kind = "Resource limit exceeded"


class ToolTimeoutError(ToolError):
    """The tool ran longer than its time limit."""

    kind = "Timeout error"


class ToolCancelledError(ToolTimeoutError):
    """Raised inside a tool that noticed its caller stopped waiting for it."""
