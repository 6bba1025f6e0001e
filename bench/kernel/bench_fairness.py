"""Fairness: while one client floods the shell with N execute_requests, how long does another
client wait for the reply to one cell (queued), and to kernel_info (answered at once)?

Client A sends N requests without reading; client B then sends one execute_request and one
kernel_info_request and times their replies. The kernel is started by its own command
(tcp). Rounds follow one another on the same kernel (a round's leftover flood is still
served in the next: the figures are an upper bound).

Run:  python bench/kernel/bench_fairness.py [--flood 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.kernel.common import Probe, Spawned, emit, isolated_env, machine, median


def one_round(info: dict[str, object], flood: int) -> tuple[float, float]:
    """ms for B's execute reply and for B's kernel_info reply (A never reads its own)."""
    a = Probe.connect(dict(info), iopub=False)
    b = Probe.connect(dict(info), iopub=False)
    try:
        b.reply_to(b.send("kernel_info_request", {}))  # connected
        a.reply_to(a.send("kernel_info_request", {}))
        for _ in range(flood):
            a.send("execute_request", a.execute("1"))
        t0 = time.perf_counter()
        cell = b.send("execute_request", b.execute("'b'"))
        info_msg = b.send("kernel_info_request", {})
        replies = {}
        while len(replies) < 2:
            reply = b.session.deserialize(b.shell.recv_multipart())
            replies[reply.parent_header["msg_id"]] = time.perf_counter()
        return (
            (replies[cell.msg_id] - t0) * 1000,
            (replies[info_msg.msg_id] - t0) * 1000,
        )
    finally:
        a.close()
        b.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with isolated_env():
        kernel = Spawned("llmspell", "cli")
        kernel.start()
        try:
            cells, infos = [], []
            for _ in range(args.rounds):
                cell_ms, info_ms = one_round(kernel.info, args.flood)
                cells.append(cell_ms)
                infos.append(info_ms)
        finally:
            kernel.stop()
    emit(
        {
            "bench": "fairness",
            "flood": args.flood,
            "rounds": args.rounds,
            "other_client_execute_ms_median": round(median(cells), 1),
            "other_client_kernel_info_ms_median": round(median(infos), 1),
            "execute_ms": [round(c, 1) for c in cells],
            "kernel_info_ms": [round(i, 1) for i in infos],
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    main()
