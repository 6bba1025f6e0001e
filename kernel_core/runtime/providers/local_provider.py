"""The deterministic ``local`` provider: answers without a network so every script runs offline.

The same messages always give the same answer. The rules (documented in docs/providers.md):

* A plain prompt gets ``You said: "<prompt>".``; when the prompt holds an arithmetic
  expression (``2 + 2``, ``(3 + 4) * 5``) the value is appended (``2 + 2 = 4.``); from the
  second user message on, the reply starts with ``(message N of our conversation)``.
* When tools are offered and the newest user message has no tool result yet, it calls one
  tool: ``calculator`` (if offered) with ``{operation="evaluate", input=<expression>}`` when
  the prompt holds an expression; otherwise the offered tool whose name appears first in the
  prompt, with the first JSON object in the prompt as arguments, else its ``key=value``
  pairs, else ``{input=<prompt>}``.
* After tool results it answers from them: ``The calculator tool returned 4.``
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from collections.abc import Callable
from typing import Any, Literal

from kernel_core.runtime.providers.base import (
    ChatCall,
    ChatRequest,
    ChatResponse,
    Completed,
    Message,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)

LOCAL_MODEL = "llmspell-local"
MAX_ECHO = 200

# Candidate spans: digits, operators, parentheses and spaces, starting and ending on a number
# or parenthesis. A span counts as arithmetic only if it has an operator between operands;
# '-' needs spaces around it so dates (2024-01-15) and ranges are not "calculated".
_SPAN = re.compile(r"[\d(][\d\s.+\-*/%^()]*[\d)]|\d")
_HAS_OPERATOR = re.compile(r"[\d)]\s*[+*/%^]\s*[\d(]|[\d)]\s+-\s+[\d(]")
_KEY_VALUE = re.compile(r"([A-Za-z_][\w-]*)=(\"[^\"]*\"|'[^']*'|\S+)")
_WORDISH = re.compile(r"\w+|[^\w\s]")

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


class LocalProvider:
    """Answers chat requests deterministically, in process."""

    kind: Literal["local", "http"] = "local"

    def __init__(self, name: str = "local") -> None:
        self.name = name

    def start(self, request: ChatRequest, *, stream: bool) -> ChatCall:
        """Answer at once; with ``stream`` the text arrives in several deltas first."""
        call = ChatCall()
        response = answer(request)
        if stream:
            for piece in stream_pieces(response.content):
                call.put(TextDelta(piece))
        call.put(Completed(response))
        return call


def answer(request: ChatRequest) -> ChatResponse:
    """The local model's reply to a conversation."""
    messages = request.messages
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
    prompt = messages[last_user].content if last_user >= 0 else ""
    results = [m for m in messages[last_user + 1 :] if m.role == "tool"]
    if results:
        content = " ".join(_describe_tool_result(m) for m in results)
        return _response(request, content)
    if request.tools:
        call = choose_tool_call(prompt, request.tools, call_number=len(messages))
        if call is not None:
            return _response(request, "", (call,))
    turn = sum(1 for m in messages if m.role == "user")
    content = f'You said: "{_clip(prompt, MAX_ECHO)}".'
    expression = find_expression(prompt)
    if expression is not None:
        value = evaluate(expression)
        if value is not None:
            content += f" {expression} = {format_number(value)}."
    if turn > 1:
        content = f"(message {turn} of our conversation) {content}"
    return _response(request, content)


def choose_tool_call(
    prompt: str, tools: tuple[ToolSpec, ...], call_number: int = 1
) -> ToolCall | None:
    """The tool call the local model makes for ``prompt``, or None (see module docstring)."""
    names = {t.name for t in tools}
    call_id = f"call_local_{call_number}"
    expression = find_expression(prompt)
    if "calculator" in names and expression is not None:
        return ToolCall(call_id, "calculator", {"operation": "evaluate", "input": expression})
    lowered = prompt.lower()
    mentioned = [(lowered.find(t.name.lower()), t.name) for t in tools]
    mentioned = [(pos, name) for pos, name in mentioned if pos >= 0]
    if not mentioned:
        return None
    _, name = min(mentioned)
    return ToolCall(call_id, name, arguments_from_prompt(prompt))


