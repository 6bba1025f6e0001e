"""Evaluating parsed jq queries: every filter is a generator of outputs; paths for
``del``, assignments and ``path(f)``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from kernel_core.runtime.tools.jq.values import (
    Env,
    JqError,
    JqUnsupported,
    Node,
    binop,
    desc,
    index,
    iterate,
    recurse,
    slice_value,
    sort_key,
    truthy,
    type_name,
)

# Filled by kernel_core.runtime.tools.jq.builtins: (name, arity) -> function(v, env, *args)
BUILTINS: dict[tuple[str, int], Any] = {}


class _Break(Exception):
    pass


def run(node: Node, value: Any, env: Env | None = None) -> Iterator[Any]:
    """Every output of ``node`` applied to ``value``."""
    return _eval(node, value, env or {})


def _eval(node: Node, v: Any, env: Env) -> Iterator[Any]:
    kind = node[0]
    if kind == "identity":
        yield v
    elif kind == "literal":
        yield node[1]
    elif kind == "str":
        yield from _interpolate(node[1], v, env, None)
    elif kind == "field":
        yield index(v, node[1])
    elif kind == "index":
        for key in _eval(node[1], v, env):
            yield index(v, key)
    elif kind == "slice":
        starts = list(_eval(node[1], v, env)) if node[1] else [None]
        ends = list(_eval(node[2], v, env)) if node[2] else [None]
        for s in starts:
            for e in ends:
                yield slice_value(v, s, e)
    elif kind == "iterate":
        yield from iterate(v)
    elif kind == "recurse":
        yield from recurse(v)
    elif kind == "pipe":
        for mid in _eval(node[1], v, env):
            yield from _eval(node[2], mid, env)
    elif kind == "comma":
        yield from _eval(node[1], v, env)
        yield from _eval(node[2], v, env)
    elif kind == "var":
        if node[1] not in env:
            raise JqError(f"${node[1]} is not defined")
        yield env[node[1]]
    elif kind == "as":
        for bound in _eval(node[1], v, env):
            yield from _eval(node[3], v, {**env, node[2]: bound})
    elif kind == "array":
        yield [] if node[1] is None else list(_eval(node[1], v, env))
    elif kind == "object":
        yield from _objects(node[1], v, env)
    elif kind == "neg":
        for x in _eval(node[1], v, env):
            if type_name(x) != "number":
                raise JqError(f"{desc(x)} cannot be negated")
            yield -x
    elif kind == "binop":
        for b in _eval(node[3], v, env):
            for a in _eval(node[2], v, env):
                yield binop(node[1], a, b)
    elif kind == "and":
        for a in _eval(node[1], v, env):
            if not truthy(a):
                yield False
            else:
                for b in _eval(node[2], v, env):
                    yield truthy(b)
    elif kind == "or":
        for a in _eval(node[1], v, env):
            if truthy(a):
                yield True
            else:
                for b in _eval(node[2], v, env):
                    yield truthy(b)
    elif kind == "alt":
        found = False
        try:
            for a in _eval(node[1], v, env):
                if truthy(a):
                    found = True
                    yield a
        except JqError:
            pass
        if not found:
            yield from _eval(node[2], v, env)
    elif kind == "if":
        for cond in _eval(node[1], v, env):
            yield from _eval(node[2] if truthy(cond) else node[3], v, env)
    elif kind == "try":
        try:
            yield from list(_eval(node[1], v, env))
        except JqUnsupported:
            raise
        except JqError as err:
            if node[2] is not None:
                yield from _eval(node[2], str(err), env)
    elif kind == "reduce":
        for initial in list(_eval(node[3], v, env)):
            acc = initial
            for item in _eval(node[1], v, env):
                outs = list(_eval(node[4], acc, {**env, node[2]: item}))
                acc = outs[-1] if outs else None
            yield acc
    elif kind == "assign":
        yield from _assign(node, v, env)
    elif kind == "format":
        yield _format(node[1], v)
    elif kind == "format_str":
        yield from _interpolate(node[2], v, env, node[1])
    elif kind == "call":
        fn = BUILTINS[(node[1], len(node) - 2)]
        yield from fn(v, env, *node[2:])
    else:
        raise JqError(f"internal: unknown node {kind}")


def _interpolate(parts: list[Any], v: Any, env: Env, fmt: str | None) -> Iterator[Any]:
    results = [""]
    for part in parts:
        if isinstance(part, str):
            results = [r + part for r in results]
            continue
        pieces = [
            _format(fmt, x) if fmt else (x if isinstance(x, str) else tojson(x))
            for x in _eval(part, v, env)
        ]
        results = [r + p for r in results for p in pieces]
    yield from results


def _objects(entries: list[tuple[Node, Node]], v: Any, env: Env) -> Iterator[dict[str, Any]]:
    partials: list[dict[str, Any]] = [{}]
    for key_node, val_node in entries:
        keys = list(_eval(key_node, v, env))
        for k in keys:
            if not isinstance(k, str):
                raise JqError(f"Object keys must be strings, got {desc(k)}")
        vals = list(_eval(val_node, v, env))
        partials = [{**p, k: x} for p in partials for k in keys for x in vals]
    yield from partials


def tojson(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _format(fmt: str, value: Any) -> str:
    import base64
    import html
    import urllib.parse

    text = value if isinstance(value, str) else tojson(value)
    if fmt == "@json":
        return tojson(value)
    if fmt == "@text":
        return text
    if fmt in ("@csv", "@tsv"):
        if not isinstance(value, list):
            raise JqError(f"{desc(value)} cannot be {fmt[1:]}-formatted, only an array can be")
        cells = []
        for x in value:
            if isinstance(x, str):
                cells.append(
                    '"' + x.replace('"', '""') + '"'
                    if fmt == "@csv"
                    else x.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                )
            elif isinstance(x, dict | list):
                raise JqError(f"{desc(x)} is not valid in a csv row")
            else:
                cells.append("" if x is None else tojson(x))
        return ("," if fmt == "@csv" else "\t").join(cells)
    if fmt == "@html":
        return html.escape(text, quote=True).replace("&#x27;", "&#39;")
    if fmt == "@uri":
        return urllib.parse.quote(text, safe="-_.~")
    if fmt == "@base64":
        return base64.b64encode(text.encode()).decode()
    if fmt == "@base64d":
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4)).decode("utf-8", "replace")
        except ValueError as err:
            raise JqError(f"{text!r} is not valid base64 data") from err
    raise JqUnsupported(f"format '{fmt}' is not supported")


# ---- paths (for del, assignments, paths, to getpath/setpath)


def _paths(node: Node, v: Any, env: Env) -> Iterator[list[Any]]:
    kind = node[0]
    if kind == "identity":
        yield []
    elif kind == "field":
        yield [node[1]]
    elif kind == "index":
        for key in _eval(node[1], v, env):
            yield [key]
    elif kind == "slice":
        for s in list(_eval(node[1], v, env)) if node[1] else [None]:
            for e in list(_eval(node[2], v, env)) if node[2] else [None]:
                yield [{"start": s, "end": e}]
    elif kind == "iterate":
        if isinstance(v, list):
            yield from ([i] for i in range(len(v)))
        elif isinstance(v, dict):
            yield from ([k] for k in v)
        elif v is not None:
            raise JqError(f"Cannot iterate over {desc(v)}")
    elif kind == "recurse":
        yield from _all_paths(v, [])
    elif kind == "pipe":
        for left in _paths(node[1], v, env):
            for right in _paths(node[2], _getpath(v, left), env):
                yield left + right
    elif kind == "comma":
        yield from _paths(node[1], v, env)
        yield from _paths(node[2], v, env)
    elif kind == "if":
        for cond in _eval(node[1], v, env):
            yield from _paths(node[2] if truthy(cond) else node[3], v, env)
    elif kind == "try":
        with contextlib.suppress(JqError):
            yield from list(_paths(node[1], v, env))
    elif kind == "alt":
        found = [p for p in _paths(node[1], v, env) if truthy(_getpath(v, p))]
        yield from found if found else _paths(node[2], v, env)
    elif kind == "call" and node[1] == "select":
        for cond in _eval(node[2], v, env):
            if truthy(cond):
                yield []
    elif kind == "call" and node[1] in ("first", "last") and len(node) == 2:
        yield [0 if node[1] == "first" else -1]
    elif kind == "call" and node[1] == "empty":
        return
    elif kind == "call" and node[1] == "getpath":
        for p in _eval(node[2], v, env):
            yield list(p)
    elif kind == "call" and node[1] == "recurse" and len(node) == 2:
        yield from _all_paths(v, [])
    else:
        raise JqError(
            "Invalid path expression: only ., .a, .[i], .[], .., |, ',', select, "
            "if, getpath and first/last can be assigned to or deleted"
        )


def _all_paths(v: Any, prefix: list[Any]) -> Iterator[list[Any]]:
    yield prefix
    if isinstance(v, list):
        for i, x in enumerate(v):
            yield from _all_paths(x, [*prefix, i])
    elif isinstance(v, dict):
        for k, x in v.items():
            yield from _all_paths(x, [*prefix, k])


def _getpath(v: Any, path: list[Any]) -> Any:
    for key in path:
        if v is None:
            return None
        v = index(v, key)
    return v


def _setpath(v: Any, path: list[Any], new: Any) -> Any:
    if not path:
        return new
    key, rest = path[0], path[1:]
    if isinstance(key, str):
        if v is None:
            v = {}
        if not isinstance(v, dict):
            raise JqError(f'Cannot index {type_name(v)} with "{key}"')
        return {**v, key: _setpath(v.get(key), rest, new)}
    if isinstance(key, dict):
        arr = v if isinstance(v, list) else []
        n = len(arr)
        s = 0 if key.get("start") is None else int(key["start"])
        e = n if key.get("end") is None else int(key["end"])
        s, e = (s + n if s < 0 else s), (e + n if e < 0 else e)
        replacement = _setpath(arr[s:e], rest, new)
        if not isinstance(replacement, list):
            raise JqError("A slice of an array can only be assigned another array")
        return arr[:s] + replacement + arr[e:]
    if isinstance(key, int | float) and not isinstance(key, bool):
        if not isinstance(v, list) and v is not None:
            raise JqError(f"Cannot index {type_name(v)} with number")
        items: list[Any] = list(v) if isinstance(v, list) else []
        i = int(key)
        if i < 0:
            i += len(items)
            if i < 0:
                raise JqError("Out of bounds negative itemsay index")
        if i >= 100_000_000:
            raise JqError("Array index too large")
        items.extend([None] * (i + 1 - len(items)))
        items[i] = _setpath(items[i], rest, new)
        return items
    raise JqError(f"Invalid path component {desc(key)}")


def _delpaths(v: Any, paths: list[list[Any]]) -> Any:
    for path in sorted(paths, key=sort_key, reverse=True):
        v = _delpath(v, path)
    return v


def _delpath(v: Any, path: list[Any]) -> Any:
    if not path:
        return None
    if v is None:
        return None
    key, rest = path[0], path[1:]
    if rest:
        child = index(v, key)
        if child is None:
            return v
        return _setpath(v, [key], _delpath(child, rest))
    if isinstance(v, dict) and isinstance(key, str):
        return {k: x for k, x in v.items() if k != key}
    if isinstance(v, list) and isinstance(key, int | float) and not isinstance(key, bool):
        i = int(key) + (len(v) if key < 0 else 0)
        return [x for j, x in enumerate(v) if j != i]
    if isinstance(v, list) and isinstance(key, dict):
        n = len(v)
        s = 0 if key.get("start") is None else int(key["start"])
        e = n if key.get("end") is None else int(key["end"])
        return v[:s] + v[e:]
    raise JqError(f"Cannot delete field at {desc(key)} of {type_name(v)}")


def _assign(node: Node, v: Any, env: Env) -> Iterator[Any]:
    op, target, source = node[1], node[2], node[3]
    paths = list(_paths(target, v, env))
    if op == "|=":
        out = v
        for p in paths:
            outs = list(_eval(source, _getpath(out, p), env))
            out = _setpath(out, p, outs[0]) if outs else _delpath(out, p)
        yield out
        return
    for rhs in _eval(source, v, env):
        out = v
        for p in paths:
            if op == "=":
                out = _setpath(out, p, rhs)
            elif op == "//=":
                old = _getpath(out, p)
                out = _setpath(out, p, old if truthy(old) else rhs)
            else:
                out = _setpath(out, p, binop(op[0], _getpath(out, p), rhs))
        yield out
