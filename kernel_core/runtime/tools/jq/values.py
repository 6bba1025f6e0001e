"""JSON values as jq sees them: types, ordering, arithmetic, indexing."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from functools import cmp_to_key
from typing import Any

Node = tuple[Any, ...]
Env = dict[str, Any]


class JqError(Exception):
    """A query that cannot be parsed or fails at run time."""


class JqUnsupported(JqError):
    """A query uses jq features outside the supported subset."""


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


sort_key = cmp_to_key(compare)


def truthy(value: Any) -> bool:
    """jq truth: everything but false and null."""
    return value is not None and value is not False


def num(value: float) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def desc(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return f"{type_name(value)} ({text if len(text) <= 30 else text[:27] + '...'})"


def add(a: Any, b: Any) -> Any:
    if a is None:
        return b
    if b is None:
        return a
    ta, tb = type_name(a), type_name(b)
    if ta == tb == "number":
        return num(a + b)
    if ta == tb and ta in ("string", "array"):
        return a + b
    if ta == tb == "object":
        return {**a, **b}
    raise JqError(f"{desc(a)} and {desc(b)} cannot be added")


def binop(op: str, a: Any, b: Any) -> Any:
    if op == "+":
        return add(a, b)
    if op in ("==", "!="):
        return (compare(a, b) == 0) == (op == "==")
    if op in ("<", "<=", ">", ">="):
        c = compare(a, b)
        return {"<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]
    ta, tb = type_name(a), type_name(b)
    if op == "-":
        if ta == tb == "number":
            return num(a - b)
        if ta == tb == "array":
            return [x for x in a if all(compare(x, y) for y in b)]
    elif op == "*":
        if ta == tb == "number":
            return num(a * b)
        if ta == tb == "object":
            return _deep_merge(a, b)
        if {ta, tb} == {"string", "number"}:
            s, n = (a, b) if ta == "string" else (b, a)
            return s * int(n) if n > 0 else None
    elif op == "/":
        if ta == tb == "number":
            if b == 0:
                raise JqError(
                    f"{desc(a)} and {desc(b)} cannot be divided because the divisor is zero"
                )
            return num(a / b)
        if ta == tb == "string":
            return a.split(b) if b else list(a)
    elif op == "%" and ta == tb == "number":
        if int(b) == 0:
            raise JqError(f"{desc(a)} and {desc(b)} cannot be divided because the divisor is zero")
        return int(math.fmod(int(a), int(b)))
    verb = {"-": "subtracted", "*": "multiplied", "/": "divided", "%": "divided"}[op]
    raise JqError(f"{desc(a)} and {desc(b)} cannot be {verb}")


def _deep_merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = (
            _deep_merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
        )
    return out


def index(value: Any, key: Any) -> Any:
    if value is None:
        return None
    if isinstance(key, str):
        if isinstance(value, dict):
            return value.get(key)
        raise JqError(f'Cannot index {type_name(value)} with "{key}"')
    if isinstance(key, int | float) and not isinstance(key, bool):
        if isinstance(value, list):
            i = math.floor(key)
            if i < 0:
                i += len(value)
            return value[i] if 0 <= i < len(value) else None
        raise JqError(f"Cannot index {type_name(value)} with number")
    if isinstance(key, dict) and isinstance(value, list):
        return slice_value(value, key.get("start"), key.get("end"))
    raise JqError(f"Cannot index {type_name(value)} with {type_name(key)}")


def slice_value(value: Any, start: Any, end: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, list | str):
        raise JqError(f"Cannot slice {type_name(value)}")
    n = len(value)
    s = 0 if start is None else math.floor(start)
    e = n if end is None else math.ceil(end)
    s, e = (s + n if s < 0 else s), (e + n if e < 0 else e)
    return value[max(0, min(s, n)) : max(0, min(e, n))]


def iterate(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        yield from value
    elif isinstance(value, dict):
        yield from value.values()
    else:
        raise JqError(f"Cannot iterate over {desc(value)}")


def recurse(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, list | dict):
        for child in value if isinstance(value, list) else value.values():
            yield from recurse(child)
