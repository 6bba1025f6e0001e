"""What an attached debugger costs a running script, against bare lupa in the same run.

    python3 bench/debugger/overhead.py [--rounds 7] [--workload fib ...] [--variant ...]
    python3 bench/debugger/overhead.py --once VARIANT WORKLOAD   (one run, for callgrind.sh)

Each workload of ``bench/workloads/`` runs with a never-called helper function put in front of
it (the same file for every variant, bare included), so breakpoints "off the hot path" sit in
the file that runs. Variants, per workload and round, in an order that rotates every round:

- ``bare``: the file in a bare ``lupa.lua54.LuaRuntime``;
- ``runtime``: ``ScriptRuntime.run_file`` without a debugger (what ``llmspell run`` does);
- ``attached``: the same with a ``DebugSession`` created on the runtime, as the kernel does,
  and no breakpoints;
- ``bp10``: ten breakpoints on the helper's lines, set before the file loads (instrumented);
- ``cond``: one conditional breakpoint on the hot line whose condition is always false;
- ``late``: one breakpoint on a helper line set *after* the file was compiled, so it is
  checked by the late-breakpoint gate (or the fallback line hook); the compiled chunk is then
  called again and again;
- ``hits``: one breakpoint on the hot line with a hit condition that never stops (every pass
  counted, in Lua);
- ``logpoint``: a log point on the hot line whose condition is always false.

Each sample runs the workload ``repeat`` times, calibrated per variant so that one sample lasts
at least ``--min-sample`` seconds (slow variants run once per sample). Prints JSON lines: every
sample, then medians and the ratio of each variant's median to ``bare``'s.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.run_overhead import bare_runner as plain_runner  # noqa: E402
from bench.run_overhead import file_runner, machine  # noqa: E402

WORKLOADS = ROOT / "bench" / "workloads"
VARIANTS = ["bare", "runtime", "attached", "bp10", "cond", "late", "hits", "logpoint"]
GOALS = {"attached": 1.03, "bp10": 1.10}

# Never called: its ten statement lines carry the ``bp10`` breakpoints.
HELPER = """\
-- never called: the benchmark's breakpoints off the hot path sit on these lines
local function unused_helper(t)
  local a = t.a
  local b = t.b
  local c = a + b
  local d = c * 2
  local e = d - a
  local f = e // 3
  local g = f % 7
  local h = g + c
  local k = h .. ""
  return k
end
"""
HELPER_LINES = list(range(3, 13))  # the ten statements of unused_helper

# The hot line of each workload (found by its text) and a condition that is never true there.
HOT = {
    "fib": ("if n < 2 then", "n < 0"),
    "tables": ("point.x = point.x + 1", "i < 0"),
    "strings": ("parts[#parts + 1] =", "i < 0"),
    "empty": ("return 0", "false"),
}


def emit(**fields: Any) -> None:
    """One result line."""
    print(json.dumps(fields), flush=True)


def bench_file(name: str, directory: Path) -> Path:
    """The workload with the helper in front, written to ``directory``."""
    path = directory / f"{name}.lua"
    path.write_text(HELPER + (WORKLOADS / f"{name}.lua").read_text(encoding="utf-8"))
    return path


def hot_line(path: Path, name: str) -> int:
    """The line number of the workload's hot statement in the benchmark file."""
    marker = HOT[name][0]
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if marker in text:
            return number
    raise RuntimeError(f"{path}: no line contains {marker!r}")


def bare_runner(path: Path, name: str) -> Callable[[int], Any]:
    """A fresh bare LuaRuntime; the returned function runs the file ``n`` times."""
    del name
    return plain_runner(path)


def _runtime() -> Any:
    from kernel_core.config import load_config
    from kernel_core.runtime.script_runtime import BufferSink, ScriptContext, ScriptRuntime

    config = load_config(overrides={"state": {"path": ":memory:"}})
    return ScriptRuntime(config, BufferSink(), script=ScriptContext(None))


def _attach(runtime: Any) -> Any:
    """A DebugSession on ``runtime``, as the kernel's CellExecutor creates it."""
    from kernel_core.debugger.channel import DebugChannel
    from kernel_core.debugger.session import DebugSession

    return DebugSession(runtime, DebugChannel(), lambda event, body: None)


def _request(session: Any, command: str, **arguments: Any) -> dict[str, Any]:
    """Serve one DAP request on this (the execution) thread; fail loudly if it fails."""
    from kernel_core.debugger.channel import PendingRequest

    request = {"seq": 1, "type": "request", "command": command, "arguments": arguments}
    pending = PendingRequest(request)
    session.serve(pending)
    response: dict[str, Any] = pending.future.result(0)
    if not response["success"]:
        raise RuntimeError(f"{command} failed: {response.get('message')}")
    return response


def _set_breakpoints(session: Any, path: Path, specs: list[dict[str, Any]]) -> None:
    body = _request(session, "setBreakpoints", source={"path": str(path)}, breakpoints=specs)
    for asked, got in zip(specs, body["body"]["breakpoints"], strict=True):
        if not got["verified"] or got["line"] != asked["line"]:
            raise RuntimeError(f"breakpoint {asked} did not bind as asked: {got}")


def runtime_runner(path: Path, name: str) -> Callable[[int], Any]:
    """``llmspell run`` without a debugger."""
    return file_runner(_runtime(), path)


def attached_runner(path: Path, name: str) -> Callable[[int], Any]:
    """A debugger attached, no breakpoints."""
    runtime = _runtime()
    _attach(runtime)
    return file_runner(runtime, path)


def bp10_runner(path: Path, name: str) -> Callable[[int], Any]:
    """Ten breakpoints on the never-called helper, set before the file loads."""
    runtime = _runtime()
    session = _attach(runtime)
    _set_breakpoints(session, path, [{"line": line} for line in HELPER_LINES])
    return file_runner(runtime, path)


