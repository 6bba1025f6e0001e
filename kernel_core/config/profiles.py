"""Built-in configuration profiles (``llmspell -p NAME``), named as LLMSpell's scripts use them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    """A named set of settings layered over the files."""

    description: str
    settings: dict[str, Any]


PROFILES: dict[str, Profile] = {
    "minimal": Profile("Tools only; agents answer from the local provider.", {}),
    "default": Profile("The defaults.", {}),
    "development": Profile(
        "Verbose Debug logging; providers from your config or LLMSPELL_PROVIDERS__* env.",
        {"debug": {"level": "debug"}},
    ),
    "providers": Profile("Providers from your config or environment.", {}),
    "state": Profile("Persistent State in the user data directory.", {}),
    "sessions": Profile("Persistent State, Session and Artifact.", {}),
    "cli": Profile("Layer name used by LLMSpell's bases/cli.", {}),
    "llm": Profile("Layer name used by LLMSpell's features/llm.", {}),
    "dev": Profile("Layer name used by LLMSpell's envs/dev.", {"debug": {"level": "debug"}}),
    "restricted": Profile(
        "The restricted sandbox: no processes, files only under allowed paths.",
        {"runtime": {"sandbox": "restricted"}},
    ),
}

# Profiles LLMSpell has that need subsystems we do not ship: a clear error, never a crash.
UNSUPPORTED_PROFILES: dict[str, str] = {
    "ollama": "a local Ollama server integration",
    "candle": "local Candle models",
    "memory": "the adaptive Memory subsystem",
    "rag-dev": "RAG (vector storage)",
    "rag-prod": "RAG (vector storage)",
    "rag-perf": "RAG (vector storage)",
    "postgres-prod": "a PostgreSQL backend",
    "daemon-dev": "LLMSpell's daemon mode",
    "daemon-prod": "LLMSpell's daemon mode",
    "full-local-ollama": "a local Ollama server integration",
    "research": "RAG and the Memory subsystem",
    "gemini-prod": "the Gemini provider (configure it as an OpenAI-compatible endpoint instead)",
    "openai-prod": "provider credentials (set [providers.openai] in llmspell.toml instead)",
    "claude-prod": "the Anthropic provider (configure an OpenAI-compatible endpoint instead)",
}
