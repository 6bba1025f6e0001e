"""``diff-calculator``: text diffs (difflib) and structural JSON diffs."""

from __future__ import annotations

import difflib
import json
from typing import Any

from kernel_core.runtime.tools.errors import StorageError, ToolValidationError
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, envelope_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param


def _read(path: str, context: ToolContext) -> str:
    real = context.sandbox.resolve(path, "read")
    try:
        return real.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise StorageError(f"Failed to read {real}: {err}") from None


def _text_diff(old: str, new: str, fmt: str) -> str:
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    if fmt == "unified":
        return "".join(difflib.unified_diff(a, b, "old", "new", n=3))
    if fmt == "context":
        return "".join(difflib.context_diff(a, b, "old", "new", n=3))
    if fmt == "inline":
        return "".join(
            line if line.endswith("\n") else line + "\n"
            for line in difflib.ndiff(a, b)
            if not line.startswith("? ")
        )
    changes = [line for line in difflib.ndiff(a, b) if line[:1] in "+-"]
    body = "".join(line if line.endswith("\n") else line + "\n" for line in changes)
    return f"Total changes: {len(changes)}\n{body}"


def _json_diff(old: Any, new: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            sub = f"{path}.{key}" if path else str(key)
            if key not in new:
                out["removed"][sub] = old[key]
            else:
                _json_diff(old[key], new[key], sub, out)
        for key in new:
            if key not in old:
                out["added"][f"{path}.{key}" if path else str(key)] = new[key]
        return
    where = path or "$"
    if isinstance(old, list) and isinstance(new, list):
        where = f"{path}[]"
    if old == new and type(old) is type(new):
        out["unchanged"].append(where)
    else:
        out["modified"][where] = {"old": old, "new": new}


def run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Diff two texts, files or JSON values."""
    kind = params["type"]
    if kind == "json":
        old, new = params.get("old_json"), params.get("new_json")
        if "old_json" not in params or "new_json" not in params:
            raise ToolValidationError("JSON diff requires 'old_json' and 'new_json'")
        old = json.loads(old) if isinstance(old, str) and old.strip()[:1] in "{[" else old
        new = json.loads(new) if isinstance(new, str) and new.strip()[:1] in "{[" else new
        diff: dict[str, Any] = {"added": {}, "removed": {}, "modified": {}, "unchanged": []}
        _json_diff(old, new, "", diff)
        summary = {k: len(v) for k, v in diff.items()}
        return envelope_output(
            "json_diff", "JSON diff calculated", {"type": "json", "diff": diff, "summary": summary}
        )
    if params.get("old_file") or params.get("new_file"):
        old_text = _read(str(params.get("old_file") or ""), context)
        new_text = _read(str(params.get("new_file") or ""), context)
    else:
        old_raw, new_raw = params.get("old_text"), params.get("new_text")
        if not isinstance(old_raw, str) or not isinstance(new_raw, str):
            raise ToolValidationError(
                "Text diff requires 'old_text' and 'new_text' (or 'old_file' and 'new_file')"
            )
        old_text, new_text = old_raw, new_raw
    fmt = params["format"]
    return envelope_output(
        "text_diff",
        "Text diff calculated",
        {
            "type": "text",
            "format": fmt,
            "diff": _text_diff(old_text, new_text, fmt),
            "stats": {
                "old_lines": len(old_text.splitlines()),
                "new_lines": len(new_text.splitlines()),
            },
        },
    )


TOOLS = (
    ToolSpec(
        name="diff-calculator",
        description="Computes differences between texts, files or JSON values (unified, "
        "context, inline, simple)",
        category="utility",
        parameters=(
            Param("type", "string", "text or json", default="text", enum=("text", "json")),
            Param("old_text", "string", "Original text"),
            Param("new_text", "string", "Changed text"),
            Param("old_json", "any", "Original JSON value"),
            Param("new_json", "any", "Changed JSON value"),
            Param("old_file", "string", "Original file"),
            Param("new_file", "string", "Changed file"),
            Param(
                "format",
                "string",
                "unified, context, inline or simple",
                default="unified",
                enum=("unified", "context", "inline", "simple"),
            ),
        ),
        run=run,
    ),
)
