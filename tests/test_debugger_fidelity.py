"""The debugger shows the user's program as it is, nothing of llmspell's own, over Jupyter.

Large tables page the way editors chunk them (``filter``, ``indexedVariables``,
``namedVariables``), code given to ``load`` has a readable name and its text, stepping into
``require`` and the Globals scope show no frame or name of the debugger's.
"""

from __future__ import annotations

from typing import Any

from tests.debug_fixtures import Debugger, dbg, debug_kernel, lua_fixture, marker_line

__all__ = ["dbg", "debug_kernel"]

FIDELITY = lua_fixture("fidelity.lua")
MODULES = lua_fixture("modules")


def stop_at(dbg: Debugger, marker: str) -> str:
    dbg.set_breakpoints(FIDELITY, {"line": marker_line(FIDELITY, marker)})
    msg_id = dbg.run_file(FIDELITY, str(MODULES))
    dbg.stopped()
    return msg_id


def finish(dbg: Debugger, msg_id: str) -> None:
    dbg.set_breakpoints(FIDELITY)
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def local_var(dbg: Debugger, name: str) -> dict[str, Any]:
    return dbg.variables(dbg.scopes(int(dbg.top()["id"]))["Locals"])[name]


def page(dbg: Debugger, ref: int, **arguments: Any) -> list[tuple[str, str]]:
    body = dbg.ok("variables", variablesReference=ref, **arguments)
    return [(v["name"], v["value"]) for v in body["variables"]]


# ---------------------------------------------------------------- variables filter


def test_a_mixed_table_tells_editors_how_many_indexed_and_named_children_it_has(
    dbg: Debugger,
) -> None:
    msg_id = stop_at(dbg, "ready")
    mixed = local_var(dbg, "mixed")
    assert mixed["indexedVariables"] == 3
    assert mixed["namedVariables"] == 3  # kind, name and the metatable
    big = local_var(dbg, "big")
    assert big["indexedVariables"] == 250
    assert big["namedVariables"] == 0
    finish(dbg, msg_id)


def test_variables_filter_indexed_pages_the_array_part_only(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "ready")
    mixed = local_var(dbg, "mixed")["variablesReference"]
    assert page(dbg, mixed, filter="indexed", start=1, count=2) == [("[2]", "20"), ("[3]", "30")]
    assert page(dbg, mixed, filter="indexed") == [("[1]", "10"), ("[2]", "20"), ("[3]", "30")]
    big = local_var(dbg, "big")["variablesReference"]
    # VS Code asks for chunks of 100: the third chunk is [201]..[250]
    chunk = page(dbg, big, filter="indexed", start=200, count=100)
    assert chunk[0] == ("[201]", "40401")
    assert chunk[-1] == ("[250]", "62500")
    assert len(chunk) == 50
    finish(dbg, msg_id)


def test_variables_filter_named_leaves_the_array_part_out(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "ready")
    mixed = local_var(dbg, "mixed")["variablesReference"]
    named = page(dbg, mixed, filter="named")
    assert [name for name, _ in named] == ["kind", "name", "[metatable]"]
    assert page(dbg, local_var(dbg, "big")["variablesReference"], filter="named") == []
    # without a filter, everything, in the same order as before
    assert [n for n, _ in page(dbg, mixed)] == ["[1]", "[2]", "[3]", "kind", "name", "[metatable]"]
    finish(dbg, msg_id)


def test_evaluate_result_carries_indexed_and_named_counts(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "ready")
    body = dbg.ok("evaluate", expression="mixed", frameId=int(dbg.top()["id"]), context="watch")
    assert (body["indexedVariables"], body["namedVariables"]) == (3, 3)
    finish(dbg, msg_id)


# ---------------------------------------------------------------- load()ed chunks


def test_a_loaded_chunk_is_named_as_lua_names_it_and_its_source_can_be_read(
    dbg: Debugger,
) -> None:
    msg_id = stop_at(dbg, "ready")
    dbg.step("stepIn")  # into chunk(), the first call on the line
    top = dbg.top()
    assert top["line"] == 1
    source = top["source"]
    assert source["name"] == '[string "local a = 1..."]'
    assert source["sourceReference"] > 0
    assert "path" not in source
    body = dbg.ok("source", source=source, sourceReference=source["sourceReference"])
    assert body["content"] == "local a = 1\nlocal b = a + 1\nreturn b -- in the chunk"
    # the reference alone is enough, as DAP says
    assert dbg.ok("source", sourceReference=source["sourceReference"])["content"].startswith(
        "local a"
    )
    finish(dbg, msg_id)