def arguments_from_prompt(prompt: str) -> dict[str, Any]:
    """Tool arguments written in a prompt: a JSON object, else key=value pairs, else input."""
    start = prompt.find("{")
    while start >= 0:
        try:
            value, _ = json.JSONDecoder().raw_decode(prompt[start:])
        except json.JSONDecodeError:
            start = prompt.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = prompt.find("{", start + 1)
    pairs = {key: raw.strip("\"'") for key, raw in _KEY_VALUE.findall(prompt)}
    return pairs or {"input": prompt}


def find_expression(text: str) -> str | None:
    """The first arithmetic expression in ``text`` that evaluates, or None."""
    for match in _SPAN.finditer(text):
        span = _balance(match.group().strip())
        if _HAS_OPERATOR.search(span) and evaluate(span) is not None:
            return span
    return None


def evaluate(expression: str) -> float | int | None:
    """Value of a plain arithmetic expression (``^`` is power), or None if it is not one."""
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
        value = _eval_node(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def format_number(value: float) -> str:
    """A number as a person writes it: 4, not 4.0; at most 10 significant digits."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def count_tokens(text: str) -> int:
    """A deterministic token estimate: words and punctuation marks."""
    return len(_WORDISH.findall(text))


def stream_pieces(text: str, words_per_piece: int = 3) -> list[str]:
    """``text`` cut into pieces of a few words (whitespace kept), as a stream delivers it."""
    words = re.findall(r"\S+\s*", text)
    return ["".join(words[i : i + words_per_piece]) for i in range(0, len(words), words_per_piece)]


def _eval_node(node: ast.AST) -> float | int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise TypeError("not a number")
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _eval_node(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval_node(node.left), _eval_node(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError("exponent too large")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(node.op, ast.Div) and isinstance(result, float) and result.is_integer():
            return int(result) if abs(result) < 1e15 else result
        return result  # type: ignore[no-any-return]
    raise ValueError("not arithmetic")


def _balance(span: str) -> str:
    # "what is (2 + 3)" may leave an unmatched parenthesis at either end of the span
    while span.count("(") > span.count(")") and span.startswith("("):
        span = span[1:].strip()
    while span.count(")") > span.count("(") and span.endswith(")"):
        span = span[:-1].strip()
    return span


def _describe_tool_result(message: Message) -> str:
    name = message.name or "tool"
    try:
        data = json.loads(message.content)
    except ValueError:
        return f"The {name} tool returned: {_clip(message.content, MAX_ECHO)}"
    if isinstance(data, dict):
        error = data.get("error")
        if data.get("success") is False or (isinstance(error, str) and "result" not in data):
            if isinstance(error, dict):
                error = error.get("message", error)
            return f"The {name} tool failed: {_clip(str(error), MAX_ECHO)}."
        value = _headline(data)
        if value is not None:
            return f"The {name} tool returned {value}."
    return f"The {name} tool returned {_clip(json.dumps(data, sort_keys=True), MAX_ECHO)}."


def _headline(data: dict[str, Any]) -> str | None:
    result = data.get("result")
    if isinstance(result, dict) and "result" in result:
        result = result["result"]
    if result is None and isinstance(data.get("text"), str):
        result = data["text"]
    if isinstance(result, bool) or result is None:
        return None
    if isinstance(result, int | float):
        return format_number(result)
    if isinstance(result, str):
        return _clip(result, MAX_ECHO)
    return _clip(json.dumps(result, sort_keys=True), MAX_ECHO)


def _response(
    request: ChatRequest, content: str, tool_calls: tuple[ToolCall, ...] = ()
) -> ChatResponse:
    prompt_tokens = sum(count_tokens(m.content) for m in request.messages)
    completion = count_tokens(content) + sum(
        count_tokens(json.dumps(c.arguments)) + 1 for c in tool_calls
    )
    if request.max_tokens is not None and completion > request.max_tokens > 0 and content:
        content = _truncate_to_tokens(content, request.max_tokens)
        completion = count_tokens(content)
        finish = "length"
    else:
        finish = "tool_calls" if tool_calls else "stop"
    return ChatResponse(
        content=content,
        model=LOCAL_MODEL,
        tool_calls=tool_calls,
        usage=Usage(prompt_tokens, completion),
        finish_reason=finish,
    )


def _truncate_to_tokens(text: str, limit: int) -> str:
    for count, match in enumerate(_WORDISH.finditer(text), 1):
        if count > limit:
            return text[: match.start()].rstrip()
    return text


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
