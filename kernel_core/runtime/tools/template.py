"""``template-creator``: a small, safe Tera/Handlebars-style renderer (no code execution).

Tera subset: ``{{ expr }}`` with dotted paths, string/number literals and filters
(``| upper``, ``| lower``, ``| title``, ``| trim``, ``| length``, ``| default(value="x")``,
``| join(sep=", ")``, ``| safe``), ``{% if expr %}...{% elif %}...{% else %}...{% endif %}``
(``==``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, ``and``, ``or``, ``not``),
``{% for x in list %}...{% endfor %}`` (with ``loop.index``, ``loop.index0``, ``loop.first``,
``loop.last``; ``{% for k, v in map %}``), ``{# comments #}``.
Handlebars subset: ``{{path}}``, ``{{{raw}}}``, ``{{#each list}}...{{/each}}`` (``this``,
``@index``, ``@key``, ``@first``, ``@last``), ``{{#if x}}...{{else}}...{{/if}}``,
``{{#unless x}}``, ``{{#with obj}}``, helpers ``{{uppercase x}}``, ``{{lowercase x}}``.
Output is HTML-escaped except ``| safe`` and triple braces.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

from kernel_core.runtime.tools.errors import (
    ResourceLimitError,
    SecurityViolation,
    ToolError,
    ToolValidationError,
)
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, envelope_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

MAX_TEMPLATE = 1024 * 1024
MAX_CONTEXT = 10 * 1024 * 1024
MAX_OUTPUT = 10 * 1024 * 1024
FORBIDDEN = ("system(", "exec(", "eval(", "__import__", "subprocess", "os.system")


class TemplateError(ToolError):
    """The template is malformed or refers to something missing."""


def _lookup(scopes: list[dict[str, Any]], path: str, strict: bool) -> Any:
    path = path.strip()
    if path in ("this", "."):
        return scopes[-1].get("this", scopes[-1])
    path = path.removeprefix("this.")
    parts = re.findall(r"[^.\[\]]+", path)
    for scope in reversed(scopes):
        if parts and isinstance(scope, dict) and parts[0] in scope:
            value: Any = scope
            for part in parts:
                if isinstance(value, dict) and part in value:
                    value = value[part]
                elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                    value = value[int(part)]
                else:
                    if strict:
                        raise TemplateError(f"Variable `{path}` not found in context")
                    return None
            return value
    if strict:
        raise TemplateError(f"Variable `{path}` not found in context")
    return None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _truthy(value: Any) -> bool:
    return value not in (None, False, 0, "", [], {})


# ---------------------------------------------------------------- tera

_TERA_TOKEN = re.compile(r"\{\{-?(.*?)-?\}\}|\{%-?(.*?)-?%\}|\{#.*?#\}", re.DOTALL)


def _tera_value(expr: str, scopes: list[dict[str, Any]]) -> Any:
    expr = expr.strip()
    if re.fullmatch(r'"[^"]*"|\'[^\']*\'', expr):
        return expr[1:-1]
    if re.fullmatch(r"-?\d+(\.\d+)?", expr):
        return float(expr) if "." in expr else int(expr)
    if expr in ("true", "false"):
        return expr == "true"
    return (
        _lookup(scopes, expr, strict=False)
        if expr.startswith("loop.")
        else _lookup(scopes, expr, strict=True)
    )


def _filter(value: Any, spec: str, scopes: list[dict[str, Any]]) -> tuple[Any, bool]:
    m = re.fullmatch(r"\s*(\w+)\s*(?:\((.*)\))?\s*", spec)
    if m is None:
        raise TemplateError(f"Invalid filter: {spec.strip()}")
    name, args = m.group(1), m.group(2) or ""
    kwargs = {
        k: _tera_value(v, scopes)
        for k, v in re.findall(r"(\w+)\s*=\s*(\"[^\"]*\"|'[^']*'|[\w.]+)", args)
    }
    if name == "upper":
        return _text(value).upper(), False
    if name == "lower":
        return _text(value).lower(), False
    if name == "title":
        return _text(value).title(), False
    if name == "capitalize":
        return _text(value).capitalize(), False
    if name == "trim":
        return _text(value).strip(), False
    if name == "length":
        return len(value) if isinstance(value, list | dict | str) else 0, False
    if name == "default":
        return (value if value is not None else kwargs.get("value")), False
    if name == "join":
        return str(kwargs.get("sep", "")).join(_text(v) for v in (value or [])), False
    if name == "safe":
        return value, True
    if name == "json_encode":
        return json.dumps(value, ensure_ascii=False), False
    raise TemplateError(
        f"Filter `{name}` not found (supported: upper, lower, title, "
        "capitalize, trim, length, default, join, safe, json_encode)"
    )


def _tera_expr(expr: str, scopes: list[dict[str, Any]]) -> tuple[Any, bool]:
    head, *filters = _split_filters(expr)
    safe = False
    try:
        value = _tera_value(head, scopes)
    except TemplateError:
        if any(re.match(r"\s*default\b", f) for f in filters):
            value = None
        else:
            raise
    for spec in filters:
        value, is_safe = _filter(value, spec, scopes)
        safe = safe or is_safe
    return value, safe


def _split_filters(expr: str) -> list[str]:
    parts, buf, quote = [], "", ""
    for ch in expr:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "|":
            parts.append(buf)
            buf = ""
            continue
        buf += ch
    parts.append(buf)
    return parts


def _condition(expr: str, scopes: list[dict[str, Any]]) -> bool:
    expr = expr.strip()
    for word in (" or ", " and "):
        if word in expr:
            left, right = expr.split(word, 1)
            a = _condition(left, scopes)
            return (
                (a or _condition(right, scopes))
                if word == " or "
                else (a and _condition(right, scopes))
            )
    if expr.startswith("not "):
        return not _condition(expr[4:], scopes)
    m = re.fullmatch(r"(.+?)\s*(==|!=|<=|>=|<|>)\s*(.+)", expr)
    if m:
        a, b = _safe_value(m.group(1), scopes), _safe_value(m.group(3), scopes)
        op = m.group(2)
        if op in ("==", "!="):
            return bool(a == b) == (op == "==")
        try:
            return bool({"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op])
        except TypeError:
            return False
    return _truthy(_safe_value(expr, scopes))


def _safe_value(expr: str, scopes: list[dict[str, Any]]) -> Any:
    try:
        return _tera_expr(expr, scopes)[0]
    except TemplateError:
        return None  # undefined variables are false in conditions


def _tera_parse(template: str) -> list[Any]:
    """A tree of nodes: str, ("out", expr), ("if", [(cond, body)...], else), ("for", ...)."""
    stack: list[tuple[str, Any, list[Any]]] = [("root", None, [])]
    pos = 0
    for m in _TERA_TOKEN.finditer(template):
        if m.start() > pos:
            stack[-1][2].append(template[pos : m.start()])
        pos = m.end()
        if m.group(1) is not None:
            stack[-1][2].append(("out", m.group(1)))
        elif m.group(2) is not None:
            tag = m.group(2).strip()
            word = tag.split(None, 1)[0] if tag else ""
            rest = tag[len(word) :].strip()
            if word in ("if", "for"):
                stack.append((word, rest, []))
            elif word in ("elif", "else"):
                kind, arg, body = stack[-1]
                if kind != "if":
                    raise TemplateError(f"'{{% {word} %}}' outside an if block")
                branches = arg if isinstance(arg, list) else [(arg, None)]
                branches[-1] = (branches[-1][0], body)
                branches.append((rest if word == "elif" else None, None))
                stack[-1] = ("if", branches, [])
            elif word in ("endif", "endfor"):
                kind, arg, body = stack.pop() if len(stack) > 1 else ("root", None, [])
                if kind != word[3:]:
                    raise TemplateError(f"'{{% {word} %}}' does not close an open '{word[3:]}'")
                if kind == "if":
                    branches = arg if isinstance(arg, list) else [(arg, None)]
                    branches[-1] = (branches[-1][0], body)
                    stack[-1][2].append(("if", branches))
                else:
                    stack[-1][2].append(("for", arg, body))
            else:
                raise TemplateError(
                    f"Unsupported tag '{{% {word} %}}' (supported: if, elif, "
                    "else, endif, for, endfor)"
                )
    if len(stack) > 1:
        raise TemplateError(f"Unclosed '{{% {stack[-1][0]} %}}' block")
    stack[0][2].append(template[pos:])
    return stack[0][2]


def _tera_render(nodes: list[Any], scopes: list[dict[str, Any]], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif node[0] == "out":
            value, safe = _tera_expr(node[1], scopes)
            out.append(_text(value) if safe else html.escape(_text(value), quote=True))
        elif node[0] == "if":
            for cond, body in node[1]:
                if cond is None or _condition(cond, scopes):
                    _tera_render(body or [], scopes, out)
                    break
        else:
            m = re.fullmatch(r"(\w+)(?:\s*,\s*(\w+))?\s+in\s+(.+)", node[1])
            if m is None:
                raise TemplateError(f"Invalid for loop: '{node[1]}' (use 'x in list')")
            items = _tera_expr(m.group(3), scopes)[0]
            if isinstance(items, dict):
                pairs = list(items.items())
            elif isinstance(items, list):
                pairs = list(enumerate(items))
            else:
                raise TemplateError(f"Cannot loop over `{m.group(3).strip()}`: not a list")
            for i, (key, item) in enumerate(pairs):
                scope: dict[str, Any] = {
                    "loop": {
                        "index": i + 1,
                        "index0": i,
                        "first": i == 0,
                        "last": i == len(pairs) - 1,
                    }
                }
                if m.group(2):
                    scope[m.group(1)], scope[m.group(2)] = key, item
                else:
                    scope[m.group(1)] = item
                _tera_render(node[2], [*scopes, scope], out)
            if sum(len(s) for s in out) > MAX_OUTPUT:
                raise ResourceLimitError(f"rendered output exceeds {MAX_OUTPUT} bytes")


# ---------------------------------------------------------------- handlebars

_HBS_TOKEN = re.compile(r"\{\{\{(.*?)\}\}\}|\{\{(.*?)\}\}", re.DOTALL)


def _hbs_parse(template: str) -> list[Any]:
    stack: list[tuple[str, str, list[Any], list[Any] | None]] = [("root", "", [], None)]
    pos = 0
    for m in _HBS_TOKEN.finditer(template):
        if m.start() > pos:
            stack[-1][2].append(template[pos : m.start()])
        pos = m.end()
        if m.group(1) is not None:
            stack[-1][2].append(("raw", m.group(1).strip()))
            continue
        tag = m.group(2).strip()
        if tag.startswith("!"):
            continue
        if tag.startswith("#"):
            word, _, arg = tag[1:].partition(" ")
            stack.append((word, arg.strip(), [], None))
        elif tag == "else":
            word, arg, body, _ = stack[-1]
            stack[-1] = (word, arg, [], body)
        elif tag.startswith("/"):
            word, arg, body, before_else = stack.pop() if len(stack) > 1 else ("", "", [], None)
            if word != tag[1:].strip():
                raise TemplateError(f"'{{{{{tag}}}}}' does not close an open block")
            main, alt = (before_else, body) if before_else is not None else (body, [])
            stack[-1][2].append(("block", word, arg, main, alt))
        elif tag.startswith(">"):
            raise TemplateError("Partials ({{> name}}) are not supported")
        else:
            stack[-1][2].append(("out", tag))
    if len(stack) > 1:
        raise TemplateError(f"Unclosed '{{{{#{stack[-1][0]}}}}}' block")
    stack[0][2].append(template[pos:])
    return stack[0][2]


def _hbs_value(expr: str, scopes: list[dict[str, Any]]) -> Any:
    words = expr.split()
    if len(words) == 2 and words[0] in ("uppercase", "lowercase"):
        text = _text(_hbs_value(words[1], scopes))
        return text.upper() if words[0] == "uppercase" else text.lower()
    if expr.startswith("@"):
        return scopes[-1].get(expr)
    if expr.startswith('"') and expr.endswith('"'):
        return expr[1:-1]
    return _lookup(scopes, expr, strict=True)


def _hbs_render(nodes: list[Any], scopes: list[dict[str, Any]], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif node[0] == "raw":
            out.append(_text(_hbs_value(node[1], scopes)))
        elif node[0] == "out":
            out.append(html.escape(_text(_hbs_value(node[1], scopes)), quote=True))
        else:
            _, word, arg, main, alt = node
            if word in ("if", "unless"):
                value = _lookup(scopes, arg, strict=False)
                chosen = _truthy(value) == (word == "if")
                _hbs_render(main if chosen else alt, scopes, out)
            elif word == "each":
                items = _lookup(scopes, arg, strict=True)
                pairs = (
                    list(items.items())
                    if isinstance(items, dict)
                    else list(enumerate(items))
                    if isinstance(items, list)
                    else []
                )
                if not pairs:
                    _hbs_render(alt, scopes, out)
                for i, (key, item) in enumerate(pairs):
                    scope = dict(item) if isinstance(item, dict) else {}
                    scope.update(
                        {
                            "this": item,
                            "@index": i,
                            "@key": key,
                            "@first": i == 0,
                            "@last": i == len(pairs) - 1,
                        }
                    )
                    _hbs_render(main, [*scopes, scope], out)
            elif word == "with":
                value = _lookup(scopes, arg, strict=True)
                if isinstance(value, dict):
                    _hbs_render(main, [*scopes, {**value, "this": value}], out)
                else:
                    _hbs_render(alt, scopes, out)
            else:
                raise TemplateError(
                    f"Helper '{word}' not found (supported: if, unless, each, "
                    "with, uppercase, lowercase)"
                )


def run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Render a template with a context."""
    template = params["input"]
    data = params.get("context") or {}
    if not isinstance(data, dict):
        raise ToolValidationError("'context' must be a table of values")
    if len(template) > MAX_TEMPLATE:
        raise ResourceLimitError(f"template is larger than {MAX_TEMPLATE} bytes")
    if len(json.dumps(data, default=str)) > MAX_CONTEXT:
        raise ResourceLimitError(f"context is larger than {MAX_CONTEXT} bytes")
    for pattern in FORBIDDEN:
        if pattern in template:
            raise SecurityViolation(f"Template contains a forbidden pattern: {pattern}")
    engine = str(params.get("engine") or "tera").lower()
    if engine not in ("tera", "handlebars", "hbs"):
        raise ToolValidationError(f"Unknown engine: {engine}. Use tera or handlebars")
    if params.get("auto_detect", True) and params.get("engine") is None:
        engine = "handlebars" if any(s in template for s in ("{{#", "{{/", "{{>")) else "tera"
    engine = "handlebars" if engine == "hbs" else engine
    out: list[str] = []
    try:
        if engine == "tera":
            _tera_render(_tera_parse(template), [data], out)
        else:
            _hbs_render(_hbs_parse(template), [data], out)
    except RecursionError:
        raise ResourceLimitError("template nesting is too deep") from None
    rendered = "".join(out)
    return envelope_output(
        "render",
        f"Template rendered successfully using {engine} engine",
        {
            "rendered": rendered,
            "engine": engine,
            "template_length": len(template),
            "context_size": len(data),
        },
    )


TOOLS = (
    ToolSpec(
        name="template-creator",
        description="Renders Tera or Handlebars style templates with a context (variables, "
        "if, for/each, filters); output is HTML-escaped",
        category="utility",
        security_level="restricted",
        parameters=(
            Param("input", "string", "The template text", required=True),
            Param("context", "object", "Values the template refers to"),
            Param("engine", "string", "tera or handlebars (hbs)"),
            Param(
                "auto_detect",
                "boolean",
                "Pick handlebars when the template uses {{# {{/ {{>",
                default=True,
            ),
        ),
        run=run,
    ),
)
