"""The ``Agent`` global: agents answered by LLM providers, with history, tools and hooks.

The Lua side (agent.lua) holds the builder, the instance methods and the driver loop that
services an :class:`~kernel_core.runtime.globals.agent_run.AgentCall`; this module keeps the
agents of one runtime and gives agent.lua its host functions.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.globals.agent_model import AGENT_TYPES, Agent, AgentConfig
from kernel_core.runtime.globals.agent_run import AgentCall, CallGen, CallOptions, CallState
from kernel_core.runtime.providers.base import ProviderError
from kernel_core.runtime.providers.registry import ProviderRegistry

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

CAPABILITIES = ("chat", "conversation_history", "streaming", "tool_calling")
TEMPLATES: dict[str, dict[str, Any]] = {
    "basic": {"description": "A plain conversational agent"},
    "assistant": {
        "description": "A helpful assistant giving brief answers",
        "system_prompt": "You are a helpful assistant. Answer briefly and precisely.",
    },
    "calculator": {
        "description": "An agent that does arithmetic with the calculator tool",
        "system_prompt": "You solve arithmetic with the calculator tool.",
        "allowed_tools": ["calculator"],
    },
    "researcher": {
        "description": "An agent that summarises what it is given",
        "system_prompt": "You are a careful researcher. Summarise the key points.",
    },
}


class Agents:
    """The agents of one runtime, their calls in flight, contexts and shared memory."""

    def __init__(self, runtime: ScriptRuntime) -> None:
        self.runtime = runtime
        self.providers = ProviderRegistry(runtime.config)
        self.agents: dict[str, Agent] = {}
        self.calls: dict[int, tuple[CallGen, CallState]] = {}
        self._ids = itertools.count(1)
        self.contexts: dict[str, dict[str, Any]] = {}
        self.shared: dict[str, dict[str, Any]] = {}
        self.created = 0

    # ------------------------------------------------------------------ agents

    def build(self, data: Any, where: str) -> str:
        """Create and register an agent from a config table; returns its name."""
        cfg = AgentConfig.from_data(self._data(data, where), where)
        if cfg.name in self.agents:
            raise ScriptError(f"Agent instance '{cfg.name}' already exists")
        hooks, component = self.runtime.hooks, ("agent", cfg.name)
        decision = hooks.fire(
            "BeforeAgentInit", component, {"agent": cfg.name, "config": cfg.public()}
        )
        if decision.action == "cancel":
            raise ScriptError(
                f"Agent '{cfg.name}' creation cancelled by hook: "
                f"{decision.reason or 'no reason given'}"
            )
        if decision.action == "modified" and isinstance(decision.data, dict):
            changed = decision.data.get("config", decision.data)
            if isinstance(changed, dict):
                merged = {**cfg.public(), **changed, "api_key": cfg.api_key, "name": cfg.name}
                cfg = AgentConfig.from_data(merged, where)
        try:
            route = self.providers.resolve(
                cfg.provider, cfg.model, base_url=cfg.base_url, api_key=cfg.api_key
            )
        except ProviderError as exc:
            raise ScriptError(str(exc)) from None
        agent = Agent(cfg, route)
        self.agents[cfg.name] = agent
        self.created += 1
        hooks.fire(
            "AfterAgentInit",
            component,
            {
                "agent": cfg.name,
                "provider": route.provider_name,
                "model": route.answering_model,
            },
        )
        return cfg.name

    def get(self, name: Any, where: str = "agent") -> Agent:
        """The live agent called ``name`` (raises if it was destroyed)."""
        agent = self.agents.get(str(name))
        if agent is None:
            raise ScriptError(f"{where}: agent '{name}' does not exist (it was destroyed)")
        return agent

    def destroy(self, name: str) -> bool:
        """Remove an agent (fires the shutdown hook points)."""
        agent = self.agents.get(name)
        if agent is None:
            return False
        component = ("agent", name)
        self.runtime.hooks.fire("BeforeAgentShutdown", component, {"agent": name})
        agent.set_state("Terminated", "destroy")
        del self.agents[name]
        self.runtime.hooks.fire("AfterAgentShutdown", component, {"agent": name})
        return True

    # ------------------------------------------------------------------ calls

    def begin(
        self, name: Any, input_value: Any, options: Any, stream: bool, context_id: Any = None
    ) -> int:
        """Start a call; agent.lua then drives it with :meth:`resume`."""
        where = "agent:execute_streaming" if stream else "agent:execute"
        agent = self.get(name, where)
        prompt, opts = self._prompt(input_value, options, where)
        if context_id is not None:
            opts.context = self.context_view(str(context_id), "agent:execute_with_context")
        call = AgentCall(agent, self.runtime.hooks, self.agents.get, stream=stream)
        generator = call.run(prompt, opts)
        call_id = next(self._ids)
        self.calls[call_id] = (generator, call.state)
        return call_id

    def resume(self, call_id: int, reply: Any) -> tuple[Any, ...]:
        """Advance a call; returns the next request (kind, ...)."""
        generator, state = self.calls[call_id]
        if not state.started:
            state.started, reply = True, None  # a generator's first send must be None
        try:
            request = generator.send(reply)
        except StopIteration as done:
            return ("done", done.value)
        return request

    def finish(self, call_id: int) -> int:
        """Drop a call (finished, failed or interrupted); returns its streamed chunk count."""
        entry = self.calls.pop(call_id, None)
        if entry is None:
            return 0
        generator, state = entry
        state.cancel()
        generator.close()
        return state.chunks

    def chunks(self, call_id: int) -> int:
        entry = self.calls.get(call_id)
        return entry[1].chunks if entry else 0

    def close(self) -> None:
        """Cancel every call in flight (the runtime is closing)."""
        for call_id in list(self.calls):
            self.finish(call_id)

    # ------------------------------------------------------------------ contexts

    def create_context(
        self, cfg: Any, parent: str | None = None, inheritance: str = "isolate"
    ) -> str:
        """A new context (optionally a child that copies or shares its parent's data)."""
        context_id = f"ctx_{uuid.uuid4().hex[:12]}"
        data: dict[str, Any] = {}
        config = cfg if isinstance(cfg, dict) else {}
        inheritance = str(config.get("inheritance") or inheritance)
        if inheritance not in ("isolate", "copy", "share", "inherit"):
            raise ScriptError(
                f"Agent.create_context: inheritance must be isolate, copy or share, got "
                f"'{inheritance}'"
            )
        if parent is not None:
            parent_ctx = self._context(parent, "Agent.create_child_context")
            if inheritance == "share":
                data = parent_ctx["data"]
            elif inheritance in ("copy", "inherit"):
                data = dict(parent_ctx["data"])
        if isinstance(config.get("data"), dict):
            data.update(config["data"])
        self.contexts[context_id] = {
            "id": context_id,
            "parent": parent,
            "inheritance": inheritance,
            "data": data,
            "scope": config.get("scope", "global"),
            "conversation_id": config.get("conversation_id"),
            "user_id": config.get("user_id"),
            "session_id": config.get("session_id"),
        }
        return context_id

    def _context(self, context_id: str, where: str) -> dict[str, Any]:
        ctx = self.contexts.get(context_id)
        if ctx is None:
            raise ScriptError(
                f"{where}: no context '{context_id}' (create it with Agent.create_context)"
            )
        return ctx

    def context_view(self, context_id: str, where: str) -> dict[str, Any]:
        """The data a context offers to an execution."""
        return dict(self._context(context_id, where)["data"])

    # ------------------------------------------------------------------ helpers

    def _data(self, value: Any, where: str) -> dict[str, Any]:
        data = self.runtime.from_lua(value, what=where) if value is not None else None
        if not isinstance(data, dict):
            raise ScriptError(f"bad argument #1 to '{where}' (table expected, got {_kind(value)})")
        return data

    def _prompt(self, value: Any, options: Any, where: str) -> tuple[str, CallOptions]:
        data = self.runtime.from_lua(value, what=where)
        extra = self.runtime.from_lua(options, what=where) if options is not None else {}
        if not isinstance(extra, dict):
            raise ScriptError(
                f"bad argument #2 to '{where}' (table expected, got {_kind(options)})"
            )
        if isinstance(data, int | float) and not isinstance(data, bool):
            data = str(data)
        if isinstance(data, str):
            return data, CallOptions.from_data(extra)
        if isinstance(data, dict):
            text = next(
                (
                    data[k]
                    for k in ("text", "prompt", "input", "content")
                    if isinstance(data.get(k), str)
                ),
                None,
            )
            if text is None:
                raise ScriptError(
                    f"{where}: the input table needs a 'text' field with the prompt, "
                    'e.g. agent:execute({text = "Hello"})'
                )
            params = data.get("parameters")
            params = params if isinstance(params, dict) else {}
            return text, CallOptions.from_data({**params, **extra})
        raise ScriptError(
            f"bad argument #1 to '{where}' (table or string expected, got {_kind(value)})"
        )


def _kind(value: Any) -> str:
    if value is None:
        return "nil"
    from lupa.lua54 import lua_type

    return lua_type(value) or {bool: "boolean", str: "string"}.get(type(value), "number")


def install(runtime: ScriptRuntime) -> None:
    """Define the ``Agent`` global."""
    agents = Agents(runtime)
    runtime.add_closer(agents.close)
    host = runtime.lua.table()

    def raw(name: str, fn: Callable[..., Any]) -> None:
        # agent.lua calls these inside its driver and raises at the script's line itself
        def call(*args: Any) -> Any:
            try:
                result = fn(*args)
            except ScriptError as exc:
                return (False, str(exc))
            except Exception as exc:
                log.exception("Agent host function %s failed", name)
                return (False, f"internal error in {name}: {type(exc).__name__}: {exc}")
            if isinstance(result, tuple):
                return (True, *(runtime.to_lua(v) for v in result))
            return (True, runtime.to_lua(result))

        host[name] = call

    def wrapped(name: str, fn: Callable[..., Any]) -> None:
        host[name] = runtime.host_function(name, fn)

    raw("build", lambda data, where: agents.build(data, str(where)))
    raw(
        "begin",
        lambda name, value, options, stream, ctx=None: agents.begin(
            name, value, options, bool(stream), ctx
        ),
    )
    raw(
        "resume",
        lambda call_id, ok, value: agents.resume(
            int(call_id), (bool(ok), runtime.convert.from_lua(value, lenient=True))
        ),
    )
    host.finish = lambda call_id: agents.finish(int(call_id))
    host.chunks = lambda call_id: agents.chunks(int(call_id))

    def agent_list() -> list[dict[str, Any]]:
        return [
            {
                "name": a.name,
                "provider": a.route.provider_name,
                "model": a.route.answering_model,
                "state": a.state,
            }
            for a in agents.agents.values()
        ]

    wrapped("Agent.list", agent_list)
    wrapped("Agent.list_instances", lambda: list(agents.agents))
    host.exists = lambda name: str(name) in agents.agents
    wrapped(
        "Agent.discover",
        lambda: [
            {"type": t, "description": info["description"]} for t, info in AGENT_TYPES.items()
        ],
    )

    def get_info(kind: Any) -> dict[str, Any]:
        info = AGENT_TYPES.get(str(kind))
        if info is None:
            raise ScriptError(
                f"Agent.get_info: unknown agent type '{kind}' (known: {', '.join(AGENT_TYPES)})"
            )
        return dict(info)

    wrapped("Agent.get_info", get_info)
    wrapped("Agent.list_templates", lambda: list(TEMPLATES))

    def template_config(instance: Any, template: Any, params: Any) -> dict[str, Any]:
        base = TEMPLATES.get(str(template))
        if base is None:
            raise ScriptError(
                f"Agent.create_from_template: unknown template '{template}' "
                f"(known: {', '.join(TEMPLATES)})"
            )
        extra = runtime.from_lua(params, what="params") if params is not None else {}
        if not isinstance(extra, dict):
            raise ScriptError("bad argument #3 to 'Agent.create_from_template' (table expected)")
        return {**base, **extra, "name": str(instance)}

    wrapped("Agent.template_config", template_config)
    wrapped("Agent.list_capabilities", lambda: list(CAPABILITIES))

    def by_capability(cap: Any) -> list[str]:
        cap = str(cap)
        if cap not in CAPABILITIES:
            return []
        return [
            a.name
            for a in agents.agents.values()
            if cap != "tool_calling" or a.config.allowed_tools
        ]

    wrapped("Agent.discover_by_capability", by_capability)

    def details(name: Any) -> dict[str, Any] | None:
        agent = agents.agents.get(str(name))
        if agent is None:
            return None
        return {
            **agent.config.public(),
            "state": agent.state,
            "provider_used": agent.route.provider_name,
            "model_used": agent.route.answering_model,
            "capabilities": [
                c for c in CAPABILITIES if c != "tool_calling" or agent.config.allowed_tools
            ],
            "metrics": metrics(name),
        }

    wrapped("Agent.get_details", details)

    # ---- instance methods (first argument: the agent's name) ----
    def history(name: Any) -> list[dict[str, Any]]:
        return [
            {"role": m.role, "content": m.content}
            for m in agents.get(name, "agent:get_history").history
        ]

    def reset(name: Any) -> None:
        agents.get(name, "agent:reset").history.clear()

    def metrics(name: Any) -> dict[str, Any]:
        agent = agents.get(name, "agent:get_metrics")
        m = agent.metrics
        return {
            "agent_id": agent.name,
            "requests_total": m.requests_total,
            "requests_failed": m.requests_failed,
            "requests_active": m.requests_active,
            "tool_invocations": m.tool_invocations,
            "memory_bytes": agent.memory_bytes(),
            "cpu_percent": 0.0,
            "prompt_tokens": m.prompt_tokens,
            "completion_tokens": m.completion_tokens,
            "total_tokens": m.prompt_tokens + m.completion_tokens,
            "last_execution_time_ms": round(m.last_time_ms, 3),
        }

    def performance(name: Any) -> dict[str, Any]:
        m = agents.get(name, "agent:get_performance").metrics
        done = m.requests_total - m.requests_active
        return {
            "requests_total": m.requests_total,
            "average_execution_time_ms": round(m.total_time_ms / done, 3) if done else 0.0,
            "last_execution_time_ms": round(m.last_time_ms, 3),
            "success_rate": (done - m.requests_failed) / done if done else 1.0,
            "total_tokens": m.prompt_tokens + m.completion_tokens,
        }

    def health(name: Any) -> dict[str, Any]:
        agent = agents.get(name, "agent:get_health")
        healthy = agent.state not in ("Error", "Terminated")
        return {
            "status": "healthy" if healthy else "unhealthy",
            "healthy": healthy,
            "state": agent.state,
            "last_error": agent.last_error,
            "requests_failed": agent.metrics.requests_failed,
        }

    def bridge_metrics() -> dict[str, Any]:
        return {
            "agents_created": agents.created,
            "active_instances": len(agents.agents),
            "calls_in_flight": len(agents.calls),
        }

    wrapped("agent:get_history", history)
    wrapped("agent:reset", reset)
    wrapped("agent:get_metrics", metrics)
    wrapped("agent:get_performance", performance)
    wrapped("agent:get_health", health)
    wrapped("agent:get_bridge_metrics", lambda name: bridge_metrics())
    wrapped("agent:get_config", lambda name: agents.get(name, "agent:get_config").config.public())
    wrapped(
        "agent:allowed_tools",
        lambda name: list(agents.get(name, "agent:discover_tools").config.allowed_tools),
    )
    wrapped("agent:get_state", lambda name: agents.get(name, "agent:get_state").state)

    def count_tool(name: Any) -> None:
        agents.get(name, "agent:invokeTool").metrics.tool_invocations += 1

    wrapped("agent:count_tool", count_tool)

    def lifecycle(action: str) -> Callable[[Any], str]:
        def run(name: Any) -> str:
            agent = agents.get(name, f"agent:{action}")
            if action == "terminate":
                runtime.hooks.fire(
                    "BeforeAgentShutdown", ("agent", agent.name), {"agent": agent.name}
                )
            state = agent.transition(action)
            if action == "terminate":
                runtime.hooks.fire(
                    "AfterAgentShutdown", ("agent", agent.name), {"agent": agent.name}
                )
            return state

        return run

    for action in ("initialize", "start", "pause", "resume", "stop", "terminate", "recover"):
        wrapped(f"agent:{action}", lifecycle(action))

    def set_error(name: Any, message: Any) -> str:
        agent = agents.get(name, "agent:set_error")
        agent.last_error = str(message)
        agent.set_state("Error", str(message))
        runtime.hooks.fire(
            "AgentError", ("agent", agent.name), {"agent": agent.name, "error": str(message)}
        )
        return agent.state

    wrapped("agent:set_error", set_error)
    wrapped(
        "agent:get_state_history",
        lambda name: list(agents.get(name, "agent:get_state_history").state_history),
    )
    wrapped(
        "agent:get_last_error", lambda name: agents.get(name, "agent:get_last_error").last_error
    )
    wrapped(
        "agent:get_recovery_attempts",
        lambda name: agents.get(name, "agent:get_recovery_attempts").recovery_attempts,
    )
    wrapped("agent:is_healthy", lambda name: health(name)["healthy"])

    def state_metrics(name: Any) -> dict[str, Any]:
        agent = agents.get(name, "agent:get_state_metrics")
        return {
            "current_state": agent.state,
            "transitions": len(agent.state_history),
            "recovery_attempts": agent.recovery_attempts,
            "last_error": agent.last_error,
        }

    wrapped("agent:get_state_metrics", state_metrics)

    def log_event(name: Any, kind: Any, message: Any = None) -> None:
        agents.get(name, "agent:logEvent").events.append(
            {
                "type": str(kind),
                "message": "" if message is None else str(message),
                "timestamp": time.time(),
            }
        )

    def configure_alerts(name: Any, cfg: Any) -> None:
        data = runtime.from_lua(cfg, what="alert config")
        if not isinstance(data, dict):
            raise ScriptError("bad argument #1 to 'agent:configure_alerts' (table expected)")
        agents.get(name, "agent:configure_alerts").alert_config = data

    wrapped("agent:logEvent", log_event)
    wrapped("agent:get_events", lambda name: list(agents.get(name, "agent:get_events").events))
    wrapped("agent:configure_alerts", configure_alerts)
    wrapped("agent:get_alerts", lambda name: list(agents.get(name, "agent:get_alerts").alerts))

    def snapshot(name: Any) -> dict[str, Any]:
        agent = agents.get(name, "agent:save_state")
        return {"state": agent.state, "history": history(name), "config": agent.config.public()}

    def restore(name: Any, data: Any) -> None:
        from kernel_core.runtime.providers.base import Message

        agent = agents.get(name, "agent:load_state")
        snap = runtime.from_lua(data, what="saved agent state")
        if not isinstance(snap, dict):
            return
        agent.history = [
            Message(m["role"], str(m.get("content") or ""))
            for m in snap.get("history") or []
            if isinstance(m, dict) and m.get("role") in ("user", "assistant")
        ]
        if snap.get("state") in ("Ready", "Running", "Paused", "Error"):
            agent.set_state(str(snap["state"]), "load_state")

    wrapped("agent:snapshot", snapshot)
    wrapped("agent:restore", restore)
    wrapped("agent:destroy", lambda name: agents.destroy(str(name)))

    # ---- contexts and shared memory ----
    wrapped(
        "Agent.create_context",
        lambda cfg=None: agents.create_context(runtime.from_lua(cfg) if cfg is not None else {}),
    )
    wrapped(
        "Agent.create_child_context",
        lambda parent, scope=None, inheritance=None: agents.create_context(
            {"scope": scope, "inheritance": inheritance or "copy"}, str(parent)
        ),
    )

    def update_context(ctx: Any, key: Any, value: Any) -> None:
        agents._context(str(ctx), "Agent.update_context")["data"][str(key)] = runtime.from_lua(
            value, what="context value"
        )

    def get_context_data(ctx: Any, key: Any) -> Any:
        return agents._context(str(ctx), "Agent.get_context_data")["data"].get(str(key))

    def remove_context(ctx: Any) -> None:
        agents._context(str(ctx), "Agent.remove_context")
        del agents.contexts[str(ctx)]

    wrapped("Agent.update_context", update_context)
    wrapped("Agent.get_context_data", get_context_data)
    wrapped("Agent.remove_context", remove_context)

    def scope_key(scope: Any, where: str) -> str:
        data = runtime.from_lua(scope, what="scope")
        if data == "global":
            return "global"
        if (
            isinstance(data, dict)
            and data.get("type") in ("session", "workflow", "agent", "user")
            and data.get("id")
        ):
            return f"{data['type']}:{data['id']}"
        raise ScriptError(
            f'{where}: scope must be "global" or {{type="session"|"workflow"'
            f'|"agent"|"user", id=...}}'
        )

    def set_shared(scope: Any, key: Any, value: Any) -> None:
        agents.shared.setdefault(scope_key(scope, "Agent.set_shared_memory"), {})[str(key)] = (
            runtime.from_lua(value, what="shared memory value")
        )

    def get_shared(scope: Any, key: Any) -> Any:
        return agents.shared.get(scope_key(scope, "Agent.get_shared_memory"), {}).get(str(key))

    wrapped("Agent.set_shared_memory", set_shared)
    wrapped("Agent.get_shared_memory", get_shared)

    runtime.set_global(
        "Agent",
        runtime.load_lua(
            "kernel_core.runtime.globals", "agent.lua", host, runtime.api, runtime.mux
        ),
    )
