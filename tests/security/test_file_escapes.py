"""Every global and tool that reads or writes a file on the script's behalf, tried with the
tricks a path check must see through (a symlink to /etc made inside an allowed directory,
``..``), and the rest of the restricted sandbox's corners: the debug subset, binary chunks
through a reader function and load's modes, package.searchpath."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import LuaWorld


@pytest.fixture
def restricted(make_lua: Callable[..., LuaWorld]) -> LuaWorld:
    return make_lua(runtime={"sandbox": "restricted"}, tools={"allowed_paths": ["/tmp"]})


@pytest.fixture
def escapes(tmp_path: Path) -> list[str]:
    """Paths inside the allowed directories that lead to /etc/passwd."""
    link = tmp_path / "etc-link"
    link.symlink_to("/etc")
    file_link = tmp_path / "passwd-link"
    file_link.symlink_to("/etc/passwd")
    return [
        f"{link}/passwd",
        str(file_link),
        f"{tmp_path}/../../../../../../etc/passwd",
    ]


def _refused(world: LuaWorld, code: str) -> str:
    run = world.run(code)
    assert run.outcome.status != "ok", (
        code,
        run.outcome.values and world.runtime.from_lua(run.outcome.values[0], what="v"),
    )
    assert run.outcome.failure is not None
    message = run.outcome.failure.message
    assert "root:" not in message, message
    return message


LUA_READERS = [
    'return io.open("{p}"):read("a")',
    'return io.open("{p}", "r+")',
    'for l in io.lines("{p}") do return l end',
    'io.input("{p}") return io.read("a")',
    'return dofile("{p}")',
    'return loadfile("{p}")',
    'os.remove("{p}")',
    'os.rename("{p}", "{p}.x")',
]


@pytest.mark.parametrize("template", LUA_READERS)
def test_lua_file_functions_see_through_links_and_dotdot(
    restricted: LuaWorld, escapes: list[str], template: str
) -> None:
    for path in escapes:
        message = _refused(restricted, template.format(p=path))
        assert "denied in the restricted sandbox" in message, message


@pytest.mark.parametrize(
    ("tool", "params"),
    [
        ("file-operations", '{operation = "read", path = "{p}"}'),
        ("file-operations", '{operation = "write", path = "{p}", input = "x"}'),
        ("file-operations", '{operation = "copy", source_path = "{p}", target_path = "/tmp/x"}'),
        ("hash-calculator", '{operation = "hash", input_type = "file", file = "{p}"}'),
        ("base64-encoder", '{operation = "encode", input_file = "{p}"}'),
        ("diff-calculator", '{old_file = "{p}", new_file = "{p}"}'),
    ],
)
def test_file_modes_of_tools_obey_the_allowed_paths(
    restricted: LuaWorld, escapes: list[str], tool: str, params: str
) -> None:
    for path in escapes:
        call = f'Tool.execute("{tool}", {params.replace("{p}", path)})'
        # a tool's refusal is a failed result (LLMSpell's envelope) or an error
        message = restricted.ok(
            f"local ok, r = pcall(function() return {call} end)\n"
            "if not ok then return tostring(r) end\n"
            'return (r.success and "SUCCEEDED " or "") .. tostring(r.error or r.text)'
        ).value
        assert "SUCCEEDED" not in message, message
        assert "root:" not in message
        assert "Path not in allowed list" in message, message


def test_artifact_store_file_sees_through_links(restricted: LuaWorld, escapes: list[str]) -> None:
    for path in escapes:
        message = _refused(
            restricted,
            'local s = Session.create({name = "x"})\n'
            f'return Artifact.store_file(s, "{path}", "x")',
        )
        assert "denied in the restricted sandbox" in message, message


def test_config_cannot_widen_the_allowed_paths(restricted: LuaWorld) -> None:
    message = _refused(restricted, 'Config.addAllowedPath("/etc") return io.open("/etc/passwd")')
    assert "restricted sandbox" in message


def test_debug_is_the_documented_subset(restricted: LuaWorld) -> None:
    names = restricted.ok(
        "local t = {} for k in pairs(debug) do t[#t + 1] = k end table.sort(t) "
        'return table.concat(t, ",")'
    ).value
    assert names == "getinfo,traceback"
    # level 1 is the caller, as in Lua, not the sandbox's wrapper
    info = restricted.ok(
        "local i = debug.getinfo(1) return {i.func == nil, i.currentline, i.short_src}"
    ).value
    assert info == [True, 1, "(test)"]
    assert restricted.ok("return debug.getinfo(1, 'l').currentline").value == 1
    assert restricted.ok("return debug.getinfo(1.0, 'S').short_src").value == "(test)"
    assert restricted.ok("return debug.getinfo(0, 'n').name").value == "getinfo"
    assert restricted.ok("return debug.getinfo(50)").value is None
    # given a function, getinfo still hands no function back (nor upvalues)
    assert restricted.ok("return debug.getinfo(print, 'f').func == nil").value is True
    for name in (
        "getupvalue",
        "setupvalue",
        "sethook",
        "gethook",
        "getregistry",
        "getlocal",
        "setlocal",
        "upvalueid",
        "upvaluejoin",
        "setmetatable",
        "getmetatable",
        "getuservalue",
        "setuservalue",
    ):
        assert (
            restricted.ok(
                f"return debug.{name} == nil and package.loaded.debug.{name} == nil"
            ).value
            is True
        ), name


@pytest.mark.parametrize(
    "code",
    [
        # a reader function handing the bytes of a dump
        (
            "local d = string.dump(function() return 1 end) local done = false\n"
            "return load(function() if done then return nil end done = true return d end)"
        ),
        'return load(string.dump(function() return 1 end), "x", "bt")',
        'return load(string.dump(function() return 1 end), "x", "tb", _ENV)',
        'return load(string.dump(function() return 1 end), "x", "b")',
        'return load("\\27Lua", "x", "b")',
    ],
)
def test_no_mode_of_load_takes_bytecode(restricted: LuaWorld, code: str) -> None:
    run = restricted.run(f"local f, e = (function() {code} end)() return {{f == nil, e}}")
    if run.outcome.status == "ok":  # load's own failure: nil, message
        refused, message = run.value
        assert refused is True, code
    else:  # a binary mode is refused outright
        assert run.outcome.failure is not None
        message = run.outcome.failure.message
    assert "binary" in message, message


def test_text_still_loads_with_every_mode(restricted: LuaWorld) -> None:
    assert restricted.ok('return load("return 7", "x", "t")()').value == 7
    assert restricted.ok('return load("return 7", "x", "bt")()').value == 7


def test_searchpath_tells_existence_but_never_contents(
    restricted: LuaWorld, tmp_path: Path
) -> None:
    # Accepted and documented (docs/config.md, sandbox levels): package.searchpath and
    # require's message say whether a readable file exists outside the allowed paths, as
    # Lua's searcher must open it to say so; its contents are never read.
    assert restricted.ok('return package.searchpath("passwd", "/etc/?")').value == "/etc/passwd"
    assert restricted.ok('return package.searchpath("nope", "/etc/?")').value is None
    message = restricted.fails('package.path = "/etc/?" return require("passwd")')
    assert "denied in the restricted sandbox" in message
    assert "root:" not in message
