"""Spawn → first kernel_info_reply (and → first execute_reply), and idle RSS: llmspell vs
ipykernel, measured the same way in interleaved rounds.

Ways to start each kernel (t0 is taken just before the spawn):
  km-jupyter  jupyter_client's KernelManager from the kernelspec, then a BlockingKernelClient's
              kernel_info, all defaults: what a Jupyter user waits for. ZeroMQ retries a
              refused connection every 100 ms, so this figure moves in ~100 ms steps.
  km          the same spawn; a lean client retrying every 1 ms: when the kernel is ready.
  foreground  the kernel's own command (``llmspell kernel start --foreground`` /
              ``python -m ipykernel_launcher -f FILE``), which writes its connection file;
              the file is polled every 1 ms, then the lean client.

Run:  python bench/kernel/bench_startup.py [--rounds 7]
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
    rss_kib,
)

SETTLE = 0.5  # seconds idle before reading RSS
KINDS = ("llmspell", "ipykernel")
STARTS = ("km-jupyter", "km", "foreground")


def spawn_to_reply(kind: str, how: str) -> dict[str, float]:
    """One start: ms to kernel_info_reply and to the first execute_reply, RSS in MiB."""
    transport = "ipc" if (how == "foreground" and kind == "llmspell") else "tcp"
    kernel = Spawned(kind, "km" if how.startswith("km") else how, transport=transport)
    result: dict[str, float] = {}
    t0 = time.perf_counter()
    kernel.start()
    try:
        if how == "km-jupyter":
            client = kernel.km.blocking_client()
            client.start_channels()
            reply = client.kernel_info(reply=True, timeout=30)
            result["info_ms"] = (time.perf_counter() - t0) * 1000
            assert reply["content"]["status"] == "ok"
            client.stop_channels()
            return result
        probe = Probe.connect(kernel.info, iopub=False)
        msg = probe.send("kernel_info_request", {})
        answer = probe.reply_to(msg, timeout=30)
        result["info_ms"] = (time.perf_counter() - t0) * 1000
        assert answer.content["status"] == "ok"
        msg = probe.send("execute_request", probe.execute(TRIVIAL_CELL[kind]))
        answer = probe.reply_to(msg, timeout=30)
        result["execute_ms"] = (time.perf_counter() - t0) * 1000
        assert answer.content["status"] == "ok"
        probe.close()
        time.sleep(SETTLE)
        result["rss_mib"] = rss_kib(kernel.pid) / 1024
        return result
    finally:
        kernel.stop()


def main() -> None:
    """Run the rounds and print one JSON line per configuration."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    emit(machine())
    configs = [(k, h) for h in STARTS for k in KINDS]
    runs: dict[tuple[str, str], list[dict[str, float]]] = {c: [] for c in configs}
    with isolated_env():
        for kind in KINDS:  # compile bytecode into the cache, warm the page cache
            spawn_to_reply(kind, "km")
        for _ in range(args.rounds):
            for config in configs:
                runs[config].append(spawn_to_reply(*config))
    for how in STARTS:
        for kind in KINDS:
            rows = runs[(kind, how)]
            record: dict[str, object] = {
                "bench": "spawn_to_first_reply",
                "kernel": kind,
                "start": how,
                "rounds": args.rounds,
            }
            for key in ("info_ms", "execute_ms", "rss_mib"):
                values = [r[key] for r in rows if key in r]
                if values:
                    record[f"{key}_min"] = round(min(values), 1)
                    record[f"{key}_median"] = round(median(values), 1)
            emit(record)
        ours = median([r["info_ms"] for r in runs[("llmspell", how)]])
        theirs = median([r["info_ms"] for r in runs[("ipykernel", how)]])
        emit(
            {
                "bench": "spawn_ratio",
                "start": how,
                "llmspell_over_ipykernel": round(ours / theirs, 3),
            }
        )
    rss = {
        k: median([r["rss_mib"] for h in ("km", "foreground") for r in runs[(k, h)]]) for k in KINDS
    }
    emit(
        {
            "bench": "idle_rss",
            "llmspell_mib": round(rss["llmspell"], 1),
            "ipykernel_mib": round(rss["ipykernel"], 1),
            "llmspell_over_ipykernel": round(rss["llmspell"] / rss["ipykernel"], 3),
        }
    )


if __name__ == "__main__":
    main()
