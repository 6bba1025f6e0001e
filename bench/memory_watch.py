"""What the memory limit costs a run: the workloads of bench/workloads under ScriptRuntime with
``memory_limit`` 0 (``off``), with the limit but no watcher thread (``counted``: lupa's counting
allocator alone) and with the limit and its watcher (``watched``: what runs by default).

    python3 bench/memory_watch.py [--rounds 9] [--workload fib ...]
    python3 bench/memory_watch.py --once watched strings   (one run, for callgrind)

Variants are interleaved, their order rotating every round; runtimes are made outside the
timing. Each sample runs the workload ``repeat`` times (calibrated on ``off`` to take at least
``--min-sample`` seconds). Prints one JSON object per line: medians and ratios to ``off``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ROOT / "bench" / "workloads"
sys.path.insert(0, str(ROOT))

VARIANTS = ("off", "counted", "watched")


def _runtime(variant: str, workdir: Path) -> Any:
    from kernel_core.config import load_config
    from kernel_core.runtime.script_runtime import BufferSink, ScriptRuntime

    limit = "0" if variant == "off" else "1GiB"
    config = load_config(
        project_dir=workdir,
        environ={},
        overrides={"runtime": {"memory_limit": limit}, "state": {"path": ":memory:"}},
    )
    runtime = ScriptRuntime(config, BufferSink(), hook_coroutines=False)
    if variant == "counted":
        runtime._memory_watcher = lambda: None  # the allocator counts, no thread polls
    return runtime


def _sample(runtime: Any, script: Path, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        outcome = runtime.run_file(script)
        if outcome.status != "ok":
            raise SystemExit(f"{script.name}: {outcome.status} {outcome.failure}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--workload", action="append")
    parser.add_argument("--min-sample", type=float, default=0.3)
    parser.add_argument("--once", nargs=2, metavar=("VARIANT", "WORKLOAD"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.once:
            variant, name = args.once
            runtime = _runtime(variant, workdir)
            seconds = _sample(runtime, WORKLOADS / f"{name}.lua", 1)
            watch = runtime._memory_watch
            polls = watch.polls if watch is not None else 0
            print(
                json.dumps(
                    {"variant": variant, "workload": name, "seconds": seconds, "polls": polls}
                )
            )
            return
        for name in args.workload or ["fib", "tables", "strings"]:
            script = WORKLOADS / f"{name}.lua"
            runtimes = {v: _runtime(v, workdir) for v in VARIANTS}
            once = _sample(runtimes["off"], script, 1)
            repeat = max(1, int(args.min_sample / max(once, 1e-6)))
            times: dict[str, list[float]] = {v: [] for v in VARIANTS}
            for round_ in range(args.rounds):
                order = VARIANTS[round_ % 3 :] + VARIANTS[: round_ % 3]
                for variant in order:
                    times[variant].append(_sample(runtimes[variant], script, repeat) / repeat)
            medians = {v: statistics.median(t) for v, t in times.items()}
            print(
                json.dumps(
                    {
                        "workload": name,
                        "repeat": repeat,
                        "rounds": args.rounds,
                        "median_ms": {v: round(m * 1000, 3) for v, m in medians.items()},
                        "counted/off": round(medians["counted"] / medians["off"], 4),
                        "watched/off": round(medians["watched"] / medians["off"], 4),
                        "watched/counted": round(medians["watched"] / medians["counted"], 4),
                    }
                ),
                flush=True,
            )
            for runtime in runtimes.values():
                runtime.close()


if __name__ == "__main__":
    main()
