"""The debugger over Jupyter: configuration, breakpoints of every kind, exceptions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

from kernel_core.kernel.cells import HASH_SEED, murmur2
from tests.debug_fixtures import (
    Debugger,
    after,
    dbg,
    debug_kernel,
    lua_fixture,
    marker_in_code,
    marker_line,
)

__all__ = ["dbg", "debug_kernel"]

BASICS = lua_fixture("basics.lua")
ERRORS = lua_fixture("errors.lua")


def run_to_end(dbg: Debugger, msg_id: str) -> dict[str, object]:
    """Continue through any further stops until the run's reply arrives."""
    return dbg.shell_reply(msg_id)


# ---------------------------------------------------------------- configuration


def test_initialize_advertises_what_is_implemented_and_initialized_follows_the_response(
    debug_kernel: tuple[KernelManager, Debugger],
) -> None:
    _, dbg = debug_kernel
    caps = dbg.ok("initialize", clientID="again", adapterID="llmspell")
    for capability in (
        "supportsConfigurationDoneRequest",
        "supportsConditionalBreakpoints",
        "supportsHitConditionalBreakpoints",
        "supportsLogPoints",
        "supportsFunctionBreakpoints",
        "supportsSetVariable",
        "supportsSetExpression",
        "supportsEvaluateForHovers",
    ):
        assert caps[capability] is True, capability
    assert caps.get("supportsStepBack", False) is False
    filters = {f["filter"] for f in caps["exceptionBreakpointFilters"]}
    assert filters == {"error", "uncaught"}
    reply_date = dbg.reply_dates[dbg.seq]
    event = dbg.wait_event_message("initialized")
    assert after(reply_date, event.date), "initialized must follow the initialize response"


def test_debug_info_names_the_cell_files_dump_cell_writes(dbg: Debugger) -> None:
    info = dbg.ok("debugInfo")
    assert info["isStarted"] is True
    assert info["hashMethod"] == "Murmur2"
    assert info["hashSeed"] == HASH_SEED
    code = "local x = 1\nprint(x)\n"
    path = dbg.ok("dumpCell", code=code)["sourcePath"]
    assert path.startswith(info["tmpFilePrefix"])
    assert path == f"{info['tmpFilePrefix']}{murmur2(code.encode())}{info['tmpFileSuffix']}"
    assert Path(path).read_text() == code
    assert dbg.ok("configurationDone") == {}


def test_debug_info_lists_breakpoints_and_stopped_threads(dbg: Debugger) -> None:
    code = "local a = 1\nlocal b = a + 1 -- @bp b\nprint(b)\n"
    path = dbg.ok("dumpCell", code=code)["sourcePath"]
    dbg.set_breakpoints(path, {"line": 2, "condition": "a == 1"})
    info = dbg.ok("debugInfo")
    assert info["breakpoints"] == [
        {"source": path, "breakpoints": [{"line": 2, "condition": "a == 1"}]}
    ]
    msg_id = dbg.execute(code)
    dbg.stopped()
    assert dbg.ok("debugInfo")["stoppedThreads"] == [1]
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


# ---------------------------------------------------------------- line breakpoints


def test_breakpoint_in_a_cell_stops_there_with_the_cell_frame(dbg: Debugger) -> None:
    code = "local total = 0\nfor i = 1, 3 do\n  total = total + i -- @bp add\nend\nprint(total)\n"
    path = dbg.ok("dumpCell", code=code)["sourcePath"]
    line = marker_in_code(code, "add")
    [bp] = dbg.set_breakpoints(path, {"line": line})
    assert bp["verified"] is True
    assert bp["line"] == line
    dbg.ok("configurationDone")
    msg_id = dbg.execute(code)
    stop = dbg.stopped()
    assert stop["reason"] == "breakpoint"
    assert stop["hitBreakpointIds"] == [bp["id"]]
    top = dbg.top()
    assert top["source"]["path"] == path
    assert top["line"] == line
    dbg.ok("setBreakpoints", source={"path": path}, breakpoints=[])
    dbg.ok("continue", threadId=1)
    reply = dbg.shell_reply(msg_id)
    assert reply["status"] == "ok"
    assert dbg.stream_text(msg_id) == "6\n"


