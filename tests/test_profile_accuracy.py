"""The profiler attributes time in the right proportion: a function doing three times another's
work gets about three times its samples, and exact mode counts every call.

A real (not a timing) check of bench/profiler/accuracy.py's question at a smaller scale: the
tolerance is wide because a ~1 s profile at 1000 Hz holds only ~250 samples of B.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel_core.profiler.model import Profile
from kernel_core.profiler.profiler import Profiler
from tests.conftest import LuaWorld

# A runs the same worker loop as B for three times the iterations. Neither tail-calls the
# worker: a tail call would replace its frame, and the samples would not see A or B.
AB_SCRIPT = """\
local inner = math.tointeger(tonumber((...)))
local calls = math.tointeger(tonumber((select(2, ...))))
local seconds = tonumber((select(3, ...)))

local function work(n)
  local s = 0
  for i = 1, n do
    s = (s + i * i) % 1000003
  end
  return s
end

local function A()
  local s = work(3 * inner)
  return s
end

local function B()
  local s = work(inner)
  return s
end

local total, started, done = 0, os.clock(), 0
while done < calls or os.clock() - started < seconds do
  total = total + A() + B()
  done = done + 1
end
return done
"""
LINES = {"work": 5, "A": 13, "B": 18}  # where each is defined in AB_SCRIPT


def run_ab(lua: LuaWorld, tmp_path: Path, mode: str, *args: float) -> tuple[Profile, int]:
    """Run the script under the profiler; the profile and how many times A and B ran."""
    path = tmp_path / "ab.lua"
    path.write_text(AB_SCRIPT, encoding="utf-8")
    profiler = Profiler(lua.runtime, mode=mode)
    outcome = lua.runtime.run_file(path, [f"{a:g}" for a in args])
    profile = profiler.stop()
    assert outcome.status == "ok", outcome.failure
    return profile, int(outcome.values[0])


def frames(profile: Profile) -> dict[str, int]:
    """The frame index of work, A and B (by defining line: exact mode may not know names)."""
    found = {
        name: index
        for index, frame in enumerate(profile.frames)
        for name, line in LINES.items()
        if frame.kind == "lua" and frame.file.endswith("ab.lua") and frame.line == line
    }
    assert set(found) == set(LINES), [f.label for f in profile.frames]
    return found


def test_a_function_doing_three_times_the_work_gets_about_three_times_the_samples(
    lua: LuaWorld, tmp_path: Path
) -> None:
    profile, rounds = run_ab(lua, tmp_path, "sampling", 5000, 1, 1.0)

    assert profile.samples >= 300, f"only {profile.samples} samples in ~1 s at 1000 Hz"
    at = frames(profile)
    totals: dict[int, Any] = {row.index: row.total_weight for row in profile.top_functions()}
    ratio = totals[at["A"]] / totals[at["B"]]
    assert 2.0 <= ratio <= 4.5, f"A:B = {ratio:.2f} over {profile.samples} samples"
    # nearly every sample is in A or B: the loop around them is a sliver of the time
    assert totals[at["A"]] + totals[at["B"]] >= 0.9 * profile.total
    assert rounds > 10


def test_exact_mode_counts_every_call_of_a_and_b_exactly(lua: LuaWorld, tmp_path: Path) -> None:
    profile, rounds = run_ab(lua, tmp_path, "exact", 2000, 150, 0)

    at = frames(profile)
    assert rounds == 150
    calls = {name: profile.calls.get(index) for name, index in at.items()}
    assert calls == {"A": 150, "B": 150, "work": 300}
    # inclusive time follows the work too (call hooks add the same cost to both)
    ratio = profile.inclusive[at["A"]] / profile.inclusive[at["B"]]
    assert 2.0 <= ratio <= 4.5, f"A:B inclusive = {ratio:.2f}"
