"""Does the profiler see that A does three times B's work? (issue #6: A:B within 10% of 3)

    python3 bench/profiler/accuracy.py [--rounds 5] [--seconds 4] [--rate 1000 --rate 100 ...]

``ab.lua`` calls A and B alternately; A runs the same worker loop as B for three times the
iterations. Its call count is calibrated so one run lasts about ``--seconds`` without the
profiler. Each round runs it once per configuration, in an order that rotates every round:
the sampling profiler at each ``--rate`` (default 1000 Hz, the default rate, then 100 and
5000 Hz), and exact mode. Figures per run:

- ``ratio_total``: A's total weight over B's (``Profile.top_functions()``'s total_weight: the
  samples, or exact mode's self microseconds, of every stack A or B is in);
- ``ratio_self``: the self weight of the worker called from A over that called from B;
- in exact mode also ``ratio_inclusive`` (inclusive time) and whether the call counts are
  exactly the script's (A and B ``calls`` times each, the worker twice that).

Prints JSON lines: the machine, every run, then per configuration the median, min and max of
each ratio and how many rounds were within 10% of 3.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.profiler.common import emit, emit_machine, new_runtime, spread

SCRIPT = Path(__file__).resolve().parent / "ab.lua"
TOLERANCE = 0.10  # the "within 10% of 3"
TARGET = 3.0


@dataclass(frozen=True)
class Config:
    """One way of profiling the script: a mode and (sampling) a rate."""

    mode: str
    rate: float = 0.0

    @property
    def label(self) -> str:
        """``sampling@1000Hz`` or ``exact``."""
        return f"sampling@{self.rate:g}Hz" if self.mode == "sampling" else "exact"


def defined_on(path: Path, *names: str) -> dict[str, int]:
    """The line each ``local function NAME`` of the script is defined on."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: dict[str, int] = {}
    for name in names:
        marker = f"local function {name}("
        found = [number for number, text in enumerate(lines, 1) if text.startswith(marker)]
        if len(found) != 1:
            raise RuntimeError(f"{path}: expected one line starting {marker!r}, found {found}")
        out[name] = found[0]
    return out


def frame_indexes(profile: Any, path: Path, names: dict[str, int]) -> dict[str, int]:
    """The profile's frame index of each named function, found by file and defining line.

    By line rather than by name: a function's name comes from its caller's call instruction,
    which a call hook may not see (exact mode names them ``function <file:line>``).
    """
    out: dict[str, int] = {}
    for index, frame in enumerate(profile.frames):
        if frame.kind != "lua" or Path(frame.file).name != path.name:
            continue
        for name, line in names.items():
            if frame.line == line:
                out[name] = index
    missing = sorted(set(names) - set(out))
    if missing:
        seen = [frame.label for frame in profile.frames]
        raise RuntimeError(f"the profile has no frame for {missing}: frames {seen}")
    return out


def worker_self_under(profile: Any, worker: int, caller: int) -> float:
    """Self weight of ``worker`` in the stacks where ``caller`` called it directly."""
    return sum(
        float(weight)
        for stack, weight in profile.stacks.items()
        if len(stack) >= 2 and stack[-1] == worker and stack[-2] == caller
    )


def within(ratio: float) -> bool:
    """Whether ``ratio`` is within the tolerance of 3."""
    return abs(ratio - TARGET) <= TOLERANCE * TARGET


