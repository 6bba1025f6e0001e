"""What the debugger advertises in its DAP ``initialize`` response.

Kept apart from session.py (which needs lupa) so the stdio adapter can answer ``initialize``
before any kernel exists without importing the Lua side.
"""

from __future__ import annotations

from typing import Any

EXCEPTION_FILTERS: list[dict[str, Any]] = [
    {
        "filter": "error",
        "label": "Any error",
        "default": False,
        "description": "Stop where any Lua error is raised, even one pcall catches.",
    },
    {
        "filter": "uncaught",
        "label": "Uncaught errors",
        "default": True,
        "description": "Stop where an error that nothing catches is raised.",
    },
]

CAPABILITIES: dict[str, Any] = {
    "supportsConfigurationDoneRequest": True,
    "supportsConditionalBreakpoints": True,
    "supportsHitConditionalBreakpoints": True,
    "supportsLogPoints": True,
    "supportsFunctionBreakpoints": True,
    "supportsEvaluateForHovers": True,
    "supportsSetVariable": True,
    "supportsSetExpression": True,
    "supportsTerminateRequest": True,
    "supportsLoadedSourcesRequest": True,
    "supportsClipboardContext": True,
    "supportsDelayedStackTraceLoading": True,
    "supportsValueFormattingOptions": False,
    "supportsStepBack": False,
    # the kernel has no restart of its own: the stdio adapter adds it for what it launched
    "supportsRestartRequest": False,
    "exceptionBreakpointFilters": EXCEPTION_FILTERS,
}

# The request each capability promises an answer to (tests/test_debugger_fidelity.py
# sends each one advertised: what is not implemented is not advertised).
CAPABILITY_REQUESTS: dict[str, str] = {
    "supportsConfigurationDoneRequest": "configurationDone",
    "supportsConditionalBreakpoints": "setBreakpoints",
    "supportsHitConditionalBreakpoints": "setBreakpoints",
    "supportsLogPoints": "setBreakpoints",
    "supportsFunctionBreakpoints": "setFunctionBreakpoints",
    "supportsEvaluateForHovers": "evaluate",
    "supportsSetVariable": "setVariable",
    "supportsSetExpression": "setExpression",
    "supportsTerminateRequest": "terminate",
    "supportsLoadedSourcesRequest": "loadedSources",
    "supportsClipboardContext": "evaluate",
    "supportsDelayedStackTraceLoading": "stackTrace",
    "supportsValueFormattingOptions": "variables",
    "supportsStepBack": "stepBack",
    "supportsRestartRequest": "restart",
}
