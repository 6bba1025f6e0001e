"""F10 keypress to the screen updated with the new line and its locals, in-process (Pilot).

    python3 bench/tui/step_latency.py [--steps 30] [--rounds 3]

The script is 2,000 lines long and has a 1,000-entry table among the locals of the frame
being stepped. The TUI (a real app on a real kernel, under ``App.run_test``) stops on entry,
runs to a breakpoint after the table is built, then steps with F10. Each step is timed from
the key press to the moment the app has handled the ``VariablesLoaded`` message that fills
in the new Locals: by then the stop, the stack, the source's current line and the scopes
have been handled too (they come first). ``stopped`` is the time to the ``Stopped``
message, ``stack`` to the ``StackLoaded`` message (source and status updated). Prints JSON
lines: per round the median, p95 and max in ms, then the medians over rounds (goal: < 50 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.kernel.common import emit, machine  # noqa: E402

GOAL_MS = 50.0
LINES = 2000
ENTRIES = 1000


def write_script(path: Path) -> int:
    """A 2,000-line script with a 1,000-entry local table; returns the breakpoint's line."""
    head = [
        "-- step latency benchmark: a long file, a big table in scope",
        "local big = {}",
        f"for i = 1, {ENTRIES} do big[i] = 'value ' .. i end",
        "local total = 0",
    ]
    body = [f"total = total + {n % 7}" for n in range(LINES - len(head) - 1)]
    path.write_text("\n".join([*head, *body, "return total"]) + "\n")
    return len(head) + 1  # the first body line


def percentile(values: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def one_round(script: Path, line: int, steps: int) -> dict[str, list[float]]:
    """Milliseconds per step: to the stack shown, and to the locals shown."""
    from textual.message import Message

    from llmspell_tui.app import LlmspellApp
    from llmspell_tui.bridge import Launch
    from llmspell_tui.messages import BreakpointsSet, StackLoaded, Stopped, VariablesLoaded

    class TimedApp(LlmspellApp):
        """The TUI, noting when each message's handlers have run."""

        def __init__(self) -> None:
            super().__init__(Launch(script=script, name="bench"))
            self.handled: asyncio.Queue[tuple[float, Message]] = asyncio.Queue()

        async def _on_message(self, message: Message) -> None:
            await super()._on_message(message)
            self.handled.put_nowait((time.perf_counter(), message))

    async def until(app: TimedApp, kind: type[Message]) -> float:
        while True:
            at, message = await asyncio.wait_for(app.handled.get(), 30)
            if isinstance(message, kind):
                return at

    app = TimedApp()
    figures: dict[str, list[float]] = {"stopped": [], "stack": [], "locals": []}
    async with app.run_test(size=(160, 48)) as pilot:
        await until(app, VariablesLoaded)  # the entry stop, shown
        app.source_pane.focus()
        await pilot.press(*["down"] * (line - app.source_pane.cursor_line), "f9")
        await until(app, BreakpointsSet)
        await pilot.press("f5")
        await until(app, Stopped)
        await until(app, VariablesLoaded)
        for _ in range(steps):
            await pilot.pause()
            while not app.handled.empty():
                app.handled.get_nowait()
            pressed = time.perf_counter()
            await pilot.press("f10")
            stopped = await until(app, Stopped)
            stack = await until(app, StackLoaded)
            shown = await until(app, VariablesLoaded)
            assert any(
                str(n.label).startswith("big = ")
                for n in app.variables_pane.root.children[0].children
            )
            figures["stopped"].append((stopped - pressed) * 1000)
            figures["stack"].append((stack - pressed) * 1000)
            figures["locals"].append((shown - pressed) * 1000)
    return figures


def main() -> None:
    """Run and print JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    emit(machine())
    rounds = []
    with tempfile.TemporaryDirectory() as home:
        for kind in ("CONFIG", "DATA", "RUNTIME"):
            os.environ[f"LLMSPELL_{kind}_DIR"] = f"{home}/{kind.lower()}"
        script = Path(home) / "long.lua"
        line = write_script(script)
        for index in range(args.rounds):
            figures = asyncio.run(one_round(script, line, args.steps))
            record = {"kind": "round", "round": index, "steps": args.steps}
            for name, values in figures.items():
                record[f"{name}_median_ms"] = round(statistics.median(values), 2)
                record[f"{name}_p95_ms"] = round(percentile(values, 0.95), 2)
                record[f"{name}_max_ms"] = round(max(values), 2)
            rounds.append(record)
            emit(record)
    summary: dict[str, object] = {"kind": "median", "rounds": args.rounds}
    for key in rounds[0]:
        if key.endswith("_ms"):
            summary[key] = round(statistics.median(float(r[key]) for r in rounds), 2)
    summary["goal_ms"] = GOAL_MS
    summary["goal_met"] = float(summary["locals_median_ms"]) < GOAL_MS  # type: ignore[arg-type]
    emit(summary)


if __name__ == "__main__":
    main()
