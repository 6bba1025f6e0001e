"""The exception hierarchy: one base, narrow subclasses carrying what a user needs to act."""

from __future__ import annotations


class LlmspellError(Exception):
    """Base of every error llmspell raises on purpose.

    The CLI prints ``str(error)`` and exits with ``exit_status``.
    """

    exit_status = 1


class ConfigError(LlmspellError):
    """A configuration file, profile or environment override is wrong."""

    exit_status = 2


class UsageError(LlmspellError):
    """A command was called with arguments that cannot work."""

    exit_status = 2


class ScriptNotFoundError(LlmspellError):
    """The script to run does not exist or cannot be read."""

    exit_status = 2
