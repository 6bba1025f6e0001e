"""What a function breakpoint waiting for its function costs (the call hook, debugger.lua).

    python3 bench/debugger/pending_function.py [--rounds 5] [--workload fib ...]
    python3 bench/debugger/pending_function.py --once VARIANT WORKLOAD   (for callgrind)

Variants, interleaved per round, on bench/workloads/ with overhead.py's helper in front:

- ``attached``: a debugger, no breakpoints (no hook: the baseline);
- ``fnwait``: one function breakpoint on a name that never comes to exist, so a call hook
  looks for it on every call of the run (the worst case: it waits the whole run);
- ``fnbound``: one on the helper, which exists: wrapped at once, no hook.

Prints JSON lines: medians and the ratios to ``attached``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.debugger.overhead import (  # noqa: E402
    _attach,
    _request,
    _runtime,
    bench_file,
    calibrate,
)
from bench.run_overhead import file_runner  # noqa: E402

VARIANTS = ["attached", "fnwait", "fnbound"]


def runner(variant: str) -> Callable[[Path, str], Callable[[int], Any]]:
    def make(path: Path, name: str) -> Callable[[int], Any]:
        runtime = _runtime()
        session = _attach(runtime)
        if variant != "attached":
            target = "never_defined_anywhere" if variant == "fnwait" else "print"
            body = _request(session, "setFunctionBreakpoints", breakpoints=[{"name": target}])
            verified = body["body"]["breakpoints"][0]["verified"]
            if verified != (variant == "fnbound"):
                raise RuntimeError(f"{variant}: the breakpoint is verified={verified}")
            hook = runtime.mux.real_debug.gethook()
            mask = hook[1] if isinstance(hook, tuple) else ""
            if (mask == "c") != (variant == "fnwait"):
                raise RuntimeError(f"{variant}: hook mask {mask!r}")
        return file_runner(runtime, path)

    return make


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-sample", type=float, default=0.25)
    parser.add_argument("--workload", action="append", choices=["fib", "tables", "strings"])
    parser.add_argument("--once", nargs=2, metavar=("VARIANT", "WORKLOAD"))
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="llmspell-fnbp-bench-"))
    if args.once:
        variant, name = args.once
        runner(variant)(bench_file(name, directory), name)(1)
        return 0
    from bench.debugger import overhead

    overhead.RUNNERS.update({v: runner(v) for v in VARIANTS})
    for name in args.workload or ["fib", "tables", "strings"]:
        path = bench_file(name, directory)
        repeats = {v: calibrate(v, path, name, args.min_sample) for v in VARIANTS}
        samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for round_no in range(args.rounds):
            shift = round_no % len(VARIANTS)
            for variant in VARIANTS[shift:] + VARIANTS[:shift]:
                run = overhead.RUNNERS[variant](path, name)
                started = time.perf_counter()
                run(repeats[variant])
                samples[variant].append((time.perf_counter() - started) / repeats[variant])
        medians = {v: statistics.median(s) for v, s in samples.items()}
        for variant in VARIANTS[1:]:
            ratio = medians[variant] / medians["attached"]
            print(
                json.dumps(
                    {
                        "kind": "ratio",
                        "workload": name,
                        "rounds": args.rounds,
                        "figure": f"{variant}/attached",
                        "ratio": round(ratio, 3),
                    }
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
