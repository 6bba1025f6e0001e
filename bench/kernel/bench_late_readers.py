"""Late readers: N clients (a shell DEALER and an iopub SUB each) each send C cells at once
and read iopub only once every reply is in. Prints the fraction of its own execute_results
each client received: ZeroMQ drops, unannounced, what exceeds a subscriber's high-water mark.
The kernel is started by its own command (tcp).

Run:  python bench/kernel/bench_late_readers.py [--clients 100] [--cells 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.kernel.common import Probe, Spawned, emit, isolated_env, machine


def own_results(probes: list[Probe], cells: int) -> list[float]:
    """Each client's fraction of its own execute_results seen on its iopub."""
    mine = [
        {p.send("execute_request", p.execute("1")).msg_id for _ in range(cells)} for p in probes
    ]
    for p in probes:
        for _ in range(cells):
            assert p.shell.poll(60000), "a reply is missing"
            p.shell.recv_multipart()
    fractions = []
    for p, ids in zip(probes, mine, strict=True):
        seen = set()
        assert p.iopub is not None
        while p.iopub.poll(500):
            m = p.session.deserialize(p.iopub.recv_multipart())
            if m.msg_type == "execute_result" and m.parent_header.get("msg_id") in ids:
                seen.add(m.parent_header["msg_id"])
        fractions.append(len(seen) / cells)
    return fractions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--cells", type=int, default=10)
    args = parser.parse_args()
    with isolated_env():
        kernel = Spawned("llmspell", "cli")
        kernel.start()
        try:
            probes = [Probe.connect(dict(kernel.info)) for _ in range(args.clients)]
            for p in probes:
                p.reply_to(p.send("kernel_info_request", {}))
            time.sleep(1)  # every subscription live; drop what came meanwhile
            for p in probes:
                assert p.iopub is not None
                while p.iopub.poll(0):
                    p.iopub.recv_multipart()
            fractions = own_results(probes, args.cells)
            for p in probes:
                p.close()
        finally:
            kernel.stop()
    emit(
        {
            "bench": "late_readers",
            "clients": args.clients,
            "cells": args.cells,
            "mean_received": round(sum(fractions) / len(fractions), 3),
            "min_received": min(fractions),
            "machine": machine(),
        }
    )


if __name__ == "__main__":
    main()
