"""The profiler attributes time in the right proportion: a function doing three times another's
work gets about three times its samples, and exact mode counts every call.

A real (not a timing) check of bench/profiler/accuracy.py's question at a smaller scale: the
tolerance is wide because a ~1 s profile at 1000 Hz holds only ~250 samples of B.
"""

from __future__ import annotations

import time
from typing import Any

from kernel_core.profiler.model import Profile
from kernel_core.profiler.profiler import Profiler
from tests.conftest import ROOT, LuaWorld

# bench/profiler/ab.lua: A runs the same worker loop as B for three times the iterations,
# neither tail-calls it, and the loop around them makes no system call (a busy VM can put
# samples right after one). The benchmark and this test profile the same file.
AB_LUA = ROOT / "bench" / "profiler" / "ab.lua"
_SOURCE = AB_LUA.read_text(encoding="utf-8").splitlines()
LINES = {  # where each is defined in ab.lua
    name: next(i for i, text in enumerate(_SOURCE, 1) if text.startswith(f"local function {name}("))
    for name in ("work", "A", "B")
}


def run_ab(lua: LuaWorld, mode: str, inner: int, calls: int) -> Profile:
    """Run ab.lua (B: ``inner`` iterations per call; A and B ``calls`` times each) under the
    profiler; returns the profile."""
    profiler = Profiler(lua.runtime, mode=mode)
    outcome = lua.runtime.run_file(AB_LUA, [str(inner), str(calls)])
    profile = profiler.stop()
    assert outcome.status == "ok", outcome.failure
    return profile


def calls_for(lua: LuaWorld, inner: int, seconds: float) -> int:
    """How many calls of A and B take about ``seconds`` on this machine (unprofiled)."""
    started = time.perf_counter()
    outcome = lua.runtime.run_file(AB_LUA, [str(inner), "20"])
    assert outcome.status == "ok", outcome.failure
    per_call = (time.perf_counter() - started) / 20
    return max(20, round(seconds / per_call))


def frames(profile: Profile) -> dict[str, int]:
    """The frame index of work, A and B (by defining line: exact mode may not know names)."""
    found = {
        name: index
        for index, frame in enumerate(profile.frames)
        for name, line in LINES.items()
        if frame.kind == "lua" and frame.file == str(AB_LUA) and frame.line == line
    }
    assert set(found) == set(LINES), [f.label for f in profile.frames]
    return found


def test_a_function_doing_three_times_the_work_gets_about_three_times_the_samples(
    lua: LuaWorld,
) -> None:
    calls = calls_for(lua, 5000, 1.0)
    profile = run_ab(lua, "sampling", 5000, calls)

    assert profile.samples >= 300, f"only {profile.samples} samples in ~1 s at 1000 Hz"
    at = frames(profile)
    totals: dict[int, Any] = {row.index: row.total_weight for row in profile.top_functions()}
    ratio = totals[at["A"]] / totals[at["B"]]
    assert 2.0 <= ratio <= 4.5, f"A:B = {ratio:.2f} over {profile.samples} samples"
    # nearly every sample is in A or B: the loop around them is a sliver of the time
    assert totals[at["A"]] + totals[at["B"]] >= 0.9 * profile.total


def test_exact_mode_counts_every_call_of_a_and_b_exactly(lua: LuaWorld) -> None:
    profile = run_ab(lua, "exact", 2000, 150)

    at = frames(profile)
    calls = {name: profile.calls.get(index) for name, index in at.items()}
    assert calls == {"A": 150, "B": 150, "work": 300}
    # inclusive time follows the work too (call hooks add the same cost to both)
    ratio = profile.inclusive[at["A"]] / profile.inclusive[at["B"]]
    assert 2.0 <= ratio <= 4.5, f"A:B inclusive = {ratio:.2f}"
