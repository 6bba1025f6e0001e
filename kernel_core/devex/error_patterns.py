"""The error-pattern database: a Lua error message in, a suggestion a person can act on out.

Each pattern is a regular expression over the bare message (no ``file:line:`` prefix) and a
function building the hint from the match, the source line and the names the runtime knows
(for "did you mean"). Patterns are tried in order; the first that gives a hint wins.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

Names = Callable[[], dict[str, list[str]]]


@dataclass(frozen=True)
class Pattern:
    """One entry of the database."""

    name: str
    regex: re.Pattern[str]
    hint: Callable[[re.Match[str], str | None, Names | None], str | None]


def _receiver(line: str | None, member: str) -> str | None:
    """The expression before ``.member``/``:member`` on the source line (``Tool``, ``agent``)."""
    if not line:
        return None
    m = re.search(rf"([A-Za-z_][\w]*)\s*(?:\(\s*\))?\s*[.:]\s*{re.escape(member)}\b", line)
    return m.group(1) if m else None


def _closest(name: str, candidates: list[str]) -> str | None:
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered and lowered[name.lower()] != name:
        return lowered[name.lower()]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    if snake in candidates and snake != name:
        return snake
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
    if camel in candidates and camel != name:
        return camel
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return match[0] if match else None


def _did_you_mean(member: str, line: str | None, names: Names | None) -> str | None:
    if names is None:
        return None
    known = names()
    receiver = _receiver(line, member)
    if receiver and receiver in known:
        guess = _closest(member, known[receiver])
        if guess:
            return f"{receiver} has no '{member}'; did you mean {receiver}.{guess}?"
        shown = ", ".join(sorted(known[receiver])[:12])
        return f"{receiver} has no '{member}'. It has: {shown}"
    candidates = sorted({n for methods in known.values() for n in methods})
    guess = _closest(member, candidates)
    if guess:
        owners = [owner for owner, methods in known.items() if guess in methods]
        where = f" ({', '.join(sorted(owners)[:3])})" if owners else ""
        return f"did you mean '{guess}'{where}?"
    return None


def _call_nil(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    kind, name = m.group(1), m.group(2)
    if kind in ("method", "field"):
        found = _did_you_mean(name, line, names)
        if found:
            return found
        return (
            f"'{name}' is nil: the object has no {kind} of that name. Check the spelling, "
            "and use ':' for methods (obj:method()) and '.' for functions (Module.func())."
        )
    if kind == "global":
        if names is not None:
            guess = _closest(name, list(names()))
            if guess:
                return f"there is no global '{name}'; did you mean '{guess}'?"
        return (
            f"there is no global '{name}'. Define it before calling it, or require the "
            "module that provides it."
        )
    return f"'{name}' is nil where it is called; assign a function to it first."


def _index_nil(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    kind, name = m.group(1), m.group(2)
    if kind == "global" and names is not None:
        guess = _closest(name, list(names()))
        if guess:
            return f"there is no global '{name}'; did you mean '{guess}'?"
    return (
        f"'{name}' is nil here, so it cannot be indexed. Check that it was assigned (a "
        f"function that returned nothing?), or guard it: if {name} then ... end, or "
        f"{name} = {name} or {{}}."
    )


def _arith(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    kind, what = m.group(1), m.group(2)
    name = m.group(4)
    subject = f"'{name}'" if name else "a value"
    if kind == "nil":
        return (
            f"{subject} is nil in an arithmetic expression. Give it a value first or use a "
            f"default: ({name or 'x'} or 0)."
        )
    if kind == "string":
        return (
            f"{subject} is a string that is not a number. Convert it with tonumber(...) and "
            "check for nil; use '..' to join strings."
        )
    if kind in ("table", "boolean", "function"):
        return f"{subject} is a {kind}; arithmetic needs numbers. Did you mean a field of it?"
    del what
    return None


def _concat(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    kind = m.group(1)
    name = m.group(3)
    subject = f"'{name}'" if name else "a value"
    if kind == "nil":
        return f"{subject} is nil; use tostring({name or 'x'}) or ({name or 'x'} or \"\") when joining strings."
    if kind == "table":
        return (
            f"{subject} is a table; '..' joins only strings and numbers. Use "
            "JSON.stringify(t), table.concat(t, ', ') or a field of it."
        )
    return f"{subject} is a {kind}; convert it with tostring() before joining."


def _bad_argument(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    number, function, detail = m.group(1), m.group(2), m.group(3)
    if "table expected" in detail and function in ("execute", "Tool.execute"):
        return (
            "pass the parameters as a table: Tool.execute(\"name\", {operation = \"...\"}) "
            "or agent:execute({text = \"...\"})"
        )
    if "got no value" in detail:
        return f"'{function}' needs argument #{number}; it was missing."
    return f"check argument #{number} of '{function}': {detail}."


def _compare(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    return (
        f"comparing {m.group(1)} with {m.group(2)}: convert both to numbers (tonumber) or both "
        "to strings first, and check for nil."
    )


def _unknown_tool(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    name = m.group(1)
    tools = names().get("@tools", []) if names else []
    guess = _closest(name, tools) if tools else None
    if guess:
        return f"there is no tool '{name}'; did you mean '{guess}'? (Tool.list() lists them)"
    return "Tool.list() lists the available tools; names are kebab-case (file-operations)."


def _eof(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    return (
        "a block is not closed: every function, if, for, while and do needs a matching "
        "'end' (and repeat an 'until')."
    )


def _expected_near(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    expected, near = m.group(1), m.group(2)
    if expected == "=" or near in ("'='", "="):
        return "an expression or assignment is malformed; Lua uses '==' to compare and '~=' for 'not equal'."
    if near in ("'!='",) or "!" in near:
        return "Lua writes 'not equal' as '~=' and 'not' as 'not'."
    return None


PATTERNS: list[Pattern] = [
    Pattern("call-nil", re.compile(r"attempt to call a nil value \((method|field|global|local|upvalue) '([^']+)'\)"), _call_nil),
    Pattern("index-nil", re.compile(r"attempt to index a nil value \((local|global|field|upvalue|method) '([^']+)'\)"), _index_nil),
    Pattern("index-nil-anon", re.compile(r"attempt to index a nil value()()$"), lambda m, l, n: "a value is nil where a table was expected; check what the expression before '.' or '[' returns."),
    Pattern("arith", re.compile(r"attempt to perform arithmetic on a (\w+) value( \((local|global|field|upvalue|constant) '([^']+)'\))?"), _arith),
    Pattern("concat", re.compile(r"attempt to concatenate a (\w+) value( \((?:local|global|field|upvalue) '([^']+)'\))?"), _concat),
    Pattern("bad-argument", re.compile(r"bad argument #(\d+) to '([^']+)' \((.*)\)"), _bad_argument),
    Pattern("compare", re.compile(r"attempt to compare (\w+ ?\w*) with (\w+ ?\w*)"), _compare),
    Pattern("unknown-tool", re.compile(r"Tool '([^']+)' not found"), _unknown_tool),
    Pattern("eof", re.compile(r"'end' expected|unexpected symbol near <eof>|near <eof>"), _eof),
    Pattern("expected-near", re.compile(r"'(.+?)' expected near (.+)$"), _expected_near),
    Pattern("string-number", re.compile(r"attempt to perform arithmetic on a string value"), lambda m, l, n: "convert the string with tonumber(...) first."),
]


def suggest(message: str, *, source_line: str | None, names: Names | None) -> str | None:
    """A hint for a Lua error message, or None when no pattern knows it."""
    for pattern in PATTERNS:
        m = pattern.regex.search(message)
        if m:
            hint = pattern.hint(m, source_line, names)
            if hint:
                return hint
    return None
