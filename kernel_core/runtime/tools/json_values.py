"""JSON values as jq and JSON Schema see them: type names and jq's total order (used by
json_schema.py's uniqueItems/enum and data.py's comparisons)."""

from __future__ import annotations

from typing import Any

_TYPE_ORDER = {"null": 0, "boolean": 1, "number": 2, "string": 3, "array": 4, "object": 5}


def type_name(value: Any) -> str:
    """jq's type name."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def compare(a: Any, b: Any) -> int:
    """jq's total order over JSON values."""
    ta, tb = type_name(a), type_name(b)
    if ta != tb:
        return -1 if _TYPE_ORDER[ta] < _TYPE_ORDER[tb] else 1
    if ta in {"boolean", "number", "string"}:
        return int(a > b) - int(a < b)
    if ta == "array":
        for x, y in zip(a, b, strict=False):
            c = compare(x, y)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    if ta == "object":
        ka, kb = sorted(a), sorted(b)
        c = compare(ka, kb)
        if c:
            return c
        for k in ka:
            c = compare(a[k], b[k])
            if c:
                return c
    return 0
