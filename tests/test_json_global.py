"""The JSON global: argument errors name the call as Lua's own functions do."""

from __future__ import annotations

from tests.conftest import LuaWorld


def test_json_parse_without_a_string_names_what_it_got(lua: LuaWorld) -> None:
    expected = "bad argument #1 to 'JSON.parse' (string expected, got {})"
    assert expected.format("no value") in lua.fails("JSON.parse()")
    assert expected.format("nil") in lua.fails("JSON.parse(nil)")
    assert expected.format("table") in lua.fails("JSON.parse({})")
    assert "internal error" not in lua.fails("JSON.parse()")


def test_json_parse_and_stringify_round_trip(lua: LuaWorld) -> None:
    run = lua.ok('local t = JSON.parse(\'{"a": [1, 2.5, "x"]}\') return JSON.stringify(t)')
    assert run.value == '{"a":[1,2.5,"x"]}'
