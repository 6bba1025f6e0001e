"""Load-time instrumentation of breakpoint lines, and which lines can hold a breakpoint.

A line can hold a breakpoint when a statement starts on it. Instrumenting line L inserts
``__llmspell_bp(L) `` before that statement: the rest of the chunk is untouched and line
numbers do not move, so a breakpoint that is never hit costs nothing
(notes/lupa-measurements.md §2, strategy e2). A breakpoint with a condition that can be
evaluated in the line itself gets ``if (COND) then __llmspell_bp(L, SITE) end`` instead
(conditions.py): a false condition then costs what the comparison costs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from kernel_core.debugger.conditions import compiled_check, inline_condition, visible_locals
from kernel_core.runtime.lua_tokens import Token, UnfinishedToken, tokenize

CHECK = "__llmspell_bp"

# Tokens after which a new statement may begin.
_ENDS_EXPRESSION = {")", "]", "}", "..."}
_BEFORE_STATEMENT = {";", "do", "then", "else", "repeat", "end", "break"}
_STARTS_STATEMENT = {
    "local",
    "if",
    "for",
    "while",
    "repeat",
    "return",
    "break",
    "goto",
    "do",
    "function",
    "::",
}


@dataclass
class ChunkLines:
    """Statement starts of a chunk: line -> offset of the statement's first token."""

    starts: dict[int, int] = field(default_factory=dict)

    def resolve(self, line: int) -> int | None:
        """The line a breakpoint on ``line`` binds to: that line or the next with code."""
        candidates = [n for n in self.starts if n >= line]
        return min(candidates) if candidates else None


def statement_lines(source: str) -> ChunkLines:
    """Where statements start, line by line (the first statement of each line)."""
    try:
        tokens = [t for t in tokenize(source) if t.kind != "comment"]
    except UnfinishedToken:
        return ChunkLines()
    lines = ChunkLines()
    previous: Token | None = None
    for token in tokens:
        if token.kind == "eof":
            break
        if token.line not in lines.starts and _starts_statement(previous, token):
            lines.starts[token.line] = token.start
        previous = token
    return lines


def _starts_statement(previous: Token | None, token: Token) -> bool:
    if token.kind == "keyword":
        if token.text not in _STARTS_STATEMENT:
            return False
    elif token.kind == "symbol":
        if token.text != "::":
            return False
    elif token.kind != "name":
        return False
    if previous is None:
        return True
    if previous.kind in ("keyword",):
        return bool(previous.text in _BEFORE_STATEMENT or previous.text in ("true", "false", "nil"))
    if previous.kind in ("name", "number", "string"):
        return True
    return previous.text in _ENDS_EXPRESSION or previous.text == ";"


@dataclass
class Site:
    """An instrumented line, named so that its check finds its breakpoint without asking
    Lua for the running source: ``condition`` is the one compiled into the line, or None
    for a plain check (which evaluates whatever condition the breakpoint has)."""

    id: int
    line: int
    condition: str | None
    hit: str | None = None  # a hit condition whose counting is compiled in (no condition)


def instrument(
    source: str,
    lines: list[int],
    conditions: dict[int, str] | None = None,
    next_site: Callable[[], int] | None = None,
    hits: dict[int, str] | None = None,
) -> tuple[str, list[int], list[Site]]:
    """Insert breakpoint checks on ``lines`` (those where a statement starts). A line with a
    condition in ``conditions`` that can be evaluated in place gets it compiled in, under a
    site id from ``next_site``. A line with a hit condition in ``hits`` (and no condition)
    counts its passes itself and calls the debugger only when the hit condition holds.

    Returns the new source, the lines that got a check and the compiled sites.
    """
    chunk = statement_lines(source)
    targets = sorted({line for line in lines if line in chunk.starts}, reverse=True)
    out = source
    sites: list[Site] = []
    for line in targets:
        offset = chunk.starts[line]
        check = f"{CHECK}({line}) "
        if next_site is not None:
            site = next_site()
            text = (conditions or {}).get(line)
            inline = inline_condition(text) if text else None
            visible = visible_locals(source, offset) if inline is not None else None
            compiled = compiled_check(line, site, inline, visible) if inline and visible else None
            counting = hit_check(line, site, (hits or {}).get(line)) if not text else None
            if compiled is not None:
                check = compiled
                sites.append(Site(site, line, text))
            elif counting is not None:
                check = counting
                sites.append(Site(site, line, None, (hits or {})[line]))
            else:
                check = f"{CHECK}({line}, {site}) "
                sites.append(Site(site, line, None))
        out = f"{out[:offset]}{check}{out[offset:]}"
    return out, sorted(targets), sites


_HIT = re.compile(r"^\s*(>=|==|<=|>|<|%)?\s*(\d+)\s*$")
HIT_COUNTS = "__llmspell_hc"


def hit_check(line: int, site: int, spec: str | None) -> str | None:
    """The text that counts a line's passes in Lua and calls the debugger only on those its
    hit condition accepts (debugger.lua's hit_test, the same forms), or None."""
    match = _HIT.match(spec or "")
    if match is None:
        return None
    op, n = match.group(1) or ">=", int(match.group(2))
    count = f"{HIT_COUNTS}[{site}]"
    if op == "%":
        if n == 0:
            return None
        test = f"{count} % {n} == 0"
    else:
        test = f"{count} {op} {n}"
    return f"{count} = {count} + 1 if {test} then {CHECK}({line}, {site}, {count}) end "
