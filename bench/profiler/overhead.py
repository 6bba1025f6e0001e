"""What the profiler costs a running script: the debugger benchmark's three workloads, profiled.

    python3 bench/profiler/overhead.py [--rounds 7] [--min-sample 0.5] [--workload fib ...]
    python3 bench/profiler/overhead.py --once VARIANT WORKLOAD [--repeat N]  (callgrind.sh)

Variants, per workload and round, in an order that rotates every round:

- ``bare``: the workload in a bare ``lupa.lua54.LuaRuntime`` (bench/run_overhead.py's runner);
- ``runtime``: ``ScriptRuntime.run_file`` without a profiler (what ``llmspell run`` does);
- ``sampling``: the same with the sampling profiler on at the default rate (1000 Hz);
- ``sampling5k``: the sampling profiler at 5000 Hz;
- ``exact``: the profiler in exact mode (call/return hooks).

Two diagnostics, run only when named with ``--variant``, split ``sampling``'s cost in parts:

- ``timer``: ``runtime`` plus a 1000 Hz sampler timer thread that arms nothing (its armer
  tracks no Lua thread) but, like the real one, reads the Lua thread's CPU clock and labels
  the ticks: the cost of the timer thread's wake-ups alone;
- ``hookonly``: ``sampling`` with profiler.lua's sample function replaced by an empty one:
  the timer and the hook firing, without the stack walk and aggregation.

Each sample runs the workload ``repeat`` times, calibrated per variant so one sample lasts at
least ``--min-sample`` seconds: long enough for the profiler to take hundreds of samples. The
sample count of every profiled sample is printed and checked, since a profiler that took no
samples would cost nothing. The runtime and profiler are built outside the timed region; the
profile is drained at the end of every run (as ``llmspell profile`` does) inside it.

CPU time is taken around the timed region twice: the process's and the Lua thread's
(``time.process_time`` and ``time.thread_time``). Their difference is what other threads
spent, in the profiled variants the sampler's timer thread, which runs on another core.

Prints JSON lines: every sample, then per workload the medians, the ratios to ``runtime``
(the issue's goal: ``sampling`` <= 1.05) and to ``bare``, and the timer thread's CPU. Each
ratio is given twice: of wall-clock time (``ratio``, what the goal is about) and of the Lua
thread's CPU time (``cpu_ratio``), which other jobs on a shared machine do not inflate: a run
preempted by them loses wall time, not CPU time.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.profiler.common import WORKLOADS, emit, emit_machine, new_runtime
from bench.run_overhead import bare_runner

VARIANTS = ["bare", "runtime", "sampling", "sampling5k", "exact"]
DIAGNOSTICS = ["timer", "hookonly"]
# 1000 Hz: [profiler] rate's default
RATES = {"sampling": 1000.0, "sampling5k": 5000.0, "timer": 1000.0, "hookonly": 1000.0}
GOAL = 1.05  # sampling / runtime, at the default rate


class Runner:
    """One variant, ready to run a workload: ``run(n)`` runs it ``n`` times, ``finish()`` ends
    the profile (if any) and says what it saw."""

    def __init__(self, variant: str, path: Path) -> None:
        self.variant = variant
        self.path = path
        self.profiler: Any = None
        self.timer: Any = None
        if variant == "bare":
            self._bare: Callable[[int], Any] | None = bare_runner(path)
            return
        self._bare = None
        self.runtime = new_runtime()
        if variant == "timer":
            from kernel_core.hooks.async_arm import AsyncArmer
            from kernel_core.profiler.sampler import Sampler

            # the Lua thread is this one (run_file runs here): its clock is read every wake
            self.timer = Sampler(AsyncArmer(), RATES[variant], lambda: None, threading.get_ident())
            self.timer.resume()
        elif variant in RATES or variant == "exact":
            from kernel_core.profiler.profiler import Profiler

            mode = "exact" if variant == "exact" else "sampling"
            self.profiler = Profiler(self.runtime, mode=mode, rate=RATES.get(variant, 1000.0))
            if variant == "hookonly":
                self.runtime.mux.sampler = self.runtime.lua.eval("function() end")

    def run(self, n: int) -> Any:
        """Run the workload ``n`` times; the last run's result as plain data."""
        if self._bare is not None:
            return self._bare(n)
        result = None
        for _ in range(n):
            outcome = self.runtime.run_file(self.path)
            if outcome.status != "ok":
                raise RuntimeError(f"{self.path.name} failed: {outcome.failure}")
            result = self.runtime.from_lua(outcome.values[0]) if outcome.values else None
        return result

    def finish(self) -> dict[str, Any]:
        """Stop the profiler: its sample count (the profile's total weight), the ticks counted,
        the samples the timer armed, and the share of ticks the Lua thread was not scheduled."""
        if self._bare is not None:
            return {}
        out: dict[str, Any] = {}
        if self.timer is not None:
            # ticks counted, none armed: "armed" here is what the timer would have armed
            self.timer.pause()
            ticks = round(self.timer.active_seconds() * self.timer.rate)
            out = {"samples": 0, "ticks": ticks, "armed": ticks}
            self.timer.close()
        if self.profiler is not None:
            sampler = self.profiler.sampler  # None in exact mode
            profile = self.profiler.stop()
            if sampler is not None:
                out = {
                    "samples": profile.samples,
                    "ticks": round(sampler.active_seconds() * sampler.rate),
                    "armed": sampler.armed,
                }
                if self.variant != "hookonly":  # its empty sample function labels nothing
                    share = off_cpu_weight(profile) / max(1.0, profile.total)
                    out["off_cpu_share"] = round(share, 4)
            else:
                out = {"calls": sum(profile.calls.values())}
        self.runtime.close()
        return out


