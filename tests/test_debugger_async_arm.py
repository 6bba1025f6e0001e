"""Stops the line hook must make while the kernel arms its hook from another thread.

Every DAP request that arrives while a script runs arms a count hook (lua_sethook from the
protocol thread) so the script's thread serves it at its next instruction. That hook fires
at the first instruction after a long C call (string.gsub over a long string, a host
function), often the first instruction of the next line: if arming replaced the thread's
line hook, Lua skipped that line's event, and a late breakpoint or a step on it went by.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.debug_fixtures import Debugger, dbg, debug_kernel, marker_line

__all__ = ["dbg", "debug_kernel"]

# line 2 runs ~0.5 s, all of it inside C (string.gsub)
SCRIPT = """\
local before = 1                      -- @bp entry
string.rep("a", 2e7):gsub(".", "b")  -- @bp slow
local target = 2                      -- @bp target
local after = 3
print(before + target + after)
"""


def start_at_entry(dbg: Debugger, tmp_path: Path, text: str = SCRIPT) -> tuple[Path, str]:
    script = tmp_path / "slow_call.lua"
    script.write_text(text)
    dbg.ok("launch", program=str(script), stopOnEntry=True)
    dbg.ok("configurationDone")
    msg_id = dbg.run_file(script)
    assert dbg.stopped()["reason"] == "entry"
    assert dbg.current_line() == marker_line(script, "entry")
    return script, msg_id


def ask_during_the_slow_call(dbg: Debugger) -> None:
    """A request while gsub runs: the kernel arms the hook to serve it."""
    time.sleep(0.2)
    assert dbg.ok("threads")["threads"]


def test_a_late_breakpoint_after_a_slow_call_stops_while_a_request_arrives(
    dbg: Debugger, tmp_path: Path
) -> None:
    script, msg_id = start_at_entry(dbg, tmp_path)
    dbg.set_breakpoints(script, {"line": marker_line(script, "target")})
    dbg.ok("continue", threadId=dbg.thread)
    ask_during_the_slow_call(dbg)
    assert dbg.stopped()["reason"] == "breakpoint"
    assert dbg.current_line() == marker_line(script, "target")
    dbg.ok("continue", threadId=dbg.thread)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def step_over_the_slow_line(dbg: Debugger, script: Path, msg_id: str) -> None:
    """From the entry stop: next to the slow line, next over it while a request comes; the
    step stops on the line after it."""
    dbg.step("next")
    assert dbg.current_line() == marker_line(script, "slow")
    dbg.ok("next", threadId=dbg.thread)
    ask_during_the_slow_call(dbg)
    assert dbg.stopped()["reason"] == "step"
    assert dbg.current_line() == marker_line(script, "target")
    dbg.ok("continue", threadId=dbg.thread)
    assert dbg.shell_reply(msg_id)["status"] == "ok"


def test_a_step_over_a_slow_call_stops_on_the_next_line_while_a_request_arrives(
    dbg: Debugger, tmp_path: Path
) -> None:
    step_over_the_slow_line(dbg, *start_at_entry(dbg, tmp_path))


MID_LINE = """\
local before = 1                                          -- @bp entry
local s = string.rep("a", 2e7):gsub(".", "b") .. "!"      -- @bp slow
local target = #s                                         -- @bp target
print(before, target)
"""


def test_a_request_in_the_middle_of_a_line_does_not_stop_a_step_on_that_line_again(
    dbg: Debugger, tmp_path: Path
) -> None:
    # the hook fires at the concatenation after gsub, in the middle of the line: Lua
    # reports that line once more, and the step must not take it for a new one
    step_over_the_slow_line(dbg, *start_at_entry(dbg, tmp_path, MID_LINE))
