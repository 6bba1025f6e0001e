"""The jq builtins of the supported subset, by (name, arity)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from kernel_core.runtime.tools.jq.evaluate import (
    BUILTINS,
    _all_paths,
    _delpaths,
    _eval,
    _getpath,
    _paths,
    _setpath,
    tojson,
)
from kernel_core.runtime.tools.jq.values import (
    Env,
    JqError,
    Node,
    add,
    compare,
    desc,
    index,
    iterate,
    num,
    recurse,
    sort_key,
    truthy,
    type_name,
)

Builtin = Callable[..., Iterator[Any]]


def _one(fn: Callable[[Any], Any]) -> Builtin:
    def call(v: Any, env: Env) -> Iterator[Any]:
        yield fn(v)

    return call


def _with_arg(fn: Callable[[Any, Any], Any]) -> Builtin:
    def call(v: Any, env: Env, arg: Node) -> Iterator[Any]:
        for a in _eval(arg, v, env):
            yield fn(v, a)

    return call


def _need(kind: str, v: Any, name: str) -> None:
    if type_name(v) != kind:
        raise JqError(
            f"{desc(v)} has no {name}; {name} needs {'an' if kind[0] in 'aeiou' else 'a'} {kind}"
        )


def _fail(message: str) -> Any:
    raise JqError(message)


def _sort(v: Any) -> list[Any]:
    _need("array", v, "sort")
    return sorted(v, key=sort_key)


def _length(v: Any) -> Any:
    if v is None:
        return 0
    if isinstance(v, bool):
        raise JqError("boolean has no length")
    if isinstance(v, int | float):
        return abs(v)
    return len(v)


def _keys(v: Any, sort: bool = True) -> list[Any]:
    if isinstance(v, dict):
        return sorted(v) if sort else list(v)
    if isinstance(v, list):
        return list(range(len(v)))
    raise JqError(f"{desc(v)} has no keys")


def _has(v: Any, k: Any) -> bool:
    if isinstance(v, dict) and isinstance(k, str):
        return k in v
    if isinstance(v, list) and isinstance(k, int | float) and not isinstance(k, bool):
        return 0 <= k < len(v)
    raise JqError(f"Cannot check whether {type_name(v)} has a {type_name(k)} key")


def _contains(a: Any, b: Any) -> bool:
    ta, tb = type_name(a), type_name(b)
    if ta != tb:
        raise JqError(f"{desc(a)} and {desc(b)} cannot have their containment checked")
    if ta == "object":
        return all(k in a and _contains(a[k], x) for k, x in b.items())
    if ta == "array":
        return all(any(type_name(x) == type_name(y) and _contains(x, y) for x in a) for y in b)
    if ta == "string":
        return bool(b in a)
    return bool(a == b)


def _sort_by(v: Any, env: Env, f: Node) -> Iterator[Any]:
    _need("array", v, "sort_by")
    yield sorted(v, key=lambda x: sort_key(list(_eval(f, x, env))))


def _group_by(v: Any, env: Env, f: Node) -> Iterator[Any]:
    _need("array", v, "group_by")
    groups: list[tuple[Any, list[Any]]] = []
    for item in sorted(v, key=lambda x: sort_key(list(_eval(f, x, env)))):
        k = list(_eval(f, item, env))
        if groups and compare(groups[-1][0], k) == 0:
            groups[-1][1].append(item)
        else:
            groups.append((k, [item]))
    yield [g for _, g in groups]


def _unique_by(v: Any, env: Env, f: Node) -> Iterator[Any]:
    for groups in _group_by(v, env, f):
        yield [g[0] for g in groups]


def _extreme_by(v: Any, env: Env, f: Node, sign: int) -> Any:
    _need("array", v, "min_by/max_by")
    if not v:
        return None
    best = v[0]
    best_key = list(_eval(f, best, env))
    for item in v[1:]:
        k = list(_eval(f, item, env))
        c = compare(k, best_key)
        if c * sign > 0 or (c == 0 and sign > 0):
            best, best_key = item, k
    return best


def _to_entries(v: Any) -> list[dict[str, Any]]:
    _need("object", v, "to_entries")
    return [{"key": k, "value": x} for k, x in v.items()]


def _from_entries(v: Any) -> dict[str, Any]:
    _need("array", v, "from_entries")
    out: dict[str, Any] = {}
    for entry in v:
        if not isinstance(entry, dict):
            raise JqError(f"from_entries needs objects like {{key, value}}, got {desc(entry)}")
        key = next((entry[k] for k in ("key", "k", "name", "Name", "Key", "K") if k in entry), None)
        value = next((entry[k] for k in ("value", "v", "Value", "V") if k in entry), None)
        if isinstance(key, bool) or key is None:
            raise JqError(f"from_entries: entry {desc(entry)} has no usable key")
        out[key if isinstance(key, str) else tojson(key)] = value
    return out


def _flatten(v: Any, depth: float = 1e9) -> list[Any]:
    _need("array", v, "flatten")
    if depth < 0:
        raise JqError("flatten depth must not be negative")
    out: list[Any] = []
    for x in v:
        if isinstance(x, list) and depth > 0:
            out.extend(_flatten(x, depth - 1))
        else:
            out.append(x)
    return out


def _tostring(v: Any) -> str:
    return v if isinstance(v, str) else tojson(v)


def _tonumber(v: Any) -> Any:
    if isinstance(v, int | float) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            n = float(v)
        except ValueError:
            raise JqError(f"Cannot parse {v!r} as a number") from None
        return num(n)
    raise JqError(f"{desc(v)} cannot be parsed as a number")


def _join(v: Any, sep: Any) -> str:
    _need("array", v, "join")
    if not isinstance(sep, str):
        raise JqError("join needs a string separator")
    parts = []
    for x in v:
        if isinstance(x, dict | list):
            raise JqError(f"Cannot join with {desc(x)}")
        parts.append("" if x is None else x if isinstance(x, str) else tojson(x))
    return sep.join(parts)


def _string_op(name: str, fn: Callable[[str, str], Any]) -> Callable[[Any, Any], Any]:
    def call(v: Any, a: Any) -> Any:
        if not isinstance(v, str) or not isinstance(a, str):
            raise JqError(f"{name} needs string input and a string argument, got {desc(v)}")
        return fn(v, a)

    return call


def _test(v: Any, pattern: Any, flags: Any = None) -> bool:
    if not isinstance(v, str) or not isinstance(pattern, str):
        raise JqError(f"{desc(v)} cannot be matched, as it is not a string")
    options = re.IGNORECASE if flags and "i" in flags else 0
    try:
        return re.search(pattern, v, options) is not None
    except re.error as err:
        raise JqError(f"{pattern!r} is not a valid regex: {err}") from None


def _range(v: Any, env: Env, *args: Node) -> Iterator[Any]:
    values = [list(_eval(a, v, env)) for a in args]
    if len(values) == 1:
        bounds = [(0, e, 1) for e in values[0]]
    elif len(values) == 2:
        bounds = [(s, e, 1) for s in values[0] for e in values[1]]
    else:
        bounds = [(s, e, st) for s in values[0] for e in values[1] for st in values[2]]
    for start, end, step in bounds:
        if step == 0:
            raise JqError("range step must not be 0")
        x = start
        count = 0
        while (x < end) if step > 0 else (x > end):
            yield num(x)
            x += step
            count += 1
            if count > 1_000_000:
                raise JqError("range produces more than 1,000,000 values")


def _limit(v: Any, env: Env, n: Node, f: Node) -> Iterator[Any]:
    for count in _eval(n, v, env):
        if count <= 0:
            continue
        for i, x in enumerate(_eval(f, v, env), 1):
            yield x
            if i >= count:
                break


def _first_of(v: Any, env: Env, f: Node) -> Iterator[Any]:
    for x in _eval(f, v, env):
        yield x
        return


def _last_of(v: Any, env: Env, f: Node) -> Iterator[Any]:
    items = list(_eval(f, v, env))
    if items:
        yield items[-1]


def _error(v: Any, env: Env, *args: Node) -> Iterator[Any]:
    messages = list(_eval(args[0], v, env)) if args else [v]
    for m in messages:
        raise JqError(m if isinstance(m, str) else tojson(m))
    yield from ()


def _any_all(v: Any, env: Env, *args: Node, want_all: bool) -> Iterator[Any]:
    if len(args) == 2:
        items = list(_eval(args[0], v, env))
        cond: Node | None = args[1]
    else:
        _need("array", v, "all" if want_all else "any")
        items = list(v)
        cond = args[0] if args else None
    test = [
        truthy(x) if cond is None else any(truthy(c) for c in _eval(cond, x, env)) for x in items
    ]
    yield all(test) if want_all else any(test)


def _recurse_f(v: Any, env: Env, f: Node) -> Iterator[Any]:
    yield v
    for child in _eval(f, v, env):
        yield from _recurse_f(child, env, f)


def _paths_builtin(v: Any, env: Env, *args: Node) -> Iterator[Any]:
    for p in _all_paths(v, []):
        if not p:
            continue
        if args and not any(truthy(x) for x in _eval(args[0], _getpath(v, p), env)):
            continue
        yield p


def _fromjson(v: Any) -> Any:
    if not isinstance(v, str):
        raise JqError(f"{desc(v)} cannot be parsed as JSON, only a string can")
    try:
        return json.loads(v)
    except ValueError as err:
        raise JqError(f"{v!r} is not valid JSON: {err}") from None


def _with_entries(v: Any, env: Env, f: Node) -> Iterator[Any]:
    entries = [x for e in _to_entries(v) for x in _eval(f, e, env)]
    yield _from_entries(entries)


def _minmax(v: Any, sign: int) -> Any:
    _need("array", v, "min/max")
    if not v:
        return None
    best = v[0]
    for x in v[1:]:
        c = compare(x, best)
        if c * sign > 0 or (c == 0 and sign > 0):
            best = x
    return best


def _add_all(v: Any) -> Any:
    items = list(v.values()) if isinstance(v, dict) else v
    if not isinstance(items, list):
        raise JqError(f"Cannot add the elements of {desc(v)}; add needs an array")
    out = None
    for x in items:
        out = add(out, x)
    return out


def _math(name: str, fn: Callable[[float], float]) -> Builtin:
    def call(v: Any, env: Env) -> Iterator[Any]:
        if type_name(v) != "number":
            raise JqError(f"{desc(v)} number required for {name}")
        try:
            yield num(fn(v))
        except (ValueError, OverflowError):
            yield None

    return call


def _map(v: Any, env: Env, f: Node) -> Iterator[Any]:
    yield [y for x in iterate(v) for y in _eval(f, x, env)]


def _map_values(v: Any, env: Env, f: Node) -> Iterator[Any]:
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            for y in _eval(f, x, env):
                out[k] = y
                break
        yield out
    else:
        out_list = []
        for x in iterate(v):
            for y in _eval(f, x, env):
                out_list.append(y)
                break
        yield out_list


def _select(v: Any, env: Env, f: Node) -> Iterator[Any]:
    for cond in _eval(f, v, env):
        if truthy(cond):
            yield v


def _del(v: Any, env: Env, f: Node) -> Iterator[Any]:
    yield _delpaths(v, list(_paths(f, v, env)))


def _path(v: Any, env: Env, f: Node) -> Iterator[Any]:
    yield from _paths(f, v, env)


def _split(v: Any, sep: Any) -> list[str]:
    if not isinstance(v, str) or not isinstance(sep, str):
        raise JqError(f"split input and separator must be strings, got {desc(v)}")
    return v.split(sep) if sep else list(v)


def _ascii(fn: Callable[[str], str], name: str) -> Callable[[Any], Any]:
    def call(v: Any) -> Any:
        _need("string", v, name)
        return fn(v)

    return call


def _indices(v: Any, x: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, str) and isinstance(x, str):
        return [m.start() for m in re.finditer(f"(?={re.escape(x)})", v)] if x else []
    if isinstance(v, list):
        if isinstance(x, list):
            n = len(x)
            return [i for i in range(len(v) - n + 1) if n and v[i : i + n] == x]
        return [i for i, y in enumerate(v) if compare(y, x) == 0]
    raise JqError(f"Cannot determine indices in {desc(v)}")


def _nth_index(v: Any, x: Any, which: int) -> Any:
    found = _indices(v, x)
    return found[which] if found else None


def _getpath_b(v: Any, p: Any) -> Any:
    if not isinstance(p, list):
        raise JqError("Path must be specified as an array")
    try:
        return _getpath(v, p)
    except JqError:
        return None


def _setpath_b(v: Any, env: Env, p: Node, x: Node) -> Iterator[Any]:
    for path in _eval(p, v, env):
        for new in _eval(x, v, env):
            yield _setpath(v, path, new)


def _splits(v: Any, pattern: Any) -> list[str]:
    if not isinstance(v, str) or not isinstance(pattern, str):
        raise JqError("splits needs string input and a string regex")
    return re.split(pattern, v)


def _sub(v: Any, env: Env, pattern: Node, repl: Node, *flags: Node) -> Iterator[Any]:
    flag_values = [next(iter(_eval(f, v, env)), None) for f in flags]
    count = 0 if flag_values and "g" in str(flag_values[0]) else 1
    options = re.IGNORECASE if flag_values and "i" in str(flag_values[0]) else 0
    for p in _eval(pattern, v, env):
        if not isinstance(v, str) or not isinstance(p, str):
            raise JqError(f"{desc(v)} cannot be matched, as it is not a string")

        def replace(m: re.Match[str]) -> str:
            captures = dict(m.groupdict())
            outs = list(_eval(repl, captures, env))
            return str(outs[0]) if outs else ""

        yield re.sub(p, replace, v, count=count, flags=options)


_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


BUILTINS.update(
    {
        ("empty", 0): lambda v, env: iter(()),
        ("not", 0): _one(lambda v: not truthy(v)),
        ("length", 0): _one(_length),
        ("utf8bytelength", 0): _one(
            lambda v: len(v.encode()) if isinstance(v, str) else _length(v)
        ),
        ("keys", 0): _one(_keys),
        ("keys_unsorted", 0): _one(lambda v: _keys(v, sort=False)),
        ("has", 1): _with_arg(_has),
        ("in", 1): _with_arg(lambda v, obj: _has(obj, v)),
        ("contains", 1): _with_arg(_contains),
        ("inside", 1): _with_arg(lambda v, obj: _contains(obj, v)),
        ("type", 0): _one(type_name),
        ("select", 1): _select,
        ("map", 1): _map,
        ("map_values", 1): _map_values,
        ("to_entries", 0): _one(_to_entries),
        ("from_entries", 0): _one(_from_entries),
        ("with_entries", 1): _with_entries,
        ("sort", 0): _one(_sort),
        ("sort_by", 1): _sort_by,
        ("group_by", 1): _group_by,
        ("unique", 0): _one(lambda v: [g[0] for g in next(_group_by(v, {}, ("identity",)))]),
        ("unique_by", 1): _unique_by,
        ("min", 0): _one(lambda v: _minmax(v, -1)),
        ("max", 0): _one(lambda v: _minmax(v, 1)),
        ("min_by", 1): lambda v, env, f: iter([_extreme_by(v, env, f, -1)]),
        ("max_by", 1): lambda v, env, f: iter([_extreme_by(v, env, f, 1)]),
        ("add", 0): _one(_add_all),
        ("any", 0): lambda v, env: _any_all(v, env, want_all=False),
        ("any", 1): lambda v, env, f: _any_all(v, env, f, want_all=False),
        ("any", 2): lambda v, env, g, f: _any_all(v, env, g, f, want_all=False),
        ("all", 0): lambda v, env: _any_all(v, env, want_all=True),
        ("all", 1): lambda v, env, f: _any_all(v, env, f, want_all=True),
        ("all", 2): lambda v, env, g, f: _any_all(v, env, g, f, want_all=True),
        ("first", 0): _one(lambda v: index(v, 0)),
        ("last", 0): _one(lambda v: index(v, -1)),
        ("first", 1): _first_of,
        ("last", 1): _last_of,
        ("nth", 1): _with_arg(index),
        ("limit", 2): _limit,
        ("reverse", 0): _one(
            lambda v: (
                v[::-1]
                if isinstance(v, list | str)
                else []
                if v is None
                else _fail(f"{desc(v)} cannot be reversed, as it is not an array")
            )
        ),
        ("join", 1): _with_arg(_join),
        ("split", 1): _with_arg(_split),
        ("splits", 1): lambda v, env, p: (x for pat in _eval(p, v, env) for x in _splits(v, pat)),
        ("ascii_downcase", 0): _one(_ascii(lambda s: s.translate(_LOWER), "ascii_downcase")),
        ("ascii_upcase", 0): _one(_ascii(lambda s: s.translate(_UPPER), "ascii_upcase")),
        ("ltrimstr", 1): _with_arg(
            lambda v, a: (
                v[len(a) :] if isinstance(v, str) and isinstance(a, str) and v.startswith(a) else v
            )
        ),
        ("rtrimstr", 1): _with_arg(
            lambda v, a: (
                v[: len(v) - len(a)]
                if isinstance(v, str) and isinstance(a, str) and a and v.endswith(a)
                else v
            )
        ),
        ("startswith", 1): _with_arg(_string_op("startswith", lambda s, a: s.startswith(a))),
        ("endswith", 1): _with_arg(_string_op("endswith", lambda s, a: s.endswith(a))),
        ("test", 1): _with_arg(_test),
        ("test", 2): lambda v, env, p, f: (
            _test(v, a, b) for a in _eval(p, v, env) for b in _eval(f, v, env)
        ),
        ("sub", 2): _sub,
        ("sub", 3): _sub,
        ("gsub", 2): lambda v, env, p, r: _sub(v, env, p, r, ("literal", "g")),
        ("trim", 0): _one(_ascii(str.strip, "trim")),
        ("ltrim", 0): _one(_ascii(str.lstrip, "ltrim")),
        ("rtrim", 0): _one(_ascii(str.rstrip, "rtrim")),
        ("tostring", 0): _one(_tostring),
        ("tonumber", 0): _one(_tonumber),
        ("tojson", 0): _one(tojson),
        ("fromjson", 0): _one(_fromjson),
        ("ascii", 0): _one(lambda v: chr(int(v))),
        ("explode", 0): _one(
            lambda v: (
                [ord(c) for c in v]
                if isinstance(v, str)
                else _fail(f"{desc(v)} cannot be exploded, as it is not a string")
            )
        ),
        ("implode", 0): _one(lambda v: "".join(chr(int(c)) for c in v)),
        ("flatten", 0): _one(_flatten),
        ("flatten", 1): _with_arg(_flatten),
        ("range", 1): _range,
        ("range", 2): _range,
        ("range", 3): _range,
        ("floor", 0): _math("floor", math.floor),
        ("ceil", 0): _math("ceil", math.ceil),
        ("round", 0): _math("round", lambda x: math.floor(x + 0.5)),
        ("sqrt", 0): _math("sqrt", math.sqrt),
        ("fabs", 0): _math("fabs", math.fabs),
        ("abs", 0): _math("abs", abs),
        ("log", 0): _math("log", math.log),
        ("pow", 2): lambda v, env, a, b: (
            num(math.pow(x, y)) for x in _eval(a, v, env) for y in _eval(b, v, env)
        ),
        ("error", 0): _error,
        ("error", 1): _error,
        ("recurse", 0): lambda v, env: recurse(v),
        ("recurse", 1): _recurse_f,
        ("paths", 0): _paths_builtin,
        ("paths", 1): _paths_builtin,
        ("path", 1): _path,
        ("getpath", 1): _with_arg(_getpath_b),
        ("setpath", 2): _setpath_b,
        ("delpaths", 1): _with_arg(_delpaths),
        ("del", 1): _del,
        ("to_array", 0): _one(lambda v: v if isinstance(v, list) else [v]),
        ("tostream", 0): _one(lambda v: v),
        ("indices", 1): _with_arg(_indices),
        ("index", 1): _with_arg(lambda v, x: _nth_index(v, x, 0)),
        ("rindex", 1): _with_arg(lambda v, x: _nth_index(v, x, -1)),
        ("isnan", 0): _one(lambda v: isinstance(v, float) and math.isnan(v)),
        ("infinite", 0): _one(lambda v: math.inf),
        ("nan", 0): _one(lambda v: math.nan),
        ("null", 0): _one(lambda v: None),
        ("arrays", 0): lambda v, env: iter([v] if isinstance(v, list) else []),
        ("objects", 0): lambda v, env: iter([v] if isinstance(v, dict) else []),
        ("strings", 0): lambda v, env: iter([v] if isinstance(v, str) else []),
        ("numbers", 0): lambda v, env: iter([v] if type_name(v) == "number" else []),
        ("booleans", 0): lambda v, env: iter([v] if isinstance(v, bool) else []),
        ("nulls", 0): lambda v, env: iter([v] if v is None else []),
        ("iterables", 0): lambda v, env: iter([v] if isinstance(v, list | dict) else []),
        ("scalars", 0): lambda v, env: iter([v] if not isinstance(v, list | dict) else []),
    }
)
BUILTINS[("values", 0)] = lambda v, env: iter([v] if v is not None else [])

__all__ = ["BUILTINS"]
