"""F10 to the new line marked on a real screen: ``llmspell tui`` in tmux, polled.

    python3 bench/tui/step_screen.py [--steps 20] [--rounds 3] [--size 120x40]

The TUI debugs a 300-line script (``total = total + n``) in a detached tmux session
(TERM=xterm-256color, isolated config/data/runtime dirs) and stops on entry. Each F10 is
timed from ``send-keys`` until ``capture-pane`` (polled every 2 ms) shows the source pane's
marker (``▶``) on the next line, as a person sees it: tmux's delivery of the key and of the
frame count. A minimal Textual app measured the same way (F10 moves a ``▶`` down a list of
the same lines) runs in the same rounds, interleaved: the cost of Python, Textual and tmux
on this machine.

Prints JSON lines: a ``machine`` record, a record per round per app (median, max in ms),
then the medians over every step (goal: the TUI's median < 50 ms).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.kernel.common import emit, machine  # noqa: E402
from bench.tui.tmux import tmux  # noqa: E402

GOAL_MS = 50.0
LINES = 300
MARK = re.compile(r"^\s*│?\s*(\d+)▶", re.MULTILINE)

# the same lines, F10 moves the marker: what a step costs Textual and tmux alone
BASELINE = """
import sys
from textual.app import App
from textual.widgets import Static
LINES = open(sys.argv[1]).read().splitlines()
class Minimal(App):
    BINDINGS = [("f10", "step", "Step")]
    line = 1
    def compose(self):
        yield Static(self.text(), id="src")
    def text(self):
        return "\\n".join(
            f"{n:4}{'▶' if n == self.line else ' '} {t}" for n, t in enumerate(LINES, 1)
        )
    def action_step(self):
        self.line += 1
        self.query_one("#src", Static).update(self.text())
Minimal().run()
"""


def marked(socket: str) -> int | None:
    """The line number the screen marks as current, if any."""
    found = MARK.search(tmux(socket, "capture-pane", "-p", "-t", "b"))
    return int(found.group(1)) if found else None


def wait_for_line(socket: str, line: int, limit: float = 20) -> None:
    """Poll until the marker is on ``line``."""
    began = time.perf_counter()
    while time.perf_counter() - began < limit:
        if marked(socket) == line:
            return
        time.sleep(0.002)
    raise RuntimeError(f"line {line} was never marked (screen marks {marked(socket)})")


def steps_in(
    command: list[str], env: dict[str, str], steps: int, size: tuple[int, int]
) -> list[float]:
    """ms per F10 for the app ``command`` runs (the marker starts on line 1)."""
    socket = f"llmspell-bench-{uuid.uuid4().hex[:8]}"
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    shell = f"cd {shlex.quote(str(ROOT))} && exec env {exports} {shlex.join(command)}"
    tmux(socket, "new-session", "-d", "-s", "b", "-x", str(size[0]), "-y", str(size[1]), shell)
    times = []
    try:
        wait_for_line(socket, 1)
        time.sleep(0.5)  # the entry stop's stack and locals, the footer: settled
        for step in range(steps):
            sent = time.perf_counter()
            tmux(socket, "send-keys", "-t", "b", "F10")
            wait_for_line(socket, 2 + step)
            times.append((time.perf_counter() - sent) * 1000)
            time.sleep(0.05)  # a person's pace, and the stack and locals of this stop
        tmux(socket, "send-keys", "-t", "b", "C-q")
        deadline = time.perf_counter() + 15
        while time.perf_counter() < deadline and tmux(socket, "list-sessions"):
            time.sleep(0.05)
    finally:
        tmux(socket, "kill-server")
    return times


def main() -> None:
    """Run and print JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", default="120x40")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    emit(machine())
    every: dict[str, list[float]] = {"tui": [], "baseline": []}
    with tempfile.TemporaryDirectory() as home:
        script = Path(home) / "step.lua"
        body = [f"total = total + {n}\n" for n in range(2, LINES + 1)]
        script.write_text("local total = 0\n" + "".join(body))
        env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYTHONPATH")},
            "TERM": "xterm-256color",
            **{f"LLMSPELL_{kind}_DIR": f"{home}/{kind.lower()}" for kind in ("CONFIG", "DATA")},
            "LLMSPELL_RUNTIME_DIR": f"{home}/runtime",
        }
        commands = {
            "tui": [sys.executable, "-m", "llmspell_tui", "tui", str(script)],
            "baseline": [sys.executable, "-c", BASELINE, str(script)],
        }
        for index in range(args.rounds):
            for app, command in commands.items():  # interleaved
                times = steps_in(command, env, args.steps, (width, height))
                every[app] += times
                emit(
                    {
                        "kind": "round",
                        "round": index,
                        "app": app,
                        "median_ms": round(statistics.median(times), 1),
                        "max_ms": round(max(times), 1),
                        "ms": [round(t, 1) for t in times],
                    }
                )
    tui, base = (statistics.median(every[k]) for k in ("tui", "baseline"))
    emit(
        {
            "kind": "median",
            "steps": len(every["tui"]),
            "tui_median_ms": round(tui, 1),
            "baseline_median_ms": round(base, 1),
            "ratio": round(tui / base, 2),
            "goal_ms": GOAL_MS,
            "goal_met": tui < GOAL_MS,
        }
    )


if __name__ == "__main__":
    main()
