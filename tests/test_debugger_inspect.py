"""The debugger over Jupyter: scopes, variables, evaluate, set; two clients; bad input."""

from __future__ import annotations

from pathlib import Path

from jupyter_client.manager import KernelManager

from tests.debug_fixtures import (
    Debugger,
    dbg,
    debug_kernel,
    lua_fixture,
    marker_in_code,
    marker_line,
    second_client,
)
from tests.kernel_fixtures import start_kernel, stop_kernel

__all__ = ["dbg", "debug_kernel"]

BASICS = lua_fixture("basics.lua")


def stop_in_bump(dbg: Debugger, hit: str = "== 3") -> str:
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "bump"), "hitCondition": hit})
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    dbg.set_breakpoints(BASICS)
    return msg_id


def finish(dbg: Debugger, msg_id: str) -> dict[str, object]:
    dbg.ok("continue", threadId=1)
    return dbg.shell_reply(msg_id)


def test_scopes_of_a_function_frame_and_of_the_main_chunk(dbg: Debugger) -> None:
    msg_id = stop_in_bump(dbg)
    frames = dbg.frames()
    inner = dbg.scopes(int(frames[0]["id"]))
    assert list(inner) == ["Locals", "Upvalues", "Globals"]
    assert dbg.variables(inner["Locals"])["step"]["value"] == "3"
    assert dbg.variables(inner["Upvalues"])["counter"]["value"] == "3"
    outer = dbg.locals(int(frames[1]["id"]))
    assert outer["i"] == "3"
    assert outer["config"].startswith("{")
    globals_ = dbg.variables(inner["Globals"])
    assert "print" in globals_
    assert "shout" in globals_
    finish(dbg, msg_id)


def test_varargs_scope_appears_when_a_frame_has_varargs(dbg: Debugger) -> None:
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "varargs")})
    msg_id = dbg.run_file(BASICS)
    dbg.stopped()
    scopes = dbg.scopes(int(dbg.top()["id"]))
    assert "Varargs" in scopes
    varargs = dbg.variables(scopes["Varargs"])
    assert [(v["name"], v["value"]) for v in varargs.values()] == [
        ("...1", '"a"'),
        ("...2", "nil"),
        ("...3", "3"),
    ]
    finish(dbg, msg_id)


def test_nested_tables_expand_lazily_and_big_tables_page(dbg: Debugger) -> None:
    msg_id = stop_in_bump(dbg)
    main_frame = int(dbg.frames()[1]["id"])
    locals_ = dbg.variables(dbg.scopes(main_frame)["Locals"])
    config = locals_["config"]
    assert config["variablesReference"] > 0
    fields = dbg.variables(config["variablesReference"])
    assert fields["name"]["value"] == '"demo"'
    deep = dbg.variables(
        dbg.variables(fields["nested"]["variablesReference"])["deep"]["variablesReference"]
    )
    assert deep["value"]["value"] == "42"
    assert deep["value"]["evaluateName"] == "config.nested.deep.value"
    big = locals_["big"]
    assert big["indexedVariables"] == 1000
    page = dbg.ok("variables", variablesReference=big["variablesReference"], start=500, count=3)
    assert [(v["name"], v["value"]) for v in page["variables"]] == [
        ("[501]", "1002"),
        ("[502]", "1004"),
        ("[503]", "1006"),
    ]
    meta = dbg.variables(locals_["meta"]["variablesReference"])
    assert "[metatable]" in meta
    index = dbg.variables(meta["[metatable]"]["variablesReference"])["__index"]
    assert dbg.variables(index["variablesReference"])["inherited"]["value"] == "true"
    finish(dbg, msg_id)


def test_functions_show_their_source_and_coroutines_their_status(dbg: Debugger) -> None:
    msg_id = stop_in_bump(dbg)
    locals_ = dbg.variables(dbg.scopes(int(dbg.frames()[1]["id"]))["Locals"])
    assert locals_["bump"]["value"] == f"function <{BASICS}:{marker_line(BASICS, 'bump') - 1}>"
    assert locals_["worker"]["value"] == "thread (suspended)"
    finish(dbg, msg_id)