def off_cpu_weight(profile: Any) -> float:
    """The weight of the ticks the Lua thread spent not scheduled (a busy machine)."""
    from kernel_core.profiler.sampler import OFF_CPU

    label = f"wait: {OFF_CPU}"
    return float(
        sum(
            weight
            for stack, weight in profile.stacks.items()
            if stack and profile.frames[stack[-1]].name == label
        )
    )


def timed(runner: Runner, repeat: int) -> tuple[dict[str, Any], Any]:
    """Run ``repeat`` times; per-run seconds, CPU of the Lua thread and of the others."""
    process0, thread0 = time.process_time(), time.thread_time()
    started = time.perf_counter()
    result = runner.run(repeat)
    wall = time.perf_counter() - started
    process = time.process_time() - process0
    thread = time.thread_time() - thread0
    figures = {
        "wall": wall,
        "seconds": wall / repeat,
        "cpu_seconds": thread / repeat,  # the Lua thread's: not slowed by other jobs' load
        "lua_cpu": thread,
        "other_cpu": max(0.0, process - thread),
    }
    figures.update(runner.finish())
    return figures, result


def check_samples(variant: str, figures: dict[str, Any]) -> dict[str, Any]:
    """The expected sample count of a sampling variant, and whether the profiler came close.

    Ticks are wall-clock (labelled running, host call or not scheduled), so ``samples`` (the
    profile's total weight) tracks elapsed time even when samples are missed; ``armed``
    counts the samples the timer actually armed (at most one per wake-up, none while one
    armed earlier has not fired).
    """
    if variant not in RATES:
        return {}
    expected = RATES[variant] * figures["wall"]
    if figures["armed"] == 0:
        raise RuntimeError(f"{variant}: the profiler armed no sample in {figures['wall']:.2f} s")
    return {"expected": round(expected), "armed_share": round(figures["armed"] / expected, 3)}


def calibrate(variant: str, path: Path, min_sample: float) -> int:
    """How many runs make one sample of ``variant`` last at least ``min_sample`` seconds."""
    runner = Runner(variant, path)
    runner.run(1)  # warm caches first
    started = time.perf_counter()
    runner.run(1)
    elapsed = time.perf_counter() - started
    runner.finish()
    return max(1, math.ceil(min_sample / elapsed))


def benchmark(names: list[str], variants: list[str], rounds: int, min_sample: float) -> None:
    """Interleaved rounds per workload; then medians and ratios."""
    emit_machine()
    for name in names:
        path = WORKLOADS / f"{name}.lua"
        repeats = {v: calibrate(v, path, min_sample) for v in variants}
        samples: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
        results: dict[str, Any] = {}
        for round_no in range(rounds):
            shift = round_no % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                runner = Runner(variant, path)  # built outside the timing
                figures, results[variant] = timed(runner, repeats[variant])
                figures |= check_samples(variant, figures)
                samples[variant].append(figures)
                emit(
                    kind="sample",
                    workload=name,
                    variant=variant,
                    round=round_no,
                    repeat=repeats[variant],
                    **{k: round(v, 6) if isinstance(v, float) else v for k, v in figures.items()},
                )
        if len({json.dumps(r) for r in results.values()}) != 1:
            raise RuntimeError(f"{name}: results differ: {results}")
        summarize(name, variants, rounds, repeats, samples)


