"""The contract between the components that fire LLMSpell hook points (Tool, Agent, Workflow)
and the ``Hook`` global that dispatches them to registered Lua callbacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

HOOK_POINTS: tuple[str, ...] = (
    "SystemStartup",
    "SystemShutdown",
    "BeforeAgentInit",
    "AfterAgentInit",
    "BeforeAgentExecution",
    "AfterAgentExecution",
    "BeforeAgentShutdown",
    "AfterAgentShutdown",
    "AgentError",
    "BeforeToolDiscovery",
    "AfterToolDiscovery",
    "BeforeToolExecution",
    "AfterToolExecution",
    "ToolValidation",
    "ToolError",
    "BeforeWorkflowStart",
    "WorkflowStageTransition",
    "BeforeWorkflowStage",
    "AfterWorkflowStage",
    "WorkflowCheckpoint",
    "WorkflowRollback",
    "AfterWorkflowComplete",
    "WorkflowError",
)

Action = Literal["continue", "skip", "cancel", "modified", "replace", "redirect", "retry"]


@dataclass
class HookDecision:
    """What the hooks registered on a point decided, combined in priority order.

    * continue: go on unchanged.
    * skip: do not perform the operation; the caller returns ``data`` if given, else a
      "skipped" result.
    * cancel: do not perform the operation; the caller raises with ``reason``.
    * modified: go on with ``data`` replacing the operation's input (Before*) or output
      (After*).
    * replace: do not perform the operation; ``data`` is its result.
    * redirect: perform it on ``target`` instead (another tool / agent name).
    * retry: perform it again after ``delay_ms``, at most ``max_attempts`` times (firing
      components honour it on *Error points and After* points).
    """

    action: Action = "continue"
    data: Any = None
    reason: str | None = None
    target: str | None = None
    delay_ms: int = 1000
    max_attempts: int = 3
    hooks_run: int = 0
    notes: list[str] = field(default_factory=list)


class HookDispatcher(Protocol):
    """Fires a hook point. ``data`` is plain Python; it is handed to Lua callbacks as
    ``ctx.data``; ``component`` is (type, name), e.g. ("tool", "calculator")."""

    def fire(
        self,
        point: str,
        component: tuple[str, str],
        data: dict[str, Any],
        metadata: dict[str, str] | None = None,
    ) -> HookDecision:
        """Run every hook registered on ``point`` and combine their results."""


class NoHooks:
    """The dispatcher before the Hook global is installed: nothing is registered yet."""

    def fire(
        self,
        point: str,
        component: tuple[str, str],
        data: dict[str, Any],
        metadata: dict[str, str] | None = None,
    ) -> HookDecision:
        del component, data, metadata
        if point not in HOOK_POINTS:
            raise ValueError(f"Unknown hook point: {point}")
        return HookDecision()
