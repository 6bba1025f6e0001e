"""Running a tool call: hook points, parameter validation, timeout, retries, result shaping.

The order for one ``Tool.execute(name, params, options)``:

1. ``ToolValidation`` hook (modified -> new parameters, skip -> no validation, cancel),
   then validation against the tool's schema;
2. ``BeforeToolExecution`` (modified parameters, skip, cancel, replace, redirect);
3. the tool itself, under ``options.timeout``; a failure fires ``ToolError`` (retry,
   replace) and is retried ``options.retry`` more times before it is raised;
4. ``AfterToolExecution`` on the shaped result (modified -> new result, retry -> run again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kernel_core.errors import LlmspellError
from kernel_core.runtime.hook_points import HookDecision, HookDispatcher
from kernel_core.runtime.tools.errors import ToolError, ToolTimeoutError
from kernel_core.runtime.tools.registry import NETWORK_TOOLS, ToolRegistry, ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, shape
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import validate

log = logging.getLogger(__name__)

MAX_REDIRECTS = 8


class ToolNotFoundError(LlmspellError):
    """No tool has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Tool '{name}' not found")
        self.name = name


class NetworkToolError(LlmspellError):
    """The tool exists in LLMSpell but needs the network."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"tool '{name}' needs network access, which llmspell does not provide offline"
        )


class HookCancelledError(LlmspellError):
    """A hook cancelled the call."""


@dataclass
class CallOptions:
    """``Tool.execute``'s third argument."""

    timeout: float | None = None
    retry: int = 0


def lookup(registry: ToolRegistry, name: str) -> ToolSpec:
    """The tool called ``name``, or raise a not-found (or needs-network) error."""
    spec = registry.get(name)
    if spec is not None:
        return spec
    if name in NETWORK_TOOLS:
        raise NetworkToolError(name)
    raise ToolNotFoundError(name)