def test_a_chunk_lua_kept_no_text_of_says_so(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "ready")
    message = dbg.fails("source", source={"name": "generated"}, sourceReference=0)
    assert "generated" in message
    assert "keeps no text" in message
    finish(dbg, msg_id)


# ---------------------------------------------------------------- nothing of ours


def test_stepping_into_require_shows_the_module_and_no_frame_of_llmspell(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "require")
    dbg.step("stepIn")
    frames = dbg.frames()
    assert frames[0]["source"]["path"] == str(MODULES / "dbg_helpers.lua")
    assert frames[0]["line"] == 2  # `local M = {}`, the module's first statement
    names = [f["name"] for f in frames]
    assert names == ["main chunk", "require [C]", "main chunk"], names
    # stepping out of the module lands in the script (its next line), not in the searcher
    dbg.step("stepOut")
    assert [f["name"] for f in dbg.frames()] == ["main chunk"]
    assert dbg.current_line() == marker_line(FIDELITY, "done")
    finish(dbg, msg_id)


def test_a_pcall_the_error_filter_watches_shows_as_pcall(dbg: Debugger) -> None:
    errors = lua_fixture("errors.lua")
    dbg.ok("setExceptionBreakpoints", filters=["error"])
    msg_id = dbg.run_file(errors)
    dbg.stopped()
    names = [f["name"] for f in dbg.frames()]
    assert names == ["risky", "pcall [C]", "main chunk"], names
    dbg.ok("setExceptionBreakpoints", filters=[])
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "error"


def test_globals_show_the_users_world_without_the_debuggers_names(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "ready")
    globals_ = dbg.variables(dbg.scopes(int(dbg.top()["id"]))["Globals"])
    assert "print" in globals_
    ours = [name for name in globals_ if "llmspell" in name.lower()]
    assert ours == [], ours
    finish(dbg, msg_id)


# ---------------------------------------------------------------- capabilities


def test_every_capability_the_kernel_advertises_is_served(dbg: Debugger) -> None:
    from kernel_core.debugger.capabilities import CAPABILITY_REQUESTS

    caps = dbg.ok("initialize", clientID="again", adapterID="llmspell")
    flags = {k for k, v in caps.items() if k.startswith("supports")}
    assert flags <= set(CAPABILITY_REQUESTS), flags - set(CAPABILITY_REQUESTS)
    advertised = {CAPABILITY_REQUESTS[k] for k in flags if caps[k] is True}
    msg_id = stop_at(dbg, "ready")
    frame = int(dbg.top()["id"])
    locals_ref = dbg.scopes(frame)["Locals"]
    arguments: dict[str, dict[str, Any]] = {
        "configurationDone": {},
        "setBreakpoints": {
            "source": {"path": str(FIDELITY)},
            "breakpoints": [
                {"line": marker_line(FIDELITY, "done"), "condition": "true"},
                {"line": marker_line(FIDELITY, "done") + 1, "hitCondition": "2"},
                {"line": marker_line(FIDELITY, "require"), "logMessage": "x"},
            ],
        },
        "setFunctionBreakpoints": {"breakpoints": []},
        "evaluate": {"expression": "#big", "frameId": frame, "context": "clipboard"},
        "setVariable": {"variablesReference": locals_ref, "name": "dir", "value": "dir"},
        "setExpression": {"expression": "mixed.kind", "value": "'x'", "frameId": frame},
        "loadedSources": {},
        "stackTrace": {"threadId": 1, "startFrame": 0, "levels": 1},
    }
    for command in sorted(advertised - {"terminate"}):
        response = dbg.request(command, **arguments[command])
        assert response["success"], (command, response.get("message"))
    dbg.ok("setBreakpoints", source={"path": str(FIDELITY)}, breakpoints=[])
    assert "terminate" in advertised
    dbg.ok("terminate")
    assert dbg.shell_reply(msg_id)["status"] != "ok"
    # and what is not advertised is not served either
    assert "restart" not in advertised
    assert "unknown command" in dbg.fails("restart")


# ---------------------------------------------------------------- late function breakpoints

LATE = lua_fixture("late.lua")


