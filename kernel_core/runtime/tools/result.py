"""What a tool returns and how it becomes the Lua result table (tools.md §2).

A tool produces one text plus a metadata map (:class:`ToolOutput`). Most tools put the
standard *envelope* ``{operation, success, message?, result?, error?}`` in the text as JSON;
"text-out" tools put a human message in the text and the envelope in
``metadata.response``. :func:`shape` builds the table a script reads.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

# Keys whose presence in a JSON object makes the bridge copy its keys to the top level.
ENVELOPE_KEYS = ("success", "result", "operation")


@dataclass
class ToolOutput:
    """One tool call's output: the text, extra metadata, and the text's decoded JSON value when
    the producer already has it (saves parsing it back)."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    value: Any = None
    has_value: bool = False


def to_json(value: Any, *, pretty: bool = False) -> str:
    """JSON text the way tools print it (UTF-8 kept, NaN/inf as null)."""
    return json.dumps(_finite(value), ensure_ascii=False, indent=2 if pretty else None)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and (not math.isfinite(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def envelope(
    operation: str,
    *,
    success: bool = True,
    message: str | None = None,
    result: Any = None,
    error: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The standard response envelope (``llmspell-utils`` ResponseBuilder)."""
    out: dict[str, Any] = {"operation": operation, "success": success}
    if message is not None:
        out["message"] = message
    if result is not None:
        out["result"] = result
    if error is not None:
        out["error"] = error
    if metadata is not None:
        out["metadata"] = metadata
    return out


def envelope_output(
    operation: str,
    message: str | None = None,
    result: Any = None,
    *,
    success: bool = True,
    error: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> ToolOutput:
    """An Envelope tool's output: the envelope as JSON text."""
    body = envelope(operation, success=success, message=message, result=result, error=error)
    return ToolOutput(to_json(body), dict(metadata or {}), value=body, has_value=True)


def text_output(text: str, operation: str, response: dict[str, Any], **metadata: Any) -> ToolOutput:
    """A text-out tool's output: a human text, the envelope in ``metadata.response``."""
    meta = {"operation": operation, "response": response}
    meta.update(metadata)
    return ToolOutput(text, meta)


def data_output(value: Any, response: dict[str, Any] | None = None, **metadata: Any) -> ToolOutput:
    """A data-out tool's output: the value itself as pretty JSON."""
    meta: dict[str, Any] = dict(metadata)
    if response is not None:
        meta["response"] = response
    return ToolOutput(to_json(value, pretty=True), meta, value=_finite(value), has_value=True)


def _decode(text: str) -> tuple[bool, Any]:
    stripped = text.strip()
    if not stripped or stripped[0] not in '{["-0123456789tfn':
        return False, None
    try:
        return True, json.loads(stripped, parse_constant=_reject_constant)
    except ValueError:
        return False, None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def shape(output: ToolOutput, execution_time_ms: int | None = None) -> dict[str, Any]:
    """The Lua result table (as plain data) for a tool's output, per tools.md §2."""
    if output.has_value:
        parsed, value = True, output.value
    else:
        parsed, value = _decode(output.text)
    table: dict[str, Any] = {}
    if parsed and isinstance(value, dict) and any(k in value for k in ENVELOPE_KEYS):
        table.update(value)
        table["_raw_text"] = output.text
    elif parsed:
        table["data"] = value
        table["text"] = output.text
    else:
        table["text"] = output.text
    metadata: dict[str, Any] = {}
    if execution_time_ms is not None:
        metadata["execution_time_ms"] = execution_time_ms
    metadata.update(output.metadata)
    # overwrites an envelope's own "metadata": it stays visible in _raw_text only
    table["metadata"] = metadata
    return table
