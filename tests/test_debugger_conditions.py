"""Conditions, hit counts and log points on hot lines, as the kernel's debugger runs them.

A condition that can be evaluated in its own line is compiled into it (conditions.py); the
rest is evaluated by the debugger. Either way the client sees the same thing: a stop
exactly when the condition holds, a failing condition said once, hit counts counted on
every pass where the condition holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel_core.debugger.conditions import visible_locals
from kernel_core.debugger.instrument import instrument
from tests.debug_fixtures import (
    Debugger,
    dbg,
    debug_kernel,
    lua_fixture,
    marker_in_code,
    marker_line,
)

__all__ = ["dbg", "debug_kernel"]

HOT = lua_fixture("hot.lua")


def stops(dbg: Debugger, marker: str, name: str, **spec: Any) -> list[str]:
    """Run hot.lua with one breakpoint (``spec``) on ``marker``; ``name``'s value at each stop."""
    dbg.set_breakpoints(HOT, {"line": marker_line(HOT, marker), **spec})
    msg_id = dbg.run_file(HOT)
    seen = []
    while True:
        dbg.drain(0.05)
        if any(
            m.msg_type == "status"
            and m.parent_id == msg_id
            and m.content["execution_state"] == "idle"
            for m in dbg.iopub
        ):
            break
        try:
            dbg.stopped(timeout=0.5)
        except TimeoutError:
            continue
        seen.append(dbg.locals()[name])
        dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    return seen


def finished_normally(dbg: Debugger) -> bool:
    return any(text.startswith("done\t") for text in printed(dbg))


def printed(dbg: Debugger) -> list[str]:
    return [
        str(m.content.get("text", ""))
        for m in dbg.iopub
        if m.msg_type == "stream" and m.content.get("name") == "stdout"
    ]


# ---------------------------------------------------------------- what gets compiled


def compiled_line(marker: str, condition: str) -> str:
    source = Path(HOT).read_text()
    line = marker_line(HOT, marker)
    text, checked, sites = instrument(source, [line], {line: condition}, iter(range(1, 9)).__next__)
    assert checked == [line]
    [site] = sites
    return text.splitlines()[line - 1] if site.condition is not None else ""


def test_a_condition_on_locals_is_compiled_into_its_line() -> None:
    line = compiled_line("visit", "n > threshold and n % 2 == 0")
    assert line.startswith("  if __llmspell_num[n] and __llmspell_num[threshold] then")
    assert "if (n > threshold and n % 2 == 0) then __llmspell_bp(" in line
    # a numeric for variable the code never assigns needs no number check
    assert compiled_line("sum", "i == 5").startswith("  if (i == 5) then __llmspell_bp(")


def test_conditions_that_may_raise_or_read_globals_are_left_to_the_debugger() -> None:
    for condition in ("label:len() > 3", "#label > 3", "nothing < 3", "n .. '' == '3'", "t.x"):
        assert compiled_line("visit", condition) == "", condition


def test_only_locals_declared_before_the_statement_count_as_visible() -> None:
    source = "local a = 1\nlocal function f(p)\n  local b = p\n  return b\nend\nlocal c = 2\n"
    visible = visible_locals(source, source.index("return b"))
    assert visible is not None
    assert set(visible) == {"a", "f", "p", "b"}
    # a local is not visible in its own statement (`local x = x` reads the outer x)
    shadow = "local x = x\n"
    assert visible_locals(shadow, 0) == {}
    # a chunk with its own _ENV keeps the plain check: the compiled one reads our globals
    env = "local _ENV = {}\nlocal n = 1\nn = n + 1\n"
    text, _, sites = instrument(env, [3], {3: "n > 0"}, iter(range(1, 9)).__next__)
    assert [site.condition for site in sites] == [None]
    assert "__llmspell_bp(3, 1) n = n + 1" in text


# ---------------------------------------------------------------- behaviour


def test_compiled_condition_on_a_parameter_and_an_upvalue_stops_exactly_when_true(
    dbg: Debugger,
) -> None:
    assert stops(dbg, "visit", "n", condition="n > threshold and n % 2 == 0") == ["8", "10", "12"]
    assert finished_normally(dbg)


def test_compiled_condition_on_a_loop_variable(dbg: Debugger) -> None:
    assert stops(dbg, "sum", "i", condition="i == 5 or i == 9") == ["5", "9"]


def test_condition_on_a_string_where_a_number_is_expected_is_reported_once(dbg: Debugger) -> None:
    # `label` is a string: the compiled number check fails, the debugger evaluates it,
    # protected, and says so once; the script never sees the error
    assert stops(dbg, "visit", "n", condition="label < 3") == []
    failures = [o for o in dbg.outputs() if "condition" in o]
    assert len(failures) == 1, failures
    assert "attempt to compare" in failures[0]
    assert finished_normally(dbg)


def test_condition_on_an_undefined_name_is_reported_once(dbg: Debugger) -> None:
    assert stops(dbg, "sum", "i", condition="nothing.field > 3") == []
    failures = [o for o in dbg.outputs() if "condition" in o]
    assert len(failures) == 1, failures
    assert "nothing" in failures[0]
    assert finished_normally(dbg)


def test_hit_conditions_count_the_passes_where_the_condition_holds(dbg: Debugger) -> None:
    # i > 2 holds from the third pass: its hits are i = 3, 4, 5, ...
    assert stops(dbg, "sum", "i", condition="i > 2", hitCondition=">= 3") == [
        str(n) for n in range(5, 11)
    ]


def test_hit_condition_every_second(dbg: Debugger) -> None:
    assert stops(dbg, "sum", "i", hitCondition="% 2") == ["2", "4", "6", "8", "10"]


