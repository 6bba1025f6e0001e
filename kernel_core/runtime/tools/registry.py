"""The tools a Lua world knows: the built-in catalogue plus tools registered by the script."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kernel_core.runtime.tools.result import ToolOutput
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

log = logging.getLogger(__name__)

Runner = Callable[[dict[str, Any], ToolContext], ToolOutput]

# Modules holding built-in tools, each with a TOOLS tuple; imported on first use so that
# `llmspell run` does not pay for tools a script never calls.
BUILTIN_MODULES = (
    "calculator",
    "json_processor",
    "text",
    "files",
    "encoding",
    "datetime_tool",
    "template",
    "process",
    "data",
    "diff",
    "csv_tool",
    "system",
    "url",
)

# LLMSpell tools that need the network. They are not registered; calling one explains why.
NETWORK_TOOLS = (
    "http-requester",
    "graphql-query",
    "web-searcher",
    "web-scraper",
    "api-tester",
    "webhook-caller",
    "webpage-monitor",
    "sitemap-crawler",
    "email-sender",
    "database-connector",
    "service-checker",
)


@dataclass(frozen=True)
class ToolSpec:
    """A tool: its identity, parameter schema and the function that runs it."""

    name: str
    description: str
    category: str
    parameters: tuple[Param, ...]
    run: Runner
    version: str = "1.0.0"
    security_level: str = "safe"
    builtin: bool = True
    # True for tools written in Lua: they must run on the Lua thread, never in a worker
    runs_lua: bool = False

    def info(self) -> dict[str, Any]:
        """``{name, description, category, version, security_level, builtin}``."""
        return {
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "version": self.version,
            "security_level": self.security_level,
            "builtin": self.builtin,
        }

    def schema(self) -> dict[str, Any]:
        """``{name, description, parameters = {{name, type, description, required, ...}}}``."""
        return {
            "name": self.name,
            "description": self.description,
            "parameters": [p.describe() for p in self.parameters],
        }


class ToolRegistry:
    """Tools by name for one runtime."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec] | None = None

    def _loaded(self) -> dict[str, ToolSpec]:
        if self._tools is None:
            tools: dict[str, ToolSpec] = {}
            for module_name in BUILTIN_MODULES:
                module = importlib.import_module(f"kernel_core.runtime.tools.{module_name}")
                for spec in module.TOOLS:
                    tools[spec.name] = spec
            self._tools = tools
        return self._tools

    def get(self, name: str) -> ToolSpec | None:
        """The tool called ``name``, or None."""
        return self._loaded().get(name)

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(sorted(self._loaded().values(), key=lambda s: s.name))

    def names(self) -> list[str]:
        """Every tool name, sorted."""
        return sorted(self._loaded())

    def register(self, spec: ToolSpec) -> None:
        """Add or replace a script-defined tool (built-ins cannot be replaced)."""
        tools = self._loaded()
        existing = tools.get(spec.name)
        if existing is not None and existing.builtin:
            raise ValueError(
                f"'{spec.name}' is a built-in tool and cannot be replaced; choose another name"
            )
        tools[spec.name] = spec

    def unregister(self, name: str) -> bool:
        """Remove a script-defined tool; False if there is none (built-ins stay)."""
        tools = self._loaded()
        spec = tools.get(name)
        if spec is None or spec.builtin:
            return False
        del tools[name]
        return True