class ToolRunner:
    """Runs tool calls for one runtime."""

    def __init__(
        self,
        registry: ToolRegistry,
        make_context: Callable[[], ToolContext],
        hooks: Callable[[], HookDispatcher],
        run_lua_tool: Callable[[ToolSpec, dict[str, Any], ToolContext, float | None], ToolOutput]
        | None = None,
    ) -> None:
        self.registry = registry
        self._make_context = make_context
        self._hooks = hooks
        self._run_lua_tool = run_lua_tool

    # ---------------------------------------------------------------- hooks

    def fire(self, point: str, name: str, data: dict[str, Any]) -> HookDecision:
        """Fire a hook point for tool ``name``."""
        return self._hooks().fire(point, ("tool", name), data)

    @staticmethod
    def _cancel(point: str, name: str, decision: HookDecision) -> HookCancelledError:
        reason = decision.reason or "no reason given"
        return HookCancelledError(f"Tool '{name}' execution cancelled by a {point} hook: {reason}")

    @staticmethod
    def _replacement(data: Any, key: str, fallback: Any) -> Any:
        """What a hook's ``modified``/``replace`` data means: the whole ``ctx.data`` handed back
        (has ``tool_name``) gives its ``key``; anything else is the new value itself."""
        if isinstance(data, dict) and "tool_name" in data:
            return data.get(key, fallback)
        return fallback if data is None else data

    # ---------------------------------------------------------------- execution

    def execute(
        self, name: str, params: dict[str, Any], options: CallOptions, depth: int = 0
    ) -> dict[str, Any]:
        """Run ``name`` with ``params``; returns the shaped result table as plain data."""
        spec = lookup(self.registry, name)
        decision = self.fire("ToolValidation", name, {"tool_name": name, "parameters": params})
        if decision.action == "cancel":
            raise self._cancel("ToolValidation", name, decision)
        if decision.action == "modified":
            params = _as_params(self._replacement(decision.data, "parameters", params))
        if decision.action != "skip":
            params = validate(name, spec.parameters, params)

        decision = self.fire("BeforeToolExecution", name, {"tool_name": name, "parameters": params})
        if decision.action == "cancel":
            raise self._cancel("BeforeToolExecution", name, decision)
        if decision.action == "skip":
            if isinstance(decision.data, dict):
                return decision.data
            return {
                "success": False,
                "skipped": True,
                "message": f"Tool '{name}' was skipped by a BeforeToolExecution hook"
                + (f": {decision.reason}" if decision.reason else ""),
                "metadata": {"skipped": True},
            }
        if decision.action == "replace":
            return _as_result(self._replacement(decision.data, "result", None))
        if decision.action == "redirect" and decision.target:
            if depth >= MAX_REDIRECTS:
                raise HookCancelledError(
                    f"Tool '{name}': more than {MAX_REDIRECTS} hook redirects in a row "
                    "(do two hooks redirect to each other?)"
                )
            return self.execute(decision.target, params, options, depth + 1)
        if decision.action == "modified":
            params = validate(
                name,
                spec.parameters,
                _as_params(self._replacement(decision.data, "parameters", params)),
            )
        return self._run_with_retries(spec, params, options)

    def _run_with_retries(
        self, spec: ToolSpec, params: dict[str, Any], options: CallOptions
    ) -> dict[str, Any]:
        name = spec.name
        retries_left = options.retry
        error_hook_retries = 0
        after_hook_retries = 0
        while True:
            started = time.perf_counter()
            try:
                output = self._run_once(spec, params, options.timeout)
            except ToolError as err:
                decision = self.fire(
                    "ToolError",
                    name,
                    {"tool_name": name, "parameters": params, "error": str(err)},
                )
                if decision.action == "replace":
                    return _as_result(self._replacement(decision.data, "result", None))
                if decision.action == "cancel":
                    raise self._cancel("ToolError", name, decision) from err
                if decision.action == "retry" and error_hook_retries < decision.max_attempts:
                    error_hook_retries += 1
                    _pause(decision.delay_ms)
                    continue
                if retries_left > 0:
                    retries_left -= 1
                    log.debug("retrying tool %s after: %s", name, err)
                    continue
                raise
            elapsed_ms = int((time.perf_counter() - started) * 1000)
            result = shape(output, elapsed_ms)
            decision = self.fire(
                "AfterToolExecution",
                name,
                {"tool_name": name, "parameters": params, "result": result},
            )
            if decision.action == "retry" and after_hook_retries < decision.max_attempts:
                after_hook_retries += 1
                _pause(decision.delay_ms)
                continue
            if decision.action in ("modified", "replace"):
                return _as_result(self._replacement(decision.data, "result", result))
            if decision.action == "cancel":
                raise self._cancel("AfterToolExecution", name, decision)
            return result

    def _run_once(
        self, spec: ToolSpec, params: dict[str, Any], timeout: float | None
    ) -> ToolOutput:
        context = self._make_context()
        if spec.runs_lua:
            if self._run_lua_tool is None:
                raise ToolError(f"tool '{spec.name}' is written in Lua but no Lua runner is set")
            return self._run_lua_tool(spec, params, context, timeout)
        if timeout is None:
            return spec.run(params, context)
        # Python tools never touch Lua, so a worker thread can run them while we wait
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["output"] = spec.run(params, context)
            except Exception as exc:  # noqa: BLE001 - re-raised on the caller's thread below
                outcome["error"] = exc

        worker = threading.Thread(target=work, name=f"tool-{spec.name}", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            context.cancelled.set()  # long loops and child processes stop at their next check
            raise ToolTimeoutError(f"Tool '{spec.name}' timed out after {timeout:g}s")
        if "error" in outcome:
            raise outcome["error"]
        output: ToolOutput = outcome["output"]
        return output


def _pause(delay_ms: int) -> None:
    if delay_ms > 0:
        time.sleep(min(delay_ms, 60_000) / 1000)


def _as_params(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise ToolError(f"a hook replaced the parameters with a {type(value).__name__}, not a table")


def _as_result(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return {"data": value, "metadata": {}}
