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


def _closest(name: str, candidates: list[str], cutoff: float = 0.6) -> str | None:
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered and lowered[name.lower()] != name:
        return lowered[name.lower()]
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    if snake in candidates and snake != name:
        return snake
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), name)
    if camel in candidates and camel != name:
        return camel
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=cutoff)
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
    # An unknown receiver: search every known method, but only accept a close match, so a
    # local table's missing 'get' is not "corrected" to some unrelated 'rawget'.
    candidates = sorted({n for owner, methods in known.items() if owner != "_G" for n in methods})
    guess = _closest(member, candidates, cutoff=0.85)
    if guess:
        owners = [owner for owner, methods in known.items() if guess in methods]
        where = f" ({', '.join(sorted(owners)[:3])})" if owners else ""
        if guess == member:
            return (
                f"this value has no '{member}', though other objects do{where}; check what "
                "the expression before '.' or ':' holds."
            )
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


def _index_nil_anonymous(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    if line and re.search(r"\bi?pairs\s*\(", line):
        return (
            "the table given to pairs()/ipairs() is nil; check where it is assigned, or loop "
            "over (t or {})."
        )
    return (
        "a value is nil where a table was expected; check what the expression before '.', "
        "':' or '[' returns (a function that returned nothing?)."
    )


def _wrong_type(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    action, kind, name = m.group(1), m.group(2), m.group(3)
    subject = f"'{name}'" if name else "the value"
    if action == "index":
        if kind == "string":
            return (
                f"{subject} is a string; only tables have fields. String methods are called "
                "with ':' (s:upper()); to read JSON text, JSON.parse(s) first."
            )
        return f"{subject} is a {kind}, not a table, so it has no fields."
    if kind == "table":
        return (
            f"{subject} is a table, not a function; call one of its fields "
            "(t.method() or t:method()), or give it a __call metamethod."
        )
    return f"{subject} is a {kind}, not a function; check what was assigned to it."


def _arith(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    kind, name = m.group(1), m.group(2)
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
    return f"{subject} is a {kind}; arithmetic needs numbers. Did you mean a field of it?"


_STRING_ARITH_VERBS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "mod": "%",
    "pow": "^",
    "idiv": "//",
    "unm": "unary -",
}


def _string_arith(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    # Lua 5.4 string coercion fails with "attempt to add a 'string' with a 'number'".
    operator = _STRING_ARITH_VERBS.get(m.group(1), m.group(1))
    return (
        f"a string that does not look like a number was used with '{operator}'. Convert it "
        "with tonumber(s) and check the result for nil; use '..' to join strings."
    )


def _concat(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    kind, name = m.group(1), m.group(2)
    subject = f"'{name}'" if name else "a value"
    if kind == "nil":
        shown = name or "x"
        return f'{subject} is nil; use tostring({shown}) or ({shown} or "") when joining strings.'
    if kind == "table":
        return (
            f"{subject} is a table; '..' joins only strings and numbers. Use "
            "JSON.stringify(t), table.concat(t, ', ') or a field of it."
        )
    return f"{subject} is a {kind}; convert it with tostring() before joining."


def _bad_argument(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    number, function, detail = m.group(1), m.group(2), m.group(3)
    if function == "for iterator":
        return (
            "the value looped over with pairs()/ipairs() is not a table; check where it is "
            "assigned, or loop over (t or {})."
        )
    if "table expected" in detail and function in ("execute", "Tool.execute"):
        return (
            'pass the parameters as a table: Tool.execute("name", {operation = "..."}) '
            'or agent:execute({text = "..."})'
        )
    if "got no value" in detail:
        return f"'{function}' needs argument #{number}; it was missing."
    expected = re.match(r"(\w+) expected, got (\w+)", detail)
    if expected and expected.group(1) == "number" and expected.group(2) == "string":
        return f"argument #{number} of '{function}' must be a number; convert it with tonumber()."
    if expected and expected.group(1) == "string" and expected.group(2) == "table":
        return (
            f"argument #{number} of '{function}' must be a string; use JSON.stringify(t) or "
            "a field of the table."
        )
    return f"check argument #{number} of '{function}': {detail}."


def _compare(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    left, right = m.group(1), m.group(2)
    if "nil" in (left, right):
        return "one side of the comparison is nil; give it a value first or compare (x or 0) < y."
    return (
        f"comparing {left} with {right}: convert both to numbers (tonumber) or both "
        "to strings (tostring) first."
    )


def _compare_same(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    kind = m.group(1)
    return (
        f"two {kind} values cannot be ordered with < or >; compare one of their fields, or "
        "give them a __lt metamethod."
    )


def _unknown_tool(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    name = m.group(1)
    tools = names().get("@tools", []) if names else []
    guess = _closest(name, tools) if tools else None
    if guess:
        return f"there is no tool '{name}'; did you mean '{guess}'? (Tool.list() lists them)"
    return "Tool.list() lists the available tools; names are kebab-case (file-operations)."


def _unclosed_block(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    block, opened = m.group(1), m.group(2)
    closer = "'until'" if block == "repeat" else "'end'"
    if opened:
        return (
            f"the '{block}' opened at line {opened} has no matching {closer}; add it where "
            "the block should finish."
        )
    return (
        "a block is not closed: every function, if, for, while and do needs a matching "
        "'end' (and repeat an 'until')."
    )


def _unfinished(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    what = m.group(1)
    if what in {"long string", "long comment"}:
        return f"a {what} opened with [[ (or [==[) is never closed with ]] (or ]==])."
    return (
        "a string is not closed: add the matching quote on the same line, or use [[...]] for "
        "text spanning lines."
    )


def _expected_near(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    expected, near = m.group(1), m.group(2)
    if near == "'!'" or "!=" in (line or ""):
        return "Lua writes 'not equal' as '~=' and negation as 'not'."
    if near == "'='" and expected in ("then", "do", ")", "}"):
        return "use '==' to compare; a single '=' only assigns."
    if expected == "then":
        return "an 'if' condition is followed by 'then': if cond then ... end."
    if expected == "do":
        return "a 'for' or 'while' header is followed by 'do': for i = 1, n do ... end."
    if expected == "=":
        return (
            "a statement is malformed: assignments are 'name = value' and calls need "
            "parentheses, f(x)."
        )
    return None


def _syntax_near(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    near = m.group(1)
    text = line or ""
    if re.search(r"(\+\+|--\s*$|[-+*/]=)", text) or near in ("'+'", "'-'"):
        return "Lua has no ++, += or -=; write x = x + 1."
    if near == "'='":
        return "use '==' to compare; a single '=' only assigns."
    return None


def _stack_overflow(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    return (
        "a function kept calling itself (or a chain of functions called each other) without "
        "stopping; check the recursion's base case."
    )


def _error_object(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
    return (
        f"error() was given a {m.group(1)}, which has no message; raise a string "
        "(error('what went wrong')) or give the table a message field."
    )


def _const(text: str) -> Callable[[re.Match[str], str | None, Names | None], str | None]:
    def hint(m: re.Match[str], line: str | None, names: Names | None) -> str | None:
        return text

    return hint


_KIND = r"(?:local|global|field|upvalue|method|constant)"

PATTERNS: list[Pattern] = [
    Pattern(
        "call-nil",
        re.compile(
            r"attempt to call a nil value \((method|field|global|local|upvalue) '([^']+)'\)"
        ),
        _call_nil,
    ),
    Pattern(
        "index-nil",
        re.compile(
            r"attempt to index a nil value \((local|global|field|upvalue|method) '([^']+)'\)"
        ),
        _index_nil,
    ),
    Pattern(
        "index-nil-anonymous", re.compile(r"attempt to index a nil value$"), _index_nil_anonymous
    ),
    Pattern(
        "wrong-type",
        re.compile(rf"attempt to (index|call) an? (\w+) value(?: \({_KIND} '([^']+)'\))?"),
        _wrong_type,
    ),
    Pattern(
        "arith",
        re.compile(rf"attempt to perform arithmetic on an? (\w+) value(?: \({_KIND} '([^']+)'\))?"),
        _arith,
    ),
    Pattern(
        "string-arith",
        re.compile(r"attempt to (\w+) an? '\w+' with an? '\w+'"),
        _string_arith,
    ),
    Pattern(
        "concat",
        re.compile(rf"attempt to concatenate an? (\w+) value(?: \({_KIND} '([^']+)'\))?"),
        _concat,
    ),
    Pattern(
        "bad-argument", re.compile(r"bad argument #(\d+) to '([^']+)' \((.*)\)"), _bad_argument
    ),
    Pattern("compare-same", re.compile(r"attempt to compare two (\w+) values"), _compare_same),
    Pattern("compare", re.compile(r"attempt to compare (\w+) with (\w+)"), _compare),
    Pattern("unknown-tool", re.compile(r"Tool '([^']+)' not found"), _unknown_tool),
    Pattern(
        "unclosed-block",
        re.compile(r"'(?:end|until)' expected(?: \(to close '(\w+)' at line (\d+)\))? near <eof>"),
        _unclosed_block,
    ),
    Pattern(
        "unfinished",
        re.compile(r"unfinished (long string|long comment|string)\b"),
        _unfinished,
    ),
    Pattern(
        "eof",
        re.compile(r"near <eof>$"),
        _const(
            "the script ended in the middle of a statement or block: look for a missing "
            "'end', ')' or '}'."
        ),
    ),
    Pattern("expected-near", re.compile(r"'(.+?)' expected near (.+)$"), _expected_near),
    Pattern("syntax-near", re.compile(r"syntax error near (.+)$"), _syntax_near),
    Pattern(
        "divide-by-zero",
        re.compile(r"attempt to perform 'n%%0'|attempt to divide by zero"),
        _const(
            "integer division or modulo by zero; check the divisor first, or use '/' for "
            "float division (which gives inf)."
        ),
    ),
    Pattern(
        "for-value",
        re.compile(r"'for' (initial|limit|step) value must be a number|bad 'for' (\w+) value"),
        _const("a numeric for needs numbers: convert the bounds with tonumber() first."),
    ),
    Pattern(
        "bitwise",
        re.compile(r"number has no integer representation|attempt to perform bitwise"),
        _const(
            "bitwise operators need integers; use math.tointeger(x) or math.floor(x) and "
            "check for nil first."
        ),
    ),
    Pattern(
        "module-not-found",
        re.compile(r"module '([^']+)' not found"),
        lambda m, line, names: (
            f"require looks for {m.group(1).replace('.', '/')}.lua next to the script and in "
            "[runtime] module_paths (llmspell.toml); put the file there or add its directory."
        ),
    ),
    Pattern("stack-overflow", re.compile(r"stack overflow"), _stack_overflow),
    Pattern("error-object", re.compile(r"^\(error object is an? (\w+) value\)$"), _error_object),
]


def explain(
    message: str, *, source_line: str | None, names: Names | None
) -> tuple[str, str] | None:
    """The name of the first pattern with a hint for ``message``, and that hint."""
    for pattern in PATTERNS:
        m = pattern.regex.search(message)
        if m:
            hint = pattern.hint(m, source_line, names)
            if hint:
                return pattern.name, hint
    return None


def suggest(message: str, *, source_line: str | None, names: Names | None) -> str | None:
    """A hint for a Lua error message, or None when no pattern knows it."""
    found = explain(message, source_line=source_line, names=names)
    return found[1] if found else None
