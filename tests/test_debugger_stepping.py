"""The debugger over Jupyter: stepping, pause, interrupt, threads and the stack."""

from __future__ import annotations

import time

from tests.debug_fixtures import Debugger, dbg, debug_kernel, lua_fixture, marker_line

__all__ = ["dbg", "debug_kernel"]

STEPPING = lua_fixture("stepping.lua")
RECURSION = lua_fixture("recursion.lua")
SPIN = lua_fixture("spin.lua")


def line(marker: str) -> int:
    return marker_line(STEPPING, marker)


def stop_at(dbg: Debugger, marker: str) -> str:
    """Run stepping.lua to the `marker` line (breakpoint removed once there); the msg_id."""
    dbg.set_breakpoints(STEPPING, {"line": line(marker)})
    msg_id = dbg.run_file(STEPPING)
    assert dbg.stopped()["reason"] == "breakpoint"
    dbg.set_breakpoints(STEPPING)
    return msg_id


def finish(dbg: Debugger, msg_id: str) -> None:
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_next_steps_over_a_call_and_the_response_comes_before_the_stop(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "main_call")
    dbg.ok("next", threadId=1)
    reply_date = dbg.reply_dates[dbg.seq]
    continued = dbg.wait_event_message("continued")
    stopped = dbg.wait_event_message("stopped")
    assert reply_date <= continued.date <= stopped.date
    assert stopped.content["body"]["reason"] == "step"
    assert dbg.current_line() == line("main_after")
    assert dbg.locals()["a"] == "4"
    finish(dbg, msg_id)


def test_step_in_enters_the_function_and_step_out_returns_to_the_caller(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "main_call")
    dbg.step("stepIn")
    assert (dbg.top()["name"], dbg.current_line()) == ("outer", line("outer_call"))
    dbg.step("stepIn")
    assert (dbg.top()["name"], dbg.current_line()) == ("inner", line("inner_first"))
    assert [f["name"] for f in dbg.frames()] == ["inner", "outer", "main chunk"]
    dbg.step("next")
    assert dbg.current_line() == line("inner_return")
    dbg.step("stepOut")
    assert (dbg.top()["name"], dbg.current_line()) == ("outer", line("outer_after"))
    assert dbg.locals()["r"] == "4"
    dbg.step("stepOut")
    assert (dbg.top()["name"], dbg.current_line()) == ("main chunk", line("main_after"))
    finish(dbg, msg_id)


def test_next_at_the_end_of_a_function_stops_in_the_caller(dbg: Debugger) -> None:
    dbg.set_breakpoints(STEPPING, {"line": line("inner_return")})
    msg_id = dbg.run_file(STEPPING)
    dbg.stopped()
    dbg.set_breakpoints(STEPPING)
    dbg.step("next")
    assert (dbg.top()["name"], dbg.current_line()) == ("outer", line("outer_after"))
    finish(dbg, msg_id)


def test_next_over_pcall_of_a_failing_function_stops_on_the_next_line(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "pcall_call")
    dbg.step("next")
    assert dbg.current_line() == line("main_tail")
    assert dbg.locals()["ok"] == "false"
    finish(dbg, msg_id)


def test_stepping_through_an_error_lands_after_the_pcall(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "pcall_call")
    dbg.step("stepIn")
    assert (dbg.top()["name"], dbg.current_line()) == ("fails", line("raise"))
    dbg.step("next")
    assert (dbg.top()["name"], dbg.current_line()) == ("main chunk", line("main_tail"))
    finish(dbg, msg_id)


def test_step_in_through_a_tail_call_and_out_to_the_caller(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "main_tail")
    dbg.step("stepIn")
    assert (dbg.top()["name"], dbg.current_line()) == ("tail", line("tail_call"))
    dbg.step("stepIn")
    assert dbg.current_line() == line("inner_first")
    names = [f["name"] for f in dbg.frames()]
    assert names[-1] == "main chunk"
    assert "tail" not in names  # a tail call replaced its frame
    dbg.step("stepOut")
    assert (dbg.top()["name"], dbg.current_line()) == ("main chunk", line("gen"))
    finish(dbg, msg_id)


def test_stepping_into_a_coroutine_and_over_its_yield(dbg: Debugger) -> None:
    msg_id = stop_at(dbg, "resume1")
    stop = dbg.step("stepIn")
    assert dbg.current_line() == line("co_first")
    co_thread = int(stop["threadId"])
    assert co_thread != 1
    threads = {t["id"]: t["name"] for t in dbg.ok("threads")["threads"]}
    assert 1 in threads
    assert co_thread in threads
    stop = dbg.step("next", co_thread)
    assert int(stop["threadId"]) == co_thread
    assert dbg.current_line() == line("co_yield")
    stop = dbg.step("next", co_thread)
    # the coroutine yielded: the step ends in the code that resumed it
    assert int(stop["threadId"]) == 1
    assert dbg.current_line() == line("resume2")
    assert dbg.locals()["v1"] == "1"
    stop = dbg.step("stepIn")
    assert int(stop["threadId"]) == co_thread  # the same coroutine keeps its id
    assert dbg.current_line() == line("co_resumed")
    finish(dbg, msg_id)


