"""A kernel cell against ``llmspell run`` of the same code: same process, interleaved rounds.

    python3 bench/kernel/bench_cell_speed.py [--rounds 7] [--workload fib ...]
    python3 bench/kernel/bench_cell_speed.py --once cell fib     (one run; cell_callgrind.sh)

Variants, per workload (bench/workloads/):

- ``script``: ``ScriptRuntime.run_file`` of the workload, what ``llmspell run`` executes.
- ``cell``: the workload's text as one cell, ``CellExecutor.execute`` (what an
  execute_request runs on the kernel's execution thread: cell file, REPL rules, value shown).
- ``split``: the workload's declarations in one cell, run once beforehand, and its work in
  a second cell that is timed: the second cell reaches the first one's locals as shared
  upvalues (kernel/repl.lua). Only for workloads that have a split (SPLITS).

Each sample runs the code ``repeat`` times (calibrated on ``script`` so that a sample lasts
at least ``--min-sample`` seconds); worlds are created outside the timing, and the variants'
order rotates every round. Prints JSON lines: samples, medians, and the ratios to ``script``
(goal: cell <= 1.05).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ROOT / "bench" / "workloads"
sys.path.insert(0, str(ROOT))

from bench.run_overhead import file_runner, machine  # noqa: E402
from bench.tempdirs import bench_dir  # noqa: E402

# (declarations cell, work cell) of a workload run as two cells
FIB_DECLARATIONS = """local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end"""
TABLES_DECLARATIONS = """local ring, size = {}, 1024
local point = { x = 0, y = 0 }
local sum = 0"""
TABLES_WORK = """ring, point, sum = {}, { x = 0, y = 0 }, 0
for i = 1, 3000000 do
  point.x = point.x + 1
  point.y = point.y + (i % 7)
  ring[(i % size) + 1] = point.y
  sum = sum + (ring[((i * 7) % size) + 1] or 0)
end
return sum"""
SPLITS: dict[str, tuple[str, str]] = {
    "fib": (FIB_DECLARATIONS, "return fib(27)"),
    "tables": (TABLES_DECLARATIONS, TABLES_WORK),
}


def emit(**fields: Any) -> None:
    """One result line."""
    print(json.dumps(fields), flush=True)


def _config(directory: Path) -> Any:
    from kernel_core.config import load_config

    state = bench_dir() / "state.sqlite3"
    return load_config(project_dir=directory, overrides={"state": {"path": str(state)}})


def script_runner(path: Path) -> Callable[[int], Any]:
    """A ScriptRuntime as ``llmspell run`` builds it; runs the file ``n`` times."""
    from kernel_core.runtime.script_runtime import BufferSink, ScriptContext, ScriptRuntime

    runtime = ScriptRuntime(_config(path.parent), BufferSink(), script=ScriptContext(path))
    return file_runner(runtime, path)


def _executor(path: Path) -> Any:
    from kernel_core.kernel.cells import CellFiles
    from kernel_core.kernel.executor import CellExecutor
    from kernel_core.runtime.script_runtime import BufferSink

    cells = CellFiles(bench_dir("llmspell-bench-cells-"))
    return CellExecutor(_config(path.parent), BufferSink(), cells)


def _cell_runner(executor: Any, code: str) -> Callable[[int], Any]:
    count = [0]

    def run(n: int) -> Any:
        result = None
        for _ in range(n):
            count[0] += 1
            outcome = executor.execute(code, count[0], {})
            if outcome.status != "ok":
                raise RuntimeError(f"cell failed: {outcome.error}")
            result = outcome.result_text
        return result

    return run


def cell_runner(path: Path) -> Callable[[int], Any]:
    """A kernel's CellExecutor; runs the workload's text as a cell ``n`` times."""
    return _cell_runner(_executor(path), path.read_text(encoding="utf-8"))


def split_runner(path: Path) -> Callable[[int], Any]:
    """A CellExecutor that ran the declarations cell; runs the work cell ``n`` times."""
    declarations, work = SPLITS[path.stem]
    executor = _executor(path)
    _cell_runner(executor, declarations)(1)
    return _cell_runner(executor, work)


def empty_runner(variant: str) -> Callable[[int], Any]:
    """The same world doing nothing (``return 0``): the baseline callgrind subtracts."""
    empty = WORKLOADS / "empty.lua"
    if variant == "script":
        return script_runner(empty)
    executor = _executor(empty)
    if variant == "split":
        _cell_runner(executor, "local unused = 0")(1)
        return _cell_runner(executor, "return unused")
    return _cell_runner(executor, empty.read_text(encoding="utf-8"))


RUNNERS = {"script": script_runner, "cell": cell_runner, "split": split_runner}


def same_result(script: Any, cell: Any) -> bool:
    """A script's value against a cell's shown text (the cell shows integers as written)."""
    return str(script) == str(cell)


def benchmark(names: list[str], rounds: int, min_sample: float) -> None:
    emit(kind="machine", date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), **machine())
    for name in names:
        path = WORKLOADS / f"{name}.lua"
        variants = ["script", "cell"] + (["split"] if name in SPLITS else [])
        runners = {v: RUNNERS[v](path) for v in variants}
        runners["script"](1)  # warm up
        started = time.perf_counter()
        runners["script"](1)
        repeat = max(1, math.ceil(min_sample / (time.perf_counter() - started)))
        samples: dict[str, list[float]] = {v: [] for v in variants}
        results: dict[str, Any] = {}
        for round_no in range(rounds):
            shift = round_no % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                started = time.perf_counter()
                results[variant] = runners[variant](repeat)
                elapsed = (time.perf_counter() - started) / repeat
                samples[variant].append(elapsed)
                emit(
                    kind="sample",
                    workload=name,
                    variant=variant,
                    round=round_no,
                    seconds=round(elapsed, 6),
                    repeat=repeat,
                )
        for variant in variants[1:]:
            if not same_result(results["script"], results[variant]):
                raise RuntimeError(f"{name}: results differ: {results}")
        medians = {v: statistics.median(s) for v, s in samples.items()}
        emit(
            kind="median",
            workload=name,
            rounds=rounds,
            repeat=repeat,
            **{f"{v}_s": round(m, 6) for v, m in medians.items()},
        )
        for variant in variants[1:]:
            emit(
                kind="ratio",
                workload=name,
                figure=f"{variant}/script",
                ratio=round(medians[variant] / medians["script"], 4),
                goal=1.05 if variant == "cell" else None,
            )


def main() -> int:
    """Run the benchmark (or one run with --once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--min-sample", type=float, default=0.25, help="seconds per sample")
    parser.add_argument(
        "--workload", action="append", choices=["fib", "tables", "strings"], help="repeatable"
    )
    parser.add_argument("--once", nargs=2, metavar=("VARIANT", "WORKLOAD"))
    args = parser.parse_args()
    if args.once:
        variant, name = args.once
        run = (
            empty_runner(variant)
            if name == "empty"
            else RUNNERS[variant](WORKLOADS / f"{name}.lua")
        )
        run(1)
        return 0
    if args.rounds < 5:
        parser.error("use at least 5 rounds: the medians are what the docs report")
    benchmark(args.workload or ["fib", "tables"], args.rounds, args.min_sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())