def test_breakpoint_in_a_file_run_by_llmspell_run_request_stops_there(dbg: Debugger) -> None:
    line = marker_line(BASICS, "after")
    [bp] = dbg.set_breakpoints(BASICS, {"line": line})
    assert bp["verified"] is True
    msg_id = dbg.run_file(BASICS)
    stop = dbg.stopped()
    assert stop["reason"] == "breakpoint"
    top = dbg.top()
    assert top["source"]["path"] == str(BASICS)
    assert top["line"] == line
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_the_same_fixture_run_as_a_cell_stops_at_the_same_marker(dbg: Debugger) -> None:
    code = BASICS.read_text()
    path = dbg.ok("dumpCell", code=code)["sourcePath"]
    line = marker_in_code(code, "after")
    dbg.set_breakpoints(path, {"line": line})
    msg_id = dbg.execute(code)
    dbg.stopped()
    assert dbg.current_line() == line
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_breakpoint_on_a_comment_or_blank_line_moves_to_the_next_line_with_code(
    dbg: Debugger,
) -> None:
    comment = marker_line(BASICS, "comment")
    code_line = marker_line(BASICS, "after")
    blank = comment + 1
    assert BASICS.read_text().splitlines()[blank - 1].strip() == ""
    bps = dbg.set_breakpoints(BASICS, {"line": comment}, {"line": blank})
    assert [(b["verified"], b["line"]) for b in bps] == [(True, code_line), (True, code_line)]
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    assert dbg.current_line() == code_line
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_breakpoint_past_the_end_is_unverified_with_a_message(dbg: Debugger) -> None:
    last = len(BASICS.read_text().splitlines())
    [bp] = dbg.set_breakpoints(BASICS, {"line": last + 5})
    assert bp["verified"] is False
    assert "no code" in bp["message"]


def test_breakpoint_in_a_required_module_binds_when_it_loads(dbg: Debugger) -> None:
    module = lua_fixture("modules/dbg_helpers.lua")
    line = marker_line(module, "sum")
    [bp] = dbg.set_breakpoints(module, {"line": line})
    assert bp["verified"] is True
    msg_id = dbg.run_file(lua_fixture("requirer.lua"), str(module.parent))
    stop = dbg.stopped()
    assert stop["hitBreakpointIds"] == [bp["id"]]
    frames = dbg.frames()
    assert frames[0]["source"]["path"] == str(module)
    assert frames[0]["line"] == line
    assert frames[1]["source"]["path"] == str(lua_fixture("requirer.lua"))
    assert dbg.locals() == {"a": "2", "b": "3"}
    loaded = [e.content["body"]["source"]["path"] for e in dbg.events("loadedSource")]
    assert str(module) in loaded
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    assert "sum\t5" in dbg.stream_text(msg_id)


def test_breakpoint_set_while_paused_in_code_already_loaded_is_hit(dbg: Debugger) -> None:
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "loop")})
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    bump = marker_line(BASICS, "bump")
    dbg.set_breakpoints(BASICS, {"line": bump})
    dbg.ok("continue", threadId=1)
    dbg.stopped()
    assert dbg.current_line() == bump
    assert dbg.locals()["step"] == "1"
    dbg.set_breakpoints(BASICS)
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_removed_breakpoints_no_longer_stop(dbg: Debugger) -> None:
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "bump")})
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    assert dbg.locals()["step"] == "1"
    assert dbg.set_breakpoints(BASICS) == []
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    assert len(dbg.events("stopped")) == 1


# ---------------------------------------------------------------- conditions, hit counts, logs


def bump_steps_stopped_at(dbg: Debugger, spec: dict[str, Any]) -> list[str]:
    """Run basics.lua with ``spec`` on the `bump` line; the `step` of every stop."""
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "bump"), **spec})
    msg_id = dbg.run_file(BASICS)
    steps = []
    while True:
        dbg.drain(0.05)
        reply_ready = any(
            m.msg_type == "status"
            and m.parent_id == msg_id
            and m.content["execution_state"] == "idle"
            for m in dbg.iopub
        )
        if reply_ready:
            break
        try:
            dbg.stopped(timeout=0.5)
        except TimeoutError:
            continue
        steps.append(dbg.locals()["step"])
        dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    return steps


def test_condition_true_stops_and_false_does_not(dbg: Debugger) -> None:
    assert bump_steps_stopped_at(dbg, {"condition": "step == 4 or step == 9"}) == ["4", "9"]


def test_condition_sees_upvalues(dbg: Debugger) -> None:
    assert bump_steps_stopped_at(dbg, {"condition": "counter == 10"}) == ["5"]


def test_condition_that_errors_reports_output_and_does_not_stop(dbg: Debugger) -> None:
    assert bump_steps_stopped_at(dbg, {"condition": "step.missing.field"}) == []
    failures = [o for o in dbg.outputs() if "condition" in o]
    assert failures
    assert "step.missing.field" in failures[0]
    assert "attempt to index" in failures[0]


def test_condition_that_does_not_compile_is_unverified(dbg: Debugger) -> None:
    [bp] = dbg.set_breakpoints(
        BASICS, {"line": marker_line(BASICS, "bump"), "condition": "step =="}
    )
    assert bp["verified"] is False
    assert "condition" in bp["message"]


def test_hit_condition_plain_number_stops_from_that_hit_on(dbg: Debugger) -> None:
    steps = bump_steps_stopped_at(dbg, {"hitCondition": "5"})
    assert steps == [str(n) for n in range(5, 13)]


def test_hit_condition_at_least_three(dbg: Debugger) -> None:
    assert bump_steps_stopped_at(dbg, {"hitCondition": ">= 3"}) == [str(n) for n in range(3, 13)]


def test_hit_condition_every_second_hit(dbg: Debugger) -> None:
    assert bump_steps_stopped_at(dbg, {"hitCondition": "% 2"}) == ["2", "4", "6", "8", "10", "12"]