def test_hit_condition_exactly_the_fifth_with_a_compiled_condition(dbg: Debugger) -> None:
    assert stops(dbg, "visit", "n", condition="n >= 1", hitCondition="== 5") == ["5"]


def test_log_point_with_a_compiled_condition_logs_each_pass_without_stopping(
    dbg: Debugger,
) -> None:
    spec = {"condition": "i % 5 == 0", "logMessage": "i={i} total={total} half={i / 2}"}
    assert stops(dbg, "sum", "i", **spec) == []
    logs = [o for o in dbg.outputs() if o.startswith("i=")]
    assert logs == ["i=5 total=10 half=2.5\n", "i=10 total=45 half=5.0\n"]


def test_a_condition_changed_after_its_line_loaded_takes_effect(dbg: Debugger) -> None:
    line = marker_line(HOT, "sum")
    dbg.set_breakpoints(HOT, {"line": line, "condition": "i == 3"})
    msg_id = dbg.run_file(HOT)
    dbg.stopped()
    assert dbg.locals()["i"] == "3"
    # the compiled `i == 3` is now stale: the new condition must hold, and only it
    dbg.set_breakpoints(HOT, {"line": line, "condition": "i == 8"})
    dbg.ok("continue", threadId=1)
    dbg.stopped()
    assert dbg.locals()["i"] == "8"
    dbg.set_breakpoints(HOT)
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    assert len(dbg.events("stopped")) == 2


# ---------------------------------------------------------------- late breakpoints


def stop_in_the_loop_then_set(dbg: Debugger, *specs: dict[str, Any]) -> str:
    """Run hot.lua, stop once in its first loop, then set ``specs`` (the file has loaded:
    these breakpoints are late) and continue; returns the run's msg_id."""
    dbg.set_breakpoints(HOT, {"line": marker_line(HOT, "loop"), "hitCondition": "== 1"})
    msg_id = dbg.run_file(HOT)
    dbg.stopped()
    assert dbg.locals()["i"] == "1"
    dbg.set_breakpoints(HOT, *specs)
    dbg.ok("continue", threadId=1)
    return msg_id


def test_a_late_breakpoint_in_a_function_stops_there(dbg: Debugger) -> None:
    msg_id = stop_in_the_loop_then_set(dbg, {"line": marker_line(HOT, "visit")})
    for n in ("1", "2"):
        dbg.stopped()
        assert dbg.frames()[0]["name"] == "visit"
        assert dbg.locals()["n"] == n
        if n == "2":
            dbg.set_breakpoints(HOT)
        dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_a_late_breakpoint_puts_no_line_hook_in_functions_that_cannot_reach_it(
    dbg: Debugger,
) -> None:
    msg_id = stop_in_the_loop_then_set(
        dbg, {"line": marker_line(HOT, "elsewhere"), "condition": "j == 3"}
    )
    dbg.stopped()
    assert dbg.frames()[0]["name"] == "elsewhere"
    assert dbg.locals()["j"] == "3"
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    # `hot` ran with a call hook only: no line hook outside the function that holds it
    [done] = [t for t in printed(dbg) if t.startswith("done\t")]
    assert done.rstrip("\n").split("\t")[-1] == "c"


def test_a_hit_condition_alone_is_counted_in_its_line() -> None:
    source = Path(HOT).read_text()
    line = marker_line(HOT, "sum")
    text, _, sites = instrument(source, [line], {}, iter(range(1, 9)).__next__, {line: "% 2"})
    assert [site.hit for site in sites] == ["% 2"]
    assert text.splitlines()[line - 1].startswith(
        "  __llmspell_hc[1] = __llmspell_hc[1] + 1 if __llmspell_hc[1] % 2 == 0 then"
    )


def test_a_hit_condition_changed_after_its_line_loaded_counts_again_from_zero(
    dbg: Debugger,
) -> None:
    line = marker_line(HOT, "sum")
    dbg.set_breakpoints(HOT, {"line": line, "hitCondition": "== 3"})
    msg_id = dbg.run_file(HOT)
    dbg.stopped()
    assert dbg.locals()["i"] == "3"
    # the count compiled into the line is stale now: passes 4, 5 are hits 1, 2
    dbg.set_breakpoints(HOT, {"line": line, "hitCondition": "== 2"})
    dbg.ok("continue", threadId=1)
    dbg.stopped()
    assert dbg.locals()["i"] == "5"
    dbg.set_breakpoints(HOT)
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_a_compiled_condition_in_a_kernel_cell_sees_the_cells_locals(dbg: Debugger) -> None:
    first = "limit = 20\nlocal earlier = 3\n"
    assert dbg.shell_reply(dbg.execute(first))["status"] == "ok"
    code = "local total = 0\nfor i = 1, 10 do\n  total = total + i -- @bp c\nend\nprint(total)\n"
    path = dbg.ok("dumpCell", code=code)["sourcePath"]
    line = marker_in_code(code, "c")
    # `total` and `i` are this cell's locals (compiled in); `limit` a global (evaluated)
    dbg.set_breakpoints(path, {"line": line, "condition": "total > 20 and i % 2 == 0"})
    msg_id = dbg.execute(code)
    dbg.stopped()
    assert (dbg.locals()["i"], dbg.locals()["total"]) == ("8", "28")
    dbg.set_breakpoints(path, {"line": line, "condition": "total > limit and i < 8"})
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    msg_id = dbg.execute(code)
    dbg.stopped()
    assert (dbg.locals()["i"], dbg.locals()["total"]) == ("7", "21")
    dbg.set_breakpoints(path)
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
