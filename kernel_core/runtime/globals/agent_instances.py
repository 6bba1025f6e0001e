"""The agents of one runtime: creation, calls in flight, contexts and shared memory."""

from __future__ import annotations

import itertools
import uuid
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.globals.agent_model import Agent, AgentConfig
from kernel_core.runtime.globals.agent_run import AgentCall, CallGen, CallOptions, CallState
from kernel_core.runtime.providers.base import ProviderError
from kernel_core.runtime.providers.registry import ProviderRegistry

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime


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
