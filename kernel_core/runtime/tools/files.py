"""``file-operations`` and ``file-search``: sandboxed file access (tools.md §4)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernel_core.runtime.tools.errors import (
    SecurityViolation,
    StorageError,
    ToolError,
    ToolValidationError,
)
from kernel_core.runtime.tools.registry import ToolSpec
from kernel_core.runtime.tools.result import ToolOutput, envelope, text_output
from kernel_core.runtime.tools.sandbox import ToolContext
from kernel_core.runtime.tools.schema import Param

ALIASES = {
    "read": "read",
    "write": "write",
    "append": "append",
    "delete": "delete",
    "create_dir": "create_dir",
    "mkdir": "create_dir",
    "list_dir": "list_dir",
    "ls": "list_dir",
    "dir": "list_dir",
    "copy": "copy",
    "cp": "copy",
    "move": "move",
    "mv": "move",
    "rename": "move",
    "metadata": "metadata",
    "stat": "metadata",
    "info": "metadata",
    "exists": "exists",
}
MAX_LIST_ENTRIES = 1000


def _rfc3339(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def _storage(path: Path, err: OSError) -> StorageError:
    return StorageError(f"Failed to access path: {path} - {err.strerror or err}")


def _need(params: dict[str, Any], key: str, op: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise ToolValidationError(
            f"{op.capitalize().replace('_', ' ')} operation requires '{key}' parameter"
        )
    return value


def _kind(path: Path) -> str:
    if path.is_symlink():
        return "symlink"
    if path.is_dir():
        return "directory"
    if path.is_file():
        return "file"
    return "unknown"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _operate(
    op: str, params: dict[str, Any], ctx: ToolContext
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(text, envelope result, extra metadata) for one operation."""
    sandbox = ctx.sandbox
    if op in ("copy", "move"):
        source = sandbox.resolve(_need(params, "source_path", op), op)
        target = sandbox.resolve(_need(params, "target_path", op), op)
        if not source.exists():
            raise StorageError(f"Failed to access path: {source} - No such file or directory")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if op == "copy":
                if source.is_dir():
                    shutil.copytree(source, target)
                else:
                    shutil.copy2(source, target)
            else:
                shutil.move(source, target)
        except OSError as err:
            raise _storage(source, err) from None
        verb = "Copied" if op == "copy" else "Moved"
        return f"{verb} {source} to {target}", {"source": str(source), "target": str(target)}, {}
    path = sandbox.resolve(_need(params, "path", op), op)
    try:
        if op == "read":
            size = path.stat().st_size
            if size > ctx.max_file_size:
                raise ToolValidationError(
                    f"File size {size} exceeds maximum allowed size {ctx.max_file_size}"
                )
            content = path.read_bytes().decode("utf-8", "replace")
            return (
                content,
                {"input": content, "size": size},
                {
                    "file_path": str(path),
                    "file_size": size,
                    "message": f"Read {size} bytes from {path}",
                },
            )
        if op in ("write", "append"):
            text_in: Any = params.get("input", params.get("content"))
            if not isinstance(text_in, str):
                raise ToolValidationError(f"{op.capitalize()} operation requires 'input' parameter")
            data = text_in.encode()
            existing = path.stat().st_size if op == "append" and path.exists() else 0
            if existing + len(data) > ctx.max_file_size:
                raise ToolValidationError(
                    f"Content size {existing + len(data)} exceeds maximum allowed size "
                    f"{ctx.max_file_size}"
                )
            if op == "write":
                _atomic_write(path, data)
                return (
                    f"Wrote {len(data)} bytes to {path}",
                    {"path": str(path), "size": len(data)},
                    {},
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("ab") as handle:
                handle.write(data)
            return f"Appended {len(data)} bytes to {path}", {"appended_size": len(data)}, {}
        if op == "delete":
            if path.is_dir():
                raise ToolValidationError(f"{path} is a directory; delete removes files only")
            path.unlink()
            return f"Deleted file: {path}", {"path": str(path)}, {}
        if op == "create_dir":
            recursive = bool(params.get("recursive"))
            path.mkdir(parents=recursive, exist_ok=True)
            return f"Created directory: {path}", {"recursive": recursive}, {}
        if op == "list_dir":
            entries = []
            for child in sorted(path.iterdir())[:MAX_LIST_ENTRIES]:
                ctx.check_cancelled()
                info = child.lstat()
                entries.append(
                    {
                        "name": child.name,
                        "path": str(child),
                        "type": _kind(child),
                        "size": info.st_size,
                        "modified": _rfc3339(info.st_mtime),
                    }
                )
            return (
                f"Found {len(entries)} entries in {path}",
                {"entries": entries, "count": len(entries)},
                {},
            )
        if op == "metadata":
            info = path.stat()
            created = getattr(info, "st_birthtime", info.st_ctime)
            return (
                f"Retrieved metadata for {path}",
                {
                    "path": str(path),
                    "type": _kind(path),
                    "size": info.st_size,
                    "readonly": not os.access(path, os.W_OK),
                    "created": _rfc3339(created),
                    "modified": _rfc3339(info.st_mtime),
                    "accessed": _rfc3339(info.st_atime),
                },
                {},
            )
        exists = path.exists()
        return (f"Path {path} {'exists' if exists else 'does not exist'}", {"exists": exists}, {})
    except OSError as err:
        raise _storage(path, err) from None


def file_operations_run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Read, write, list, copy, move, delete files inside the allowed paths."""
    raw = params["operation"]
    op = ALIASES.get(raw)
    if op is None:
        raise ToolValidationError(
            f"Unknown file operation: {raw}. Valid operations are: "
            "read, write, append, delete, create_dir, list_dir, copy, move, metadata, exists"
        )
    if op == "write":
        # LLMSpell reports a failed write as text, not as an error
        try:
            text, result, extra = _operate(op, params, context)
        except ToolError as err:
            error_type = {
                "Security violation": "security_violation",
                "Validation error": "validation_error",
            }.get(err.kind, "execution_error")
            response = envelope(
                "write",
                success=False,
                message=str(err),
                result={"path": params.get("path"), "error_type": error_type},
            )
            return text_output(f"Operation 'write' failed: {err}", "write", response)
    else:
        text, result, extra = _operate(op, params, context)
    message = extra.pop("message", text)
    response = envelope(op, message=message, result=result)
    return text_output(text, op, response, **extra)


# ---------------------------------------------------------------- file-search

DEFAULT_EXTENSIONS = (
    "txt",
    "md",
    "rs",
    "py",
    "js",
    "ts",
    "java",
    "cpp",
    "c",
    "h",
    "json",
    "xml",
    "yaml",
    "yml",
    "toml",
    "ini",
    "cfg",
    "conf",
    "log",
    "lua",
)
MAX_MATCHES = 1000


def _list_param(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list):
        items = [str(v) for v in value]
    else:
        raise ToolValidationError(
            "extension and directory lists must be arrays or comma-separated strings"
        )
    return [i.strip().lstrip(".") for i in items if i.strip()]


def file_search_run(params: dict[str, Any], context: ToolContext) -> ToolOutput:
    """Search files for a text or regex pattern."""
    pattern = params["pattern"]
    root = context.sandbox.resolve(params["path"], "search")
    if not root.exists():
        raise ToolValidationError(f"Path does not exist: {root}")
    flags = 0 if params.get("case_sensitive", True) else re.IGNORECASE
    source = pattern if params.get("use_regex") else re.escape(pattern)
    try:
        regex = re.compile(source, flags)
    except re.error as err:
        raise ToolValidationError(f"Invalid regex pattern '{pattern}': {err}") from None
    include = _list_param(params.get("include_extensions")) or list(DEFAULT_EXTENSIONS)
    exclude = set(_list_param(params.get("exclude_extensions")))
    exclude_dirs = set(_list_param(params.get("exclude_dirs"))) | {
        ".git",
        "node_modules",
        "__pycache__",
    }
    context_lines = max(0, int(params.get("context_lines", 2)))
    max_size = int(params.get("max_file_size", 10 * 1024 * 1024))
    per_file = params.get("max_matches_per_file")
    max_depth = int(params.get("max_depth", 20))
    recursive = bool(params.get("recursive"))

    files: list[Path] = []
    skipped: list[dict[str, str]] = []
    if root.is_file():
        files = [root]
    else:
        for dirpath, dirnames, filenames in os.walk(root):
            context.check_cancelled()
            depth = len(Path(dirpath).relative_to(root).parts)
            dirnames[:] = sorted(d for d in dirnames if d not in exclude_dirs)
            if not recursive or depth >= max_depth:
                dirnames[:] = []
            for name in sorted(filenames):
                ext = name.rsplit(".", 1)[-1] if "." in name else ""
                if ext in exclude or ext not in include:
                    continue
                files.append(Path(dirpath) / name)
    matches: list[dict[str, Any]] = []
    searched = 0
    for file in files:
        context.check_cancelled()
        if len(matches) >= MAX_MATCHES:
            break
        try:
            context.sandbox.resolve(str(file), "search")
            if file.stat().st_size > max_size:
                skipped.append({"file_path": str(file), "reason": "file too large"})
                continue
            lines = file.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            skipped.append({"file_path": str(file), "reason": "not UTF-8 text"})
            continue
        except (OSError, SecurityViolation) as err:
            skipped.append({"file_path": str(file), "reason": str(err)})
            continue
        searched += 1
        found = 0
        for index, line in enumerate(lines):
            for m in regex.finditer(line):
                matches.append(
                    {
                        "file_path": str(file),
                        "line_number": index + 1,
                        "column_number": m.start() + 1,
                        "line_content": line,
                        "matched_text": m.group(0),
                        "context_before": lines[max(0, index - context_lines) : index],
                        "context_after": lines[index + 1 : index + 1 + context_lines],
                    }
                )
                found += 1
                if (per_file and found >= per_file) or len(matches) >= MAX_MATCHES:
                    break
            if (per_file and found >= per_file) or len(matches) >= MAX_MATCHES:
                break
    files_with = len({m["file_path"] for m in matches})
    if matches:
        text = (
            f"Found {len(matches)} matches across {files_with} files. Search pattern: '{pattern}'"
        )
    else:
        text = f"No matches found in {searched} files searched. Search pattern: '{pattern}'"
    result = {
        "matches": matches,
        "summary": {
            "total_matches": len(matches),
            "files_searched": searched,
            "files_skipped": len(skipped),
            "has_matches": bool(matches),
        },
        "skipped_files": skipped,
    }
    return text_output(text, "search", envelope("search", message=text, result=result))


TOOLS = (
    ToolSpec(
        name="file-operations",
        description="Reads, writes, appends, lists, copies, moves and deletes files inside "
        "the allowed paths",
        category="filesystem",
        security_level="privileged",
        parameters=(
            Param(
                "operation",
                "string",
                "read, write, append, delete, create_dir, list_dir, copy, move, metadata or exists",
                required=True,
            ),
            Param("path", "string", "File or directory path"),
            Param("input", "string", "Content to write or append"),
            Param("source_path", "string", "Source for copy/move"),
            Param("target_path", "string", "Target for copy/move"),
            Param("recursive", "boolean", "create_dir: create missing parents", default=False),
        ),
        run=file_operations_run,
    ),
    ToolSpec(
        name="file-search",
        description="Searches file contents for text or regex patterns, with context lines",
        category="filesystem",
        security_level="restricted",
        parameters=(
            Param("pattern", "string", "Text or regex to find", required=True),
            Param("path", "string", "File or directory to search", required=True),
            Param("recursive", "boolean", "Search subdirectories", default=False),
            Param("case_sensitive", "boolean", "Match case", default=True),
            Param("use_regex", "boolean", "Treat pattern as a regex", default=False),
            Param("context_lines", "integer", "Lines of context around a match", default=2),
            Param(
                "max_file_size",
                "integer",
                "Skip files larger than this (bytes)",
                default=10 * 1024 * 1024,
            ),
            Param("include_extensions", "any", "Extensions to search (array or comma string)"),
            Param("exclude_extensions", "any", "Extensions to skip"),
            Param("exclude_dirs", "any", "Directory names to skip"),
            Param("max_matches_per_file", "integer", "Stop a file after this many matches"),
            Param("max_depth", "integer", "Maximum directory depth", default=20),
        ),
        run=file_search_run,
    ),
)
