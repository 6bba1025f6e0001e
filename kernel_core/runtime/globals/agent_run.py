"""One agent call: hooks around it, the provider conversation, tool calls, streaming.

A call is a generator that yields requests for the Lua side (agent.lua's driver loop) and
receives their replies:

* ``("wait",)``: nothing to do; the provider is still working. The driver simply asks again;
  the round trip through Lua is what lets an armed interrupt fire during a network wait.
* ``("tool", name, params)``: run ``Tool.execute``; the reply is ``(ok, result_or_message)``.
* ``("specs", names)``: describe these tools (``Tool.get``); the reply is ``(True, specs)``.
* ``("chunk", chunk)``: hand a streamed piece to the script's callback.

It returns the result table's data. Errors a script should see are ScriptErrors.
"""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.providers.base import (
    ChatCall,
    ChatRequest,
    ChatResponse,
    Completed,
    Failed,
    Message,
    ProviderError,
    TextDelta,
    ToolSpec,
    Usage,
)

if TYPE_CHECKING:
    from kernel_core.runtime.globals.agent_model import Agent
    from kernel_core.runtime.hook_points import HookDispatcher

POLL_SLICE = 0.05  # seconds a poll may block before control returns to Lua
Request = tuple[Any, ...]
CallGen = Generator[Request, Any, dict[str, Any]]


@dataclass
class CallOptions:
    """Per-call options: ``agent:execute(prompt, options)`` or the input table's keys."""

    temperature: float | None = None
    max_tokens: int | None = None
    system_prompt: str | None = None
    context: dict[str, Any] | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CallOptions:
        """Read the known keys (others are ignored, as LLMSpell ignores them)."""
        options = cls()
        if data.get("temperature") is not None:
            options.temperature = float(data["temperature"])
        if data.get("max_tokens") is not None:
            options.max_tokens = int(data["max_tokens"])
        if data.get("system_prompt") is not None:
            options.system_prompt = str(data["system_prompt"])
        return options


@dataclass
class CallState:
    """What one call holds while it runs (so it can be cancelled from outside)."""

    stream: bool
    started: bool = False
    active: ChatCall | None = None
    chunks: int = 0
    tool_log: list[dict[str, Any]] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    def cancel(self) -> None:
        """Stop the provider request in flight, if any."""
        if self.active is not None:
            self.active.cancel()


