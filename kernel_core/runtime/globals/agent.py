"""The ``Agent`` global: agents answered by LLM providers, with history, tools and hooks.

The Lua side (agent.lua) holds the builder, the instance methods and the driver loop that
services an :class:`~kernel_core.runtime.globals.agent_run.AgentCall`; agent_instances.py
keeps the agents of one runtime; this module gives agent.lua its host functions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.errors import ScriptError

if TYPE_CHECKING:
    from kernel_core.runtime.globals.agent_instances import Agents
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


def _agent_types() -> dict[str, dict[str, Any]]:
    from kernel_core.runtime.globals.agent_model import AGENT_TYPES

    return AGENT_TYPES


def install(runtime: ScriptRuntime) -> None:
    """Define the ``Agent`` global."""
    created: list[Agents] = []

    def agents() -> Agents:
        # the agent machinery costs ~15 ms to import: load it when a script first uses it
        if not created:
            from kernel_core.runtime.globals.agent_instances import Agents

            created.append(Agents(runtime))
        return created[0]

    runtime.add_closer(lambda: created[0].close() if created else None)
    host = runtime.lua.table()

    def raw(name: str, fn: Callable[..., Any]) -> None:
        # agent.lua calls these inside its driver and raises at the script's line itself
        label = "Agent.build" if name == "build" else "Agent.execute"

        def call(*args: Any) -> Any:
            # the profiler attributes time spent waiting on a provider to this name
            outer, runtime.host_call = runtime.host_call, label
            try:
                result = fn(*args)
            except ScriptError as exc:
                return (False, str(exc))
            except Exception as exc:
                log.exception("Agent host function %s failed", name)
                return (False, f"internal error in {name}: {type(exc).__name__}: {exc}")
            finally:
                runtime.host_call = outer
            if isinstance(result, tuple):
                return (True, *(runtime.to_lua(v) for v in result))
            return (True, runtime.to_lua(result))

        host[name] = call

    def wrapped(name: str, fn: Callable[..., Any]) -> None:
        host[name] = runtime.host_function(name, fn)

    raw("build", lambda data, where: agents().build(data, str(where)))
    raw(
        "begin",
        lambda name, value, options, stream, ctx=None: agents().begin(
            name, value, options, bool(stream), ctx
        ),
    )
    raw(
        "resume",
        lambda call_id, ok, value: agents().resume(
            int(call_id), (bool(ok), runtime.convert.from_lua(value, lenient=True))
        ),
    )
    host.finish = lambda call_id: agents().finish(int(call_id))
    host.chunks = lambda call_id: agents().chunks(int(call_id))

    def agent_list() -> list[dict[str, Any]]:
        return [
            {
                "name": a.name,
                "provider": a.route.provider_name,
                "model": a.route.answering_model,
                "state": a.state,
            }
            for a in agents().agents.values()
        ]

    wrapped("Agent.list", agent_list)
    wrapped("Agent.list_instances", lambda: list(agents().agents))
    host.exists = lambda name: str(name) in agents().agents
    wrapped(
        "Agent.discover",
        lambda: [
            {"type": t, "description": info["description"]} for t, info in _agent_types().items()
        ],
    )

    def get_info(kind: Any) -> dict[str, Any]:
        info = _agent_types().get(str(kind))
        if info is None:
            raise ScriptError(
                f"Agent.get_info: unknown agent type '{kind}' (known: {', '.join(_agent_types())})"
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
            for a in agents().agents.values()
            if cap != "tool_calling" or a.config.allowed_tools
        ]

    wrapped("Agent.discover_by_capability", by_capability)

    def details(name: Any) -> dict[str, Any] | None:
        agent = agents().agents.get(str(name))
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
            for m in agents().get(name, "agent:get_history").history
        ]

    def reset(name: Any) -> None:
        agents().get(name, "agent:reset").history.clear()

    def metrics(name: Any) -> dict[str, Any]:
        agent = agents().get(name, "agent:get_metrics")
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
        m = agents().get(name, "agent:get_performance").metrics
        done = m.requests_total - m.requests_active
        return {
            "requests_total": m.requests_total,
            "average_execution_time_ms": round(m.total_time_ms / done, 3) if done else 0.0,
            "last_execution_time_ms": round(m.last_time_ms, 3),
            "success_rate": (done - m.requests_failed) / done if done else 1.0,
            "total_tokens": m.prompt_tokens + m.completion_tokens,
        }

    def health(name: Any) -> dict[str, Any]:
        agent = agents().get(name, "agent:get_health")
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
            "agents_created": agents().created,
            "active_instances": len(agents().agents),
            "calls_in_flight": len(agents().calls),
        }

    wrapped("agent:get_history", history)
    wrapped("agent:reset", reset)
    wrapped("agent:get_metrics", metrics)
    wrapped("agent:get_performance", performance)
    wrapped("agent:get_health", health)
    wrapped("agent:get_bridge_metrics", lambda name: bridge_metrics())
    wrapped("agent:get_config", lambda name: agents().get(name, "agent:get_config").config.public())
    wrapped(
        "agent:allowed_tools",
        lambda name: list(agents().get(name, "agent:discover_tools").config.allowed_tools),
    )
    wrapped("agent:get_state", lambda name: agents().get(name, "agent:get_state").state)

    def count_tool(name: Any) -> None:
        agents().get(name, "agent:invokeTool").metrics.tool_invocations += 1

    wrapped("agent:count_tool", count_tool)

    def lifecycle(action: str) -> Callable[[Any], str]:
        def run(name: Any) -> str:
            agent = agents().get(name, f"agent:{action}")
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
        agent = agents().get(name, "agent:set_error")
        agent.last_error = str(message)
        agent.set_state("Error", str(message))
        runtime.hooks.fire(
            "AgentError", ("agent", agent.name), {"agent": agent.name, "error": str(message)}
        )
        return agent.state

    wrapped("agent:set_error", set_error)
    wrapped(
        "agent:get_state_history",
        lambda name: list(agents().get(name, "agent:get_state_history").state_history),
    )
    wrapped(
        "agent:get_last_error", lambda name: agents().get(name, "agent:get_last_error").last_error
    )
    wrapped(
        "agent:get_recovery_attempts",
        lambda name: agents().get(name, "agent:get_recovery_attempts").recovery_attempts,
    )
    wrapped("agent:is_healthy", lambda name: health(name)["healthy"])

    def state_metrics(name: Any) -> dict[str, Any]:
        agent = agents().get(name, "agent:get_state_metrics")
        return {
            "current_state": agent.state,
            "transitions": len(agent.state_history),
            "recovery_attempts": agent.recovery_attempts,
            "last_error": agent.last_error,
        }

    wrapped("agent:get_state_metrics", state_metrics)

    def log_event(name: Any, kind: Any, message: Any = None) -> None:
        agents().get(name, "agent:logEvent").events.append(
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
        agents().get(name, "agent:configure_alerts").alert_config = data

    wrapped("agent:logEvent", log_event)
    wrapped("agent:get_events", lambda name: list(agents().get(name, "agent:get_events").events))
    wrapped("agent:configure_alerts", configure_alerts)
    wrapped("agent:get_alerts", lambda name: list(agents().get(name, "agent:get_alerts").alerts))

    def snapshot(name: Any) -> dict[str, Any]:
        agent = agents().get(name, "agent:save_state")
        return {"state": agent.state, "history": history(name), "config": agent.config.public()}

    def restore(name: Any, data: Any) -> None:
        from kernel_core.runtime.providers.base import Message

        agent = agents().get(name, "agent:load_state")
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
    wrapped("agent:destroy", lambda name: agents().destroy(str(name)))

    # ---- contexts and shared memory ----
    wrapped(
        "Agent.create_context",
        lambda cfg=None: agents().create_context(runtime.from_lua(cfg) if cfg is not None else {}),
    )
    wrapped(
        "Agent.create_child_context",
        lambda parent, scope=None, inheritance=None: agents().create_context(
            {"scope": scope, "inheritance": inheritance or "copy"}, str(parent)
        ),
    )

    def update_context(ctx: Any, key: Any, value: Any) -> None:
        agents()._context(str(ctx), "Agent.update_context")["data"][str(key)] = runtime.from_lua(
            value, what="context value"
        )

    def get_context_data(ctx: Any, key: Any) -> Any:
        return agents()._context(str(ctx), "Agent.get_context_data")["data"].get(str(key))

    def remove_context(ctx: Any) -> None:
        agents()._context(str(ctx), "Agent.remove_context")
        del agents().contexts[str(ctx)]

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
        agents().shared.setdefault(scope_key(scope, "Agent.set_shared_memory"), {})[str(key)] = (
            runtime.from_lua(value, what="shared memory value")
        )

    def get_shared(scope: Any, key: Any) -> Any:
        return agents().shared.get(scope_key(scope, "Agent.get_shared_memory"), {}).get(str(key))

    wrapped("Agent.set_shared_memory", set_shared)
    wrapped("Agent.get_shared_memory", get_shared)

    runtime.set_global(
        "Agent",
        runtime.load_lua(
            "kernel_core.runtime.globals", "agent.lua", host, runtime.api, runtime.mux
        ),
    )
