"""Debug: levels, log lines on stderr, capture, filters, timers, dumps, memory, stacks."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from tests.conftest import LuaWorld

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (\w+) +(\[[^\]]+\] )?(.*)$")


def test_log_lines_go_to_stderr_in_llmspell_format(lua: LuaWorld) -> None:
    run = lua.ok('Debug.info("starting", "app.main") Debug.warn(42) print("out")')
    assert run.stdout == "out\n"
    lines = run.stderr.splitlines()
    first, second = (LINE.match(line) for line in lines)
    assert first is not None
    assert second is not None
    assert first.groups() == ("INFO", "[app.main] ", "starting")
    assert second.groups() == ("WARN", None, "42")


def test_default_level_is_info_and_levels_are_case_insensitive(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        Debug.debug("hidden")
        local before = Debug.getLevel()
        local ok = Debug.setLevel("TRACE")
        Debug.trace("visible")
        local numeric = Debug.setLevel(1)
        local after = Debug.getLevel()
        local bad = Debug.setLevel("loud")
        Debug.warn("hidden too")
        return {before, ok, numeric, after, bad, Debug.getLevel()}
        """
    )
    assert run.value == ["INFO", True, True, "ERROR", False, "ERROR"]
    assert "visible" in run.stderr
    assert "hidden" not in run.stderr


def test_level_comes_from_config(make_lua: Callable[..., LuaWorld]) -> None:
    lua = make_lua(debug={"level": "warn"})
    assert lua.ok("return Debug.getLevel()").value == "WARN"


def test_log_with_invalid_level_is_dropped_but_bad_messages_raise(lua: LuaWorld) -> None:
    run = lua.ok('Debug.log("loud", "x") Debug.log("error", "kept")')
    assert "kept" in run.stderr
    assert " x\n" not in run.stderr
    assert lua.fails("Debug.info({})") == (
        "bad argument #1 to 'Debug.info' (string expected, got table)"
    )


def test_disabled_debug_prints_nothing(lua: LuaWorld) -> None:
    run = lua.ok('Debug.setEnabled(false) Debug.error("x") return Debug.isEnabled()')
    assert run.value is False
    assert run.stderr == ""


def test_captured_entries_keep_module_and_data(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        Debug.info("one")
        Debug.logWithData("warn", "two", {user = "ada"}, "auth")
        local last = Debug.getCapturedEntries(1)
        local all = #Debug.getCapturedEntries()
        Debug.clearCaptured()
        return {last = last, all = all, cleared = #Debug.getCapturedEntries()}
        """
    ).value
    (entry,) = value["last"]
    assert entry["level"] == "WARN"
    assert entry["message"] == "two"
    assert entry["module"] == "auth"
    assert entry["metadata"] == {"user": "ada"}
    assert (value["all"], value["cleared"]) == (2, 0)


def test_module_filters_hide_and_show_modules(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        Debug.addModuleFilter("noisy", false)
        Debug.addAdvancedFilter("^noisy%.keep$", "regex", true)
        Debug.addAdvancedFilter("noisy.keep", "exact", true)
        Debug.info("a", "noisy.sub")
        Debug.info("b", "noisy.keep")
        Debug.info("c", "quiet")
        local summary = Debug.getFilterSummary()
        Debug.setDefaultFilterEnabled(false)
        Debug.info("d", "quiet")
        Debug.clearModuleFilters()
        return summary
        """
    )
    messages = [m.group(3) for m in map(LINE.match, run.stderr.splitlines()) if m]
    assert messages == ["b", "c"]
    assert run.value["total_rules"] == 3
    assert run.value["default_enabled"] is True
    assert run.value["rules"][0] == {"pattern": "noisy", "type": "hierarchical", "enabled": False}
    assert "unknown filter type 'fuzzy'" in lua.fails('Debug.addAdvancedFilter("x", "fuzzy")')


def test_timer_stop_lap_elapsed_and_reports(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local t = Debug.timer("load")
        local lapped = t:lap("parsed")
        local running = t:elapsed()
        local total = t:stop()
        return {
          id = t.id, lapped = lapped, running = running, total = total,
          again = t:stop(), lap_after = t:lap("late"), elapsed = t:elapsed(),
          report = Debug.performanceReport(), json = Debug.jsonReport(),
          flame = Debug.flameGraph(), event = Debug.recordEvent(t.id, "done"),
        }
        """
    ).value
    assert value["id"].startswith("timer-")
    assert value["lapped"] is True
    assert value["lap_after"] is False
    assert 0 <= value["running"] <= value["total"] == value["elapsed"]
    assert "again" not in value  # nil: already stopped
    assert "load" in value["report"]
    assert "lap parsed" in value["report"]
    assert json.loads(value["json"])["timers"][0]["laps"][0]["name"] == "parsed"
    assert value["flame"].startswith("load;parsed ")
    assert value["event"] is True


def test_dump_renders_values_as_lua_shows_them(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local t = {1, 2.0, "a\\nb", {x = true}, name = "n", ["two words"] = 1, f = print}
        t.self = t
        return {
          dump = Debug.dump(t, "t"),
          compact = Debug.dumpCompact({1, {2}}),
          limited = Debug.dumpWithOptions({a = {b = {c = 1}}, s = string.rep("x", 20)},
            {max_depth = 1, max_string_length = 5, compact_mode = true}),
          verbose = Debug.dumpVerbose(3),
        }
        """
    ).value
    assert value["dump"] == (
        't: {\n  1,\n  2.0,\n  "a\\nb",\n  {\n    x = true\n  },\n'
        '  f = function: builtin,\n  name = "n",\n'
        "  self = <cycle: " + value["dump"].split("<cycle: ")[1].split(">")[0] + ">,\n"
        '  ["two words"] = 1\n}'
    )
    assert value["compact"] == "{ 1, { 2 } }"
    assert value["limited"] == '{ a = {...} (1 entry), s = "xxxxx..." (20 bytes) }'
    assert value["verbose"] == "<number> 3"


def test_memory_stats_come_from_the_lua_heap(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local before = Debug.memoryStats()
        collectgarbage("collect")
        local after = Debug.memoryStats()
        return {before = before, after = after}
        """
    ).value
    before, after = value["before"], value["after"]
    assert before["used_bytes"] > 10_000
    assert before["allocated_bytes"] >= before["used_bytes"]
    assert before["resident_bytes"] > before["used_bytes"]
    assert after["collections"] > before["collections"]


def test_stack_trace_lists_script_frames_with_locals_and_source(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local function inner(a)
          local b = a * 2
          local trace = Debug.stackTrace({capture_locals = true})
          return trace
        end
        local function outer() local r = inner(21) return r end
        return {text = outer(), json = Debug.stackTraceJson()}
        """
    ).value
    lines = value["text"].splitlines()
    assert lines[0] == "stack traceback:"
    assert lines[1] == "  #1 (test):4 in inner"
    assert lines[2].strip() == "local trace = Debug.stackTrace({capture_locals = true})"
    assert lines[3].strip() == "locals: a = 21, b = 42"
    assert lines[4] == "  #2 (test):7 in outer"
    frames = json.loads(value["json"])["frames"]
    assert [(f["name"], f["line"]) for f in frames] == [("main chunk", 8)]
