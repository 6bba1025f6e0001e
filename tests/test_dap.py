"""``llmspell dap`` driven over stdio the way VS Code and nvim-dap drive it.

Each test spawns the adapter, which starts its own kernel on ``launch``; the fixture
asserts that no kernel process and no connection file is left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kernel_core.kernel.connection import kernels_dir
from tests.dap_client import DapClient, bp_line

FIXTURES = Path(__file__).resolve().parent / "lua" / "debug" / "dap"
SESSION = FIXTURES / "session.lua"

MakeClient = Callable[..., DapClient]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def dap() -> Iterator[MakeClient]:
    """Start ``llmspell dap`` processes; afterwards none of them, and no kernel, is left."""
    clients: list[DapClient] = []

    def make(**kwargs: Any) -> DapClient:
        client = DapClient(**kwargs)
        clients.append(client)
        return client

    yield make
    statuses = [client.close() for client in clients]
    pids = set().union(*(client.kernel_pids for client in clients)) if clients else set()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _alive(pid)], "a kernel outlived its adapter"
    assert not list(kernels_dir().glob("kernel-*.json")), "a connection file was left behind"
    assert statuses == [0] * len(clients), [c.stderr for c in clients]


def set_breakpoints(client: DapClient, path: Path, *specs: dict[str, Any]) -> list[dict[str, Any]]:
    """setBreakpoints on ``path``; specs name their line by marker (``"at": "loop"``)."""
    breakpoints = []
    for spec in specs:
        item = {k: v for k, v in spec.items() if k != "at"}
        item["line"] = bp_line(path, spec["at"])
        breakpoints.append(item)
    body = client.ok("setBreakpoints", {"source": {"path": str(path)}, "breakpoints": breakpoints})
    result: list[dict[str, Any]] = body["breakpoints"]
    return result


def run_to_end(client: DapClient) -> int:
    """Wait for exited then terminated (in that order); the exit code."""
    exited = client.event("exited")
    terminated = client.event("terminated")
    assert exited["_i"] < terminated["_i"]
    code: int = exited["body"]["exitCode"]
    return code


# ---------------------------------------------------------------------- whole sessions


def test_a_vscode_style_session_steps_through_a_script_and_ends(dap: MakeClient) -> None:
    client = dap()
    capabilities = client.start(SESSION)
    assert capabilities["supportsConfigurationDoneRequest"] is True
    assert capabilities["supportsRestartRequest"] is True
    assert {f["filter"] for f in capabilities["exceptionBreakpointFilters"]} == {
        "error",
        "uncaught",
    }
    [bp] = set_breakpoints(client, SESSION, {"at": "loop"})
    assert bp["verified"]
    assert bp["line"] == bp_line(SESSION, "loop")
    done_seq = client.send("configurationDone")
    done = client.response(done_seq)
    stopped = client.event("stopped")
    assert done["_i"] < stopped["_i"], "configurationDone's response comes before the first stop"
    assert stopped["body"]["reason"] == "breakpoint"
    assert stopped["body"]["hitBreakpointIds"] == [bp["id"]]

    frames = client.frames()
    assert frames[0]["line"] == bp_line(SESSION, "loop")
    assert frames[0]["source"]["path"] == str(SESSION)
    top = frames[0]["id"]
    assert client.locals(top)["i"] == "1"
    assert client.locals(top)["total"] == "0"
    evaluated = client.ok("evaluate", {"expression": "i + 41", "frameId": top, "context": "watch"})
    assert evaluated["result"] == "42"

    # stepIn enters square(); its response comes before the stop it leads to
    seq = client.send("stepIn", {"threadId": 1})
    response = client.response(seq)
    stopped = client.event("stopped")
    assert response["success"]
    assert response["_i"] < stopped["_i"]
    assert stopped["body"]["reason"] == "step"
    frames = client.frames()
    assert [f["name"] for f in frames] == ["square", "main chunk"]
    assert frames[0]["line"] == bp_line(SESSION, "square")

    client.ok("next", {"threadId": 1})
    client.stopped("step")
    assert client.frames()[0]["line"] == bp_line(SESSION, "square") + 1
    assert client.locals(client.frames()[0]["id"])["result"] == "1"

    client.ok("stepOut", {"threadId": 1})
    client.stopped("step")
    assert [f["name"] for f in client.frames()] == ["main chunk"]

    # a table local can be expanded
    set_breakpoints(client, SESSION, {"at": "after"})
    client.ok("continue", {"threadId": 1})
    client.stopped("breakpoint")
    top = client.frames()[0]["id"]
    scopes = client.ok("scopes", {"frameId": top})["scopes"]
    locals_ref = next(s["variablesReference"] for s in scopes if s["name"] == "Locals")
    variables = client.ok("variables", {"variablesReference": locals_ref})["variables"]
    spell = next(v for v in variables if v["name"] == "spell")
    fields = client.ok("variables", {"variablesReference": spell["variablesReference"]})
    assert {v["name"]: v["value"] for v in fields["variables"]}["name"] == '"spell"'

    client.ok("continue", {"threadId": 1})
    assert run_to_end(client) == 0
    assert "total\t55\n" in client.output("stdout")
    last_output = client.events("output")[-1]
    assert last_output["_i"] < client.events("exited")[0]["_i"], "output is delivered before exit"


def test_conditional_breakpoint_stops_only_where_its_condition_holds(dap: MakeClient) -> None:
    client = dap()
    client.start(SESSION)
    set_breakpoints(client, SESSION, {"at": "loop", "condition": "i == 4"})
    client.ok("configurationDone")
    client.stopped("breakpoint")
    assert client.locals(client.frames()[0]["id"])["i"] == "4"
    client.ok("continue", {"threadId": 1})
    assert run_to_end(client) == 0
    assert len(client.events("stopped")) == 1


def test_hit_condition_ignores_the_first_hits_then_stops_on_every_one(dap: MakeClient) -> None:
    client = dap()
    client.start(SESSION)
    # a bare number is an ignore count: stop from the third hit on (">= 3")
    set_breakpoints(client, SESSION, {"at": "square", "hitCondition": "3"})
    client.ok("configurationDone")
    seen = []
    for _ in range(3):
        client.stopped("breakpoint")
        seen.append(client.locals(client.frames()[0]["id"])["x"])
        client.ok("continue", {"threadId": 1})
    assert seen == ["3", "4", "5"]
    assert run_to_end(client) == 0


def test_hit_condition_equal_stops_once(dap: MakeClient) -> None:
    client = dap()
    client.start(SESSION)
    set_breakpoints(client, SESSION, {"at": "square", "hitCondition": "== 2"})
    client.ok("configurationDone")
    client.stopped("breakpoint")
    assert client.locals(client.frames()[0]["id"])["x"] == "2"
    client.ok("continue", {"threadId": 1})
    assert run_to_end(client) == 0
    assert len(client.events("stopped")) == 1


def test_log_point_prints_interpolated_output_without_stopping(dap: MakeClient) -> None:
    client = dap()
    client.start(SESSION)
    set_breakpoints(client, SESSION, {"at": "square", "logMessage": "square of {x}"})
    client.ok("configurationDone")
    assert run_to_end(client) == 0
    logged = [line for line in client.output().splitlines() if line.startswith("square of")]
    assert logged == [f"square of {n}" for n in range(1, 6)]
    assert not client.events("stopped")


def test_uncaught_error_stops_with_its_message_then_exits_with_status_1(
    dap: MakeClient,
) -> None:
    path = FIXTURES / "errors.lua"
    client = dap()
    client.start(path)
    client.ok("setExceptionBreakpoints", {"filters": ["uncaught"]})
    client.ok("configurationDone")
    stopped = client.stopped("exception")
    assert "bad uncaught" in stopped["text"], "the error pcall caught did not stop"
    assert client.frames()[0]["line"] == bp_line(path, "raise")
    client.ok("continue", {"threadId": 1})
    assert run_to_end(client) == 1
    assert "bad uncaught" in client.output("stderr")
    assert "caught:\tfalse" in client.output("stdout")


def test_error_filter_stops_even_on_an_error_pcall_catches(dap: MakeClient) -> None:
    path = FIXTURES / "errors.lua"
    client = dap()
    client.start(path)
    client.ok("setExceptionBreakpoints", {"filters": ["error"]})
    client.ok("configurationDone")
    stopped = client.stopped("exception")
    assert "bad caught" in stopped["text"]
    frames = client.frames()
    assert frames[0]["line"] == bp_line(path, "raise")
    assert client.locals(frames[0]["id"])["kind"] == '"caught"'
    client.ok("continue", {"threadId": 1})
    assert "bad uncaught" in client.stopped("exception")["text"]
    client.ok("continue", {"threadId": 1})
    assert run_to_end(client) == 1


def test_recursion_shows_every_level_on_the_stack(dap: MakeClient) -> None:
    path = FIXTURES / "recursion.lua"
    client = dap()
    client.start(path)
    set_breakpoints(client, path, {"at": "base"})
    client.ok("configurationDone")
    client.stopped("breakpoint")
    frames = client.frames()
    assert [f["name"] for f in frames] == ["fact"] * 4 + ["main chunk"]
    assert [client.locals(f["id"])["n"] for f in frames[:4]] == ["1", "2", "3", "4"]
    paged = client.ok("stackTrace", {"threadId": 1, "startFrame": 1, "levels": 2})
    assert [f["id"] for f in paged["stackFrames"]] == [f["id"] for f in frames[1:3]]
    assert paged["totalFrames"] == 5
    client.ok("continue", {"threadId": 1})
    assert run_to_end(client) == 0
    assert "fact\t24" in client.output("stdout")


def test_breakpoint_inside_a_coroutine_stops_on_its_own_thread(dap: MakeClient) -> None:
    path = FIXTURES / "coroutines.lua"
    client = dap()
    client.start(path)
    set_breakpoints(client, path, {"at": "yield", "condition": "i == 2"})
    client.ok("configurationDone")
    stopped = client.stopped("breakpoint")
    thread_id = stopped["threadId"]
    assert thread_id != 1
    threads = client.ok("threads")["threads"]
    assert {t["id"] for t in threads} >= {1, thread_id}
    frames = client.frames(thread_id)
    assert frames[0]["line"] == bp_line(path, "yield")
    assert client.locals(frames[0]["id"])["value"] == "20"
    client.ok("continue", {"threadId": thread_id})
    assert run_to_end(client) == 0
    assert "got\t10,20,30" in client.output("stdout")


def test_breakpoint_in_a_required_module_binds_when_it_loads(dap: MakeClient) -> None:
    script = FIXTURES / "uses_module.lua"
    module = FIXTURES / "dap_module.lua"
    client = dap()
    client.start(script)
    set_breakpoints(client, module, {"at": "double"})
    client.ok("configurationDone")
    client.stopped("breakpoint")
    frames = client.frames()
    assert frames[0]["source"]["path"] == str(module)
    assert frames[0]["line"] == bp_line(module, "double")
    assert client.locals(frames[0]["id"])["x"] == "21"
    assert frames[-1]["source"]["path"] == str(script)
    client.ok("continue", {"threadId": 1})
    assert run_to_end(client) == 0
    assert "doubled\t42" in client.output("stdout")


def test_stop_on_entry_stops_at_the_first_line_before_anything_runs(dap: MakeClient) -> None:
    client = dap()
    client.start(SESSION, arguments={"stopOnEntry": True})
    client.ok("configurationDone")
    client.stopped("entry")
    frames = client.frames()
    assert frames[0]["source"]["path"] == str(SESSION)
    # Lua runs `local function square ... end` (the first statement) at its `end` line
    assert frames[0]["line"] == bp_line(SESSION, "entry")
    assert client.output("stdout") == ""
    client.ok("continue", {"threadId": 1})
    assert run_to_end(client) == 0


def test_launch_applies_args_env_and_cwd_and_reports_the_exit_code(
    dap: MakeClient, tmp_path: Path
) -> None:
    (tmp_path / "marker.txt").write_text("here")
    client = dap()
    client.start(
        FIXTURES / "environment.lua",
        arguments={
            "args": ["first"],
            "env": {"DAP_FIXTURE_VALUE": "from-launch"},
            "cwd": str(tmp_path),
        },
    )
    client.ok("configurationDone")
    assert run_to_end(client) == 3
    out = client.output("stdout")
    assert "arg\tfirst" in out
    assert "env\tfrom-launch" in out
    assert "cwd marker\there" in out


def test_no_debug_launch_runs_past_breakpoints(dap: MakeClient) -> None:
    client = dap()
    client.start(SESSION, arguments={"noDebug": True})
    [bp] = set_breakpoints(client, SESSION, {"at": "loop"})
    assert bp["verified"] is False
    assert "noDebug" in bp["message"]
    client.ok("configurationDone")
    assert run_to_end(client) == 0
    assert not client.events("stopped")


# ---------------------------------------------------------------------- ending sessions


def test_terminate_ends_a_paused_program(dap: MakeClient) -> None:
    client = dap()
    client.start(SESSION)
    set_breakpoints(client, SESSION, {"at": "loop"})
    client.ok("configurationDone")
    client.stopped("breakpoint")
    client.ok("terminate")
    client.event("terminated")
    assert "total" not in client.output("stdout")


def test_restart_runs_the_program_again_on_a_fresh_kernel(dap: MakeClient) -> None:
    client = dap()
    client.start(SESSION)
    set_breakpoints(client, SESSION, {"at": "square", "hitCondition": "== 2"})
    client.ok("configurationDone")
    client.stopped("breakpoint")
    before = set(client.kernel_pids)
    client.ok("restart", timeout=40)
    client.note_kernels()
    assert client.kernel_pids - before, "restart started a new kernel"
    assert not [pid for pid in before if _alive(pid)], "the old kernel is gone"
    client.stopped("breakpoint")
    assert client.locals(client.frames()[0]["id"])["x"] == "2", "breakpoints carried over"
    client.ok("continue", {"threadId": 1})
    assert run_to_end(client) == 0
    assert len(client.events("terminated")) == 1


def test_disconnect_shuts_down_the_launched_kernel_and_the_adapter_exits(
    dap: MakeClient,
) -> None:
    client = dap()
    client.start(SESSION)
    set_breakpoints(client, SESSION, {"at": "loop"})
    client.ok("configurationDone")
    client.stopped("breakpoint")
    [pid] = client.kernel_pids
    client.ok("disconnect", {"terminateDebuggee": True})
    assert client.process.wait(15) == 0
    assert not _alive(pid) or _wait_gone(pid)


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def test_attach_debugs_a_running_kernel_and_leaves_it_running(dap: MakeClient) -> None:
    started = subprocess.run(
        [sys.executable, "-m", "llmspell_tui", "kernel", "start", "--name", "dapwork"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    try:
        client = dap()
        client.ok("initialize", {"adapterID": "llmspell"})
        client.ok("attach", {"kernel": "dapwork"})
        client.event("initialized")
        client.ok("configurationDone")
        assert client.ok("threads")["threads"][0]["name"] == "main"
        client.ok("disconnect", {"terminateDebuggee": False})
        assert client.process.wait(15) == 0
        listed = subprocess.run(
            [sys.executable, "-m", "llmspell_tui", "kernel", "list"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert "dapwork" in listed.stdout
    finally:
        subprocess.run(
            [sys.executable, "-m", "llmspell_tui", "kernel", "stop", "dapwork"],
            capture_output=True,
            timeout=30,
            check=False,
        )


# ---------------------------------------------------------------------- bad input


def test_bad_requests_get_failed_responses_with_a_message(dap: MakeClient) -> None:
    client = dap()
    before = client.request("threads")
    assert not before["success"]
    assert "launch or attach" in before["message"]
    launch = client.request("launch", {})
    assert not launch["success"]
    assert "program" in launch["message"]
    missing = client.request("launch", {"program": str(FIXTURES / "nope.lua")})
    assert not missing["success"]
    assert "does not exist" in missing["message"]

    client.start(SESSION)
    unknown = client.request("flyToTheMoon")
    assert not unknown["success"]
    assert "flyToTheMoon" in unknown["message"]
    no_source = client.request("setBreakpoints", {"breakpoints": [{"line": 1}]})
    assert not no_source["success"]
    assert "source.path" in no_source["message"]
    bad_args = client.request("setBreakpoints", "not an object")  # type: ignore[arg-type]
    assert not bad_args["success"]
    assert "object" in bad_args["message"]

    set_breakpoints(client, SESSION, {"at": "loop"})
    client.ok("configurationDone")
    client.stopped("breakpoint")
    top = client.frames()[0]["id"]
    bad_ref = client.request("variables", {"variablesReference": 987654})
    assert not bad_ref["success"]
    assert "variablesReference" in bad_ref["message"]
    broken = client.request("evaluate", {"expression": "total +* 2", "frameId": top})
    assert not broken["success"]
    assert broken["message"]
    raising = client.request("evaluate", {"expression": "nil .. 'x'", "frameId": top})
    assert not raising["success"]
    assert "concatenate" in raising["message"]
    # the session is still alive after all that
    assert client.locals(top)["i"] == "1"
    client.ok("setBreakpoints", {"source": {"path": str(SESSION)}, "breakpoints": []})
    client.ok("continue", {"threadId": 1})
    assert run_to_end(client) == 0


def test_broken_framing_is_reported_and_the_session_goes_on(dap: MakeClient) -> None:
    client = dap()
    client.write_raw(b"Content-Length: 9\r\n\r\n{not json")
    client.write_raw(b"Content-Type: nothing\r\n\r\n")
    body = b'{"seq": 7, "type": "event", "command": "x"}'
    client.write_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    first, second = client.event("output"), client.event("output")
    assert "not valid JSON" in first["body"]["output"]
    assert first["body"]["category"] == "important"
    assert "no Content-Length" in second["body"]["output"]
    refused = client.response(7)
    assert not refused["success"]
    assert "request" in refused["message"]
    # a request written a byte at a time still arrives whole
    payload = b'{"seq": 8, "type": "request", "command": "initialize", "arguments": {}}'
    for byte in b"Content-Length: %d\r\n\r\n" % len(payload) + payload:
        client.write_raw(bytes([byte]))
    assert client.response(8)["success"]


def test_an_editor_profiles_the_program_it_launches(dap: MakeClient) -> None:
    client = dap()
    client.start(Path(__file__).resolve().parent / "lua" / "profile_work.lua")
    started = client.ok("llmspell/profileStart", {"rate": 2000})
    assert started["mode"] == "sampling"
    client.send("configurationDone")
    ended = client.event("llmspell/profile")["body"]
    while not ended.get("runEnded"):
        ended = client.event("llmspell/profile")["body"]
    names = {frame[0] for frame in ended["profile"]["frames"]}
    assert {"crunch_numbers", "parse_records", "spin_for"} <= names
    stopped = client.ok("llmspell/profileStop")["profile"]
    assert stopped["interval"] == 1 / 2000
    client.event("terminated")