def cond_runner(path: Path, name: str) -> Callable[[int], Any]:
    """A breakpoint on the hot line whose condition is always false."""
    runtime = _runtime()
    session = _attach(runtime)
    _set_breakpoints(session, path, [{"line": hot_line(path, name), "condition": HOT[name][1]}])
    run = file_runner(runtime, path)

    def checked(n: int) -> Any:
        result = run(n)
        if session.breakpoints.all()[0].hits:
            raise RuntimeError("the false condition counted a hit")
        return result

    return checked


def hits_runner(path: Path, name: str) -> Callable[[int], Any]:
    """A breakpoint on the hot line whose hit condition never stops: every pass counted."""
    runtime = _runtime()
    session = _attach(runtime)
    spec = {"line": hot_line(path, name), "hitCondition": "== 1000000000"}
    _set_breakpoints(session, path, [spec])
    return file_runner(runtime, path)


def logpoint_runner(path: Path, name: str) -> Callable[[int], Any]:
    """A log point on the hot line whose condition is always false: it never logs."""
    runtime = _runtime()
    session = _attach(runtime)
    spec = {"line": hot_line(path, name), "condition": HOT[name][1], "logMessage": "{i}"}
    _set_breakpoints(session, path, [spec])
    return file_runner(runtime, path)


def late_runner(path: Path, name: str) -> Callable[[int], Any]:
    """A breakpoint set after the chunk was compiled: the fallback line hook checks it."""
    runtime = _runtime()
    session = _attach(runtime)
    runtime.set_script_args(path, [])
    fn, failure = runtime.compile(path.read_text(encoding="utf-8"), f"@{path.resolve()}")
    if failure is not None:
        raise RuntimeError(f"{path.name} does not compile: {failure}")
    _set_breakpoints(session, path, [{"line": HELPER_LINES[0]}])
    _, mask, _ = runtime.mux.real_debug.gethook()
    if mask not in ("l", "c"):  # the gate's call hook, or the plain line hook
        raise RuntimeError(f"the late breakpoint installed no hook to check it: {mask!r}")

    def run(n: int) -> Any:
        result = None
        for _ in range(n):
            outcome = runtime.call(fn)
            if outcome.status != "ok":
                raise RuntimeError(f"{path.name} failed: {outcome.failure}")
            result = runtime.from_lua(outcome.values[0]) if outcome.values else None
        return result

    return run


RUNNERS: dict[str, Callable[[Path, str], Callable[[int], Any]]] = {
    "bare": bare_runner,
    "runtime": runtime_runner,
    "attached": attached_runner,
    "bp10": bp10_runner,
    "cond": cond_runner,
    "late": late_runner,
    "hits": hits_runner,
    "logpoint": logpoint_runner,
}


def calibrate(variant: str, path: Path, name: str, min_sample: float) -> int:
    """How many runs make one sample of ``variant`` last at least ``min_sample`` seconds."""
    run = RUNNERS[variant](path, name)
    run(1)  # warm caches first
    started = time.perf_counter()
    run(1)
    return max(1, math.ceil(min_sample / (time.perf_counter() - started)))


def benchmark(names: list[str], variants: list[str], rounds: int, min_sample: float) -> None:
    emit(kind="machine", date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), **machine())
    directory = Path(tempfile.mkdtemp(prefix="llmspell-dbg-bench-"))
    for name in names:
        path = bench_file(name, directory)
        repeats = {v: calibrate(v, path, name, min_sample) for v in variants}
        samples: dict[str, list[float]] = {v: [] for v in variants}
        results: dict[str, Any] = {}
        for round_no in range(rounds):
            shift = round_no % len(variants)
            for variant in variants[shift:] + variants[:shift]:
                run = RUNNERS[variant](path, name)  # built outside the timing
                started = time.perf_counter()
                results[variant] = run(repeats[variant])
                elapsed = (time.perf_counter() - started) / repeats[variant]
                samples[variant].append(elapsed)
                emit(
                    kind="sample",
                    workload=name,
                    variant=variant,
                    round=round_no,
                    seconds=round(elapsed, 6),
                    repeat=repeats[variant],
                )
        if len({json.dumps(r) for r in results.values()}) != 1:
            raise RuntimeError(f"{name}: results differ: {results}")
        medians = {v: statistics.median(s) for v, s in samples.items()}
        emit(
            kind="median",
            workload=name,
            rounds=rounds,
            repeat=repeats,
            **{f"{v}_s": round(m, 6) for v, m in medians.items()},
        )
        for variant in variants:
            if variant == "bare" or "bare" not in medians:
                continue
            emit(
                kind="ratio",
                workload=name,
                figure=f"{variant}/bare",
                ratio=round(medians[variant] / medians["bare"], 4),
                **({"goal": GOALS[variant]} if variant in GOALS else {}),
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
    parser.add_argument(
        "--variant", action="append", choices=VARIANTS, help="repeatable; default: all"
    )
    parser.add_argument("--once", nargs=2, metavar=("VARIANT", "WORKLOAD"))
    args = parser.parse_args()
    if args.once:
        variant, name = args.once
        path = bench_file(name, Path(tempfile.mkdtemp(prefix="llmspell-dbg-bench-")))
        RUNNERS[variant](path, name)(1)
        return 0
    if args.rounds < 5:
        parser.error("use at least 5 rounds: the medians are what the docs report")
    variants = args.variant or VARIANTS
    if "bare" not in variants:
        variants = ["bare", *variants]
    benchmark(args.workload or ["fib", "tables", "strings"], variants, args.rounds, args.min_sample)
    return 0


if __name__ == "__main__":
    sys.exit(main())
