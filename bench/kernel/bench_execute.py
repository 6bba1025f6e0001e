"""Execute round trip of a trivial cell (``1``): llmspell vs ipykernel, same client, same run.

One lean client (shell DEALER + iopub SUB, orjson + HMAC) sends ``execute_request`` and waits
for the ``execute_reply`` (reply latency), then drains iopub up to this request's idle status
(idle latency; the next request goes out only then, as a notebook does). Both kernels are
started by jupyter_client's KernelManager from their kernelspecs, over tcp and over ipc;
rounds alternate kernels.

Run:  python bench/kernel/bench_execute.py [--requests 2000] [--rounds 3] [--warmup 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.kernel.common import (
    TRIVIAL_CELL,
    Probe,
    Spawned,
    emit,
    isolated_env,
    machine,
    median,
    percentile,
)

KINDS = ("llmspell", "ipykernel")
TRANSPORTS = ("tcp", "ipc")


def round_trips(probe: Probe, code: str, count: int) -> tuple[list[float], list[float]]:
    """Milliseconds to the reply and to idle, for ``count`` sequential executions."""
    replies: list[float] = []
    idles: list[float] = []
    content = probe.execute(code)
    for _ in range(count):
        t0 = time.perf_counter()
        msg = probe.send("execute_request", content)
        reply = probe.reply_to(msg, timeout=30)
        t1 = time.perf_counter()
        probe.wait_idle(msg, timeout=30)
        t2 = time.perf_counter()
        if reply.content.get("status") != "ok":
            raise RuntimeError(f"execute failed: {reply.content}")
        replies.append((t1 - t0) * 1000)
        idles.append((t2 - t0) * 1000)
    return replies, idles


def main() -> None:
    """Run the rounds and print one JSON line per kernel and transport."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    emit(machine())
    configs = [(k, t) for t in TRANSPORTS for k in KINDS]
    reply_ms: dict[tuple[str, str], list[list[float]]] = {c: [] for c in configs}
    idle_ms: dict[tuple[str, str], list[list[float]]] = {c: [] for c in configs}
    with isolated_env():
        kernels = {c: Spawned(c[0], "km", transport=c[1]) for c in configs}
        probes: dict[tuple[str, str], Probe] = {}
        try:
            for config, kernel in kernels.items():
                kernel.start()
                probes[config] = Probe.connect(kernel.info)
                msg = probes[config].send("kernel_info_request", {})
                probes[config].reply_to(msg, timeout=60)
                time.sleep(0.3)  # iopub subscription settles
                round_trips(probes[config], TRIVIAL_CELL[config[0]], args.warmup)
            for _ in range(args.rounds):
                for config in configs:
                    r, i = round_trips(probes[config], TRIVIAL_CELL[config[0]], args.requests)
                    reply_ms[config].append(r)
                    idle_ms[config].append(i)
        finally:
            for probe in probes.values():
                probe.close()
            for kernel in kernels.values():
                kernel.stop()
    for config in configs:
        record: dict[str, object] = {
            "bench": "execute_round_trip",
            "kernel": config[0],
            "transport": config[1],
            "requests_per_round": args.requests,
            "rounds": args.rounds,
        }
        for name, series in (("reply", reply_ms[config]), ("idle", idle_ms[config])):
            per_round = [sorted(s) for s in series]
            record[f"{name}_p50_ms"] = median([percentile(s, 50) for s in per_round])
            record[f"{name}_p99_ms"] = median([percentile(s, 99) for s in per_round])
            record[f"{name}_max_ms"] = round(max(s[-1] for s in per_round), 3)
        emit(record)


if __name__ == "__main__":
    main()
