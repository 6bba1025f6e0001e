"""What JupyterLab's debugger panel asks for besides DAP: variables of the kernel, rich
inspection, sources."""

from __future__ import annotations

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.debug_fixtures import Debugger
from tests.kernel_fixtures import kernel, run_cell

__all__ = ["kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]


def test_inspect_variables_lists_what_cells_defined(kernel: Kernel) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    run_cell(client, "settings = {retries = 3, name = 'demo'}\ncounter = 7")
    variables = {v["name"]: v for v in debug.ok("inspectVariables")["variables"]}
    assert variables["counter"]["value"] == "7"
    assert variables["counter"]["type"] == "number"
    assert variables["settings"]["type"] == "table"
    assert variables["settings"]["variablesReference"] > 0
    assert "print" not in variables  # the standard library is not the user's


def test_rich_inspect_renders_a_value_in_full(kernel: Kernel) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    run_cell(client, "settings = {retries = 3, name = 'demo'}")
    body = debug.ok("richInspectVariables", variableName="settings")
    text = body["data"]["text/plain"]
    assert "retries = 3" in text
    assert 'name = "demo"' in text
    assert "unexpected symbol" in debug.fails("richInspectVariables", variableName="(")


def test_source_and_loaded_sources_name_the_cells(kernel: Kernel) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    code = "local doubled = 21 * 2"
    path = debug.ok("dumpCell", code=code)["sourcePath"]
    run_cell(client, code)
    sources = [s["path"] for s in debug.ok("loadedSources")["sources"]]
    assert path in sources
    assert debug.ok("source", source={"path": path})["content"] == code
    message = debug.fails("source", source={"path": "/no/such/file.lua"})
    assert "no source" in message


def test_evaluate_without_a_stop_runs_in_the_repl_scope(kernel: Kernel) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    run_cell(client, "local base = 40")
    body = debug.ok("evaluate", expression="base + 2", context="repl")
    assert body["result"] == "42"


def test_a_stop_does_not_outlive_its_last_client(kernel: Kernel) -> None:
    km, client = kernel
    debug = Debugger(client)
    debug.start()
    code = "local waited = 1\nwaited = waited + 1"
    path = debug.ok("dumpCell", code=code)["sourcePath"]
    debug.ok("setBreakpoints", source={"path": path}, breakpoints=[{"line": 2}])
    debug.ok("configurationDone")
    debug.execute(code)
    debug.wait_event("stopped")
    client.stop_channels()  # the editor crashes: no disconnect, its iopub goes away
    later = km.blocking_client()
    later.start_channels(iopub=False, stdin=False, hb=False)
    try:
        msg_id = later.execute("return 'served'")
        reply = later.get_shell_msg(timeout=20)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = later.get_shell_msg(timeout=20)
        assert reply["content"]["status"] == "ok"
    finally:
        later.stop_channels()


def test_thread_events_announce_coroutines_at_stops(kernel: Kernel) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    code = "local co = coroutine.create(function()\n  local inside = 1\nend)\ncoroutine.resume(co)"
    path = debug.ok("dumpCell", code=code)["sourcePath"]
    debug.ok("setBreakpoints", source={"path": path}, breakpoints=[{"line": 2}])
    debug.ok("configurationDone")
    msg_id = debug.execute(code)
    started = debug.wait_event("thread")
    stop = debug.wait_event("stopped")
    assert started["reason"] == "started"
    assert stop["threadId"] == started["threadId"] != 1
    threads = {t["id"] for t in debug.ok("threads")["threads"]}
    assert threads == {1, started["threadId"]}
    debug.ok("continue", threadId=stop["threadId"])
    assert debug.shell_reply(msg_id)["status"] == "ok"


def test_function_breakpoint_on_an_llmspell_method_stops_in_the_caller(kernel: Kernel) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    bps = debug.ok("setFunctionBreakpoints", breakpoints=[{"name": "Agent.execute"}])
    assert bps["breakpoints"][0]["verified"] is True
    debug.ok("configurationDone")
    code = "local a = Agent.builder():name('fb'):build()\nlocal r = a:execute('hello')\nreply = r"
    msg_id = debug.execute(code)
    stop = debug.wait_event("stopped")
    assert stop["reason"] == "function breakpoint"
    frames = debug.ok("stackTrace", threadId=stop["threadId"])["stackFrames"]
    assert frames[0]["line"] == 2
    debug.ok("continue", threadId=stop["threadId"])
    assert debug.shell_reply(msg_id)["status"] == "ok"
