"""Breakpoint and step latency through a real kernel, as a Jupyter client sees it.

    python3 bench/debugger/latency.py [--hits 100] [--rounds 3]

A kernel is started by jupyter_client's ``KernelManager`` from our kernelspec (in a temp
environment, bench/kernel/common.py). One client, in this thread, speaks the Jupyter debugger
protocol: ``debug_request`` on the control channel, ``debug_event`` on iopub. The cell is a loop
with a breakpoint in its body; at every stop the client sends

- ``next``, and times it until the ``stopped`` event (reason ``step``) is received: one step
  round trip;
- then ``continue``, and times it until the next ``stopped`` event (reason ``breakpoint``)
  is received: the breakpoint is hit one loop pass after the resume, so this bounds
  "breakpoint hit -> stopped event received" from above (it adds the request's way in).

Also reported: ``continued -> stopped``, the kernel's own time from resuming to publishing the
next stop (header dates of the two events), and ``publish -> received`` (the stopped event's
header date to its arrival here; same machine, same wall clock). Prints JSON lines: per round
the median, p95 and max of each figure in ms, then the medians over rounds (goal: < 5 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.kernel.common import emit, isolated_env, machine, percentile  # noqa: E402

CELL = """\
local total = 0
for i = 1, {n} do
  total = total + i
end
return total
"""
BREAKPOINT_LINE = 3
GOAL_MS = 5.0
GOAL_FIGURES = ("step_rt", "continue_to_stopped")


def stamp(message: dict[str, Any]) -> float:
    """A message header's date as a Unix time."""
    date = message["header"]["date"]
    if isinstance(date, str):
        date = datetime.fromisoformat(date)  # 3.11 reads the trailing Z
    return float(date.timestamp())


class Debugger:
    """The Jupyter debugger protocol over a blocking jupyter_client client."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.seq = 0

    def send(self, command: str, **arguments: Any) -> str:
        """Send a debug_request; returns its msg_id (the reply is read by ``reply``)."""
        self.seq += 1
        content = {"seq": self.seq, "type": "request", "command": command, "arguments": arguments}
        msg = self.client.session.msg("debug_request", content)
        self.client.control_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def reply(self, msg_id: str) -> dict[str, Any]:
        """The debug_reply to ``msg_id``; fails when the request failed."""
        while True:
            msg = self.client.get_control_msg(timeout=10)
            if msg["parent_header"].get("msg_id") == msg_id:
                content: dict[str, Any] = msg["content"]
                if not content.get("success"):
                    raise RuntimeError(f"{content.get('command')} failed: {content}")
                return content

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        return self.reply(self.send(command, **arguments))

    def event(self, name: str) -> tuple[dict[str, Any], float, dict[str, float]]:
        """The next debug_event ``name``: (message, perf_counter at receipt, dates seen)."""
        seen: dict[str, float] = {}
        while True:
            msg = self.client.get_iopub_msg(timeout=10)
            received = time.perf_counter()
            if msg["msg_type"] != "debug_event":
                continue
            seen[msg["content"]["event"]] = stamp(msg)
            if msg["content"]["event"] == name:
                return msg, received, seen


def one_round(hits: int) -> dict[str, list[float]]:
    """Start a kernel, run the loop to ``hits`` stops, time next and continue at each."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="llmspell")
    km.start_kernel()
    client = km.blocking_client()
    client.start_channels()
    figures: dict[str, list[float]] = {
        "step_rt": [],
        "continue_to_stopped": [],
        "continued_to_stopped_kernel": [],
        "publish_to_received": [],
    }
    try:
        client.wait_for_ready(timeout=30)
        dbg = Debugger(client)
        dbg.request("initialize", clientID="bench", adapterID="llmspell", linesStartAt1=True)
        code = CELL.format(n=hits + 1)
        path = dbg.request("dumpCell", code=code)["body"]["sourcePath"]
        dbg.request(
            "setBreakpoints", source={"path": path}, breakpoints=[{"line": BREAKPOINT_LINE}]
        )
        dbg.request("configurationDone")
        client.execute(code)
        dbg.event("stopped")
        for _ in range(hits):
            started = time.perf_counter()
            msg_id = dbg.send("next", threadId=1)
            msg, received, _ = dbg.event("stopped")
            if msg["content"]["body"]["reason"] != "step":
                raise RuntimeError(f"next stopped for {msg['content']['body']}")
            figures["step_rt"].append(received - started)
            dbg.reply(msg_id)
            started = time.perf_counter()
            msg_id = dbg.send("continue", threadId=1)
            msg, received, seen = dbg.event("stopped")
            arrived = time.time() - (time.perf_counter() - received)
            if msg["content"]["body"]["reason"] != "breakpoint":
                raise RuntimeError(f"continue stopped for {msg['content']['body']}")
            figures["continue_to_stopped"].append(received - started)
            if "continued" in seen:
                figures["continued_to_stopped_kernel"].append(seen["stopped"] - seen["continued"])
            figures["publish_to_received"].append(max(0.0, arrived - seen["stopped"]))
            dbg.reply(msg_id)
        dbg.request("disconnect")
        reply = client.get_shell_msg(timeout=30)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the cell failed: {reply['content']}")
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)
        km.cleanup_resources()
    return figures


def summary(values: list[float]) -> dict[str, float]:
    """Median, p95 and max in ms."""
    ms = sorted(v * 1000 for v in values)
    return {
        "n": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "max_ms": round(ms[-1], 3),
    }


def main() -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=100, help="breakpoint hits per round")
    parser.add_argument("--rounds", type=int, default=3, help="kernels started, one after another")
    args = parser.parse_args()
    if args.hits < 50:
        parser.error("use at least 50 hits: the p95 is what the docs report")
    with isolated_env():
        emit(machine())
        per_round: dict[str, list[dict[str, float]]] = {}
        for round_no in range(args.rounds):
            for figure, values in one_round(args.hits).items():
                stats = summary(values)
                per_round.setdefault(figure, []).append(stats)
                emit({"bench": "debugger_latency", "round": round_no, "figure": figure, **stats})
        for figure, rounds in per_round.items():
            emit(
                {
                    "bench": "debugger_latency",
                    "figure": figure,
                    "rounds": len(rounds),
                    "median_ms": round(statistics.median(r["median_ms"] for r in rounds), 3),
                    "p95_ms": round(statistics.median(r["p95_ms"] for r in rounds), 3),
                    "max_ms": max(r["max_ms"] for r in rounds),
                    **({"goal_ms": GOAL_MS} if figure in GOAL_FIGURES else {}),
                }
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
