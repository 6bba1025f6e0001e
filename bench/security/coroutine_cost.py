"""What hooking coroutines costs (issue 13: every coroutine reachable by interrupt and limits).

A kernel, and ``llmspell run`` under a time or instruction limit, replace coroutine.create,
wrap and resume with the multiplexer's (each new thread is tracked, so an interrupt arms it);
``llmspell run`` without a limit keeps Lua's own. Two worlds in one process, the same
workloads, interleaved rounds, medians:

  create+resume   N coroutines created, each resumed to its end (a generator per item)
  resume          one coroutine resumed N times (a long-lived generator)
  wrap            N wrapped generators, each called twice

Run:  python bench/security/coroutine_cost.py [--rounds 7] [--n 20000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.kernel.common import emit, machine
from kernel_core.config import load_config
from kernel_core.runtime.script_runtime import BufferSink, ScriptRuntime

WORKLOADS = {
    "create+resume": (
        "local n = ... for i = 1, n do "
        "local co = coroutine.create(function(x) coroutine.yield(x) return x end) "
        "coroutine.resume(co, i) coroutine.resume(co) end"
    ),
    "resume": (
        "local n = ... local co = coroutine.create(function() "
        "while true do coroutine.yield(1) end end) "
        "for i = 1, n do coroutine.resume(co) end"
    ),
    "wrap": (
        "local n = ... for i = 1, n do "
        "local f = coroutine.wrap(function() coroutine.yield(1) return 2 end) f() f() end"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=20000)
    args = parser.parse_args()
    emit(machine())
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(
            project_dir=Path(tmp), overrides={"state": {"path": str(Path(tmp) / "s.sqlite3")}}
        )
        worlds = {
            hooked: ScriptRuntime(config, BufferSink(), hook_coroutines=hooked)
            for hooked in (False, True)
        }
        for name, code in WORKLOADS.items():
            times: dict[bool, list[float]] = {False: [], True: []}
            fns = {h: w.compile(code, f"={name}")[0] for h, w in worlds.items()}
            for _ in range(args.rounds):
                for hooked, world in worlds.items():
                    t0 = time.perf_counter()
                    outcome = world.call(fns[hooked], args.n)
                    times[hooked].append((time.perf_counter() - t0) * 1000)
                    assert outcome.status == "ok", outcome.failure
            own, hooked_ms = statistics.median(times[False]), statistics.median(times[True])
            emit(
                {
                    "bench": "coroutine_cost",
                    "workload": name,
                    "n": args.n,
                    "lua_own_ms": round(own, 2),
                    "hooked_ms": round(hooked_ms, 2),
                    "ratio": round(hooked_ms / own, 2),
                }
            )
        for world in worlds.values():
            world.close()


if __name__ == "__main__":
    main()