def test_evaluate_in_a_frame_sees_and_assigns_locals_and_upvalues(dbg: Debugger) -> None:
    msg_id = stop_in_bump(dbg)
    frames = dbg.frames()
    top, main = int(frames[0]["id"]), int(frames[1]["id"])
    assert dbg.evaluate("step * 10", top) == "30"
    assert dbg.evaluate("counter", top) == "3"
    assert dbg.evaluate("i", main) == "3"
    dbg.ok("evaluate", expression="step = 100", frameId=top, context="repl")
    assert dbg.locals(top)["step"] == "100"
    message = dbg.fails("evaluate", expression="step +* 2", frameId=top, context="watch")
    assert "syntax" in message or "unexpected" in message
    assert "attempt" in dbg.fails("evaluate", expression="nothing.here", frameId=top)
    dbg.ok("continue", threadId=1)
    reply = dbg.shell_reply(msg_id)
    assert reply["status"] == "ok"
    # counter was 3, bump added 100 instead of 3, then 4..12
    assert "done\t175\t" in dbg.stream_text(msg_id)


def test_set_variable_does_not_depend_on_the_scripts_debug_and_rawset(
    dbg: Debugger, tmp_path: Path
) -> None:
    # plain Lua lets a script drop these globals (and the restricted sandbox's debug has no
    # setupvalue): the debugger's own assignments must not go through them
    script = tmp_path / "dropped.lua"
    script.write_text(
        'local counter, box = 1, { field = "old" }\n'
        "local function bump()\n"
        "  counter = counter + 1 -- stop\n"
        "  return counter\n"
        "end\n"
        "debug, rawset = nil, nil\n"
        "bump()\n"
        "print(counter, box.field)\n"
    )
    dbg.set_breakpoints(script, {"line": 3})
    msg_id = dbg.run_file(script)
    dbg.stopped()
    frames = dbg.frames()
    dbg.ok(
        "setVariable",
        variablesReference=dbg.scopes(int(frames[0]["id"]))["Upvalues"],
        name="counter",
        value="100",
    )
    box_ref = dbg.variables(dbg.scopes(int(frames[1]["id"]))["Locals"])["box"]["variablesReference"]
    dbg.ok("setVariable", variablesReference=box_ref, name="field", value='"set"')
    reply = finish(dbg, msg_id)
    assert reply["status"] == "ok", reply
    assert "101\tset" in dbg.stream_text(msg_id)


def test_set_variable_on_a_local_an_upvalue_and_a_table_field(dbg: Debugger) -> None:
    msg_id = stop_in_bump(dbg)
    frames = dbg.frames()
    scopes = dbg.scopes(int(frames[0]["id"]))
    set_local = dbg.ok("setVariable", variablesReference=scopes["Locals"], name="step", value="0")
    assert set_local["value"] == "0"
    dbg.ok("setVariable", variablesReference=scopes["Upvalues"], name="counter", value="1000")
    main_locals = dbg.variables(dbg.scopes(int(frames[1]["id"]))["Locals"])
    config_ref = main_locals["config"]["variablesReference"]
    dbg.ok("setVariable", variablesReference=config_ref, name="name", value='"changed"')
    assert dbg.variables(config_ref)["name"]["value"] == '"changed"'
    assert "no variable named" in dbg.fails(
        "setVariable", variablesReference=scopes["Locals"], name="nope", value="1"
    )
    reply = finish(dbg, msg_id)
    assert reply["status"] == "ok"
    # 1000 + 0, then 4..12 (72)
    assert "done\t1072\t" in dbg.stream_text(msg_id)
    assert "\tchanged" in dbg.stream_text(msg_id)


def test_set_expression_assigns_through_a_path(dbg: Debugger) -> None:
    msg_id = stop_in_bump(dbg)
    main = int(dbg.frames()[1]["id"])
    body = dbg.ok(
        "setExpression", expression="config.nested.deep.value", value="7 * 6 + 1", frameId=main
    )
    assert body["value"] == "43"
    assert dbg.evaluate("config.nested.deep.value", main) == "43"
    finish(dbg, msg_id)


def test_repl_locals_of_a_cell_are_shown_and_evaluated(dbg: Debugger) -> None:
    code = "local total = 0\nfor i = 1, 3 do\n  total = total + i -- @bp add\nend\nprint(total)\n"
    path = dbg.ok("dumpCell", code=code)["sourcePath"]
    dbg.set_breakpoints(path, {"line": marker_in_code(code, "add"), "condition": "i == 3"})
    msg_id = dbg.execute(code)
    dbg.stopped()
    frame = int(dbg.top()["id"])
    scopes = dbg.scopes(frame)
    shown = {
        name: v["value"]
        for scope in ("Locals", "REPL")
        if scope in scopes
        for name, v in dbg.variables(scopes[scope]).items()
    }
    assert shown["i"] == "3"
    assert shown["total"] == "3"
    assert dbg.evaluate("total + i", frame) == "6"
    finish(dbg, msg_id)


