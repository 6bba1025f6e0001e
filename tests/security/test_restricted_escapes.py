"""The restricted sandbox as an attacker tries it: every path to a library, bytecode by every
loader, and every llmspell feature that reads a file on the script's behalf."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import lupa.lua54 as lupa
import pytest

from tests.conftest import LuaWorld
from tests.kernel_fixtures import outputs, run_cell, start_kernel, stop_kernel

SECRET_FILE = "/etc/passwd"  # readable by everyone, outside every allowed path


@pytest.fixture
def restricted(make_lua: Callable[..., LuaWorld]) -> LuaWorld:
    return make_lua(runtime={"sandbox": "restricted"})


@pytest.mark.parametrize(
    "code",
    [
        'return require("os").execute("true")',
        'return package.loaded.os.execute("true")',
        'return package.loaded.os.remove("/tmp/nothing-here")',
        'return package.loaded.io.open("/etc/passwd"):read("l")',
        'return require("io").open("/etc/passwd"):read("l")',
        'return package.loaded.io.popen("id")',
        "return io.open(1)",  # a number is a path too
        'return require("python")',
        "return package.loaded.python.eval",
        "return package.loaded.debug.sethook",
        'return os.getenv("LLMSPELL_TEST_API_KEY")',
    ],
)
def test_no_path_reaches_a_real_library(
    restricted: LuaWorld, code: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMSPELL_TEST_API_KEY", "sk-secret")
    run = restricted.run(code)
    if run.outcome.status == "ok":  # a field that is simply absent
        assert run.value is None, code
        return
    assert run.outcome.failure is not None
    message = run.outcome.failure.message
    assert "sk-secret" not in message
    assert (
        "restricted sandbox" in message
        or "module 'python' not found" in message
        or "attempt to index a nil value" in message
    ), message


def test_a_number_is_a_path_too(restricted: LuaWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")  # io.open(1) opens "./1": here outside every allowed path
    message = restricted.fails("return io.open(1)")
    assert "io.open: access to '1' is denied in the restricted sandbox" in message


def test_the_sandboxed_libraries_are_the_ones_require_returns(restricted: LuaWorld) -> None:
    value = restricted.ok(
        'return require("os") == os and require("io") == io and package.loaded.coroutine == '
        "coroutine and require('debug') == debug"
    ).value
    assert value is True


def test_lupas_bridge_module_is_absent_at_every_level(make_lua: Callable[..., LuaWorld]) -> None:
    for level in ("trusted", "restricted"):
        lua = make_lua(runtime={"sandbox": level})
        assert lua.ok("return package.loaded.python == nil and python == nil").value is True


def _binary_module(directory: Path, name: str) -> Path:
    bare = lupa.LuaRuntime(encoding=None)
    dump = bare.eval('string.dump(load("return 42"))')
    assert isinstance(dump, bytes)
    path = directory / f"{name}.lua"
    path.write_bytes(dump)
    return path


def test_no_loader_loads_bytecode(restricted: LuaWorld, tmp_path: Path) -> None:
    module = _binary_module(tmp_path, "evil")
    for code in (
        f'package.path = "{tmp_path}/?.lua"; return require("evil")',
        f'return dofile("{module}")',
        f'return loadfile("{module}")()',
        f'return load(io.open("{module}", "rb"):read("a"))()',
        "return load(string.dump(function() return 1 end))()",
    ):
        run = restricted.run(code)
        assert run.outcome.status != "ok", code
        assert run.outcome.failure is not None
        message = run.outcome.failure.message
        assert "binary" in message or "attempt to call a nil value" in message, message


def test_require_reads_modules_only_inside_the_allowed_paths(
    restricted: LuaWorld, tmp_path: Path
) -> None:
    (tmp_path / "helper.lua").write_text("return { answer = 42 }\n")
    assert restricted.ok('return require("helper").answer').value == 42
    message = restricted.fails('package.path = "/etc/?"; return require("passwd")')
    assert "error loading module 'passwd' from file '/etc/passwd'" in message
    assert "denied in the restricted sandbox" in message
    assert "root:" not in message


def test_a_missing_module_reads_as_in_lua(restricted: LuaWorld, tmp_path: Path) -> None:
    message = restricted.fails(f'package.path = "{tmp_path}/?.lua"; require("nomod")')
    expected = "module 'nomod' not found:\n\tno field package.preload['nomod']\n\tno file "
    assert f"{expected}'{tmp_path}/nomod.lua'" in message
    assert "\n\t\n\t" not in message


def test_error_reports_quote_no_file_the_runtime_did_not_load(restricted: LuaWorld) -> None:
    run = restricted.run(f'error("{SECRET_FILE}:1: boom", 0)')
    assert run.outcome.failure is not None
    assert run.outcome.failure.line_text is None
    trace = restricted.ok(
        f'local f = load("return Debug.stackTrace()", "@{SECRET_FILE}"); return f()'
    ).value
    assert "root:" not in str(trace)


def test_error_reports_still_quote_the_script_itself(restricted: LuaWorld) -> None:
    script = restricted.directory / "boom.lua"
    script.write_text("local x = 1\nerror('boom here')\n")
    outcome = restricted.runtime.run_file(script)
    assert outcome.failure is not None
    assert outcome.failure.line_text == "error('boom here')"


def test_getenv_follows_the_environment_readers_policy(
    restricted: LuaWorld, make_lua: Callable[..., LuaWorld], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", "/home/someone")
    monkeypatch.setenv("MY_TOKEN", "t0ken")
    assert restricted.ok('return os.getenv("HOME")').value == "/home/someone"
    message = restricted.fails('return os.getenv("MY_TOKEN")')
    assert "os.getenv: reading 'MY_TOKEN' is not allowed in the restricted sandbox" in message
    trusted = make_lua(runtime={"sandbox": "trusted"})
    assert trusted.ok('return os.getenv("MY_TOKEN")').value == "t0ken"


def test_display_image_reads_no_file_outside_the_allowed_paths(tmp_path: Path) -> None:
    km, client = start_kernel(
        {
            "LLMSPELL_RUNTIME__SANDBOX": "restricted",
            "LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3"),
        }
    )
    try:
        _, messages = run_cell(client, f'Display.image("{SECRET_FILE}", "png")')
        shown = outputs(messages)
        assert not any(kind == "display_data" for kind, _ in shown), shown
        errors = [m for m in messages if m["msg_type"] == "error"]
        assert errors
        assert "Display.image: access to '/etc/passwd' is denied" in errors[0]["content"]["evalue"]
    finally:
        stop_kernel(km, client)