def test_step_out_of_a_coroutine_returns_to_the_resumer(dbg: Debugger) -> None:
    dbg.set_breakpoints(STEPPING, {"line": line("co_first")})
    msg_id = dbg.run_file(STEPPING)
    stop = dbg.stopped()
    dbg.set_breakpoints(STEPPING)
    assert int(stop["threadId"]) != 1
    stop = dbg.step("stepOut", int(stop["threadId"]))
    assert int(stop["threadId"]) == 1
    assert dbg.current_line() == line("resume2")
    finish(dbg, msg_id)


def test_pause_stops_a_tight_loop_within_a_second_then_interrupt_ends_it(dbg: Debugger) -> None:
    msg_id = dbg.run_file(SPIN)
    time.sleep(0.3)
    started = time.monotonic()
    dbg.ok("pause", threadId=1)
    stop = dbg.stopped(timeout=2)
    assert time.monotonic() - started < 1.0
    assert stop["reason"] == "pause"
    assert dbg.current_line() == marker_line(SPIN, "spin")
    assert int(dbg.evaluate("n")) > 0
    dbg.ok("continue", threadId=1)
    time.sleep(0.2)
    dbg.interrupt()
    reply = dbg.shell_reply(msg_id)
    assert reply["status"] == "error"
    assert "interrupt" in str(reply.get("evalue", "")).lower()


def test_pause_sent_as_a_run_starts_stops_at_the_scripts_first_line_not_in_llmspell(
    dbg: Debugger,
) -> None:
    # a pause that lands before the script's code runs (llmspell is still starting the run)
    # stops at the script's next line, with its frame to show, rather than nowhere
    for _ in range(3):
        msg_id = dbg.run_file(SPIN)
        dbg.wait_event("loadedSource")  # the run has begun: its file is compiled
        dbg.ok("pause", threadId=1)
        stop = dbg.stopped(timeout=5)
        assert stop["reason"] == "pause"
        assert dbg.frames(), "a pause stop always shows the script's frame"
        dbg.interrupt()
        dbg.shell_reply(msg_id)


def test_interrupt_while_paused_ends_the_cell_and_the_kernel_stays_usable(dbg: Debugger) -> None:
    code = "local x = 1\nx = x + 1 -- @bp here\nprint('unreached')\n"
    path = dbg.ok("dumpCell", code=code)["sourcePath"]
    dbg.set_breakpoints(path, {"line": 2})
    msg_id = dbg.execute(code)
    dbg.stopped()
    dbg.interrupt()
    reply = dbg.shell_reply(msg_id)
    assert reply["status"] == "error"
    assert reply["ename"] == "Interrupted" or "interrupt" in str(reply["evalue"]).lower()
    assert "unreached" not in dbg.stream_text(msg_id)
    dbg.wait_event("continued")
    follow = dbg.execute("return 40 + 2")
    assert dbg.shell_reply(follow)["status"] == "ok"
    assert dbg.ok("evaluate", expression="1 + 1", context="repl")["result"] == "2"


def test_stack_trace_shows_recursion_pages_and_marks_c_frames(dbg: Debugger) -> None:
    dbg.set_breakpoints(RECURSION, {"line": marker_line(RECURSION, "base")})
    msg_id = dbg.run_file(RECURSION)
    dbg.stopped()
    body = dbg.ok("stackTrace", threadId=1)
    frames = body["stackFrames"]
    names = [f["name"] for f in frames]
    assert names[:5] == ["fact"] * 5
    assert names[-1] == "main chunk"
    c_frames = [f for f in frames if f["name"].endswith("[C]")]
    assert c_frames
    assert c_frames[0]["presentationHint"] == "subtle"
    assert "source" not in c_frames[0]
    assert body["totalFrames"] == len(frames)
    ns = [dbg.locals(int(f["id"]))["n"] for f in frames[:5]]
    assert ns == ["1", "2", "3", "4", "5"]
    page = dbg.ok("stackTrace", threadId=1, startFrame=2, levels=2)
    assert [f["id"] for f in page["stackFrames"]] == [frames[2]["id"], frames[3]["id"]]
    assert page["totalFrames"] == len(frames)
    finish(dbg, msg_id)


def test_threads_lists_main_and_live_coroutines_with_stable_ids(dbg: Debugger) -> None:
    basics = lua_fixture("basics.lua")
    dbg.set_breakpoints(basics, {"line": marker_line(basics, "bump")})
    msg_id = dbg.run_file(basics)
    dbg.stopped()
    first = dbg.ok("threads")["threads"]
    assert first[0] == {"id": 1, "name": "main"}
    worker = [t for t in first if t["id"] != 1]
    assert len(worker) == 1
    assert "suspended" in worker[0]["name"]
    dbg.ok("continue", threadId=1)
    dbg.stopped()
    assert dbg.ok("threads")["threads"] == first
    dbg.set_breakpoints(basics)
    finish(dbg, msg_id)


def test_interrupt_while_paused_by_pause_ends_the_run(dbg: Debugger) -> None:
    # a pause stops inside the hook; the interrupt's armed hook must survive the resume
    msg_id = dbg.run_file(SPIN)
    time.sleep(0.3)
    dbg.ok("pause", threadId=1)
    dbg.stopped(timeout=2)
    dbg.interrupt()
    reply = dbg.shell_reply(msg_id, timeout=5)
    assert reply["status"] == "error"
    assert "interrupt" in str(reply.get("evalue", "")).lower()
