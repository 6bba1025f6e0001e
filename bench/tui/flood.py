"""A script printing 10⁶ lines under ``llmspell tui``: keys answered, memory, time, in tmux.

    python3 bench/tui/flood.py [--lines 1000000] [--size 100x30]

The TUI runs the script with ``--no-stop`` in a detached tmux session (TERM=xterm-256color,
isolated config/data/runtime dirs). While it prints, the benchmark types ``Z`` (a key the
source has none for: it goes to the console's input) and waits until ``capture-pane`` shows
it, then Backspace until it is gone, again and again: each is a key's latency as a person
sees it (key sent, screen changed), tmux's own round trips (~10 ms a poll) included. The TUI's
resident memory (``/proc/PID/status`` VmRSS) is read at the first line on screen and at
every key; ``total_s`` is spawn to ``finished (exit 0)`` in the status bar. For comparison,
``llmspell run`` prints the same script to /dev/null.

Prints JSON lines: a ``machine`` record, one ``key`` record per key, then a ``summary``
(goal: every key under 100 ms, memory bounded by the scrollback).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.kernel.common import emit, machine  # noqa: E402
from bench.tui.tmux import tmux  # noqa: E402

GOAL_MS = 100.0
PROBE = "Z"  # typed into the console (the flood's lines have none), then erased


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (0 once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def environment(home: str) -> dict[str, str]:
    """An isolated environment for one run."""
    return {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYTHONPATH")},
        "TERM": "xterm-256color",
        **{f"LLMSPELL_{kind}_DIR": f"{home}/{kind.lower()}" for kind in ("CONFIG", "DATA")},
        "LLMSPELL_RUNTIME_DIR": f"{home}/runtime",
    }


def run_plain(script: Path, env: dict[str, str]) -> float:
    """Seconds ``llmspell run`` takes for the script, output to /dev/null."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "llmspell_tui", "run", str(script)],
        stdout=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return time.perf_counter() - started


def flood(script: Path, size: tuple[int, int], timeout: float) -> None:
    """One TUI run; emits a record per key and a summary."""
    socket = f"llmspell-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as home:
        env = environment(home)
        plain = run_plain(script, env)
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = [sys.executable, "-m", "llmspell_tui", "tui", "--no-stop", str(script)]
        shell = f"cd {shlex.quote(str(ROOT))} && exec env {exports} {shlex.join(command)}"
        started = time.perf_counter()
        tmux(socket, "new-session", "-d", "-s", "b", "-x", str(size[0]), "-y", str(size[1]), shell)
        pid = int(tmux(socket, "display-message", "-p", "-t", "b", "#{pane_pid}").strip())
        latencies: list[float] = []
        idle: list[float] = []
        memory: list[float] = []
        finished_at = None
        try:

            def screen() -> str:
                return tmux(socket, "capture-pane", "-p", "-t", "b")

            def wait(seen: object, limit: float = 30) -> float:
                began = time.perf_counter()
                while time.perf_counter() - began < limit:
                    if seen(screen()):  # type: ignore[operator]
                        return (time.perf_counter() - began) * 1000
                    time.sleep(0.002)
                raise RuntimeError("the TUI did not answer a key within 30 s")

            wait(lambda s: "line " in s)
            start_rss = rss_mb(pid)

            def keys(during: str, into: list[float]) -> None:
                for key, seen in (
                    ("Z", lambda s: PROBE in s),
                    ("BSpace", lambda s: PROBE not in s),
                ):
                    sent = time.perf_counter()
                    tmux(socket, "send-keys", "-t", "b", key)
                    # from the key's send, as a person's key press: tmux's own delivery counts
                    wait(seen)
                    ms = (time.perf_counter() - sent) * 1000
                    into.append(ms)
                    memory.append(rss_mb(pid))
                    emit(
                        {
                            "kind": "key",
                            "during": during,
                            "key": key,
                            "ms": round(ms, 1),
                            "rss_mb": round(memory[-1], 1),
                        }
                    )

            while time.perf_counter() - started < timeout:
                if "finished (exit" in screen():
                    finished_at = time.perf_counter() - started
                    break
                keys("flood", latencies)
                time.sleep(0.1)
            for _ in range(3):  # the same keys once the script has ended: the baseline
                keys("idle", idle)
            tmux(socket, "send-keys", "-t", "b", "C-q")
            deadline = time.perf_counter() + 15
            while time.perf_counter() < deadline and tmux(socket, "list-sessions"):
                time.sleep(0.05)
        finally:
            tmux(socket, "kill-server")
    emit(
        {
            "kind": "summary",
            "lines": LINES,
            "keys": len(latencies),
            "key_median_ms": round(statistics.median(latencies), 1) if latencies else None,
            "key_max_ms": round(max(latencies), 1) if latencies else None,
            "idle_key_median_ms": round(statistics.median(idle), 1) if idle else None,
            "rss_start_mb": round(start_rss, 1),
            "rss_max_mb": round(max(memory, default=start_rss), 1),
            "rss_growth_mb": round(max(memory, default=start_rss) - start_rss, 1),
            "tui_total_s": round(finished_at, 2) if finished_at else None,
            "run_total_s": round(plain, 2),
            "goal_ms": GOAL_MS,
            "goal_met": bool(latencies) and max(latencies) < GOAL_MS,
        }
    )


LINES = 1_000_000


def main() -> None:
    """Run and print JSON lines."""
    global LINES
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=LINES)
    parser.add_argument("--size", default="100x30")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    LINES = args.lines
    width, height = (int(n) for n in args.size.split("x"))
    emit(machine())
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "flood.lua"
        script.write_text(
            f'for i = 1, {args.lines} do print("line " .. i .. " of the flood") end\n'
        )
        flood(script, (width, height), args.timeout)


if __name__ == "__main__":
    main()
