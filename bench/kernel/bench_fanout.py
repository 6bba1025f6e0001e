"""Output fan-out: N clients attached to one kernel, one cell printing 1,000 lines.

All N iopub SUB sockets live in this process and are read through one zmq.Poller; every
message is parsed and its HMAC checked, as a client does. Each client must receive every
line of the cell exactly once, in order (asserted), plus the idle status that closes it.
Times are from sending the execute_request to the moment every client has the idle status.
Both kernels are started by jupyter_client's KernelManager (tcp), rounds alternate.

Run:  python bench/kernel/bench_fanout.py [--clients 100] [--lines 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.kernel.common import (
    PRINT_CELL,
    Probe,
    Spawned,
    emit,
    endpoint,
    isolated_env,
    machine,
    median,
)

KINDS = ("llmspell", "ipykernel")


class Audience:
    """N iopub subscribers of one kernel, read by one poller."""

    def __init__(self, probe: Probe, info: dict[str, object], count: int) -> None:
        self.probe = probe
        self.subs: list[zmq.Socket[bytes]] = []
        self.poller = zmq.Poller()
        for _ in range(count):
            sub = probe.ctx.socket(zmq.SUB)
            sub.linger = 0
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            sub.connect(endpoint(dict(info), "iopub"))
            self.subs.append(sub)
            self.poller.register(sub, zmq.POLLIN)
        self._await_welcomes()

    def _await_welcomes(self) -> None:
        """Every subscriber has received a message: its subscription is live.

        Not by iopub_welcome alone: ipykernel sends one per distinct topic, so most of many
        subscribers to the same topic never get one. A kernel_info_request makes both
        kernels publish busy/idle status to every live subscriber.
        """
        live: set[int] = set()
        index_of = {id(s): i for i, s in enumerate(self.subs)}
        deadline = time.monotonic() + 30
        while len(live) < len(self.subs):
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(live)} of {len(self.subs)} subscribers are live")
            self.probe.reply_to(self.probe.send("kernel_info_request", {}))
            end = time.monotonic() + 0.05
            while time.monotonic() < end:
                for sock, _ in self.poller.poll(10):
                    while sock.poll(0):
                        sock.recv_multipart()
                    live.add(index_of[id(sock)])
        time.sleep(0.2)
        for sub in self.subs:  # drop status messages still in flight
            while sub.poll(0):
                sub.recv_multipart()

    def run(self, code: str, expected: str) -> tuple[float, float, float]:
        """Execute ``code``; ms until the first and the last client is idle, stream msgs/client."""
        session = self.probe.session
        texts = [[] for _ in self.subs]  # type: list[list[str]]
        streams = [0] * len(self.subs)
        done: list[float | None] = [None] * len(self.subs)
        index_of = {id(s): i for i, s in enumerate(self.subs)}
        t0 = time.perf_counter()
        msg = self.probe.send("execute_request", self.probe.execute(code))
        remaining = len(self.subs)
        deadline = time.monotonic() + 60
        while remaining:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{remaining} clients did not see the cell finish")
            for sock, _ in self.poller.poll(1000):
                i = index_of[id(sock)]
                while True:
                    try:
                        frames = sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    m = session.deserialize(frames)
                    if m.parent_header.get("msg_id") != msg.msg_id:
                        continue
                    if m.msg_type == "stream" and m.content.get("name") == "stdout":
                        texts[i].append(str(m.content["text"]))
                        streams[i] += 1
                    elif m.msg_type == "status" and m.content.get("execution_state") == "idle":
                        done[i] = time.perf_counter()
                        remaining -= 1
        reply = self.probe.reply_to(msg)
        assert reply.content["status"] == "ok", reply.content
        for i, parts in enumerate(texts):
            got = "".join(parts)
            assert got == expected, f"client {i} received {len(got)} of {len(expected)} chars"
        finished = [d for d in done if d is not None]
        return (
            (min(finished) - t0) * 1000,
            (max(finished) - t0) * 1000,
            sum(streams) / len(streams),
        )

    def close(self) -> None:
        """Close the subscribers."""
        for sub in self.subs:
            self.poller.unregister(sub)
            sub.close(linger=0)


def main() -> None:
    """Run the rounds and print one JSON line per kernel and audience size."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    emit(machine())
    expected = "".join(f"line {i}\n" for i in range(1, args.lines + 1))
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    with isolated_env():
        kernels = {kind: Spawned(kind, "km") for kind in KINDS}
        probes: dict[str, Probe] = {}
        try:
            for kind, kernel in kernels.items():
                kernel.start()
                probes[kind] = Probe.connect(kernel.info, iopub=False)
                probes[kind].reply_to(probes[kind].send("kernel_info_request", {}), timeout=60)
            for count in args.clients:
                audiences = {k: Audience(probes[k], kernels[k].info, count) for k in KINDS}
                for kind in KINDS:  # warm-up
                    audiences[kind].run(PRINT_CELL[kind].format(n=args.lines), expected)
                for _ in range(args.rounds):
                    for kind in KINDS:
                        code = PRINT_CELL[kind].format(n=args.lines)
                        results.setdefault((kind, count), []).append(
                            audiences[kind].run(code, expected)
                        )
                for audience in audiences.values():
                    audience.close()
        finally:
            for probe in probes.values():
                probe.close()
            for kernel in kernels.values():
                kernel.stop()
    for (kind, count), rows in results.items():
        emit(
            {
                "bench": "fanout",
                "kernel": kind,
                "clients": count,
                "lines": args.lines,
                "rounds": args.rounds,
                "every_client_got_every_line": True,
                "first_client_idle_ms_median": median([r[0] for r in rows]),
                "last_client_idle_ms_median": median([r[1] for r in rows]),
                "last_client_idle_ms_min": round(min(r[1] for r in rows), 3),
                "stream_messages_per_client_median": median([r[2] for r in rows]),
            }
        )


if __name__ == "__main__":
    main()