def test_hit_condition_exactly_the_tenth_hit(dbg: Debugger) -> None:
    assert bump_steps_stopped_at(dbg, {"hitCondition": "== 10"}) == ["10"]


def test_hit_condition_that_makes_no_sense_is_unverified_with_a_message(dbg: Debugger) -> None:
    [bp] = dbg.set_breakpoints(
        BASICS, {"line": marker_line(BASICS, "bump"), "hitCondition": "lots"}
    )
    assert bp["verified"] is False
    assert "hit condition" in bp["message"]


def test_log_point_interpolates_expressions_into_output_without_stopping(dbg: Debugger) -> None:
    spec = {"logMessage": "step {step} counter {counter} twice {step * 2}", "hitCondition": "% 6"}
    assert bump_steps_stopped_at(dbg, spec) == []
    logs = [o for o in dbg.outputs() if o.startswith("step ")]
    assert logs == ["step 6 counter 15 twice 12\n", "step 12 counter 66 twice 24\n"]


def test_log_point_shows_a_broken_expression_in_place(dbg: Debugger) -> None:
    assert (
        bump_steps_stopped_at(dbg, {"logMessage": "x={nil_table.x}", "hitCondition": "== 1"}) == []
    )
    [log] = [o for o in dbg.outputs() if o.startswith("x=")]
    assert log.startswith("x=<error:")
    assert "nil_table" in log


# ---------------------------------------------------------------- function breakpoints


def test_function_breakpoint_on_a_global_and_a_dotted_name(dbg: Debugger) -> None:
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "after")})
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    bps = dbg.ok("setFunctionBreakpoints", breakpoints=[{"name": "M.helper"}, {"name": "shout"}])[
        "breakpoints"
    ]
    assert [b["verified"] for b in bps] == [True, True]
    dbg.set_breakpoints(BASICS)
    dbg.ok("continue", threadId=1)
    stop = dbg.stopped()
    assert stop["reason"] == "function breakpoint"
    assert stop["hitBreakpointIds"] == [bps[0]["id"]]
    frames = dbg.frames()
    assert frames[0]["line"] == marker_line(BASICS, "done")
    dbg.ok("continue", threadId=1)
    stop = dbg.stopped()
    assert stop["hitBreakpointIds"] == [bps[1]["id"]]
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    assert "done\t78\t156\tOK\t1000\ttrue\tdemo" in dbg.stream_text(msg_id)


def test_function_breakpoint_on_an_unknown_name_is_unverified(dbg: Debugger) -> None:
    [bp] = dbg.ok("setFunctionBreakpoints", breakpoints=[{"name": "nowhere.to_be_found"}])[
        "breakpoints"
    ]
    assert bp["verified"] is False
    assert "nowhere.to_be_found" in bp["message"]


# ---------------------------------------------------------------- exceptions


def test_uncaught_filter_stops_at_the_raise_with_the_message_and_stack(dbg: Debugger) -> None:
    dbg.ok("setExceptionBreakpoints", filters=["uncaught"])
    msg_id = dbg.run_file(ERRORS)
    stop = dbg.stopped()
    assert stop["reason"] == "exception"
    assert "bad uncaught" in stop["text"]
    frames = dbg.frames()
    assert frames[0]["line"] == marker_line(ERRORS, "raise")
    assert frames[0]["name"] == "risky"
    assert frames[1]["source"]["path"] == str(ERRORS)
    assert dbg.locals(int(frames[0]["id"]))["detail"] == '"bad uncaught"'
    assert dbg.locals(int(frames[1]["id"]))["depth_marker"] == '"outer"'
    dbg.ok("continue", threadId=1)
    reply = dbg.shell_reply(msg_id)
    assert reply["status"] == "error"
    assert "bad uncaught" in str(reply["evalue"])
    assert len(dbg.events("stopped")) == 1


def test_error_filter_stops_on_an_error_pcall_catches(dbg: Debugger) -> None:
    dbg.ok("setExceptionBreakpoints", filters=["error"])
    msg_id = dbg.run_file(ERRORS)
    stop = dbg.stopped()
    assert stop["reason"] == "exception"
    assert "bad caught" in stop["text"]
    assert dbg.current_line() == marker_line(ERRORS, "raise")
    dbg.ok("continue", threadId=1)
    stop = dbg.stopped()
    assert "bad uncaught" in stop["text"]
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "error"
    assert "caught:\tfalse" in dbg.stream_text(msg_id)


def test_without_filters_errors_do_not_stop(dbg: Debugger) -> None:
    dbg.ok("setExceptionBreakpoints", filters=["error"])
    dbg.ok("setExceptionBreakpoints", filters=[])
    msg_id = dbg.run_file(ERRORS)
    assert dbg.shell_reply(msg_id)["status"] == "error"
    assert dbg.events("stopped") == []
    assert re.search(r"caught:\tfalse\t.*bad caught", dbg.stream_text(msg_id))


def test_unknown_exception_filter_is_refused(dbg: Debugger) -> None:
    assert "unknown exception filter" in dbg.fails("setExceptionBreakpoints", filters=["all"])
