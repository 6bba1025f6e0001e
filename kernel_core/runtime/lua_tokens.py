"""A Lua 5.4 tokenizer: names, keywords, numbers, short and long strings, comments.

Used wherever llmspell reads Lua source without running it: REPL cell rewriting, completion
context, ``is_complete``, and (later) load-time breakpoint instrumentation. Positions are
kept so callers can rewrite source without moving line numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

KEYWORDS = frozenset(
    [
        "and",
        "break",
        "do",
        "else",
        "elseif",
        "end",
        "false",
        "for",
        "function",
        "goto",
        "if",
        "in",
        "local",
        "nil",
        "not",
        "or",
        "repeat",
        "return",
        "then",
        "true",
        "until",
        "while",
    ]
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(
    r"0[xX](?:[0-9a-fA-F]*\.?[0-9a-fA-F]*)(?:[pP][+-]?\d+)?|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
)
_LONG_OPEN = re.compile(r"\[(=*)\[")
_SYMBOLS = (
    "...",
    "..",
    "==",
    "~=",
    "<=",
    ">=",
    "<<",
    ">>",
    "//",
    "::",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
    "#",
    "&",
    "~",
    "|",
    "<",
    ">",
    "=",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ";",
    ":",
    ",",
    ".",
)


@dataclass(frozen=True)
class Token:
    """One token: kind is name, keyword, number, string, comment, symbol or eof."""

    kind: str
    text: str
    start: int  # offset in the source
    end: int
    line: int


class UnfinishedToken(Exception):
    """The source ends inside a string or long comment (the cell is incomplete)."""


def tokenize(source: str, *, comments: bool = False) -> Iterator[Token]:
    """Yield the tokens of ``source``; raises UnfinishedToken at an unterminated string."""
    i, n, line = 0, len(source), 1
    while i < n:
        ch = source[i]
        if ch == "\n":
            line += 1
            i += 1
            continue
        if ch in " \t\r\f\v":
            i += 1
            continue
        start, start_line = i, line
        if source.startswith("--", i):
            m = _LONG_OPEN.match(source, i + 2)
            if m:
                close = "]" + m.group(1) + "]"
                end = source.find(close, m.end())
                if end < 0:
                    raise UnfinishedToken("unfinished long comment")
                i = end + len(close)
            else:
                end = source.find("\n", i)
                i = n if end < 0 else end
            line += source.count("\n", start, i)
            if comments:
                yield Token("comment", source[start:i], start, i, start_line)
            continue
        m = _NAME.match(source, i)
        if m:
            text = m.group()
            i = m.end()
            yield Token("keyword" if text in KEYWORDS else "name", text, start, i, line)
            continue
        if ch.isdigit() or (ch == "." and i + 1 < n and source[i + 1].isdigit()):
            m = _NUMBER.match(source, i)
            assert m is not None
            i = m.end()
            yield Token("number", m.group(), start, i, line)
            continue
        if ch in "\"'":
            i += 1
            while True:
                if i >= n:
                    raise UnfinishedToken("unfinished string")
                c = source[i]
                if c == "\\":
                    if i + 1 < n and source[i + 1] == "\n":
                        line += 1
                    if source.startswith("z", i + 1):
                        j = i + 2
                        while j < n and source[j] in " \t\r\n\f\v":
                            if source[j] == "\n":
                                line += 1
                            j += 1
                        i = j
                        continue
                    i += 2
                    continue
                if c == "\n":
                    raise UnfinishedToken("unfinished string")
                i += 1
                if c == ch:
                    break
            yield Token("string", source[start:i], start, i, start_line)
            continue
        m = _LONG_OPEN.match(source, i)
        if m:
            close = "]" + m.group(1) + "]"
            end = source.find(close, m.end())
            if end < 0:
                raise UnfinishedToken("unfinished long string")
            i = end + len(close)
            line += source.count("\n", start, i)
            yield Token("string", source[start:i], start, i, start_line)
            continue
        for symbol in _SYMBOLS:
            if source.startswith(symbol, i):
                i += len(symbol)
                yield Token("symbol", symbol, start, i, line)
                break
        else:
            i += 1
            yield Token("symbol", ch, start, i, line)
    yield Token("eof", "", n, n, line)


# Keywords that open a block closed by `end` (or `until` for repeat). `elseif` closes the
# `then` before it and the `then` after it reopens, so it counts as a close.
_OPENERS = frozenset({"function", "do", "then", "repeat"})
_CLOSERS = frozenset({"end", "until", "elseif"})


def block_depths(tokens: list[Token]) -> list[int]:
    """The block nesting depth before each token (0 = top level of the chunk)."""
    depths: list[int] = []
    depth = 0
    for token in tokens:
        depths.append(depth)
        if token.kind == "keyword":
            if token.text in _OPENERS:
                depth += 1
            elif token.text in _CLOSERS:
                depth = max(0, depth - 1)
    return depths