def test_function_breakpoints_bind_when_their_functions_appear(dbg: Debugger) -> None:
    bps = dbg.ok(
        "setFunctionBreakpoints",
        breakpoints=[{"name": "late_defined"}, {"name": "dbg_helpers.sum"}],
    )["breakpoints"]
    assert [b["verified"] for b in bps] == [False, False]
    assert "binds when" in bps[0]["message"]
    msg_id = dbg.run_file(LATE, str(MODULES))
    stop = dbg.stopped()
    assert stop["reason"] == "function breakpoint"
    assert stop["hitBreakpointIds"] == [bps[0]["id"]]
    frames = dbg.frames()
    assert frames[0]["line"] == marker_line(LATE, "late"), "the caller is on top"
    assert [f["name"] for f in frames] == ["main chunk"]
    changed = {
        e.content["body"]["breakpoint"]["id"]: e.content["body"]["breakpoint"]
        for e in dbg.events("breakpoint")
    }
    assert changed[bps[0]["id"]]["verified"] is True
    # stepping over from here runs the call and stops on the next line
    dbg.step("next")
    assert dbg.current_line() == marker_line(LATE, "module")
    dbg.ok("continue", threadId=1)
    stop = dbg.stopped()
    assert stop["hitBreakpointIds"] == [bps[1]["id"]]  # a function of a require'd module
    assert dbg.current_line() == marker_line(LATE, "module")
    dbg.ok("continue", threadId=1)
    stop = dbg.stopped()  # bound now: the second call stops as any function breakpoint
    assert stop["hitBreakpointIds"] == [bps[0]["id"]]
    assert dbg.current_line() == marker_line(LATE, "again")
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    assert "late\t42\t5\t2" in dbg.stream_text(msg_id)


def test_a_function_breakpoint_on_an_llmspell_class_binds_when_the_class_loads(
    dbg: Debugger,
) -> None:
    [bp] = dbg.ok("setFunctionBreakpoints", breakpoints=[{"name": "AgentInstance.execute"}])[
        "breakpoints"
    ]
    assert bp["verified"] is False
    code = "local a = Agent.builder():name('late'):build()\nlocal r = a:execute('hello')\nreply = r"
    msg_id = dbg.execute(code)
    stop = dbg.stopped()
    assert stop["reason"] == "function breakpoint"
    assert stop["hitBreakpointIds"] == [bp["id"]]
    assert dbg.current_line() == 2
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_removing_a_pending_function_breakpoint_leaves_the_run_unwatched(dbg: Debugger) -> None:
    dbg.ok("setFunctionBreakpoints", breakpoints=[{"name": "late_defined"}])
    dbg.ok("setFunctionBreakpoints", breakpoints=[])
    msg_id = dbg.run_file(LATE, str(MODULES))
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    assert not dbg.events("stopped")


# ---------------------------------------------------------------- no names of ours in _G

GLOBALS_SCRIPT = """\
local names = {}
for k in pairs(_G) do
  if type(k) == "string" and k:sub(1, 10) == "__llmspell" then names[#names + 1] = k end
end
table.sort(names)
local n = 0
for i = 1, 3 do
  n = n + i                                  -- @bp loop
end
print("ours:", #names, table.concat(names, ","), rawget(_G, "__llmspell_bp"))
return n
"""

STRICT_SCRIPT = """\
setmetatable(_G, {
  __newindex = function(_, k) error("assignment to undeclared global " .. k, 2) end,
  __index = function(_, k) error("undeclared global " .. k, 2) end,
})
local n = 0
for i = 1, 3 do
  n = n + i                                  -- @bp loop
end
print("strict done", n)
"""


def stop_once_at_i_2(dbg: Debugger, script: Any, text: str, **breakpoint: str) -> str:
    """Run ``text`` with a breakpoint on its loop line (set before it loads: a compiled
    check), stopping where i is 2, then to its end; what it printed."""
    script.write_text(text)
    dbg.set_breakpoints(script, {"line": marker_line(script, "loop"), **breakpoint})
    msg_id = dbg.run_file(script)
    assert dbg.stopped()["reason"] == "breakpoint"
    assert dbg.evaluate("i") == "2"
    dbg.set_breakpoints(script)
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"
    return dbg.stream_text(msg_id)


def test_a_script_with_breakpoints_sees_no_global_of_the_debugger(
    dbg: Debugger, tmp_path: Any
) -> None:
    # the breakpoint exists before the script loads: its line gets a compiled check, which
    # reads the debugger's function by a global name; pairs(_G) listed that name
    printed = stop_once_at_i_2(dbg, tmp_path / "globals.lua", GLOBALS_SCRIPT, condition="i == 2")
    assert printed == "ours:\t0\t\tnil\n"


def test_a_strict_mode_script_keeps_its_compiled_breakpoint_checks(
    dbg: Debugger, tmp_path: Any
) -> None:
    # strict mode replaces _G's metatable, where the checks' names resolve: they become
    # plain globals first, so the instrumented line neither fails nor misses its stop
    printed = stop_once_at_i_2(dbg, tmp_path / "strict.lua", STRICT_SCRIPT, hitCondition="2")
    assert "strict done\t6" in printed
