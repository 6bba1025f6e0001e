"""Start-up: process start to the first output line of ``llmspell run hello.lua`` (goal < 80 ms).

    python3 bench/startup.py [--runs 20]

Measured in the same run, interleaved (the order rotates every round), as medians:

- ``python-pass``: ``python3 -c pass`` (start to exit): the interpreter's own floor.
- ``python-print``: ``python3 -c "print('hello')"``, start to first line.
- ``bare-lupa``: a Python process importing lupa and running ``print("hello")`` in a bare
  ``LuaRuntime``, start to first line: the floor for any lupa-based runner.
- ``llmspell``: the installed ``llmspell`` console script (no pyenv shim) running
  bench/workloads/hello.lua, start to first line.
- ``llmspell-module``: ``python3 -m llmspell_tui run hello.lua`` (the test suite's way).

Prints one JSON object per line: every sample, then a median per variant with its margin
over the goal and over bare-lupa.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELLO = ROOT / "bench" / "workloads" / "hello.lua"
GOAL_MS = 80.0


def emit(**fields: Any) -> None:
    """One result line."""
    print(json.dumps(fields), flush=True)


def variants() -> dict[str, list[str]]:
    """The command lines, by variant name."""
    script = Path(sys.executable).parent / "llmspell"
    commands = {
        "python-pass": [sys.executable, "-c", "pass"],
        "python-print": [sys.executable, "-c", "print('hello')"],
        "bare-lupa": [
            sys.executable,
            "-c",
            "import lupa.lua54 as lupa; lupa.LuaRuntime().execute('print(\"hello\")')",
        ],
        "llmspell-module": [sys.executable, "-m", "llmspell_tui", "run", str(HELLO)],
    }
    if script.is_file():
        commands["llmspell"] = [str(script), "run", str(HELLO)]
    return commands


def child_env() -> dict[str, str]:
    """The environment of measured processes: State in memory, and .pyc files allowed, as
    on a user's machine (a PYTHONDONTWRITEBYTECODE=1 shell would recompile every module on
    every start and measure the compiler instead)."""
    env = {**os.environ, "LLMSPELL_STATE__PATH": ":memory:"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def first_line_seconds(command: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``command`` to its first stdout line (or exit, if it prints none)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=HELLO.parent
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {err.decode()}")
    if line and line.strip() != b"hello":
        raise RuntimeError(f"{' '.join(command)} printed {line!r}")
    return elapsed


def main() -> int:
    """Measure and print the JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="rounds (at least 10)")
    args = parser.parse_args()
    if args.runs < 10:
        parser.error("use at least 10 runs")
    env = child_env()
    commands = variants()
    for command in commands.values():  # warm the page cache and .pyc files
        first_line_seconds(command, env)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    names = list(commands)
    emit(kind="machine", date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), load_avg_1m=os.getloadavg()[0])
    for round_no in range(args.runs):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            seconds = first_line_seconds(commands[name], env)
            samples[name].append(seconds)
            emit(kind="sample", variant=name, round=round_no, ms=round(seconds * 1000, 2))
    bare = statistics.median(samples["bare-lupa"])
    for name, values in samples.items():
        median = statistics.median(values)
        emit(
            kind="median",
            variant=name,
            command=" ".join(commands[name]),
            runs=len(values),
            median_ms=round(median * 1000, 1),
            min_ms=round(min(values) * 1000, 1),
            over_bare_lupa_ms=round((median - bare) * 1000, 1),
            goal_ms=GOAL_MS if name.startswith("llmspell") else None,
            meets_goal=median * 1000 < GOAL_MS if name.startswith("llmspell") else None,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
