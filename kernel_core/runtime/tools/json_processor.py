"""``json-processor``: jq queries (libjq, jq_query.py), JSON Schema validation, JSON lines."""

from __future__ import annotations

import json
from typing import Any

from kernel_core.runtime.tools import json_schema
from kernel_core.runtime.tools.errors import ResourceLimitError, ToolValidationError
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, data_output, envelope
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

MAX_INPUT = 100 * 1024 * 1024


def _input(raw: Any) -> Any:
    if isinstance(raw, str):
        if len(raw) > MAX_INPUT:
            raise ResourceLimitError(f"input is larger than {MAX_INPUT} bytes")
        stripped = raw.strip()
        try:
            return json.loads(stripped)
        except ValueError as err:
            if stripped[:1] in ("{", "["):
                raise ToolValidationError(f"Invalid JSON input: {err}") from None
            return raw  # a plain string is a JSON string value
    return raw


def _query(query: str, value: Any, context: ToolContext) -> list[Any]:
    from kernel_core.runtime.tools.jq_query import query as jq_query

    return jq_query(query, value, cancelled=context.cancelled)


def run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Query, validate or stream JSON."""
    operation = params["operation"]
    query = params.get("query") or "."
    if operation in ("query", "transform", "jq"):
        if "input" not in params:
            raise ToolValidationError("Missing required parameter 'input'")
        outputs = _query(query, _input(params["input"]), context)
        value = outputs[0] if len(outputs) == 1 else (outputs or None)
        return data_output(
            value,
            envelope(
                operation,
                message=f"Query produced {len(outputs)} result(s)",
                result={"query": query, "output_count": len(outputs)},
            ),
            operation=operation,
        )
    if operation == "validate":
        if "schema" not in params:
            raise ToolValidationError("Missing required parameter 'schema' for validate")
        schema = _input(params["schema"])
        errors = json_schema.validate(_input(params.get("input")), schema)
        result = {"is_valid": not errors, "errors": errors}
        return data_output(
            result,
            envelope(
                "validate",
                message="Validation passed"
                if not errors
                else f"Validation failed with {len(errors)} error(s)",
                result=result,
            ),
            operation="validate",
        )
    # stream: JSON lines in, the query applied to each line, every output collected
    text = params.get("input")
    if not isinstance(text, str):
        raise ToolValidationError("stream needs 'input' as JSON-lines text")
    outputs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as err:
            raise ToolValidationError(f"Invalid JSON on line {number}: {err}") from None
        outputs.extend(_query(query, item, context))
    return data_output(
        outputs,
        envelope(
            "stream",
            message=f"Processed {len(outputs)} item(s)",
            result={"query": query, "output_count": len(outputs)},
        ),
        operation="stream",
    )


TOOLS = (
    ToolSpec(
        name="json-processor",
        description="Query and transform JSON with jq expressions, validate it against a "
        "JSON Schema, process JSON lines",
        category="data",
        parameters=(
            Param(
                "operation",
                "string",
                "query (transform, jq), validate or stream",
                default="query",
                enum=("query", "transform", "jq", "validate", "stream"),
            ),
            Param("input", "any", "JSON value, or a string holding JSON (JSON lines for stream)"),
            Param("query", "string", "jq expression", default="."),
            Param("schema", "any", "JSON Schema (draft 7 subset) for validate"),
        ),
        run=run,
    ),
)
