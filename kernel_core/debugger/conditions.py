"""Breakpoint conditions compiled into the instrumented line, and the locals a line sees.

A condition on a hot line must not cost a call per pass (docs/benchmarks.md, Debugger):
instrument.py writes it into the line itself, ``if (COND) then __llmspell_bp(L, S) end``,
so Lua evaluates it in the line's own scope, as fast as the script's own code. That is only
allowed when the inline evaluation can never raise: an error there would be the script's
error, which plain Lua would not have. So a condition is inlined only when

- it uses names, literals, ``and or not``, comparisons and arithmetic (no indexing, calls,
  ``..``, ``#`` or bitwise operators, which may raise or run metamethods);
- every name it reads is a local or upvalue visible at that statement (a global read can
  run ``_ENV``'s ``__index``, which may raise: strict.lua);
- every name used as a number is one: either a numeric ``for`` variable the code never
  assigns, or checked on each pass by ``__llmspell_num[name]``, a table read that is true
  only for numbers (debugger.lua keeps numbers seen as keys, and its ``__index`` answers
  for the others). When that check fails, the line asks the debugger to evaluate the
  condition itself, protected, exactly as any other condition.

Anything else keeps the plain check ``__llmspell_bp(L)`` and the debugger evaluates the
condition in the frame, protected, on each pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernel_core.runtime.lua_tokens import Token, UnfinishedToken, tokenize

NUMBER_CHECK = "__llmspell_num"

_COMPARE = {"<", "<=", ">", ">="}
_EQUAL = {"==", "~="}
_ARITH = {"+", "-", "*", "/", "//", "%"}
# binary precedence (left, right) as Lua 5.4's parser has them
_BINARY = {
    "or": (1, 1),
    "and": (2, 2),
    **dict.fromkeys(_COMPARE | _EQUAL, (3, 3)),
    "+": (10, 10),
    "-": (10, 10),
    "*": (11, 11),
    "/": (11, 11),
    "//": (11, 11),
    "%": (11, 11),
    "^": (14, 13),
}
_UNARY = 12


@dataclass
class Inline:
    """A condition that can be written into its line: the names it reads, and the ones it
    uses as numbers."""

    text: str
    names: set[str] = field(default_factory=set)
    numeric: set[str] = field(default_factory=set)


class _Reject(Exception):
    pass


@dataclass
class _Node:
    kind: str  # num, str, bool, nil, any
    name: str | None = None  # a bare name (possibly parenthesised)
    literal: str | None = None  # a number literal's text


class _Parser:
    def __init__(self, tokens: list[Token], out: Inline) -> None:
        self.tokens = tokens
        self.i = 0
        self.out = out

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def number(self, node: _Node) -> None:
        """``node`` is used as a number: it is one, or a name that is checked to be one."""
        if node.kind == "num":
            return
        if node.kind == "any" and node.name is not None:
            self.out.numeric.add(node.name)
            node.kind = "num"
            return
        raise _Reject

    def expression(self, limit: int = 0) -> _Node:
        token = self.peek()
        if token.text in ("not", "-") and token.kind in ("keyword", "symbol"):
            self.take()
            operand = self.expression(_UNARY)
            if token.text == "not":
                left = _Node("bool")
            else:
                self.number(operand)
                left = _Node("num")
        else:
            left = self.atom()
        while True:
            token = self.peek()
            op = token.text if token.kind in ("keyword", "symbol") else ""
            if op not in _BINARY or _BINARY[op][0] <= limit:
                return left
            self.take()
            right = self.expression(_BINARY[op][1])
            left = self.combine(op, left, right)

    def combine(self, op: str, left: _Node, right: _Node) -> _Node:
        if op in ("and", "or"):
            return _Node("any")  # either operand's value
        if op in _EQUAL:
            # __eq runs (and may raise) only between two tables or two userdata
            if left.kind == "any" and right.kind == "any":
                self.number(left)
            return _Node("bool")
        self.number(left)
        self.number(right)
        if op in ("//", "%") and not _nonzero(right.literal):
            raise _Reject  # an integer divided by zero raises
        return _Node("bool" if op in _COMPARE else "num")

    def atom(self) -> _Node:
        token = self.take()
        if token.kind == "number":
            return _Node("num", literal=token.text)
        if token.kind == "string":
            return _Node("str")
        if token.kind == "keyword" and token.text in ("true", "false"):
            return _Node("bool")
        if token.kind == "keyword" and token.text == "nil":
            return _Node("nil")
        if token.kind == "name":
            self.out.names.add(token.text)
            return _Node("any", name=token.text)
        if token.text == "(":
            inner = self.expression()
            if self.take().text != ")":
                raise _Reject
            return inner
        raise _Reject


def _nonzero(literal: str | None) -> bool:
    if literal is None:
        return False
    try:
        value = int(literal, 0) if literal.lower().startswith("0x") else float(literal)
    except ValueError:
        return False
    return value != 0


def inline_condition(text: str) -> Inline | None:
    """The condition as it can be written into a line, or None when it must be evaluated
    by the debugger (it may raise, run metamethods, or is not one line of plain tokens)."""
    if "\n" in text or "\r" in text or not text.strip():
        return None
    try:
        tokens = list(tokenize(text, comments=True))
    except UnfinishedToken:
        return None
    if any(t.kind == "comment" for t in tokens):
        return None  # `-- ...` would swallow the rest of the line
    if tokens and tokens[-1].kind == "eof":
        tokens = tokens[:-1]
    tokens.append(Token("eof", "", len(text), len(text), 1))
    out = Inline(text.strip())
    parser = _Parser(tokens, out)
    try:
        parser.expression()
    except (_Reject, IndexError):
        return None
    if tokens[parser.i].kind != "eof":
        return None
    return out


# ---------------------------------------------------------------- scopes


@dataclass
class _Block:
    names: dict[str, bool] = field(default_factory=dict)  # name -> is a for-loop number
    awaiting: str | None = None  # "do" or "then": the keyword that opens its body


def visible_locals(source: str, offset: int) -> dict[str, bool] | None:
    """The local names (of this function and enclosing ones: upvalues) visible at the
    statement starting at ``offset``; each maps to whether it is a numeric ``for`` variable
    the source never assigns (so always a number). None when the source is not understood.
    """
    try:
        tokens = [t for t in tokenize(source) if t.kind != "comment"]
    except UnfinishedToken:
        return None
    assigned = _assigned_names(tokens)
    stack: list[_Block] = [_Block()]
    pending: tuple[int, list[str]] | None = None  # `local a, b = ...` until it ends
    previous: Token | None = None
    i = 0
    from kernel_core.debugger.instrument import _starts_statement

    while i < len(tokens):
        token = tokens[i]
        if token.kind == "eof" or token.start >= offset:
            break
        if pending and len(stack) == pending[0] and _starts_statement(previous, token):
            for name in pending[1]:
                stack[-1].names[name] = False
            pending = None
        text = token.text if token.kind in ("keyword", "symbol") else None
        if text == "local":
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and nxt.text == "function" and nxt.kind == "keyword":
                if i + 2 < len(tokens) and tokens[i + 2].kind == "name":
                    stack[-1].names[tokens[i + 2].text] = False
            else:
                names, j = [], i + 1
                while j < len(tokens) and tokens[j].kind == "name":
                    names.append(tokens[j].text)
                    j += 1
                    if j + 2 < len(tokens) and tokens[j].text == "<":
                        j += 3  # <const> / <close>
                    if j < len(tokens) and tokens[j].text == ",":
                        j += 1
                        continue
                    break
                pending = (len(stack), names)
        elif text == "function":
            block, j = _Block(), i + 1
            while j < len(tokens) and tokens[j].text != "(":
                if tokens[j].text == ":":
                    block.names["self"] = False
                j += 1
            j += 1
            while j < len(tokens) and tokens[j].text != ")":
                if tokens[j].kind == "name":
                    block.names[tokens[j].text] = False
                j += 1
            stack.append(block)
            previous, i = tokens[j] if j < len(tokens) else token, j + 1
            continue
        elif text == "for":
            block, j = _Block(awaiting="do"), i + 1
            names = []
            while j < len(tokens) and tokens[j].kind == "name":
                names.append(tokens[j].text)
                j += 1
                if j < len(tokens) and tokens[j].text == ",":
                    j += 1
            numeric = j < len(tokens) and tokens[j].text == "=" and len(names) == 1
            for name in names:
                block.names[name] = numeric and name not in assigned
            stack.append(block)
        elif text == "while":
            stack.append(_Block(awaiting="do"))
        elif text == "if":
            stack.append(_Block(awaiting="then"))
        elif text == "do":
            if stack[-1].awaiting == "do":
                stack[-1].awaiting = None
            else:
                stack.append(_Block())
        elif text == "then":
            if stack[-1].awaiting == "then":
                stack[-1].awaiting = None
        elif text in ("elseif", "else"):
            if len(stack) < 2:
                return None
            stack.pop()
            stack.append(_Block(awaiting="then" if text == "elseif" else None))
        elif text == "repeat":
            stack.append(_Block())
        elif text in ("end", "until"):
            if len(stack) < 2:
                return None
            stack.pop()
            if pending and pending[0] > len(stack):
                pending = None
        previous = token
        i += 1
    if pending and len(stack) == pending[0]:
        for name in pending[1]:
            stack[-1].names[name] = False
    visible: dict[str, bool] = {}
    for block in stack:
        visible.update(block.names)
    return visible


def _assigned_names(tokens: list[Token]) -> set[str]:
    """Names that may be assigned somewhere: followed by ``=``, or by ``,`` outside
    brackets (an assignment list). Conservative: a call's ``f(i, j)`` is inside brackets."""
    out: set[str] = set()
    depth = 0
    for index, token in enumerate(tokens[:-1]):
        if index and tokens[index - 1].text == "for":
            continue  # the loop's own header
        if token.text in ("(", "[", "{") and token.kind == "symbol":
            depth += 1
        elif token.text in (")", "]", "}") and token.kind == "symbol":
            depth = max(0, depth - 1)
        if token.kind != "name":
            continue
        nxt = tokens[index + 1]
        if nxt.text == "=" or (nxt.text == "," and depth == 0):
            out.add(token.text)
    return out


def compiled_check(line: int, site: int, condition: Inline, visible: dict[str, bool]) -> str | None:
    """The Lua text put before line ``line``'s statement for an inline condition, or None
    when a name it reads is not a visible local."""
    if "_ENV" in visible or "_ENV" in condition.names:
        return None  # the check's own names (__llmspell_bp, __llmspell_num) are globals
    if any(name not in visible for name in condition.names):
        return None
    guards = [f"{NUMBER_CHECK}[{n}]" for n in sorted(condition.numeric) if not visible.get(n)]
    hit = f"if ({condition.text}) then __llmspell_bp({line}, {site}) end"
    if not guards:
        return hit + " "
    return f"if {' and '.join(guards)} then {hit} else __llmspell_bp({line}, {site}, false) end "
