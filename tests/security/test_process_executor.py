"""process-executor as an attacker calls it: no processes when restricted, and in trusted mode
an allowed command name never becomes a shell, a writer or a reader outside the allowed paths."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LuaWorld


def _call(lua: LuaWorld, executable: str, *arguments: str) -> Any:
    args = ", ".join(f"[==[{a}]==]" for a in arguments)
    run = lua.run(
        f'return Tool.execute("process-executor", {{executable = [==[{executable}]==], '
        f"arguments = {{{args}}}}})"
    )
    if run.outcome.status == "ok":
        return run.value
    assert run.outcome.failure is not None
    return run.outcome.failure.message


@pytest.fixture
def trusted(make_lua: Callable[..., LuaWorld], tmp_path: Path) -> LuaWorld:
    return make_lua(tools={"allowed_paths": [str(tmp_path)]})


def test_restricted_sandbox_runs_no_process_at_all(
    make_lua: Callable[..., LuaWorld], tmp_path: Path
) -> None:
    lua = make_lua(runtime={"sandbox": "restricted"}, tools={"allowed_paths": [str(tmp_path)]})
    message = _call(lua, "echo", "hi")
    assert "restricted sandbox runs no processes" in message
    assert lua.ok('return Tool.is_available("process-executor")').value is False


def test_find_cannot_run_a_command(trusted: LuaWorld, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    marker = tmp_path / "pwned"
    for expression in (
        ("-exec", "sh", "-c", f"touch {marker}", "{}", "+"),
        ("-execdir", "touch", str(marker), ";"),
        ("-ok", "true", ";"),
        ("-delete",),
        ("-fprint", str(marker)),
    ):
        message = _call(trusted, "find", str(tmp_path), *expression)
        assert isinstance(message, str), expression
        assert "not permitted" in message
        assert "find may not run commands, delete or write files" in message
    assert not marker.exists()
    assert (tmp_path / "a.txt").exists()


def test_a_binary_that_only_shares_an_allowed_name_is_not_run(
    trusted: LuaWorld, tmp_path: Path
) -> None:
    fake = tmp_path / "bin" / "cat"
    fake.parent.mkdir()
    sh = shutil.which("sh")
    assert sh is not None
    fake.symlink_to(sh)
    message = _call(trusted, str(fake), "-c", "id")
    assert "give the command's name ('cat')" in message
    real_cat = shutil.which("cat")
    assert real_cat is not None
    (tmp_path / "f.txt").write_text("same program\n")
    value = _call(trusted, real_cat, str(tmp_path / "f.txt"))
    assert value["result"]["stdout"] == "same program\n"


def test_arguments_are_paths_checked_like_file_operations(
    trusted: LuaWorld, tmp_path: Path
) -> None:
    for command, arguments in (
        ("cat", ("/etc/passwd",)),
        ("head", ("-n", "1", "/etc/passwd")),
        ("grep", ("root", "/etc/passwd")),
        ("grep", ("-f", "/etc/passwd", str(tmp_path))),
        ("grep", ("-r", "root", "/etc")),
        ("wc", ("-l", "/etc/passwd")),
        ("sort", ("/etc/passwd",)),
        ("ls", ("/root",)),
        ("find", ("/etc", "-name", "passwd")),
        ("test", ("-e", "/etc/shadow")),
        ("cat", (f"{tmp_path}/../../etc/passwd",)),
    ):
        message = _call(trusted, command, *arguments)
        assert isinstance(message, str), (command, arguments)
        assert "Path not in allowed list" in message, message


def test_options_that_write_or_execute_are_refused(trusted: LuaWorld, tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("b\na\n")
    target = tmp_path / "out.txt"
    for command, arguments in (
        ("sort", ("-o", str(target), str(source))),
        ("sort", (f"--output={target}", str(source))),
        ("sort", ("--compress-program=sh", str(source))),
        ("sort", ("-T", str(tmp_path), str(source))),
        ("uniq", (str(source), str(target))),
        ("wc", (f"--files0-from={source}",)),
        ("tail", ("--pid=1", "-f", str(source))),
        ("date", ("-s", "2020-01-01")),
        ("find", ("-L", str(tmp_path))),
        ("grep", ("-R", "a", str(tmp_path))),
    ):
        message = _call(trusted, command, *arguments)
        assert isinstance(message, str), (command, arguments)
        assert "not permitted with argument" in message, message
    assert not target.exists()


def test_a_substitution_removed_by_the_escaping_cannot_make_an_option(
    trusted: LuaWorld, tmp_path: Path
) -> None:
    message = _call(trusted, "find", str(tmp_path), "$(x)-exec", "id", ";")
    assert "find may not run commands" in message


def test_what_the_allowed_commands_are_for_still_works(trusted: LuaWorld, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("beta\nalpha\nbeta\n")
    os.mkdir(tmp_path / "sub")
    value = _call(trusted, "sort", "-u", str(tmp_path / "notes.txt"))
    assert value["result"]["stdout"] == "alpha\nbeta\n"
    value = _call(trusted, "grep", "-c", "beta", str(tmp_path / "notes.txt"))
    assert value["result"]["stdout"] == "2\n"
    value = _call(trusted, "head", "-1", str(tmp_path / "notes.txt"))
    assert value["result"]["stdout"] == "beta\n"
    value = _call(trusted, "find", str(tmp_path), "-name", "*.txt", "-type", "f")
    assert value["result"]["stdout"].strip().endswith("notes.txt")
    value = _call(trusted, "ls", "-la", str(tmp_path))
    assert "notes.txt" in value["result"]["stdout"]
    value = _call(trusted, "date", "-u", "+%Y")
    assert value["result"]["stdout"].strip().isdigit()
    value = _call(trusted, "echo", "-n", "hello")
    assert value["result"]["stdout"] == "hello"
    value = _call(trusted, "test", "-d", str(tmp_path / "sub"))
    assert value["result"]["exit_code"] == 0
