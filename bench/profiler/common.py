"""Shared pieces of the profiler benchmarks: a runtime as ``llmspell run`` builds it, JSON-line
output and the machine record."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run_overhead import machine  # noqa: E402

WORKLOADS = ROOT / "bench" / "workloads"


def emit(**fields: Any) -> None:
    """One result line."""
    print(json.dumps(fields), flush=True)


def emit_machine() -> None:
    """The first line of every run: what the figures were measured on, and when."""
    emit(kind="machine", date=time.strftime("%Y-%m-%d %H:%M:%S %Z"), **machine())


def new_runtime() -> Any:
    """A ScriptRuntime as ``llmspell run`` builds it (State in memory)."""
    from kernel_core.config import load_config
    from kernel_core.runtime.script_runtime import BufferSink, ScriptContext, ScriptRuntime

    config = load_config(overrides={"state": {"path": ":memory:"}})
    return ScriptRuntime(config, BufferSink(), script=ScriptContext(None))


def spread(values: list[float], digits: int = 4) -> dict[str, float]:
    """Median, min and max, rounded for display."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }
