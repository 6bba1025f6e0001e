"""Profiling through a real kernel: DAP llmspell/profileStart, profileStop, profileSnapshot and
the llmspell/profile event, as any Jupyter client speaking the debugger protocol sees them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from jupyter_client.manager import KernelManager

from kernel_core.profiler.model import Profile
from tests.debug_fixtures import Debugger, dbg, debug_kernel, second_client

__all__ = ["dbg", "debug_kernel"]

TWO_FUNCTIONS = """
local function work(n)
  local s = 0
  for i = 1, n do s = s + (i % 7) * 3 end
  return s
end
local function heavy() local r = work(3000) return r end
local function light() local r = work(1000) return r end
local deadline = os.clock() + {seconds}
local total = 0
while os.clock() < deadline do total = total + heavy() + light() end
return total
"""


def totals(profile: Profile) -> dict[str, float]:
    return {row.frame.name: row.total_weight for row in profile.top_functions()}


def profile_events(client: Debugger) -> list[dict[str, object]]:
    return [e.content.get("body") or {} for e in client.events("llmspell/profile")]


def test_a_client_profiles_a_cell_and_sees_it_live_and_at_the_end(dbg: Debugger) -> None:
    started = dbg.ok("llmspell/profileStart")
    assert started == {"mode": "sampling", "rate": 1000.0, "running": True}
    began = time.monotonic()
    dbg.shell_reply(dbg.execute(TWO_FUNCTIONS.replace("{seconds}", "2.2")), timeout=30)
    elapsed = time.monotonic() - began
    dbg.drain(0.3)
    events = profile_events(dbg)
    live = [e for e in events if not e.get("runEnded")]
    ended = [e for e in events if e.get("runEnded")]
    assert len(live) >= 1, events  # about once a second during the run
    assert len(ended) == 1
    final = Profile.from_json(ended[0]["profile"])  # type: ignore[arg-type]
    names = totals(final)
    assert 2.0 < names["heavy"] / names["light"] < 4.5, names
    # a live snapshot is a prefix of the run: fewer samples than the final one
    first = Profile.from_json(live[0]["profile"])  # type: ignore[arg-type]
    assert 0 < first.total < final.total
    stopped = Profile.from_json(dbg.ok("llmspell/profileStop")["profile"])
    assert stopped.total == pytest.approx(final.total)
    # the run's own time: at least its CPU time, at most the request's (not the idle after)
    assert 1.9 < stopped.duration <= elapsed


def test_profiling_spans_cells_until_stopped_and_the_last_profile_stays(dbg: Debugger) -> None:
    dbg.ok("llmspell/profileStart", rate=500)
    for _ in range(2):
        dbg.shell_reply(dbg.execute(TWO_FUNCTIONS.replace("{seconds}", "0.3")), timeout=30)
    snapshot = dbg.ok("llmspell/profileSnapshot")
    assert snapshot["running"] is True
    profile = Profile.from_json(snapshot["profile"])
    assert profile.interval == pytest.approx(1 / 500)
    assert 0.5 < profile.duration < 1.5  # two runs of 0.3 s: idle time between is not counted
    stopped = dbg.ok("llmspell/profileStop")
    again = dbg.ok("llmspell/profileSnapshot")
    assert again["running"] is False
    assert again["profile"] == stopped["profile"]


def test_time_stopped_at_a_breakpoint_is_not_profiled(dbg: Debugger, tmp_path: Path) -> None:
    script = tmp_path / "paused.lua"
    script.write_text(
        "local function spin(n) local s = 0 for i = 1, n do s = s + i end return s end\n"
        "spin(3000000)\n"
        "local x = 1\n"  # line 3: the breakpoint
        "spin(3000000)\n"
    )
    dbg.set_breakpoints(script, {"line": 3})
    dbg.ok("llmspell/profileStart")
    msg_id = dbg.run_file(script)
    dbg.stopped()
    time.sleep(1.0)
    dbg.ok("continue", threadId=dbg.thread)
    dbg.shell_reply(msg_id, timeout=30)
    profile = Profile.from_json(dbg.ok("llmspell/profileStop")["profile"])
    assert profile.duration < 0.8, profile.duration
    assert "spin" in totals(profile)


def test_exact_mode_from_a_client_counts_calls(dbg: Debugger) -> None:
    assert dbg.ok("llmspell/profileStart", mode="exact")["mode"] == "exact"
    dbg.shell_reply(
        dbg.execute("local function f(x) return x + 1 end\nfor i = 1, 41 do f(i) end"), timeout=30
    )
    profile = Profile.from_json(dbg.ok("llmspell/profileStop")["profile"])
    calls = {profile.frames[i].name: n for i, n in profile.calls.items()}
    assert calls["f"] == 41


def test_profile_requests_that_cannot_be_served_say_what_to_do(dbg: Debugger) -> None:
    assert "llmspell/profileStart first" in dbg.fails("llmspell/profileStop")
    assert "llmspell/profileStart first" in dbg.fails("llmspell/profileSnapshot")
    assert "1 to 20000" in dbg.fails("llmspell/profileStart", rate=0)
    assert "1 to 20000" in dbg.fails("llmspell/profileStart", rate="fast")
    assert "'sampling' or 'exact'" in dbg.fails("llmspell/profileStart", mode="precise")
    dbg.ok("llmspell/profileStart")
    assert dbg.ok("llmspell/profileStart")["alreadyRunning"] is True
    assert "llmspell/profileStop before" in dbg.fails("llmspell/profileStart", mode="exact")
    dbg.ok("llmspell/profileStop")


def test_every_client_gets_the_profile_events(
    debug_kernel: tuple[KernelManager, Debugger],
) -> None:
    km, first = debug_kernel
    other = second_client(km)
    try:
        first.ok("llmspell/profileStart")
        first.shell_reply(first.execute(TWO_FUNCTIONS.replace("{seconds}", "0.2")), timeout=30)
        body = other.wait_event("llmspell/profile", timeout=10)
        assert "heavy" in totals(Profile.from_json(body["profile"]))
    finally:
        other.client.stop_channels()


def test_profiling_started_at_a_stop_counts_from_the_resume(dbg: Debugger, tmp_path: Path) -> None:
    script = tmp_path / "entry.lua"
    script.write_text(
        "local function spin(n) local s = 0 for i = 1, n do s = s + i end return s end\n"
        "local x = spin(2000000)\n"  # line 2: the breakpoint
        "return x\n"
    )
    dbg.set_breakpoints(script, {"line": 2})
    msg_id = dbg.run_file(script)
    dbg.stopped()
    dbg.ok("llmspell/profileStart")
    time.sleep(1.0)
    dbg.ok("continue", threadId=dbg.thread)
    dbg.shell_reply(msg_id, timeout=30)
    profile = Profile.from_json(dbg.ok("llmspell/profileStop")["profile"])
    assert profile.duration < 0.8, profile.duration
    assert "spin" in totals(profile)


def test_exact_mode_ignores_what_a_client_evaluates_at_a_stop(
    dbg: Debugger, tmp_path: Path
) -> None:
    script = tmp_path / "exact_stop.lua"
    script.write_text(
        "local function f(x) return x + 1 end\n"
        "local function g(n) local s = 0 for i = 1, n do s = s + f(i) end return s end\n"
        "local before = g(10)\n"
        "local x = before\n"  # line 4: the breakpoint
        "return g(10) + x\n"
    )
    dbg.set_breakpoints(script, {"line": 4})
    dbg.ok("llmspell/profileStart", mode="exact")
    msg_id = dbg.run_file(script)
    dbg.stopped()
    top = dbg.top()["id"]
    assert dbg.evaluate("g(5) + f(1)", top) == "22"
    dbg.ok("continue", threadId=dbg.thread)
    dbg.shell_reply(msg_id, timeout=30)
    profile = Profile.from_json(dbg.ok("llmspell/profileStop")["profile"])
    calls = {profile.frames[i].name: n for i, n in profile.calls.items()}
    assert calls["g"] == 2  # not 3: the evaluation at the stop is not the script's
    assert calls["f"] == 20
    for frames, _ in profile.named_stacks():
        assert frames[0].name == "main chunk", [
            ([f.name for f in s], w) for s, w in profile.named_stacks()
        ]


def test_exact_mode_sees_through_the_debuggers_pcall_wrapper(dbg: Debugger) -> None:
    # the "error" exception filter swaps pcall for the debugger's own: calls through it must
    # still count as the script's, under the function that made them
    dbg.ok("setExceptionBreakpoints", filters=["error"])
    dbg.ok("llmspell/profileStart", mode="exact")
    code = (
        "local function safe(x) return x * 2 end\n"
        "local function caller() local t = 0 for i = 1, 25 do local ok, v = pcall(safe, i)"
        " t = t + v end return t end\n"
        "local r = caller()\n"
        "return r"
    )
    dbg.shell_reply(dbg.execute(code), timeout=30)
    profile = Profile.from_json(dbg.ok("llmspell/profileStop")["profile"])
    calls = {profile.frames[i].name: n for i, n in profile.calls.items()}
    assert calls["caller"] == 1
    by_line = {profile.frames[i].line: n for i, n in profile.calls.items()}
    assert by_line[1] == 25  # safe, called through pcall (Lua names it by its line)
    shown = [([f.name for f in s], w) for s, w in profile.named_stacks()]
    for frames, _ in profile.named_stacks():
        assert frames[0].name == "main chunk", shown


def test_profiling_stops_when_the_last_client_disconnects(dbg: Debugger) -> None:
    dbg.ok("llmspell/profileStart")
    dbg.shell_reply(dbg.execute(TWO_FUNCTIONS.replace("{seconds}", "0.1")), timeout=30)
    dbg.ok("disconnect")
    snapshot = dbg.ok("llmspell/profileSnapshot")
    assert snapshot["running"] is False  # nobody left to watch it: it no longer costs the script
    assert "heavy" in totals(Profile.from_json(snapshot["profile"]))
