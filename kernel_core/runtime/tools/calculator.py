"""``calculator``: a safe arithmetic expression evaluator (fasteval's grammar, no Python eval).

Grammar, loosest binding first::

    expr    := or
    or      := and ("||" and)*
    and     := cmp ("&&" cmp)*
    cmp     := sum (("==" | "!=" | "<" | "<=" | ">" | ">=") sum)*
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/" | "%") unary)*
    unary   := ("-" | "+" | "!") unary | power
    power   := atom ("^" unary)?            (right-associative: 2^3^2 = 2^9)
    atom    := number | name | name "(" args ")" | "(" expr ")"

Booleans are numbers: comparisons give 1 or 0, ``&&``/``||``/``!`` treat non-zero as true.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, envelope, to_json
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

MAX_LENGTH = 1000
MAX_DEPTH = 20
MAX_OPERATIONS = 100
MAX_FUNCTIONS = 50
MAX_SECONDS = 0.1
MAX_EXPONENT = 1000.0


class CalculationError(Exception):
    """The expression is malformed, too large, or cannot be evaluated."""


def _log(*args: float) -> float:
    if len(args) == 1:
        return math.log10(args[0])
    base, x = args
    return math.log(x) / math.log(base)


def _round(*args: float) -> float:
    if len(args) == 1:
        return float(math.floor(args[0] + 0.5))
    modulus, x = args  # fasteval: round(modulus, x) rounds x to a multiple of modulus
    return float(math.floor(x / modulus + 0.5) * modulus)


def _sign(x: float) -> float:
    return math.copysign(1.0, x) if x != 0 and not math.isnan(x) else (x if math.isnan(x) else 0.0)


# name -> (function, minimum arguments, maximum arguments or -1 for any)
FUNCTIONS: dict[str, tuple[Callable[..., float], int, int]] = {
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "asin": (math.asin, 1, 1),
    "acos": (math.acos, 1, 1),
    "atan": (math.atan, 1, 1),
    "sinh": (math.sinh, 1, 1),
    "cosh": (math.cosh, 1, 1),
    "tanh": (math.tanh, 1, 1),
    "asinh": (math.asinh, 1, 1),
    "acosh": (math.acosh, 1, 1),
    "atanh": (math.atanh, 1, 1),
    "log": (_log, 1, 2),
    "ln": (math.log, 1, 1),
    "sqrt": (math.sqrt, 1, 1),
    "exp": (math.exp, 1, 1),
    "abs": (abs, 1, 1),
    "sign": (_sign, 1, 1),
    "int": (lambda x: float(math.trunc(x)), 1, 1),
    "ceil": (lambda x: float(math.ceil(x)), 1, 1),
    "floor": (lambda x: float(math.floor(x)), 1, 1),
    "round": (_round, 1, 2),
    "min": (min, 1, -1),
    "max": (max, 1, -1),
    "pi": (lambda: math.pi, 0, 0),
    "e": (lambda: math.e, 0, 0),
}
CONSTANTS = {"pi": math.pi, "e": math.e}

_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[-+*/%^<>!(),]))"
)

Node = tuple[Any, ...]


@dataclass
class _Counts:
    operations: int = 0
    functions: int = 0


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.depth = 0
        self.counts = _Counts()

    @staticmethod
    def _tokenize(text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                bad = text[pos:].lstrip()[:1]
                raise CalculationError(f"Unexpected character '{bad}' at position {pos + 1}")
            kind = m.lastgroup or "op"
            tokens.append((kind, m.group(kind)))
            pos = m.end()
        return tokens

    def peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise CalculationError("Unexpected end of expression")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, op: str) -> None:
        kind, value = self.take()
        if kind != "op" or value != op:
            raise CalculationError(f"Expected '{op}', found '{value}'")

    def _op(self) -> None:
        self.counts.operations += 1
        if self.counts.operations > MAX_OPERATIONS:
            raise CalculationError(f"Too many operations (limit {MAX_OPERATIONS})")

    def parse(self) -> Node:
        if not self.tokens:
            raise CalculationError("Empty expression")
        node = self.binary(0)
        if self.pos != len(self.tokens):
            raise CalculationError(f"Unexpected '{self.peek()}' after a complete expression")
        return node

    LEVELS: tuple[tuple[str, ...], ...] = (
        ("||",),
        ("&&",),
        ("==", "!=", "<", "<=", ">", ">="),
        ("+", "-"),
        ("*", "/", "%"),
    )

    def binary(self, level: int) -> Node:
        if level == len(self.LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek() in self.LEVELS[level] and self.tokens[self.pos][0] == "op":
            op = self.take()[1]
            self._op()
            node = ("bin", op, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        if self.peek() in ("-", "+", "!") and self.tokens[self.pos][0] == "op":
            op = self.take()[1]
            self._op()
            self._enter()
            node = ("neg" if op == "-" else "not" if op == "!" else "pos", self.unary())
            self.depth -= 1
            return node
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.peek() == "^":
            self.take()
            self._op()
            self._enter()
            exponent = self.unary()
            self.depth -= 1
            return ("bin", "^", base, exponent)
        return base

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CalculationError(f"Expression nested too deeply (limit {MAX_DEPTH})")

    def atom(self) -> Node:
        kind, value = self.take()
        if kind == "num":
            return ("num", float(value))
        if kind == "name":
            if self.peek() == "(":
                self.take()
                return self.call(value)
            return ("var", value)
        if value == "(":
            self._enter()
            node = self.binary(0)
            self.expect(")")
            self.depth -= 1
            return node
        raise CalculationError(f"Unexpected '{value}'")

    def call(self, name: str) -> Node:
        if name not in FUNCTIONS:
            raise CalculationError(
                f"Unknown function '{name}'; available: {', '.join(sorted(FUNCTIONS))}"
            )
        self.counts.functions += 1
        if self.counts.functions > MAX_FUNCTIONS:
            raise CalculationError(f"Too many function calls (limit {MAX_FUNCTIONS})")
        self._enter()
        args: list[Node] = []
        if self.peek() != ")":
            args.append(self.binary(0))
            while self.peek() == ",":
                self.take()
                args.append(self.binary(0))
        self.expect(")")
        self.depth -= 1
        _, low, high = FUNCTIONS[name]
        if len(args) < low or (high >= 0 and len(args) > high):
            want = str(low) if low == high else f"{low} or more" if high < 0 else f"{low}-{high}"
            raise CalculationError(f"Function '{name}' takes {want} argument(s), got {len(args)}")
        return ("call", name, *args)


def parse(text: str) -> tuple[Node, _Counts]:
    """Parse an expression; raises CalculationError."""
    if len(text) > MAX_LENGTH:
        raise CalculationError(f"Expression too long ({len(text)} characters; limit {MAX_LENGTH})")
    parser = _Parser(text)
    return parser.parse(), parser.counts


def _power(base: float, exponent: float) -> float:
    if abs(exponent) > MAX_EXPONENT:
        raise CalculationError(f"Exponent {exponent:g} is too large (limit {MAX_EXPONENT:g})")
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return math.inf if base > 0 or exponent % 2 == 0 else -math.inf
    except ValueError:
        return math.nan


def _divide(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _modulo(a: float, b: float) -> float:
    if b == 0 or math.isinf(a):
        return math.nan
    return math.fmod(a, b)


BINARY: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _divide,
    "%": _modulo,
    "^": _power,
    "==": lambda a, b: float(a == b),
    "!=": lambda a, b: float(a != b),
    "<": lambda a, b: float(a < b),
    "<=": lambda a, b: float(a <= b),
    ">": lambda a, b: float(a > b),
    ">=": lambda a, b: float(a >= b),
}


def evaluate(node: Node, variables: dict[str, float], deadline: float) -> float:
    """Evaluate a parsed expression."""
    if time.perf_counter() > deadline:
        raise CalculationError(f"Evaluation took longer than {MAX_SECONDS * 1000:g} ms")
    kind = node[0]
    if kind == "num":
        return float(node[1])
    if kind == "var":
        name = node[1]
        if name in variables:
            return variables[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        raise CalculationError(f"Undefined variable: {name}")
    if kind == "neg":
        return -evaluate(node[1], variables, deadline)
    if kind == "pos":
        return evaluate(node[1], variables, deadline)
    if kind == "not":
        return float(evaluate(node[1], variables, deadline) == 0)
    if kind == "bin":
        op = node[1]
        left = evaluate(node[2], variables, deadline)
        # && and || short-circuit, as in fasteval
        if op == "&&":
            return float(left != 0 and evaluate(node[3], variables, deadline) != 0)
        if op == "||":
            return float(left != 0 or evaluate(node[3], variables, deadline) != 0)
        return BINARY[op](left, evaluate(node[3], variables, deadline))
    if kind == "call":
        fn = FUNCTIONS[node[1]][0]
        args = [evaluate(arg, variables, deadline) for arg in node[2:]]
        try:
            return float(fn(*args))
        except (ValueError, ZeroDivisionError):
            return math.nan
        except OverflowError:
            return math.inf
    raise CalculationError(f"internal: unknown node {kind}")


def _numeric_variables(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        return {}
    return {
        str(k): float(v)
        for k, v in raw.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def _failure(message: str, operation: str = "evaluate") -> ToolOutput:
    body = envelope(operation, success=False, error={"message": message})
    return ToolOutput(to_json(body), value=body, has_value=True)


def _result_value(value: float) -> tuple[Any, str]:
    if math.isnan(value):
        return "NaN", "special"
    if math.isinf(value):
        return ("Infinity" if value > 0 else "-Infinity"), "special"
    return value, "float"


def run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Evaluate, validate, or list what the calculator understands."""
    operation = params.get("operation") or "evaluate"
    variables = _numeric_variables(params.get("variables"))
    if operation == "functions":
        body = envelope(
            "functions",
            message="Available operators, functions and constants",
            result={
                "operators": [
                    "+",
                    "-",
                    "*",
                    "/",
                    "%",
                    "^",
                    "==",
                    "!=",
                    "<",
                    "<=",
                    ">",
                    ">=",
                    "&&",
                    "||",
                    "!",
                ],
                "functions": sorted(f for f in FUNCTIONS if f not in CONSTANTS),
                "constants": ["pi()", "e()"],
                "limits": {
                    "max_length": MAX_LENGTH,
                    "max_depth": MAX_DEPTH,
                    "max_operations": MAX_OPERATIONS,
                    "max_functions": MAX_FUNCTIONS,
                    "max_time_ms": int(MAX_SECONDS * 1000),
                },
            },
        )
        return ToolOutput(to_json(body), value=body, has_value=True)
    if operation not in ("evaluate", "validate"):
        return _failure(
            f"Unknown operation: {operation}. Valid operations are: evaluate, validate, functions"
        )
    text = params.get("input")
    if not isinstance(text, str):
        return _failure("Missing required parameter 'input' (the expression)", operation)
    if operation == "validate":
        try:
            parse(text)
        except CalculationError as err:
            body = envelope(
                "validate",
                message="Expression is invalid",
                result={"input": text, "valid": False, "error": str(err)},
            )
        else:
            body = envelope(
                "validate", message="Expression is valid", result={"input": text, "valid": True}
            )
        return ToolOutput(to_json(body), value=body, has_value=True)
    started = time.perf_counter()
    try:
        tree, counts = parse(text)
        value = evaluate(tree, variables, started + MAX_SECONDS)
    except (CalculationError, RecursionError) as err:
        return _failure(f"Evaluation error: {err}")
    result, result_type = _result_value(value)
    body = envelope(
        "evaluate",
        message="Expression evaluated successfully",
        result={
            "input": text,
            "result": result,
            "result_type": result_type,
            "variables": variables,
        },
    )
    body["resource_usage"] = {
        "memory_bytes": len(text) * 8,
        "cpu_time_ms": int((time.perf_counter() - started) * 1000),
        "operations_count": counts.operations + counts.functions,
    }
    return ToolOutput(to_json(body), value=body, has_value=True)


TOOLS = (
    ToolSpec(
        name="calculator",
        description="Evaluates arithmetic expressions with variables, comparisons and math "
        "functions (safe: no code execution)",
        category="utility",
        parameters=(
            Param("operation", "string", "evaluate, validate or functions", default="evaluate"),
            Param("input", "string", "The expression, e.g. '2 + 3 * x' or 'sqrt(16)'"),
            Param("variables", "object", "Numeric variables used in the expression"),
        ),
        run=run,
    ),
)