# ---------------------------------------------------------------- two clients


def test_two_clients_see_the_same_stop_and_either_can_step(
    debug_kernel: tuple[KernelManager, Debugger],
) -> None:
    km, first = debug_kernel
    second = second_client(km)
    try:
        first.set_breakpoints(BASICS, {"line": marker_line(BASICS, "after")})
        msg_id = first.run_file(BASICS)
        assert first.stopped()["reason"] == "breakpoint"
        assert second.stopped()["reason"] == "breakpoint"
        second.ok("next", threadId=1)
        assert first.stopped()["reason"] == "step"
        assert second.stopped()["reason"] == "step"
        assert first.current_line() == second.current_line() == marker_line(BASICS, "after") + 1
        first.set_breakpoints(BASICS)
        second.ok("continue", threadId=1)
        assert first.shell_reply(msg_id)["status"] == "ok"
    finally:
        second.client.stop_channels()


def test_last_debugging_client_leaving_resumes_a_paused_script(
    debug_kernel: tuple[KernelManager, Debugger],
) -> None:
    km, first = debug_kernel
    second = second_client(km)
    try:
        first.set_breakpoints(BASICS, {"line": marker_line(BASICS, "after")})
        msg_id = first.run_file(BASICS)
        first.stopped()
        second.ok("disconnect")
        first.no_event("continued", within=0.3)  # another client still debugs: stays paused
        first.ok("stackTrace", threadId=1)
        first.ok("disconnect")
        first.wait_event("continued")
        assert first.shell_reply(msg_id)["status"] == "ok"
    finally:
        second.client.stop_channels()


# ---------------------------------------------------------------- bad input


def test_bad_requests_fail_with_a_message_and_never_hang(dbg: Debugger) -> None:
    assert "unknown command" in dbg.fails("frobnicate")
    assert "source.path" in dbg.fails("setBreakpoints")
    assert "integer line" in dbg.fails(
        "setBreakpoints", source={"path": str(BASICS)}, breakpoints=[{}]
    )
    assert "not stopped" in dbg.fails("stackTrace", threadId=1)
    assert "variablesReference" in dbg.fails("variables", variablesReference=999)
    assert "variablesReference" in dbg.fails("variables")
    assert "expression" in dbg.fails("evaluate")
    assert "not stopped" in dbg.fails("next", threadId=1)
    assert "dumpCell needs code" in dbg.fails("dumpCell")


def test_stack_trace_while_running_fails_instead_of_waiting(dbg: Debugger) -> None:
    msg_id = dbg.run_file(lua_fixture("spin.lua"))
    dbg.drain(0.3)
    assert "not stopped" in dbg.fails("stackTrace", threadId=1, timeout=3)
    assert "variablesReference" in dbg.fails("variables", variablesReference=1, timeout=3)
    dbg.interrupt()
    assert dbg.shell_reply(msg_id)["status"] == "error"


def test_kernel_shuts_down_cleanly_with_a_script_paused(
    debug_kernel: tuple[KernelManager, Debugger],
) -> None:
    km, dbg = debug_kernel
    dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "after")})
    dbg.run_file(BASICS)
    dbg.stopped()
    stop_kernel(km, dbg.client)
    assert not km.is_alive()


def test_with_pause_when_last_client_leaves_the_script_stays_paused() -> None:
    km, client = start_kernel({"LLMSPELL_KERNEL__PAUSE_WHEN_LAST_CLIENT_LEAVES": "true"})
    dbg = Debugger(client)
    try:
        dbg.start()
        dbg.set_breakpoints(BASICS, {"line": marker_line(BASICS, "after")})
        msg_id = dbg.run_file(BASICS)
        dbg.stopped()
        dbg.ok("disconnect")
        dbg.no_event("continued", within=0.3)
        dbg.start()  # a client that comes back finds the stop
        assert dbg.ok("debugInfo")["stoppedThreads"] == [1]
        dbg.ok("continue", threadId=1)
        assert dbg.shell_reply(msg_id)["status"] == "ok"
    finally:
        stop_kernel(km, client, now=True)
