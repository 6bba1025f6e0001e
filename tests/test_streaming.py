"""Streaming: generators over coroutines."""

from __future__ import annotations

from tests.conftest import LuaWorld


def test_stream_yields_values_then_its_return_value_then_nil(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local s = Streaming.create(function()
          coroutine.yield("a")
          coroutine.yield("b")
          return "end"
        end)
        local out = {}
        for i = 1, 4 do out[i] = tostring(s:next()) .. ":" .. tostring(s:isDone()) end
        return out
        """
    ).value
    assert value == ["a:false", "b:false", "end:true", "nil:true"]


def test_collect_gathers_every_remaining_non_nil_value(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local s = Streaming.create(function()
          for i = 1, 4 do coroutine.yield(i) end
        end)
        local first = s:next()
        return {first = first, rest = s:collect(), done = s:isDone()}
        """
    ).value
    assert value == {"first": 1, "rest": [2, 3, 4], "done": True}


def test_streaming_yield_yields_inside_a_stream_and_is_a_no_op_outside(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local outside = select("#", Streaming.yield(1))
        local s = Streaming.create(function() Streaming.yield("x") Streaming.yield("y") end)
        return {outside = outside, values = s:collect()}
        """
    ).value
    assert value == {"outside": 0, "values": ["x", "y"]}


def test_an_error_inside_the_stream_is_raised_and_ends_it(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local s = Streaming.create(function() coroutine.yield(1) error("broken") end)
        local first = s:next()
        local ok, err = pcall(s.next, s)
        return {first = first, ok = ok, err = err, done = s:isDone(), after = s:next()}
        """
    ).value
    assert value["first"] == 1
    assert value["ok"] is False
    assert value["err"].endswith("broken")
    assert value["done"] is True
    assert "after" not in value


def test_stream_methods_need_a_colon(lua: LuaWorld) -> None:
    message = lua.fails("local s = Streaming.create(function() end) s.next()")
    assert message == "'Stream:next' must be called with ':' (e.g. obj:next(...)), not '.'"


def test_logger_and_utils_always_exist(lua: LuaWorld) -> None:
    assert lua.ok("return {type(Logger), type(Utils), next(Logger) == nil}").value == [
        "table",
        "table",
        True,
    ]
