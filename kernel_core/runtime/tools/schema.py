"""Tool parameter schemas and their validation.

A tool declares its parameters as :class:`Param` objects; :func:`validate` checks a call's
parameters against them (required, type, enum) and fills in defaults, raising a
``Validation error`` that names the parameter and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kernel_core.runtime.tools.errors import ToolValidationError

# Lua-facing type names: LLMSpell reports string number boolean array object null; "integer"
# is a number that must be whole, "any" accepts every JSON value.
TYPES = ("string", "number", "integer", "boolean", "array", "object", "any")


@dataclass(frozen=True)
class Param:
    """One parameter of a tool."""

    name: str
    type: str = "string"
    description: str = ""
    required: bool = False
    default: Any = None
    enum: tuple[Any, ...] | None = None

    def describe(self) -> dict[str, Any]:
        """The Lua-facing description ``{name, type, description, required, default?, enum?}``."""
        out: dict[str, Any] = {
            "name": self.name,
            # LLMSpell has no integer type in its schema enum; report "number"
            "type": "number" if self.type == "integer" else self.type,
            "description": self.description,
            "required": self.required,
        }
        if self.default is not None:
            out["default"] = self.default
        if self.enum is not None:
            out["enum"] = list(self.enum)
        return out


def json_type(value: Any) -> str:
    """The JSON type name of a plain Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _coerce(param: Param, value: Any) -> Any:
    """``value`` converted to the parameter's type, or raise a Validation error."""
    kind = param.type
    got = json_type(value)
    if kind == "any":
        return value
    if kind == "string":
        if got == "string":
            return value
        if got in ("integer", "number"):
            # Lua scripts pass numbers where strings are read (mlua's argument rule)
            return str(value)
    elif kind == "number":
        if got in ("integer", "number"):
            return value
    elif kind == "integer":
        if got == "integer":
            return value
        if got == "number" and math.isfinite(value) and float(value).is_integer():
            return int(value)
    elif kind == "boolean":
        if got == "boolean":
            return value
    elif kind == "array":
        if got == "array":
            return value
        if value == {}:
            return []  # an empty Lua table converts to {}; it means "no items" here
    elif kind == "object":
        if got == "object":
            return value
        if value == []:
            return {}
    raise ToolValidationError(
        f"Parameter '{param.name}' must be {_article(kind)} {kind}, got {got}"
        + (f" ({_preview(value)})" if got in ("string", "integer", "number") else "")
    )


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"


def _preview(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validate(tool: str, declared: Sequence[Param], values: dict[str, Any]) -> dict[str, Any]:
    """Check ``values`` against ``params``; returns a copy with defaults filled in.

    Unknown keys are kept (tools read optional extras) unless they look like a misspelling
    of a declared parameter while that parameter is absent: then the error names both.
    """
    out = dict(values)
    for param in declared:
        value = out.get(param.name)
        if value is None:
            if param.required:
                hint = _misspelling(param.name, out, declared)
                raise ToolValidationError(
                    f"Missing required parameter '{param.name}'"
                    + (f" (got '{hint}': did you mean '{param.name}'?)" if hint else "")
                )
            if param.default is not None:
                out[param.name] = param.default
            continue
        value = _coerce(param, value)
        if param.enum is not None and value not in param.enum:
            allowed = ", ".join(str(v) for v in param.enum)
            raise ToolValidationError(
                f"Invalid value {_preview(value)} for parameter '{param.name}' of tool "
                f"'{tool}'; allowed values are: {allowed}"
            )
        out[param.name] = value
    return out


def _misspelling(name: str, values: dict[str, Any], declared: Sequence[Param]) -> str | None:
    import difflib

    known = {p.name for p in declared}
    candidates = [k for k in values if k not in known]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return close[0] if close else None
