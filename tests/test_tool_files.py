"""file-operations and file-search: sandboxed, with LLMSpell's result shapes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.conftest import LuaWorld


def _world(make_lua: Callable[..., LuaWorld], root: Path) -> LuaWorld:
    return make_lua(tools={"allowed_paths": [str(root)]})


def test_write_read_append_exists_and_metadata(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    lua = _world(make_lua, tmp_path)
    path = tmp_path / "sub" / "note.txt"
    value = lua.ok(
        f'local p = "{path}"\n'
        'local w = Tool.execute("file-operations", {operation = "write", path = p,'
        ' input = "héllo"})\n'
        'local a = Tool.execute("file-operations", {operation = "append", path = p, input = "!"})\n'
        'local r = Tool.execute("file-operations", {operation = "read", path = p})\n'
        'local e = Tool.execute("file-operations", {operation = "exists", path = p})\n'
        'local m = Tool.execute("file-operations", {operation = "stat", path = p})\n'
        "return {w.text, w.success, w.metadata.operation, a.text, r.text,"
        " r.metadata.response.result.size, r.metadata.file_size, e.text,"
        " m.metadata.response.result.type, m.metadata.operation}"
    ).value
    # text-out: the message is the text, the envelope is metadata.response; no top-level success
    assert value == [
        f"Wrote 6 bytes to {path}",
        None,
        "write",
        f"Appended 1 bytes to {path}",
        "héllo!",
        7,
        7,
        f"Path {path} exists",
        "file",
        "metadata",
    ]
    assert path.read_text(encoding="utf-8") == "héllo!"


def test_list_copy_move_delete_and_create_dir(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    lua = _world(make_lua, tmp_path)
    (tmp_path / "a.txt").write_text("A")
    value = lua.ok(
        f'local d = "{tmp_path}"\n'
        'Tool.execute("file-operations", {operation = "mkdir", path = d .. "/x/y",'
        " recursive = true})\n"
        'Tool.execute("file-operations", {operation = "cp", source_path = d .. "/a.txt",'
        ' target_path = d .. "/b.txt"})\n'
        'Tool.execute("file-operations", {operation = "mv", source_path = d .. "/b.txt",'
        ' target_path = d .. "/x/c.txt"})\n'
        'Tool.execute("file-operations", {operation = "delete", path = d .. "/a.txt"})\n'
        'local l = Tool.execute("file-operations", {operation = "ls", path = d .. "/x"})\n'
        "local entries = l.metadata.response.result.entries\n"
        "return {l.text, entries[1].name, entries[1].type, entries[2].name}"
    ).value
    assert value == [f"Found 2 entries in {tmp_path}/x", "c.txt", "file", "y"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_paths_outside_the_allowed_list_are_refused_even_through_symlinks(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    allowed = tmp_path / "box"
    allowed.mkdir()
    sibling = tmp_path / "boxer"  # shares the prefix: a plain string test would let it pass
    sibling.mkdir()
    (sibling / "secret.txt").write_text("s")
    os.symlink(sibling, allowed / "link")
    lua = _world(make_lua, allowed)
    message = lua.fails(
        f'Tool.execute("file-operations", {{operation = "read", path = "{sibling}/secret.txt"}})'
    )
    assert message.startswith("Tool execution failed: Security violation: File access violation")
    assert "Path not in allowed list" in message
    message = lua.fails(
        f'Tool.execute("file-operations", {{operation = "read",'
        f' path = "{allowed}/link/secret.txt"}})'
    )
    assert "Security violation" in message
    message = lua.fails(
        f'Tool.execute("file-operations", {{operation = "exists", path = "{allowed}/../boxer"}})'
    )
    assert "Security violation" in message


def test_failed_write_is_reported_as_text_not_raised(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    lua = _world(make_lua, tmp_path / "only")
    value = lua.ok(
        'local r = Tool.execute("file-operations", {operation = "write", path = "/etc/x",'
        ' input = "no"})\n'
        "return {r.text, r.metadata.response.success, r.metadata.response.result.error_type}"
    ).value
    assert value[0].startswith("Operation 'write' failed: Security violation")
    assert value[1:] == [False, "security_violation"]


def test_file_operation_errors(make_lua: Callable[..., LuaWorld], tmp_path: Path) -> None:
    lua = make_lua(tools={"allowed_paths": [str(tmp_path)], "max_file_size": 4})
    (tmp_path / "big.txt").write_text("12345")
    message = lua.fails('Tool.execute("file-operations", {operation = "read"})')
    assert message == (
        "Tool execution failed: Validation error: Read operation requires 'path' parameter"
    )
    message = lua.fails(
        f'Tool.execute("file-operations", {{operation = "read", path = "{tmp_path}/none"}})'
    )
    assert message.startswith(
        f"Tool execution failed: Storage error: Failed to access path: {tmp_path}/none"
    )
    message = lua.fails(
        f'Tool.execute("file-operations", {{operation = "read", path = "{tmp_path}/big.txt"}})'
    )
    assert "exceeds maximum allowed size 4" in message
    message = lua.fails('Tool.execute("file-operations", {operation = "shred", path = "/tmp"})')
    assert "Validation error: Unknown file operation: shred" in message


def test_file_search_finds_matches_with_context(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    (tmp_path / "a.txt").write_text("one\nTODO: fix\nthree\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("todo later\n")
    (tmp_path / "c.bin").write_text("TODO hidden by extension\n")
    lua = _world(make_lua, tmp_path)
    value = lua.ok(
        f'local r = Tool.execute("file-search", {{pattern = "todo", path = "{tmp_path}",'
        " recursive = true, case_sensitive = false, context_lines = 1})\n"
        "local res = r.metadata.response.result\n"
        "return {r.text, res.summary.total_matches, res.matches[1].line_number,"
        " res.matches[1].context_before[1], res.matches[1].matched_text}"
    ).value
    assert value == ["Found 2 matches across 2 files. Search pattern: 'todo'", 2, 2, "one", "TODO"]
    value = lua.ok(
        f'return Tool.execute("file-search", {{pattern = "t[wh]o", path = "{tmp_path}",'
        " use_regex = true}).text"
    ).value
    assert value == "No matches found in 1 files searched. Search pattern: 't[wh]o'"
