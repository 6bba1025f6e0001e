"""``text-manipulator``: case, trimming, replacing, splitting, wrapping text."""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from collections.abc import Callable
from typing import Any

from kernel_core.runtime.tools.errors import ToolValidationError
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, envelope_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

OPERATIONS = (
    "uppercase",
    "lowercase",
    "reverse",
    "trim",
    "replace",
    "substring",
    "split",
    "join",
    "snake_case",
    "camel_case",
    "pascal_case",
    "sanitize",
    "truncate",
    "indent",
    "dedent",
    "normalize_whitespace",
    "word_wrap",
)


def _words(text: str) -> list[str]:
    # split camelCase / PascalCase humps and any non-alphanumeric separators
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return [w for w in re.split(r"[^0-9A-Za-z]+", spaced) if w]


def _option(options: dict[str, Any], name: str, kind: type, default: Any, op: str) -> Any:
    value = options.get(name, default)
    if value is None:
        raise ToolValidationError(f"Operation '{op}' requires option '{name}'")
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ToolValidationError(f"Option '{name}' of '{op}' must be a whole number")
    elif kind is str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise ToolValidationError(f"Option '{name}' of '{op}' must be a string")
    return value


def _substring(text: str, options: dict[str, Any]) -> str:
    start = _option(options, "start", int, None, "substring")
    end = _option(options, "end", int, None, "substring")
    data = text.encode()
    if start < 0 or end > len(data) or start > end:
        return ""
    return data[start:end].decode("utf-8", "replace")


def _truncate(text: str, options: dict[str, Any]) -> str:
    limit = _option(options, "max_length", int, 100, "truncate")
    if len(text) <= limit:
        return text
    if limit <= 3:
        return text[:limit]
    return text[: limit - 3] + "..."


def _join(text: str, options: dict[str, Any]) -> str:
    try:
        items = json.loads(text)
    except ValueError:
        raise ToolValidationError(
            "join expects 'input' to be a JSON array string, e.g. '[\"a\", \"b\"]'"
        ) from None
    if not isinstance(items, list):
        raise ToolValidationError("join expects 'input' to be a JSON array string")
    delimiter: str = _option(options, "delimiter", str, " ", "join")
    return delimiter.join(x if isinstance(x, str) else json.dumps(x) for x in items)


def _camel(text: str) -> str:
    words = _words(text)
    return "".join(w.lower() if i == 0 else w.capitalize() for i, w in enumerate(words))


HANDLERS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "uppercase": lambda t, o: t.upper(),
    "lowercase": lambda t, o: t.lower(),
    "reverse": lambda t, o: "".join(reversed(t)),
    "trim": lambda t, o: t.strip(),
    "replace": lambda t, o: t.replace(
        _option(o, "from", str, None, "replace"), _option(o, "to", str, None, "replace")
    ),
    "substring": _substring,
    "split": lambda t, o: json.dumps(
        t.split(_option(o, "delimiter", str, " ", "split") or None), ensure_ascii=False
    ),
    "join": _join,
    "snake_case": lambda t, o: "_".join(w.lower() for w in _words(t)),
    "camel_case": lambda t, o: _camel(t),
    "pascal_case": lambda t, o: "".join(w.capitalize() for w in _words(t)),
    "sanitize": lambda t, o: "".join(
        c for c in unicodedata.normalize("NFC", t) if c in "\t\n" or " " <= c <= "~"
    ),
    "truncate": _truncate,
    "indent": lambda t, o: textwrap.indent(t, " " * _option(o, "spaces", int, 4, "indent")),
    "dedent": lambda t, o: textwrap.dedent(t),
    "normalize_whitespace": lambda t, o: " ".join(t.split()),
    "word_wrap": lambda t, o: textwrap.fill(
        t, width=max(1, _option(o, "width", int, 80, "word_wrap"))
    ),
}


def run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Apply one text operation."""
    operation = params["operation"]
    handler = HANDLERS.get(operation)
    if handler is None:
        raise ToolValidationError(
            f"Invalid operation: {operation}. Valid operations are: {', '.join(OPERATIONS)}"
        )
    text = params["input"]
    options = params.get("options") or {}
    result = handler(text, options)
    return envelope_output(
        operation,
        f"Text {operation} operation completed",
        {
            "result": result,
            "operation": operation,
            "original_length": len(text),
            "result_length": len(result),
        },
    )


TOOLS = (
    ToolSpec(
        name="text-manipulator",
        description="Transforms text: case conversion, trim, replace, substring, split/join, "
        "truncate, indent, wrap",
        category="utility",
        parameters=(
            Param("input", "string", "The text to transform", required=True),
            Param("operation", "string", f"One of: {', '.join(OPERATIONS)}", required=True),
            Param(
                "options",
                "object",
                "Operation options (from/to, start/end, delimiter, max_length, spaces, width)",
            ),
        ),
        run=run,
    ),
)
