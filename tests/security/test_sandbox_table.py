"""docs/config.md's table of sandbox levels, checked against real runtimes at each level:
every name the table puts in backticks has a probe here, and each probe must hold."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import lupa.lua54 as lupa
import pytest

from tests.conftest import ROOT, LuaWorld
from tests.security import test_restricted_escapes

SECRET = "/etc/passwd"


def _table() -> dict[str, tuple[str, str]]:
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    section = text.split("## Sandbox levels", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] not in ("What", "---"):
            rows[cells[0]] = (cells[1], cells[2])
    return rows


def _names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@pytest.fixture
def worlds(make_lua: Callable[..., LuaWorld]) -> dict[str, LuaWorld]:
    return {level: make_lua(runtime={"sandbox": level}) for level in ("trusted", "restricted")}


def _fails(world: LuaWorld, code: str) -> str:
    run = world.run(code)
    assert run.outcome.status != "ok", code
    assert run.outcome.failure is not None
    return run.outcome.failure.message


def _binary(tmp: Path) -> Path:
    dump = lupa.LuaRuntime(encoding=None).eval('string.dump(load("return 42"))')
    assert isinstance(dump, bytes)
    path = tmp / "bin.lua"
    path.write_bytes(dump)
    return path


FILE_PROBES = {
    "io.open": f'return io.open("{SECRET}")',
    "io.lines": f'return io.lines("{SECRET}")',
    "io.input": f'return io.input("{SECRET}")',
    "io.output": f'return io.output("{SECRET}")',
    "os.remove": f'return os.remove("{SECRET}")',
    "os.rename": f'return os.rename("{SECRET}", "{SECRET}.x")',
    "loadfile": f'return loadfile("{SECRET}")',
    "dofile": f'return dofile("{SECRET}")',
    "require": 'package.path = "/etc/?" return require("passwd")',
    "Artifact.store_file": (
        f'local s = Session.create({{name = "x"}}) return Artifact.store_file(s, "{SECRET}", "x")'
    ),
}
BYTECODE_PROBES = {
    "load": "return load(string.dump(function() return 42 end))()",
    "loadfile": 'return loadfile("{bin}")()',
    "dofile": 'return dofile("{bin}")',
    "require": 'package.path = "{dir}/?.lua" return require("bin")',
}


def test_the_table_has_the_rows_this_test_checks() -> None:
    assert list(_table()) == [
        "Libraries",
        "Functions refused",
        "Files",
        "Processes",
        "Environment",
        "Bytecode",
        "Debug library",
        "Tools",
        "lupa's bridge",
    ]


def test_libraries(worlds: dict[str, LuaWorld]) -> None:
    trusted, restricted = _table()["Libraries"]
    assert "the same names" in restricted
    for name in _names(trusted):
        for world in worlds.values():
            code = f'return type({name}) == "table" and require("{name}") == {name}'
            assert world.ok(code).value is True, name


def test_functions_refused(worlds: dict[str, LuaWorld]) -> None:
    trusted, restricted = _table()["Functions refused"]
    assert trusted == "none"
    names = _names(restricted)
    assert names == ["os.execute", "io.popen", "package.loadlib", "package.cpath"]
    for name in names[:3]:
        assert worlds["trusted"].ok(f'return type({name}) == "function"').value is True
        message = _fails(worlds["restricted"], f"return {name}('x')")
        assert f"{name} is not allowed in the restricted sandbox" in message
    assert worlds["restricted"].ok("return package.cpath").value == ""


def test_files(worlds: dict[str, LuaWorld]) -> None:
    trusted, restricted = _table()["Files"]
    assert trusted == "anywhere the user can reach"
    assert worlds["trusted"].ok(f'return io.open("{SECRET}"):read("l")').value.startswith("root")
    names = [n for n in _names(restricted) if n not in ("[runtime] allowed_paths", "..")]
    assert len(names) == 11
    for name in names:
        if name == "Display.image":  # a kernel's global: checked through a real kernel
            kernel_test = "test_display_image_reads_no_file_outside_the_allowed_paths"
            assert hasattr(test_restricted_escapes, kernel_test)
            continue
        message = _fails(worlds["restricted"], FILE_PROBES[name])
        assert "denied in the restricted sandbox" in message, (name, message)
        assert "root:" not in message


def test_processes(worlds: dict[str, LuaWorld]) -> None:
    trusted, restricted = _table()["Processes"]
    assert restricted == "none"
    assert _names(trusted) == [
        "os.execute",
        "process-executor",
        "io.popen",
        "'popen' not supported",
    ]
    probes = {
        "os.execute": 'return os.execute("true")',
        "io.popen": 'return io.popen("echo hi"):read("l")',
        "process-executor": (
            'return Tool.execute("process-executor", {executable = "echo", arguments = {"hi"}})'
            ".success"
        ),
    }
    assert worlds["trusted"].ok(probes["os.execute"]).value is True
    assert "'popen' not supported" in _fails(worlds["trusted"], probes["io.popen"])
    assert worlds["trusted"].ok(probes["process-executor"]).value is True
    for code in probes.values():
        run = worlds["restricted"].run(code)
        assert run.outcome.status != "ok" or run.value is not True, code


def test_environment(worlds: dict[str, LuaWorld], monkeypatch: pytest.MonkeyPatch) -> None:
    trusted, restricted = _table()["Environment"]
    assert _names(trusted) == ["os.getenv"]
    names = _names(restricted)
    assert names[:2] == ["os.getenv", "environment-reader"]
    for name in names[2:]:
        variable = name.replace("*", "X")
        monkeypatch.setenv(variable, "value-of-" + variable)
        assert (
            worlds["trusted"].ok(f'return os.getenv("{variable}")').value == "value-of-" + variable
        )
        if "*" in name:
            message = _fails(worlds["restricted"], f'return os.getenv("{variable}")')
            assert "is not allowed in the restricted sandbox" in message
        else:
            got = worlds["restricted"].ok(f'return os.getenv("{variable}")').value
            assert got == "value-of-" + variable


def test_bytecode(worlds: dict[str, LuaWorld], tmp_path: Path) -> None:
    trusted, restricted = _table()["Bytecode"]
    binary = _binary(tmp_path)
    assert _names(trusted) == _names(restricted) == list(BYTECODE_PROBES)
    for name, template in BYTECODE_PROBES.items():
        code = template.format(bin=binary, dir=tmp_path)
        assert worlds["trusted"].ok(code).value == 42, name
        message = _fails(worlds["restricted"], code)
        assert "binary" in message or "attempt to call a nil value" in message, message


def test_debug_library(worlds: dict[str, LuaWorld]) -> None:
    trusted, restricted = _table()["Debug library"]
    assert trusted == "all of it"
    keys = "local t = {} for k in pairs(debug) do t[#t + 1] = k end table.sort(t) return t"
    assert "sethook" in worlds["trusted"].ok(keys).value
    assert "getregistry" in worlds["trusted"].ok(keys).value
    names = _names(restricted)
    assert names == ["debug.traceback", "debug.getinfo", "func"]
    assert worlds["restricted"].ok(keys).value == sorted(n.split(".")[1] for n in names[:2])
    assert worlds["restricted"].ok("return debug.getinfo(print, 'f').func").value is None


def test_tools(worlds: dict[str, LuaWorld]) -> None:
    trusted, restricted = _table()["Tools"]
    assert _names(trusted) == ["[tools] allowed_paths"]
    assert _names(restricted) == ["process-executor"]
    read = f'Tool.execute("file-operations", {{operation = "read", path = "{SECRET}"}})'
    for world in worlds.values():
        # a refusal is a failed result (LLMSpell's envelope) or an error
        message = world.ok(
            f"local ok, r = pcall(function() return {read} end)\n"
            "if not ok then return tostring(r) end\n"
            'return (r.success and "SUCCEEDED " or "") .. tostring(r.error or r.text)'
        ).value
        assert "SUCCEEDED" not in message, message
        assert "Path not in allowed list" in message, message
    message = str(
        worlds["restricted"]
        .run('return Tool.execute("process-executor", {executable = "echo", arguments = {"x"}})')
        .outcome.failure
    )
    assert "restricted sandbox runs no" in message, message


def test_lupas_bridge(worlds: dict[str, LuaWorld]) -> None:
    trusted, restricted = _table()["lupa's bridge"]
    assert _names(trusted) == ["python", "package.loaded.python"]
    assert restricted == "absent"
    for world in worlds.values():
        assert world.ok("return python == nil and package.loaded.python == nil").value is True
        assert "module 'python' not found" in _fails(world, 'return require("python")')