def measure(
    runtime: Any, config: Config, inner: int, calls: int, names: dict[str, int]
) -> dict[str, Any]:
    """Run the script once under ``config``; the run's figures."""
    from kernel_core.profiler.profiler import Profiler

    profiler = Profiler(runtime, mode=config.mode, rate=config.rate or 1000)
    started = time.perf_counter()
    outcome = runtime.run_file(SCRIPT, [str(inner), str(calls)])
    seconds = time.perf_counter() - started
    profile = profiler.stop()
    if outcome.status != "ok":
        raise RuntimeError(f"{SCRIPT.name} failed: {outcome.failure}")
    at = frame_indexes(profile, SCRIPT, names)
    a, b, work = at["A"], at["B"], at["work"]
    totals = {row.index: row.total_weight for row in profile.top_functions()}
    self_a = worker_self_under(profile, work, a)
    self_b = worker_self_under(profile, work, b)
    figures: dict[str, Any] = {
        "seconds": round(seconds, 3),
        "a_total": round(totals[a], 1),
        "b_total": round(totals[b], 1),
        "ratio_total": round(totals[a] / totals[b], 4),
        "ratio_self": round(self_a / self_b, 4),
    }
    if config.mode == "sampling":
        figures["samples"] = profile.samples
        figures["share_ab"] = round((totals[a] + totals[b]) / profile.total, 4)
    else:
        got = {name: profile.calls.get(index, 0) for name, index in at.items()}
        figures["calls"] = got
        figures["calls_exact"] = got == {"A": calls, "B": calls, "work": 2 * calls}
        figures["ratio_inclusive"] = round(profile.inclusive[a] / profile.inclusive[b], 4)
    return figures


def calibrate(runtime: Any, inner: int, seconds: float) -> int:
    """How many A+B calls make one run last about ``seconds`` without a profiler."""
    probe = 100
    runtime.run_file(SCRIPT, [str(inner), str(probe)])  # warm up
    started = time.perf_counter()
    outcome = runtime.run_file(SCRIPT, [str(inner), str(probe)])
    elapsed = time.perf_counter() - started
    if outcome.status != "ok":
        raise RuntimeError(f"{SCRIPT.name} failed: {outcome.failure}")
    return max(probe, round(seconds / elapsed * probe))


def benchmark(configs: list[Config], rounds: int, seconds: float, inner: int) -> None:
    """Every round runs every configuration once; then the summaries."""
    emit_machine()
    runtime = new_runtime()
    names = defined_on(SCRIPT, "A", "B", "work")
    calls = calibrate(runtime, inner, seconds)
    emit(kind="calibration", inner=inner, calls=calls, target_seconds=seconds)
    runs: dict[Config, list[dict[str, Any]]] = {config: [] for config in configs}
    for round_no in range(rounds):
        shift = round_no % len(configs)
        for config in configs[shift:] + configs[:shift]:
            figures = measure(runtime, config, inner, calls, names)
            runs[config].append(figures)
            emit(kind="run", config=config.label, round=round_no, **figures)
    for config, results in runs.items():
        summary: dict[str, Any] = {"kind": "summary", "config": config.label, "rounds": rounds}
        keys = ["ratio_total", "ratio_self"]
        if config.mode == "exact":
            keys.append("ratio_inclusive")
            summary["calls_exact"] = all(r["calls_exact"] for r in results)
        else:
            summary["samples"] = spread([r["samples"] for r in results], 0)
        for key in keys:
            values = [r[key] for r in results]
            summary[key] = spread(values)
            summary[f"{key}_within_10pct"] = f"{sum(within(v) for v in values)}/{len(values)}"
        emit(**summary)
    runtime.close()


def main() -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one run")
    parser.add_argument(
        "--rate",
        type=float,
        action="append",
        help="sampling rate in Hz (repeatable; default: 1000, 100 and 5000)",
    )
    parser.add_argument("--inner", type=int, default=10000, help="B's loop iterations per call")
    parser.add_argument("--no-exact", action="store_true", help="skip exact mode")
    args = parser.parse_args()
    if args.rounds < 3:
        parser.error("use at least 3 rounds: the summary reports medians")
    configs = [Config("sampling", rate) for rate in (args.rate or [1000.0, 100.0, 5000.0])]
    if not args.no_exact:
        configs.append(Config("exact"))
    benchmark(configs, args.rounds, args.seconds, args.inner)
    return 0


if __name__ == "__main__":
    sys.exit(main())
