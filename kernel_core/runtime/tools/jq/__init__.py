"""A jq subset for ``json-processor``: a lexer, a parser to tuples and a generator evaluator.

Supported (see docs/tools.md for the list with examples): ``.``, ``..``, ``.a``, ``."a b"``,
``.a.b``, ``.[0]``, ``.[-1]``, ``.[2:4]``, ``.[]``, ``.["k"]``, optional ``?``, ``|``, ``,``,
literals, string interpolation ``"\\(.x)"``, ``[...]``, ``{a, b: .x, "c": 1, (.k): .v, $v}``,
``+ - * / %``, ``== != < <= > >=``, ``and or not``, ``//``, ``if/elif/else/end``,
``try/catch``, ``E as $x | body``, ``reduce``, ``$var``, assignments ``= |= += -= *= /= //=``,
formats ``@json @text @csv @tsv @html @uri @base64 @base64d``, and the builtins in BUILTINS.
"""

from __future__ import annotations

from kernel_core.runtime.tools.jq.builtins import BUILTINS
from kernel_core.runtime.tools.jq.evaluate import run
from kernel_core.runtime.tools.jq.parser import Parser
from kernel_core.runtime.tools.jq.values import JqError, JqUnsupported, Node, compare, type_name

__all__ = [
    "JqError",
    "JqUnsupported",
    "Node",
    "compare",
    "compile_query",
    "run",
    "supported_builtins",
    "type_name",
]


def compile_query(text: str) -> Node:
    """Parse a jq query; raises JqError with a clear message."""
    return Parser(text).parse()


def supported_builtins() -> list[str]:
    """``name/arity`` for every builtin."""
    return sorted(f"{n}/{a}" for n, a in BUILTINS)
