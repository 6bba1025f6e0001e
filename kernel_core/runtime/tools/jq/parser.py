"""Lexing and parsing jq queries into tuple nodes."""

from __future__ import annotations

import re
from typing import Any

from kernel_core.runtime.tools.jq.builtins import BUILTINS
from kernel_core.runtime.tools.jq.values import JqError, JqUnsupported, Node

# jq builtins that reach outside the data (environment, other inputs, modules): refused.
FORBIDDEN = (
    "env",
    "input",
    "inputs",
    "debug",
    "stderr",
    "modulemeta",
    "builtins",
    "input_filename",
    "get_search_list",
    "$ENV",
    "$__loc__",
    "include",
    "import",
    "halt",
    "halt_error",
    "input_line_number",
)

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<comment>\#[^\n]*)
    | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
    | (?P<str>")
    | (?P<var>\$[A-Za-z_][A-Za-z0-9_]*)
    | (?P<fmt>@[A-Za-z0-9]+)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>\.\.|\?//|//=|\|=|\+=|-=|\*=|/=|%=|==|!=|<=|>=|//|[.\[\]{}()|,:;?<>=+\-*/%])
    )""",
    re.VERBOSE,
)
KEYWORDS = {
    "and",
    "or",
    "if",
    "then",
    "elif",
    "else",
    "end",
    "as",
    "reduce",
    "foreach",
    "try",
    "catch",
    "def",
    "label",
    "import",
    "include",
    "__loc__",
}
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def tokenize(text: str) -> list[tuple[str, Any]]:
    """Tokens as (kind, value); strings become ("str", [parts]) with parts str or a Node."""
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            bad = text[pos:].lstrip()[:1]
            raise JqError(f"syntax error: unexpected character '{bad}'")
        kind = m.lastgroup or ""
        pos = m.end()
        if kind == "comment":
            continue
        if kind == "str":
            parts, pos = _string(text, pos)
            tokens.append(("str", parts))
        elif kind == "ident" and m.group(kind) in KEYWORDS:
            tokens.append(("kw", m.group(kind)))
        else:
            tokens.append((kind, m.group(kind)))
    return tokens


def _string(text: str, pos: int) -> tuple[list[Any], int]:
    parts: list[Any] = []
    buf: list[str] = []
    while True:
        if pos >= len(text):
            raise JqError("syntax error: unterminated string literal")
        ch = text[pos]
        if ch == '"':
            parts.append("".join(buf))
            return parts, pos + 1
        if ch == "\\":
            nxt = text[pos + 1 : pos + 2]
            if nxt in _ESCAPES:
                buf.append(_ESCAPES[nxt])
                pos += 2
            elif nxt == "u":
                buf.append(chr(int(text[pos + 2 : pos + 6], 16)))
                pos += 6
            elif nxt == "(":
                # string interpolation: find the matching parenthesis
                depth, end = 1, pos + 2
                while end < len(text) and depth:
                    depth += {"(": 1, ")": -1}.get(text[end], 0)
                    end += 1
                if depth:
                    raise JqError("syntax error: unterminated \\( in a string")
                parts.append("".join(buf))
                buf = []
                parts.append(Parser(text[pos + 2 : end - 1]).parse())
                pos = end
            else:
                raise JqError(f"syntax error: invalid escape \\{nxt} in a string")
        else:
            buf.append(ch)
            pos += 1


class Parser:
    """Recursive-descent parser producing tuple nodes."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> tuple[str, Any] | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] in ("op", "kw") and tok[1] == value

    def take(self) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None:
            raise JqError("syntax error: unexpected end of query")
        self.pos += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value or tok[0] not in ("op", "kw"):
            raise JqError(f"syntax error: expected '{value}', found '{_show(tok)}'")

    def parse(self) -> Node:
        if not self.tokens:
            return ("identity",)
        node = self.pipe()
        if self.peek() is not None:
            raise JqError(f"syntax error: unexpected '{_show(self.take())}'")
        return node

    def pipe(self) -> Node:
        if self.at("def"):
            raise JqUnsupported("'def' (function definitions) is not supported")
        left = self.comma()
        if self.at("as"):
            self.take()
            var = self.take()
            if var[0] != "var":
                raise JqUnsupported("only '... as $name' bindings are supported (no destructuring)")
            self.expect("|")
            return ("as", left, var[1][1:], self.pipe())
        if self.at("|"):
            self.take()
            return ("pipe", left, self.pipe())
        return left

    def comma(self) -> Node:
        node = self.alternative()
        while self.at(","):
            self.take()
            node = ("comma", node, self.alternative())
        return node

    def alternative(self) -> Node:
        node = self.assignment()
        if self.at("//"):
            self.take()
            return ("alt", node, self.alternative())
        return node

    def assignment(self) -> Node:
        node = self.or_()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("=", "|=", "+=", "-=", "*=", "/=", "%=", "//="):
            self.take()
            return ("assign", tok[1], node, self.alternative())
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.at("or"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.compare()
        while self.at("and"):
            self.take()
            node = ("and", node, self.compare())
        return node

    def compare(self) -> Node:
        node = self.additive()
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return ("binop", tok[1], node, self.additive())
        return node

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.at("+") or self.at("-"):
            op = self.take()[1]
            node = ("binop", op, node, self.multiplicative())
        return node

    def multiplicative(self) -> Node:
        node = self.unary()
        while self.at("*") or self.at("/") or self.at("%"):
            op = self.take()[1]
            node = ("binop", op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.take()
            return ("neg", self.postfix())
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            tok = self.peek()
            if tok is None:
                return node
            if tok[0] == "field":
                self.take()
                node = ("pipe", node, ("field", tok[1][1:]))
            elif (
                tok == ("op", ".")
                and self.peek(1) is not None
                and (
                    self.peek(1) == ("op", "[") or self.peek(1)[0] == "str"  # type: ignore[index]
                )
            ):
                self.take()
            elif tok == ("op", "["):
                node = ("pipe", node, self.bracket())
            elif tok == ("op", "?"):
                self.take()
                node = ("try", node, None)
            elif tok[0] == "str" and self.tokens[self.pos - 1] == ("op", "."):
                self.take()
                node = ("pipe", node, ("index", ("str", tok[1])))
            else:
                return node

    def bracket(self) -> Node:
        self.expect("[")
        if self.at("]"):
            self.take()
            return ("iterate",)
        if self.at(":"):
            self.take()
            end = self.pipe()
            self.expect("]")
            return ("slice", None, end)
        start = self.pipe()
        if self.at(":"):
            self.take()
            stop = None if self.at("]") else self.pipe()
            self.expect("]")
            return ("slice", start, stop)
        self.expect("]")
        return ("index", start)

    def primary(self) -> Node:
        tok = self.take()
        kind, value = tok
        if kind == "num":
            number = float(value)
            return (
                "literal",
                int(number)
                if number.is_integer() and "." not in value and "e" not in value.lower()
                else number,
            )
        if kind == "str":
            return ("str", value)
        if kind == "field":
            return ("field", value[1:])
        if kind == "var":
            if value in ("$ENV", "$__loc__"):
                raise JqError(f"'{value}' is not allowed (security)")
            return ("var", value[1:])
        if kind == "fmt":
            if self.peek() is not None and self.peek()[0] == "str":  # type: ignore[index]
                return ("format_str", value, self.take()[1])
            return ("format", value)
        if kind == "op":
            if value == ".":
                nxt = self.peek()
                if nxt is not None and nxt[0] == "str":
                    self.take()
                    return ("index", ("str", nxt[1]))
                return ("identity",)
            if value == "..":
                return ("recurse",)
            if value == "(":
                node = self.pipe()
                self.expect(")")
                return node
            if value == "[":
                if self.at("]"):
                    self.take()
                    return ("array", None)
                node = self.pipe()
                self.expect("]")
                return ("array", node)
            if value == "{":
                return self.object()
        if kind == "kw":
            if value == "if":
                return self.if_()
            if value == "try":
                body = self.postfix()
                handler = None
                if self.at("catch"):
                    self.take()
                    handler = self.postfix()
                return ("try", body, handler)
            if value == "reduce":
                source = self.postfix()
                self.expect("as")
                var = self.take()
                if var[0] != "var":
                    raise JqError("syntax error: reduce needs 'as $name'")
                self.expect("(")
                init = self.pipe()
                self.expect(";")
                update = self.pipe()
                self.expect(")")
                return ("reduce", source, var[1][1:], init, update)
            if value in ("import", "include"):
                raise JqError(f"'{value}' is not allowed (security)")
            raise JqUnsupported(f"'{value}' is not supported by this jq subset")
        if kind == "ident":
            if value in FORBIDDEN:
                raise JqError(f"'{value}' is not allowed (security): it reads outside the input")
            args: list[Node] = []
            if self.at("("):
                self.take()
                args.append(self.pipe())
                while self.at(";"):
                    self.take()
                    args.append(self.pipe())
                self.expect(")")
            if value in ("true", "false", "null") and not args:
                return ("literal", {"true": True, "false": False, "null": None}[value])
            if (value, len(args)) not in BUILTINS:
                arities = sorted(n for (name, n) in BUILTINS if name == value)
                if arities:
                    raise JqError(
                        f"{value}/{len(args)} is not defined; {value} takes "
                        + " or ".join(str(a) for a in arities)
                        + " argument(s)"
                    )
                raise JqUnsupported(f"function '{value}' is not supported by this jq subset")
            return ("call", value, *args)
        raise JqError(f"syntax error: unexpected '{_show(tok)}'")

    def if_(self) -> Node:
        cond = self.pipe()
        self.expect("then")
        then = self.pipe()
        if self.at("elif"):
            self.take()
            return ("if", cond, then, self.if_())
        otherwise: Node = ("identity",)
        if self.at("else"):
            self.take()
            otherwise = self.pipe()
        self.expect("end")
        return ("if", cond, then, otherwise)

    def object(self) -> Node:
        entries: list[tuple[Node, Node]] = []
        while not self.at("}"):
            tok = self.take()
            kind, value = tok
            if kind in ("ident", "kw"):
                key: Node = ("literal", value)
                default: Node = ("field", value)
            elif kind == "str":
                key = ("str", value)
                default = ("index", key)
            elif kind == "var":
                key = ("literal", value[1:])
                default = ("var", value[1:])
            elif tok == ("op", "("):
                key = self.pipe()
                self.expect(")")
                default = ("index", key)
            elif kind == "num":
                raise JqError("syntax error: object keys must be strings (quote the number)")
            else:
                raise JqError(f"syntax error: unexpected '{_show(tok)}' in an object")
            if self.at(":"):
                self.take()
                val = self.object_value()
            else:
                val = default
            entries.append((key, val))
            if self.at(","):
                self.take()
            elif not self.at("}"):
                raise JqError(
                    f"syntax error: expected ',' or '}}' in an object, found '{_show(self.take())}'"
                )
        self.take()
        return ("object", entries)

    def object_value(self) -> Node:
        # values stop at ',' and '}': parse above the comma level, allowing pipes inside
        node = self.alternative()
        while self.at("|"):
            self.take()
            node = ("pipe", node, self.alternative())
        return node


def _show(tok: tuple[str, Any]) -> str:
    return '"..."' if tok[0] == "str" else str(tok[1])
