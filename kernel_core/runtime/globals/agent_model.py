"""What an agent is: its configuration (from the builder, ``Agent.create`` or
``Agent.register``), its conversation, its counters and its lifecycle state."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.providers.base import Message
from kernel_core.runtime.providers.registry import Route, split_model

DEFAULT_DESCRIPTION = "LLM-powered agent"
AGENT_TYPES: dict[str, dict[str, Any]] = {
    "llm": {
        "name": "llm",
        "description": "An agent answered by an LLM provider, with history and tool calling",
        "category": "llm",
        "complexity": "moderate",
        "required_parameters": [],
        "optional_parameters": [
            "model",
            "provider",
            "system_prompt",
            "temperature",
            "max_tokens",
            "allowed_tools",
        ],
    },
    "basic": {
        "name": "basic",
        "description": "A plain agent; in llmspell it is answered like an llm agent",
        "category": "basic",
        "complexity": "simple",
        "required_parameters": [],
        "optional_parameters": ["model", "system_prompt"],
    },
}
RESOURCE_KEYS = {
    "max_execution_time_secs": "max_execution_time",
    "max_execution_time": "max_execution_time",
    "max_memory_mb": "max_memory_mb",
    "max_tool_calls": "max_tool_calls",
    "max_recursion_depth": "max_recursion_depth",
}


def _provider_name(value: Any) -> Any:
    """A Provider.list() entry (a table with ``name``) stands for its name, as in LLMSpell."""
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"]
    return value


@dataclass
class AgentConfig:
    """Everything that configures one agent (the API key is never shown)."""

    name: str
    description: str = DEFAULT_DESCRIPTION
    agent_type: str = "llm"
    provider: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    max_conversation_length: int = 100
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    allowed_tools: list[str] = field(default_factory=list)
    max_execution_time: float = 300.0
    max_memory_mb: int = 512
    max_tool_calls: int = 100
    max_recursion_depth: int = 10
    custom_config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: dict[str, Any], where: str) -> AgentConfig:
        """Build from a script's table: builder fields, the ``Agent.register`` shape
        (``model = {provider, model_id, ...}``) or flat ``Agent.create`` keys."""
        cfg = cls(name=str(data.get("name") or f"agent_{uuid.uuid4().hex[:8]}"))
        cfg.description = str(data.get("description") or DEFAULT_DESCRIPTION)
        cfg.agent_type = str(data.get("type") or data.get("agent_type") or "llm")
        provider = _provider_name(data.get("provider"))
        cfg.provider = str(provider) if provider else None
        model = data.get("model")
        if isinstance(model, dict):
            cfg.provider = str(_provider_name(model.get("provider")) or cfg.provider or "") or None
            model_id = model.get("model_id") or model.get("model")
            cfg.model = str(model_id) if model_id else None
            for key in ("temperature", "max_tokens"):
                if model.get(key) is not None:
                    data = {key: model[key], **data}
        elif model:
            named, bare = split_model(str(model))
            cfg.provider = named or cfg.provider
            cfg.model = bare
        custom = data.get("custom_config") or {}
        if not isinstance(custom, dict):
            raise ScriptError(f"{where}: custom_config must be a table")
        cfg.custom_config = dict(custom)
        cfg.system_prompt = _opt_str(data.get("system_prompt", custom.get("system_prompt")))
        cfg.temperature = _opt_number(data.get("temperature"), "temperature", where)
        max_tokens = _opt_number(data.get("max_tokens"), "max_tokens", where)
        cfg.max_tokens = int(max_tokens) if max_tokens is not None else None
        length = data.get("max_conversation_length", custom.get("max_conversation_length"))
        if length is not None:
            cfg.max_conversation_length = int(_number(length, "max_conversation_length", where))
        cfg.base_url = _opt_str(data.get("base_url"))
        cfg.api_key = _opt_str(data.get("api_key"))
        tools = data.get("allowed_tools", data.get("tools")) or []
        if isinstance(tools, str):
            tools = [tools]
        if not isinstance(tools, list):
            raise ScriptError(f"{where}: allowed_tools must be an array of tool names")
        cfg.allowed_tools = [str(t) for t in tools if t is not None]
        limits = dict(data.get("resource_limits") or {})
        for key in RESOURCE_KEYS:
            if key in data:
                limits.setdefault(key, data[key])
        for key, value in limits.items():
            attr = RESOURCE_KEYS.get(key)
            if attr is None:
                continue
            number = _number(value, key, where)
            setattr(cfg, attr, float(number) if attr == "max_execution_time" else int(number))
        return cfg

    def public(self) -> dict[str, Any]:
        """The configuration as a script may see it (no API key)."""
        return {
            "name": self.name,
            "description": self.description,
            "type": self.agent_type,
            "provider": self.provider,
            "model": self.model,
            "system_prompt": self.system_prompt,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "max_conversation_length": self.max_conversation_length,
            "base_url": self.base_url,
            "allowed_tools": list(self.allowed_tools),
            "resource_limits": {
                "max_execution_time_secs": self.max_execution_time,
                "max_memory_mb": self.max_memory_mb,
                "max_tool_calls": self.max_tool_calls,
                "max_recursion_depth": self.max_recursion_depth,
            },
            "custom_config": dict(self.custom_config),
        }


@dataclass
class AgentMetrics:
    """Real counters of one agent."""

    requests_total: int = 0
    requests_failed: int = 0
    requests_active: int = 0
    tool_invocations: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_time_ms: float = 0.0
    last_time_ms: float = 0.0


STATES = ("Uninitialized", "Ready", "Running", "Paused", "Terminated", "Error")
# which states each lifecycle call may start from, and where it leads
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "initialize": (("Uninitialized", "Ready"), "Ready"),
    "start": (("Ready", "Paused", "Running"), "Running"),
    "pause": (("Running", "Ready"), "Paused"),
    "resume": (("Paused",), "Running"),
    "stop": (("Running", "Paused", "Ready"), "Ready"),
    "terminate": (tuple(s for s in STATES if s != "Terminated"), "Terminated"),
    "recover": (("Error",), "Ready"),
}


@dataclass
class Agent:
    """One live agent of a runtime."""

    config: AgentConfig
    route: Route
    history: list[Message] = field(default_factory=list)
    metrics: AgentMetrics = field(default_factory=AgentMetrics)
    state: str = "Ready"
    state_history: list[dict[str, Any]] = field(default_factory=list)
    last_error: str | None = None
    recovery_attempts: int = 0
    alert_config: dict[str, Any] = field(default_factory=dict)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.config.name

    def set_state(self, new: str, reason: str = "") -> None:
        """Move to ``new`` and remember the transition."""
        if new != self.state:
            self.state_history.append(
                {"from": self.state, "to": new, "reason": reason, "timestamp": time.time()}
            )
            self.state = new

    def transition(self, action: str) -> str:
        """Apply a lifecycle call (``start``, ``pause``, ...) or raise naming the state."""
        allowed, target = TRANSITIONS[action]
        if self.state not in allowed:
            raise ScriptError(
                f"cannot {action} agent '{self.name}' in state {self.state} (allowed from: "
                f"{', '.join(allowed)})"
            )
        if action == "recover":
            self.recovery_attempts += 1
            self.last_error = None
        self.set_state(target, action)
        return self.state

    def remember(self, user: str, reply: str) -> None:
        """Add one exchange to the conversation, keeping at most max_conversation_length."""
        self.history += [Message("user", user), Message("assistant", reply)]
        limit = self.config.max_conversation_length
        if limit > 0 and len(self.history) > limit:
            del self.history[: len(self.history) - limit]

    def memory_bytes(self) -> int:
        """Bytes of conversation text this agent holds."""
        return sum(len(m.content.encode()) for m in self.history)

    def check_alerts(self) -> None:
        """Record an alert for each configured threshold that the counters now cross."""
        cfg, m = self.alert_config, self.metrics
        checks = (
            ("max_failures", m.requests_failed, "requests failed"),
            ("max_latency_ms", m.last_time_ms, "ms for the last request"),
            ("max_tool_calls", m.tool_invocations, "tool invocations"),
        )
        for key, value, what in checks:
            limit = cfg.get(key)
            if isinstance(limit, int | float) and value > limit:
                self.alerts.append(
                    {
                        "type": key,
                        "message": f"agent '{self.name}': {value:g} {what} (limit {limit:g})",
                        "timestamp": time.time(),
                    }
                )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ScriptError(f"{where}: {key} must be a number, got {value!r}") from None
    return float(value)


def _opt_number(value: Any, key: str, where: str) -> float | None:
    return None if value is None else _number(value, key, where)