class AgentCall:
    """Runs one prompt through an agent (see the module docstring for the protocol)."""

    def __init__(
        self,
        agent: Agent,
        hooks: HookDispatcher,
        lookup: Any,
        *,
        stream: bool,
        depth: int = 0,
    ) -> None:
        self.agent = agent
        self.hooks = hooks
        self.lookup = lookup  # name -> Agent | None, for hook redirects
        self.state = CallState(stream)
        self.depth = depth

    def run(self, prompt: str, options: CallOptions) -> CallGen:
        """The whole call: BeforeAgentExecution, the attempts, AfterAgentExecution."""
        agent = self.agent
        if agent.state in ("Paused", "Terminated", "Error"):
            hint = {"Paused": "agent:resume()", "Error": "agent:recover()"}.get(agent.state)
            raise ScriptError(
                f"Agent '{agent.name}' is {agent.state.lower()} and cannot execute"
                + (f"; call {hint} first" if hint else "")
            )
        component = ("agent", agent.name)
        data: dict[str, Any] = {"agent": agent.name, "input": {"text": prompt}}
        decision = self.hooks.fire("BeforeAgentExecution", component, data)
        if decision.action == "cancel":
            raise ScriptError(
                f"Agent '{agent.name}' execution cancelled by hook: "
                f"{decision.reason or 'no reason given'}"
            )
        if decision.action in ("replace", "skip"):
            default = {"text": "", "skipped": True} if decision.action == "skip" else {}
            return self._shape_hook_result(decision.data, default)
        if decision.action == "modified":
            prompt = _modified_prompt(decision.data, prompt)
        if decision.action == "redirect" and decision.target:
            return (yield from self._redirect(decision.target, prompt, options))

        agent.metrics.requests_total += 1
        agent.metrics.requests_active += 1
        started = time.monotonic()
        try:
            result = yield from self._attempts(prompt, options, started)
        except ScriptError as exc:
            agent.metrics.requests_failed += 1
            agent.last_error = str(exc)
            raise
        finally:
            agent.metrics.requests_active -= 1
            elapsed = (time.monotonic() - started) * 1000
            agent.metrics.last_time_ms = elapsed
            agent.metrics.total_time_ms += elapsed
            agent.check_alerts()

        after = self.hooks.fire(
            "AfterAgentExecution",
            component,
            {"agent": agent.name, "input": {"text": prompt}, "output": result},
        )
        if after.action in ("modified", "replace") and after.data is not None:
            result = _modified_output(after.data, result)
        return result

    def _attempts(self, prompt: str, options: CallOptions, started: float) -> CallGen:
        agent = self.agent
        attempt = 1
        while True:
            try:
                response = yield from self._converse(prompt, options, started)
                break
            except ProviderError as exc:
                decision = self.hooks.fire(
                    "AgentError",
                    ("agent", agent.name),
                    {
                        "agent": agent.name,
                        "error": str(exc),
                        "attempt": attempt,
                        "input": {"text": prompt},
                    },
                )
                if decision.action == "retry" and attempt < max(decision.max_attempts, 1):
                    attempt += 1
                    yield from _sleep(decision.delay_ms / 1000)
                    continue
                if decision.action in ("replace", "modified") and decision.data is not None:
                    return self._shape_hook_result(decision.data, {})
                raise ScriptError(str(exc)) from None
        agent.remember(prompt, response.content)
        agent.metrics.prompt_tokens += self.state.usage.prompt_tokens
        agent.metrics.completion_tokens += self.state.usage.completion_tokens
        return shape_result(response.content, self._metadata(response, started, attempt))

    def _converse(
        self, prompt: str, options: CallOptions, started: float
    ) -> Generator[Request, Any, ChatResponse]:
        agent, cfg = self.agent, self.agent.config
        messages: list[Message] = []
        system = options.system_prompt if options.system_prompt is not None else cfg.system_prompt
        if options.context:
            system = (
                (system + "\n\n" if system else "")
                + "Context data: "
                + json.dumps(options.context, sort_keys=True, default=str)
            )
        if system:
            messages.append(Message("system", system))
        messages += agent.history
        messages.append(Message("user", prompt))
        tools: tuple[ToolSpec, ...] = ()
        if cfg.allowed_tools:
            _, specs = yield ("specs", list(cfg.allowed_tools))
            tools = tuple(tool_spec(s) for s in specs or [])
        self.state.tool_log = []
        self.state.usage = Usage()
        tool_calls_made = 0
        while True:
            request = ChatRequest(
                model=agent.route.model,
                messages=tuple(messages),
                tools=tools,
                temperature=options.temperature
                if options.temperature is not None
                else cfg.temperature,
                max_tokens=options.max_tokens if options.max_tokens is not None else cfg.max_tokens,
            )
            response = yield from self._await(
                agent.route.provider.start(request, stream=self.state.stream), started
            )
            usage = self.state.usage
            self.state.usage = Usage(
                usage.prompt_tokens + response.usage.prompt_tokens,
                usage.completion_tokens + response.usage.completion_tokens,
            )
            if not response.tool_calls:
                return response
            tool_calls_made += len(response.tool_calls)
            if tool_calls_made > cfg.max_tool_calls:
                raise ScriptError(
                    f"Agent '{agent.name}' made more than max_tool_calls = {cfg.max_tool_calls} "
                    "tool calls in one execution (raise it with :max_tool_calls(n))"
                )
            messages.append(Message("assistant", response.content, response.tool_calls))
            for call in response.tool_calls:
                if call.name in cfg.allowed_tools:
                    ok, value = yield ("tool", call.name, call.arguments)
                    agent.metrics.tool_invocations += 1
                    output = value if ok else {"success": False, "error": str(value)}
                else:
                    ok, output = (
                        False,
                        {
                            "success": False,
                            "error": f"tool '{call.name}' is not allowed for this agent",
                        },
                    )
                self.state.tool_log.append(
                    {"name": call.name, "arguments": call.arguments, "success": bool(ok)}
                )
                messages.append(
                    Message(
                        "tool",
                        json.dumps(output, default=str),
                        tool_call_id=call.id,
                        name=call.name,
                    )
                )

    def _await(self, call: ChatCall, started: float) -> Generator[Request, Any, ChatResponse]:
        self.state.active = call
        limit = self.agent.config.max_execution_time
        try:
            while True:
                for event in call.poll(POLL_SLICE):
                    if isinstance(event, TextDelta):
                        self.state.chunks += 1
                        yield (
                            "chunk",
                            {
                                "text": event.text,
                                "content": event.text,
                                "metadata": {
                                    "chunk_index": self.state.chunks,
                                    "agent": self.agent.name,
                                },
                            },
                        )
                    elif isinstance(event, Completed):
                        return event.response
                    elif isinstance(event, Failed):
                        raise event.error
                if limit > 0 and time.monotonic() - started > limit:
                    raise ProviderError(
                        f"Agent '{self.agent.name}' timed out after {limit:g}s "
                        "(max_execution_time; raise it with :max_execution_time(secs))"
                    )
                yield ("wait",)
        finally:
            call.cancel()  # a no-op once finished; stops the worker when we leave early
            self.state.active = None

    def _redirect(self, target: str, prompt: str, options: CallOptions) -> CallGen:
        other = self.lookup(target)
        if other is None:
            raise ScriptError(
                f"hook redirected agent '{self.agent.name}' to unknown agent '{target}'"
            )
        if self.depth >= self.agent.config.max_recursion_depth:
            raise ScriptError(
                f"Agent '{self.agent.name}': hook redirects nested deeper than "
                f"max_recursion_depth = {self.agent.config.max_recursion_depth}"
            )
        inner = AgentCall(
            other, self.hooks, self.lookup, stream=self.state.stream, depth=self.depth + 1
        )
        inner.state = self.state  # the registry cancels through the outer call's state
        return (yield from inner.run(prompt, options))

    def _metadata(self, response: ChatResponse, started: float, attempt: int) -> dict[str, Any]:
        route, usage = self.agent.route, self.state.usage
        meta: dict[str, Any] = {
            "agent": self.agent.name,
            "provider": route.provider_name,
            "model": response.model or route.answering_model,
            "token_count": usage.total_tokens,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "finish_reason": response.finish_reason,
            "execution_time_ms": round((time.monotonic() - started) * 1000, 3),
            "attempts": attempt,
        }
        if route.fallback:
            cfg = self.agent.config
            meta["requested_model"] = "/".join(p for p in (cfg.provider, cfg.model) if p)
            meta["fallback"] = True
        if self.state.tool_log:
            meta["tool_calls"] = list(self.state.tool_log)
        return meta

    def _shape_hook_result(self, data: Any, default: dict[str, Any]) -> dict[str, Any]:
        meta = {
            "agent": self.agent.name,
            "provider": self.agent.route.provider_name,
            "model": self.agent.route.answering_model,
            "token_count": 0,
            "hook": True,
        }
        if isinstance(data, dict):
            out = dict(data)
            out.setdefault("metadata", meta)
            return out
        if data is None:
            return {**default, "metadata": meta}
        return shape_result(str(data), meta)


