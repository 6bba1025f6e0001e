"""What one sample costs the Lua thread, by stack depth, and what a profiled run costs besides.

    python3 bench/profiler/sample_cost.py [--samples 20000] [--depth 1 --depth 30 ...]

The sampling profiler's cost on a script is (samples per second) x (cost of one sample) plus
a fixed cost per run. This measures both parts apart from timer noise:

- ``walk``: profiler.lua's sample function (stack walk, key, aggregation, heap note), called
  directly ``--samples`` times from a Lua function at the bottom of a recursion ``depth``
  frames deep, against the same loop calling an empty function;
- ``hook``: the whole path of a sample as the timer arms it: a count hook of
  ``SAMPLE_BASE + tick % SAMPLE_SPAN`` set from Lua, the hook dispatch, the multiplexer, the
  sample function and the multiplexer's re-arming, against the same instructions with no hook
  armed (what arming from the timer thread, ``lua_sethook`` across threads, adds is not in it);
- ``gap``: the one Python call a sample makes when ticks went by without a sample of their
  own (``host.gap``: the timer woke late, or the thread sat in a host call), against an
  empty Lua call;
- ``per_run``: ``run_file`` of ``bench/workloads/empty.lua`` with and without the sampling
  profiler (the run's start and end: the timer resumed and paused, the profile drained).

The profiler's timer thread stays paused throughout (the Lua functions are called directly,
not as runs), so no sample but the forced ones is taken. Prints JSON lines, microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.profiler.common import WORKLOADS, emit, emit_machine, new_runtime

# Forced samples at the bottom of a recursion. `sample` is profiler.lua's sample function (the
# multiplexer's `sampler`), `last_tick` the tick it saw last: passing the next tick each time
# gives every sample a weight of 1, as a timer that never falls behind would.
FORCED = """
local sample, last_tick, hook, sethook, span, base, gap = ...
local clock = os.clock

local function empty() end

local function walk(depth, n, forced)
  if depth > 1 then
    local r = walk(depth - 1, n, forced)
    return r
  end
  local started = clock()
  if forced then
    local tick = last_tick()
    for _ = 1, n do
      tick = tick + 1
      sample(tick % span)
    end
  else
    for _ = 1, n do empty() end
  end
  return clock() - started
end

-- a sample's count hook fires within base..base+span-1 instructions: early in the inner loop,
-- which stands for the script's own work between samples
local function hooked(depth, n, forced)
  if depth > 1 then
    local r = hooked(depth - 1, n, forced)
    return r
  end
  local started = clock()
  local x = 0
  local tick = last_tick()
  for _ = 1, n do
    if forced then
      tick = tick + 1
      sethook(hook, "", base + tick % span)
    end
    for j = 1, 300 do x = x + j end
  end
  return clock() - started
end

-- host.gap as a sample calls it: the timer is paused, so it finds no tick to report
local function asked(n, forced)
  local started = clock()
  local tick = last_tick()
  if forced then
    for _ = 1, n do gap(tick) end
  else
    for _ = 1, n do empty(tick) end
  end
  return clock() - started
end

return walk, hooked, asked
"""


def forced_samples(depths: list[int], n: int, rounds: int) -> None:
    """Cost per sample by depth: the sample function alone and the whole hook path."""
    from kernel_core.profiler.profiler import Profiler

    runtime = new_runtime()
    profiler = Profiler(runtime, mode="sampling")
    lua_side = profiler._lua.module
    mux = runtime.mux
    # loaded as a script file would be: a chunk lupa runs directly is named "<python>", which
    # the profiler counts as llmspell's own glue and folds away
    chunk = runtime.lua.globals().load(FORCED, "@bench/profiler/sample_cost.lua")
    walk, hooked, asked = chunk(
        mux.sampler,
        lua_side.last_tick,
        mux.hook,
        mux.real_debug.sethook,
        mux.SAMPLE_SPAN,
        mux.SAMPLE_BASE,
        lua_side_host(profiler).gap,
    )
    for depth in depths:
        figures: dict[str, Any] = {"kind": "per_sample", "depth": depth, "samples": n}
        for name, fn in (("walk", walk), ("hook", hooked)):
            costs = []
            for _ in range(rounds):
                fn(depth, n, False)  # warm up
                base = float(fn(depth, n, False))
                forced = float(fn(depth, n, True))
                costs.append((forced - base) / n * 1e6)
            figures[f"{name}_us"] = round(statistics.median(costs), 2)
            figures[f"{name}_us_min"] = round(min(costs), 2)
        emit(**figures)
    costs = []
    for _ in range(rounds):
        asked(n, False)  # warm up
        base = float(asked(n, False))
        costs.append((float(asked(n, True)) - base) / n * 1e6)
    emit(kind="gap", calls=n, gap_us=round(statistics.median(costs), 2))
    profile = profiler.stop()
    top = profile.top_functions(3)
    emit(
        kind="forced_profile",
        samples=profile.samples,
        top=[(row.frame.label, row.self_weight) for row in top],
    )
    runtime.close()


def lua_side_host(profiler: Any) -> Any:
    """The host table profiler.lua was loaded with (its ``gap`` is the profiler's)."""
    return profiler._lua.host


def per_run(repeat: int, rounds: int) -> None:
    """The fixed cost of a profiled run: empty.lua with and without the sampling profiler."""
    from kernel_core.profiler.profiler import Profiler

    path = WORKLOADS / "empty.lua"
    times: dict[str, list[float]] = {"runtime": [], "sampling": []}
    for round_no in range(rounds):
        order = ["runtime", "sampling"] if round_no % 2 == 0 else ["sampling", "runtime"]
        for variant in order:
            runtime = new_runtime()
            profiler = Profiler(runtime, mode="sampling") if variant == "sampling" else None
            runtime.run_file(path)
            started = time.perf_counter()
            for _ in range(repeat):
                runtime.run_file(path)
            times[variant].append((time.perf_counter() - started) / repeat)
            if profiler is not None:
                profiler.stop()
            runtime.close()
    medians = {v: statistics.median(t) * 1e6 for v, t in times.items()}
    emit(
        kind="per_run",
        workload="empty",
        runtime_us=round(medians["runtime"], 1),
        sampling_us=round(medians["sampling"], 1),
        extra_us=round(medians["sampling"] - medians["runtime"], 1),
    )


def main() -> int:
    """Parse the arguments and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20000, help="forced samples per figure")
    parser.add_argument("--depth", type=int, action="append", help="default: 1 10 30 60 120")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    emit_machine()
    forced_samples(args.depth or [1, 10, 30, 60, 120], args.samples, args.rounds)
    per_run(200, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