def summarize(
    name: str,
    variants: list[str],
    rounds: int,
    repeats: dict[str, int],
    samples: dict[str, list[dict[str, Any]]],
) -> None:
    """The medians, the ratios and the timer thread's CPU of one workload."""

    def med(variant: str, key: str) -> float:
        return float(statistics.median(s[key] for s in samples[variant]))

    medians = {v: med(v, "seconds") for v in variants}
    cpu = {v: med(v, "cpu_seconds") for v in variants}
    emit(
        kind="median",
        workload=name,
        rounds=rounds,
        repeat=repeats,
        **{f"{v}_s": round(m, 6) for v, m in medians.items()},
        **{f"{v}_cpu_s": round(m, 6) for v, m in cpu.items()},
    )
    for variant in variants:
        for base in ("runtime", "bare"):
            if variant in (base, "bare") or base not in medians:
                continue
            goal = {"goal": GOAL} if (variant, base) == ("sampling", "runtime") else {}
            emit(
                kind="ratio",
                workload=name,
                figure=f"{variant}/{base}",
                ratio=round(medians[variant] / medians[base], 4),
                cpu_ratio=round(cpu[variant] / cpu[base], 4),
                **goal,
            )
    for variant in variants:
        if variant == "bare":
            continue
        record: dict[str, Any] = {
            "kind": "cpu",
            "workload": name,
            "variant": variant,
            # CPU of threads other than Lua's, per second of the run (1.0 = a whole core)
            "other_cpu_per_s": round(
                statistics.median(s["other_cpu"] / s["wall"] for s in samples[variant]), 4
            ),
            "lua_cpu_per_s": round(
                statistics.median(s["lua_cpu"] / s["wall"] for s in samples[variant]), 4
            ),
        }
        if variant in RATES:
            record["samples_per_sample"] = round(med(variant, "samples"))
            record["ticks_per_sample"] = round(med(variant, "ticks"))
            record["armed_per_sample"] = round(med(variant, "armed"))
            record["armed_share"] = med(variant, "armed_share")
            record["other_cpu_per_tick_us"] = round(
                statistics.median(s["other_cpu"] / s["ticks"] for s in samples[variant]) * 1e6, 2
            )
            if variant != "timer":
                record["other_cpu_per_arm_us"] = round(
                    statistics.median(s["other_cpu"] / s["armed"] for s in samples[variant]) * 1e6,
                    2,
                )
            if "off_cpu_share" in samples[variant][0]:
                record["off_cpu_share"] = med(variant, "off_cpu_share")
        emit(**record)


def once(variant: str, name: str, repeat: int) -> None:
    """Run one workload ``repeat`` times (fresh runner each) and print one line: the median
    run's seconds and, profiled, the samples taken (for callgrind.sh)."""
    path = WORKLOADS / f"{name}.lua"
    runs = []
    for _ in range(repeat):
        runner = Runner(variant, path)
        figures, _ = timed(runner, 1)
        runs.append(figures)
    seconds = statistics.median(r["seconds"] for r in runs)
    extra = {k: runs[-1][k] for k in ("samples", "ticks", "armed", "calls") if k in runs[-1]}
    emit(kind="once", variant=variant, workload=name, seconds=round(seconds, 6), **extra)


def main() -> int:
    """Run the benchmark (or one variant with --once)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--min-sample", type=float, default=0.5, help="seconds per sample")
    parser.add_argument(
        "--workload",
        action="append",
        choices=["fib", "tables", "strings"],
        help="one of the workloads (repeatable; default: all)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        choices=VARIANTS + DIAGNOSTICS,
        help="repeatable; default: all but the diagnostics",
    )
    parser.add_argument("--once", nargs=2, metavar=("VARIANT", "WORKLOAD"))
    parser.add_argument("--repeat", type=int, default=1, help="with --once: runs to take")
    args = parser.parse_args()
    if args.once:
        variant, name = args.once
        if variant not in VARIANTS + DIAGNOSTICS or not (WORKLOADS / f"{name}.lua").is_file():
            parser.error(f"--once takes one of {VARIANTS + DIAGNOSTICS} and a workload name")
        once(variant, name, args.repeat)
        return 0
    if args.rounds < 5:
        parser.error("use at least 5 rounds: the medians are what the docs report")
    variants = args.variant or VARIANTS
    for base in ("runtime", "bare"):
        if base not in variants:
            variants = [base, *variants]
    benchmark(args.workload or ["fib", "tables", "strings"], variants, args.rounds, args.min_sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())