def shape_result(text: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """An execute result by LLMSpell's rules: a JSON object reply with success/result/operation
    is flattened (plus ``_raw_text``), other JSON adds ``data``; ``text`` (with ``content`` and
    ``response`` aliases) otherwise."""
    result: dict[str, Any]
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
        parsed = False
    else:
        parsed = data is not None
    if parsed and isinstance(data, dict) and {"success", "result", "operation"} & data.keys():
        result = {**data, "_raw_text": text}
    else:
        result = {"text": text, "content": text, "response": text}
        if parsed:
            result["data"] = data
    result["metadata"] = metadata
    return result


def tool_spec(spec: dict[str, Any]) -> ToolSpec:
    """A ToolSpec from ``Tool.get``'s description (parameters as a list or a JSON schema)."""
    params = spec.get("parameters")
    if isinstance(params, dict) and params.get("type") == "object":
        schema = params
    else:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for p in params if isinstance(params, list) else []:
            if not isinstance(p, dict) or not p.get("name"):
                continue
            kind = str(p.get("type") or "string").lower()
            prop: dict[str, Any] = {"type": kind if kind in _JSON_TYPES else "string"}
            if p.get("description"):
                prop["description"] = str(p["description"])
            properties[str(p["name"])] = prop
            if p.get("required"):
                required.append(str(p["name"]))
        schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
    return ToolSpec(str(spec.get("name")), str(spec.get("description") or ""), schema)


_JSON_TYPES = {"string", "number", "integer", "boolean", "object", "array"}


def _sleep(seconds: float) -> Generator[Request, Any, None]:
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, POLL_SLICE))
        yield ("wait",)


def _modified_prompt(data: Any, prompt: str) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        inner = data.get("input", data)
        if isinstance(inner, str):
            return inner
        if isinstance(inner, dict) and isinstance(inner.get("text"), str):
            return str(inner["text"])
    return prompt


def _modified_output(data: Any, result: dict[str, Any]) -> dict[str, Any]:
    if isinstance(data, str):
        return {**result, "text": data, "content": data, "response": data}
    if isinstance(data, dict):
        output = data.get("output", data)
        if isinstance(output, dict):
            merged = {**result, **output}
            if "text" in output:
                merged["content"] = merged["response"] = output["text"]
            return merged
        if isinstance(output, str):
            return {**result, "text": output, "content": output, "response": output}
    return result
