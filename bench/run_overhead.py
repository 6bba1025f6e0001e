"""What ``llmspell run`` costs over bare Lua: the same workloads, the same rounds, interleaved.

    python3 bench/run_overhead.py [--rounds 7] [--workload fib ...] [--no-process]
    python3 bench/run_overhead.py --once runtime fib   (one run; used by bench/callgrind.sh)

Variants, per workload and round (their order rotates every round so drift hits all alike):

- ``bare``: the script in a bare ``lupa.lua54.LuaRuntime`` in this process.
- ``runtime``: ``ScriptRuntime.run_file`` in this process (what ``llmspell run`` executes:
  sandbox, globals, hook multiplexer, error handler, limits).
- ``cli``: ``llmspell run WORKLOAD`` as a process, against ``bare-process``: a Python process
  that imports lupa and runs the script bare. Both include interpreter start-up.

Each in-process sample runs the workload ``repeat`` times (calibrated once on ``bare`` so one
sample takes at least ``--min-sample`` seconds); runtimes are created outside the timing.
Prints one JSON object per line: every figure, then the medians and ratios (goal <= 1.02).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ROOT / "bench" / "workloads"
sys.path.insert(0, str(ROOT))

from bench.tempdirs import bench_dir  # noqa: E402

BARE_PROCESS = (
    "import sys, lupa.lua54 as lupa\n"
    "src = open(sys.argv[1], encoding='utf-8').read()\n"
    "lupa.LuaRuntime().execute(src)\n"
)


def emit(**fields: Any) -> None:
    """One result line."""
    print(json.dumps(fields), flush=True)


def bare_runner(path: Path) -> Callable[[int], Any]:
    """A fresh bare LuaRuntime; the returned function runs the script ``n`` times."""
    import lupa.lua54 as lupa

    lua = lupa.LuaRuntime()
    chunk = lua.eval("function(src, name) return assert(load(src, name, 't')) end")
    source = path.read_text(encoding="utf-8")

    def run(n: int) -> Any:
        result = None
        for _ in range(n):
            result = chunk(source, f"@{path}")()
        return result

    return run


def runtime_runner(path: Path) -> Callable[[int], Any]:
    """A fresh ScriptRuntime as ``llmspell run`` builds it; runs the script ``n`` times."""
    from kernel_core.config import load_config
    from kernel_core.runtime.script_runtime import BufferSink, ScriptContext, ScriptRuntime

    state = bench_dir() / "state.sqlite3"
    config = load_config(project_dir=path.parent, overrides={"state": {"path": str(state)}})
    return file_runner(ScriptRuntime(config, BufferSink(), script=ScriptContext(path)), path)


def file_runner(runtime: Any, path: Path) -> Callable[[int], Any]:
    """Runs ``path`` ``n`` times in ``runtime`` (a ScriptRuntime) and returns the last value;
    a failed run stops the benchmark, since its timing would measure the error path."""

    def run(n: int) -> Any:
        result = None
        for _ in range(n):
            outcome = runtime.run_file(path)
            if outcome.status != "ok":
                raise RuntimeError(f"{path.name} failed: {outcome.failure}")
            result = runtime.from_lua(outcome.values[0]) if outcome.values else None
        return result

    return run


RUNNERS = {"bare": bare_runner, "runtime": runtime_runner}


def time_in_process(variant: str, path: Path, repeat: int) -> tuple[float, Any]:
    run = RUNNERS[variant](path)
    started = time.perf_counter()
    result = run(repeat)
    return time.perf_counter() - started, result


def llmspell_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m llmspell_tui``."""
    script = Path(sys.executable).parent / "llmspell"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "llmspell_tui"]


def child_env() -> dict[str, str]:
    """The environment of measured processes: State in memory, and .pyc files allowed, as
    on a user's machine (a PYTHONDONTWRITEBYTECODE=1 shell would recompile every module on
    every start and measure the compiler instead)."""
    env = {**os.environ, "LLMSPELL_STATE__PATH": ":memory:"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def time_process(command: list[str]) -> float:
    env = child_env()
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {proc.stderr}")
    return elapsed


def calibrate(path: Path, min_sample: float) -> int:
    """How many runs make one sample last at least ``min_sample`` seconds on ``bare``."""
    time_in_process("bare", path, 1)  # warm caches first
    elapsed, _ = time_in_process("bare", path, 1)
    return max(1, math.ceil(min_sample / elapsed))


def machine() -> dict[str, Any]:
    import lupa

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "lupa": lupa.__version__,
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
    }


def benchmark(names: list[str], rounds: int, min_sample: float, processes: bool) -> None:
    emit(kind="machine", date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), **machine())
    for name in names:
        path = WORKLOADS / f"{name}.lua"
        repeat = calibrate(path, min_sample)
        samples: dict[str, list[float]] = {"bare": [], "runtime": []}
        if processes:
            samples |= {"bare-process": [], "cli": []}
        results: dict[str, Any] = {}
        variants = list(samples)
        for round_no in range(rounds):
            shift = round_no % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                if variant == "cli":
                    elapsed = time_process([*llmspell_command(), "run", str(path)])
                elif variant == "bare-process":
                    elapsed = time_process([sys.executable, "-c", BARE_PROCESS, str(path)])
                else:
                    elapsed, results[variant] = time_in_process(variant, path, repeat)
                    elapsed /= repeat
                samples[variant].append(elapsed)
                emit(
                    kind="sample",
                    workload=name,
                    variant=variant,
                    round=round_no,
                    seconds=round(elapsed, 6),
                    repeat=repeat if variant in RUNNERS else 1,
                )
        if results["bare"] != results["runtime"]:
            raise RuntimeError(f"{name}: results differ: {results}")
        medians = {v: statistics.median(s) for v, s in samples.items()}
        emit(
            kind="median",
            workload=name,
            rounds=rounds,
            repeat=repeat,
            **{f"{v}_s": round(m, 6) for v, m in medians.items()},
        )
        emit(
            kind="ratio",
            workload=name,
            figure="runtime/bare",
            ratio=round(medians["runtime"] / medians["bare"], 4),
            goal=1.02,
        )
        if processes:
            emit(
                kind="ratio",
                workload=name,
                figure="cli/bare-process",
                ratio=round(medians["cli"] / medians["bare-process"], 4),
                extra_ms=round((medians["cli"] - medians["bare-process"]) * 1000, 1),
            )


def main() -> int:
    """Run the benchmark (or one run with --once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--min-sample", type=float, default=0.25, help="seconds per sample")
    parser.add_argument(
        "--workload",
        action="append",
        choices=["fib", "tables", "strings"],
        help="one of the workloads (repeatable; default: all)",
    )
    parser.add_argument("--no-process", action="store_true", help="skip the process variants")
    parser.add_argument("--once", nargs=2, metavar=("VARIANT", "WORKLOAD"))
    args = parser.parse_args()
    if args.once:
        variant, name = args.once
        run = RUNNERS[variant](WORKLOADS / f"{name}.lua")
        run(1)
        return 0
    if args.rounds < 5:
        parser.error("use at least 5 rounds: the medians are what the docs report")
    names = args.workload or ["fib", "tables", "strings"]
    benchmark(names, args.rounds, args.min_sample, not args.no_process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
