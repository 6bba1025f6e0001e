"""What a script's output costs: Lua's own print/io.write on the process's descriptor
(``llmspell run``), the same captured at the descriptor level (a kernel: a pipe on fd 1 and
a reader thread), and Lua replacements calling a Python sink (what every runtime did
before, and what an embedding BufferSink still gets).

    python3 bench/runtime_output.py --rounds 7 > bench/results/runtime_output.jsonl

One JSON line per variant and workload: median and min seconds over interleaved rounds.
Output goes to /dev/null (or, for the capture, to a reader that drops it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from kernel_core.config import load_config
from kernel_core.runtime.native_streams import FdCapture, flush_c_stdio
from kernel_core.runtime.script_runtime import ScriptRuntime

WORKLOADS = {
    "print": "for i = 1, 200000 do print(i, 'item', i * 0.5) end",
    "io.write": "for i = 1, 200000 do io.write(i, ' item ', i * 0.5, '\\n') end",
}


class DevNullSink:
    """A Python sink writing straight to /dev/null (what TerminalSink costs, minus the tty)."""

    def __init__(self) -> None:
        self.fd = os.open(os.devnull, os.O_WRONLY)

    def write(self, stream: str, text: str) -> None:
        os.write(self.fd, text.encode())

    def read_line(self, prompt: str) -> str | None:
        return None


class NativeSink(DevNullSink):
    native_streams = frozenset({"stdout", "stderr", "stdin"})


def _runtime(sink: Any) -> ScriptRuntime:
    config = load_config(project_dir=Path.cwd(), overrides={"runtime": {"sandbox": "trusted"}})
    return ScriptRuntime(config, sink)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    runtimes = {"sink": _runtime(DevNullSink()), "native": _runtime(NativeSink())}
    capture = FdCapture(lambda stream, text: None)
    times: dict[tuple[str, str], list[float]] = {}
    variants = ["sink", "native", "native+capture"]
    for round_no in range(args.rounds):
        order = variants[round_no % 3 :] + variants[: round_no % 3]
        for variant in order:
            runtime = runtimes["sink" if variant == "sink" else "native"]
            for name, code in WORKLOADS.items():
                fn, failure = runtime.compile(code, "=bench")
                assert failure is None
                if variant == "native+capture":
                    capture.start()
                started = time.perf_counter()
                outcome = runtime.call(fn)
                flush_c_stdio()
                if variant == "native+capture":
                    capture.drain()
                elapsed = time.perf_counter() - started
                if variant == "native+capture":
                    capture.stop()
                assert outcome.status == "ok", outcome.failure
                times.setdefault((variant, name), []).append(elapsed)
    for (variant, name), values in sorted(times.items()):
        line = {
            "bench": "runtime_output",
            "variant": variant,
            "workload": name,
            "median_s": round(statistics.median(values), 4),
            "min_s": round(min(values), 4),
            "rounds": len(values),
        }
        out.write(json.dumps(line) + "\n")
    out.flush()
    sys.exit(0)


if __name__ == "__main__":
    main()
