"""The profiler inside one Lua world: what a sampling or exact profile of a real run holds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from kernel_core.profiler.model import Profile
from kernel_core.profiler.profiler import EXACT_COST, Profiler, ProfilerError
from tests.conftest import LuaWorld
from tests.servers.fake_openai import FakeOpenAI

# A does three times B's work through the same worker; no tail calls (they erase the caller).
A_AND_B = """
local function work(n)
  local s = 0
  for i = 1, n do s = s + (i % 7) * 3 end
  return s
end
local function A() local r = work(3000) return r end
local function B() local r = work(1000) return r end
local total = 0
for round = 1, {rounds} do -- no system call in the loop: see docs/profiler.md on busy VMs
  total = total + A() + B()
end
return total
"""


def by_name(profile: Profile) -> dict[str, float]:
    """Total weight per function name."""
    return {row.frame.name: row.total_weight for row in profile.top_functions()}


def profiled(world: LuaWorld, code: str, **options: object) -> Profile:
    profiler = Profiler(world.runtime, **options)  # type: ignore[arg-type]
    try:
        world.ok(code)
    finally:
        profile = profiler.stop()
    return profile


def test_a_sampling_profile_names_the_functions_in_proportion_to_their_work(
    lua: LuaWorld,
) -> None:
    profile = profiled(lua, A_AND_B.replace("{rounds}", "25000"), rate=1000)
    totals = by_name(profile)
    assert profile.mode == "sampling"
    assert profile.unit == "samples"
    assert 2.0 < totals["A"] / totals["B"] < 4.5, totals
    assert totals["work"] >= 0.9 * (totals["A"] + totals["B"])
    # every stack starts at the script's main chunk: none of llmspell's runner shows below
    # it; a tick that found no script frame (the run's own start and end, on a loaded
    # machine) is the one "(llmspell)" frame, alone
    for stack in profile.stacks:
        first = profile.frames[stack[0]]
        assert first.kind == "main" or (first.name == "(llmspell)" and len(stack) == 1), [
            profile.frames[i] for i in stack
        ]
    # weights are wall-clock ticks: they add up to the time the run took
    assert profile.seconds(profile.total) == pytest.approx(profile.duration, abs=0.05)


def test_the_heap_is_sampled_with_the_stacks_and_growth_is_attributed(lua: LuaWorld) -> None:
    code = """
    local keep = {}
    local function grow()
      for i = 1, 300000 do keep[#keep + 1] = {i} end
    end
    local function spin()
      local s = 0
      for i = 1, 3000000 do s = s + i end
      return s
    end
    spin() grow() spin()
    return #keep
    """
    profile = profiled(lua, code, rate=2000)
    assert len(profile.heap) >= 3
    kib = [k for _, k in profile.heap]
    assert max(kib) - min(kib) > 10_000  # 300k small tables: well over 10 MiB
    times = [t for t, _ in profile.heap]
    assert times == sorted(times)
    top_frame, grown = profile.heap_growth_by_frame(1)[0]
    assert top_frame.name == "grow"
    assert grown > 10_000


def test_exact_mode_counts_every_call_and_times_them(lua: LuaWorld) -> None:
    code = """
    local function leaf(x) return x * 2 end
    local function middle(n)
      local s = 0
      for i = 1, n do s = s + leaf(i) end
      return s
    end
    for round = 1, 37 do middle(100) end
    """
    profile = profiled(lua, code, mode="exact")
    calls = {profile.frames[i].name: n for i, n in profile.calls.items()}
    assert calls["middle"] == 37
    assert calls["leaf"] == 3700
    assert calls["main chunk"] == 1
    assert profile.unit == "microseconds"
    assert EXACT_COST in profile.meta["note"]  # the measured cost, told wherever it is reported
    stats = {row.frame.name: row for row in profile.top_functions()}
    # inclusive time of middle contains leaf's; self times sum to the total
    inclusive = {profile.frames[i].name: us for i, us in profile.inclusive.items()}
    assert inclusive["middle"] >= stats["leaf"].self_weight
    assert sum(r.self_weight for r in stats.values()) == pytest.approx(profile.total)


def test_exact_mode_keeps_its_stack_when_errors_unwind_frames(lua: LuaWorld) -> None:
    code = """
    local function fails() error("boom") end
    local function guarded() return pcall(fails) end
    local function after() local x = 0 for i = 1, 10 do x = x + i end return x end
    for i = 1, 5 do guarded() after() end
    """
    profile = profiled(lua, code, mode="exact")
    calls = {profile.frames[i].name: n for i, n in profile.calls.items()}
    # a function called from C (pcall) has no name Lua can tell: it is named by its line
    assert calls["function <(test):2>"] == 5
    assert calls["after"] == 5
    for frames, _ in profile.named_stacks():
        names = [f.name for f in frames]
        if "after" in names:  # never under the frames the errors unwound
            assert names == ["main chunk", "after"], names


def test_recursion_counts_once_in_a_functions_total(lua: LuaWorld) -> None:
    code = """
    local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
    local deadline = os.clock() + 0.3
    while os.clock() < deadline do fib(18) end
    """
    profile = profiled(lua, code, rate=1000)
    fib = next(r for r in profile.top_functions() if r.frame.name == "fib")
    assert fib.total_share <= 1.0
    assert max(len(s) for s in profile.stacks) > 10  # the recursion is in the stacks


def test_time_waiting_on_an_agent_shows_as_a_wait_frame_under_its_caller(
    make_lua: Callable[..., LuaWorld], server: FakeOpenAI
) -> None:
    world = make_lua(providers={"fake": {"base_url": server.base_url, "model": "fake-model"}})
    code = """
    local agent = Agent.builder():name("slowpoke"):model("fake/sleep-600"):build()
    local function ask() return agent:execute({text = "hi"}).text end
    local function compute()
      local s = 0
      for i = 1, 2000000 do s = s + i % 3 end
      return s
    end
    compute()
    local answer = ask() -- not a tail call: that would replace this chunk's frame with ask's
    return answer
    """
    profile = profiled(world, code, rate=1000)
    waits = [
        (frames, weight)
        for frames, weight in profile.named_stacks()
        if frames[-1].name == "wait: Agent.execute"
    ]
    shown = [([f.name for f in s], w) for s, w in profile.named_stacks()]
    assert waits, shown
    waited = sum(w for _, w in waits)
    assert 0.45 < profile.seconds(waited) < 1.0, shown
    for frames, _ in waits:
        assert [f.name for f in frames[:2]] == ["main chunk", "ask"], shown


def test_profiling_twice_in_one_world_starts_from_an_empty_profile(lua: LuaWorld) -> None:
    code = A_AND_B.replace("{rounds}", "6000")
    first = profiled(lua, code, rate=1000)
    second = profiled(lua, code, rate=1000)
    assert first.total > 0
    assert second.total > 0
    # the second profile holds its own run's samples only, never the first run's too (a
    # machine under load takes fewer samples, never more than one a tick)
    assert second.total <= second.duration * 1000 * 1.5
    # between runs nothing is counted: the profile's time lies inside the two runs, however
    # long they take on this machine, and never includes the pause between them
    profiler = Profiler(lua.runtime, rate=1000)
    runs = 0.0
    for pause in (0.3, 0.0):
        started = time.perf_counter()
        lua.ok(code)
        runs += time.perf_counter() - started
        time.sleep(pause)
    both = profiler.stop()
    assert 0 < both.duration <= runs


def test_bad_modes_rates_and_double_starts_say_what_to_do(lua: LuaWorld) -> None:
    with pytest.raises(ProfilerError, match="'sampling' or 'exact'"):
        Profiler(lua.runtime, mode="fast")
    with pytest.raises(ProfilerError, match="1 to 20000 Hz"):
        Profiler(lua.runtime, rate=0)
    profiler = Profiler(lua.runtime)
    with pytest.raises(ProfilerError, match="already on"):
        Profiler(lua.runtime)
    profiler.stop()
    Profiler(lua.runtime).stop()  # stopped means a new one may start


def test_a_profiled_run_keeps_its_limits_and_interrupts(make_lua: Callable[..., LuaWorld]) -> None:
    world = make_lua(runtime={"instruction_limit": 5_000_000})
    profiler = Profiler(world.runtime, rate=5000)
    message = world.fails("local x = 0 while true do x = x + 1 end")
    profile = profiler.stop()
    assert "instruction limit of 5000000 exceeded" in message
    assert profile.total > 0


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


COROUTINES = """
local function crunch(n) local s = 0 for i = 1, n do s = s + i % 5 end return s end
local function producer()
  return coroutine.wrap(function()
    for i = 1, 1500 do coroutine.yield(crunch(3000)) end
  end)
end
local function consume(gen)
  local total = 0
  for v in gen do total = total + v + crunch(1000) end
  return total
end
local co = coroutine.create(function() local r = consume(producer()) return r end)
local ok, total = coroutine.resume(co)
assert(ok, total)
return total
"""


def test_a_coroutines_stack_goes_on_with_whoever_resumed_it(lua: LuaWorld) -> None:
    profile = profiled(lua, COROUTINES, rate=2000)
    crunching = [
        [f.name for f in frames]
        for frames, _ in profile.named_stacks()
        if frames[-1].name == "crunch"
    ]
    assert crunching
    for names in crunching:
        # main chunk -> the coroutine created there -> consume -> (the generator ->) crunch
        assert names[0] == "main chunk", names
        assert names[2] == "consume", names
        assert "hook" not in names
        assert "resume" not in names  # the resume machinery is not the script's frame
    assert any(len(names) == 5 for names in crunching)  # through the generator


def test_exact_mode_charges_a_coroutines_time_to_the_coroutine(lua: LuaWorld) -> None:
    profile = profiled(lua, COROUTINES, mode="exact")
    stats = {row.frame.name: row for row in profile.top_functions()}
    calls = {profile.frames[i].name: n for i, n in profile.calls.items()}
    assert calls["crunch"] == 3000
    # nothing counts twice: self times add up to the main chunk's total
    assert sum(r.self_weight for r in stats.values()) == pytest.approx(
        stats["main chunk"].total_weight
    )
    # yield's self time is the switch, not the time until the next resume
    assert stats["yield"].self_share < 0.3
    assert stats["crunch"].self_share > 0.3
