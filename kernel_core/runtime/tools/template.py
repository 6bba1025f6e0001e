"""``template-creator``: Tera-style templates through Jinja2's sandbox, and a small
Handlebars subset.

Tera: Jinja2's ``SandboxedEnvironment`` (the maintained equivalent of Tera: same
``{{ }}``/``{% %}``/``{# #}`` syntax, filters, ``loop.*``), with Tera's filter spellings
(``default(value=...)``, ``join(sep=...)``, ``json_encode``) and ``{% for k, v in map %}``.
A template cannot reach Python: the sandbox refuses ``__class__`` and the like. A missing
variable is an error when it is shown (``{{ x }}``) and false in a condition.

Handlebars (the subset scripts use, kept small here): ``{{path}}``, ``{{{raw}}}``,
``{{#each list}}...{{/each}}`` (``this``, ``@index``, ``@key``, ``@first``, ``@last``),
``{{#if x}}...{{else}}...{{/if}}``, ``{{#unless x}}``, ``{{#with obj}}``, helpers
``{{uppercase x}}``, ``{{lowercase x}}``. Output is HTML-escaped except ``| safe`` and triple
braces.
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

# ---------------------------------------------------------------- Tera, through Jinja2

_PAIRS_FOR = re.compile(r"(\{%-?\s*for\s+\w+\s*,\s*\w+\s+in\s+)(.+?)(\s*-?%\})", re.DOTALL)
_UNCLOSED = re.compile(r"innermost block that needs to be closed is '(\w+)'")


def _missing_error(undefined: Any) -> Exception:
    hint = undefined._undefined_hint
    if hint and "unsafe" in hint:  # the sandbox hid an attribute such as __class__
        return SecurityViolation(f"Template refused by the sandbox: {hint}")
    return TemplateError(f"Variable `{undefined._undefined_name}` not found in context")


def _environment() -> Any:
    """The sandboxed environment, made once (imported on first use)."""
    global _ENV
    if _ENV is not None:
        return _ENV
    from jinja2 import Undefined
    from jinja2.sandbox import SandboxedEnvironment
    from markupsafe import Markup

    class Missing(Undefined):
        """A name the context does not have: false in a condition, an error when shown."""

        __slots__ = ()

        def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
            raise _missing_error(self)

        def __str__(self) -> str:
            raise _missing_error(self)

        def __iter__(self) -> Any:
            raise _missing_error(self)

        def __len__(self) -> int:
            raise _missing_error(self)

    def finalize(value: Any) -> Any:
        return value if isinstance(value, Markup) else _text(value)

    def default(subject: Any, value: Any = "", boolean: bool = False) -> Any:
        if isinstance(subject, Undefined) or subject is None or (boolean and not subject):
            return value
        return subject

    def join(subject: Any, sep: str = "", d: str | None = None) -> str:
        return (d if d is not None else sep).join(_text(v) for v in (subject or []))

    def json_encode(subject: Any, pretty: bool = False) -> str:
        return json.dumps(subject, ensure_ascii=False, indent=2 if pretty else None)

    def pairs(subject: Any) -> list[tuple[Any, Any]]:
        if isinstance(subject, dict):
            return list(subject.items())
        return list(enumerate(subject))

    env = SandboxedEnvironment(
        autoescape=True, undefined=Missing, finalize=finalize, keep_trailing_newline=True
    )
    env.filters.update(
        {"default": default, "join": join, "json_encode": json_encode, "llmspell_pairs": pairs}
    )
    _ENV = env
    return env


_ENV: Any = None


def _tera_render(template: str, data: dict[str, Any]) -> str:
    from jinja2 import TemplateError as JinjaError
    from jinja2 import TemplateSyntaxError
    from jinja2.exceptions import SecurityError

    source = _PAIRS_FOR.sub(r"\1(\2) | llmspell_pairs\3", template)
    env = _environment()
    try:
        compiled = env.from_string(source)
    except TemplateSyntaxError as err:
        unclosed = _UNCLOSED.search(err.message or "")
        if unclosed:
            raise TemplateError(f"Unclosed '{{% {unclosed.group(1)} %}}' block") from None
        raise TemplateError(f"Template syntax error on line {err.lineno}: {err.message}") from None
    out: list[str] = []
    size = 0
    try:
        for chunk in compiled.generate(data):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise ResourceLimitError(f"rendered output is larger than {MAX_OUTPUT} bytes")
            out.append(chunk)
    except SecurityError as err:
        raise SecurityViolation(f"Template refused by the sandbox: {err}") from None
    except JinjaError as err:
        raise TemplateError(f"Template error: {err}") from None
    except (TypeError, ValueError, ZeroDivisionError, OverflowError) as err:
        raise TemplateError(f"Template error: {err}") from None
    return "".join(out)


# ---------------------------------------------------------------- Handlebars (a small shim)

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
            rendered = _tera_render(template, data)
        else:
            _hbs_render(_hbs_parse(template), [data], out)
            rendered = "".join(out)
    except RecursionError:
        raise ResourceLimitError("template nesting is too deep") from None
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
        description="Renders Tera (Jinja2, sandboxed) or Handlebars style templates with a "
        "context (variables, if, for/each, filters); output is HTML-escaped",
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
