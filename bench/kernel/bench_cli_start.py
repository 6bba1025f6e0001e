"""``llmspell kernel start`` (the daemonising command a user types) → a jupyter_client
client's first kernel_info_reply, beside ipykernel started the way jupyter_client starts it
(KernelManager from its kernelspec, then a BlockingKernelClient), in interleaved rounds.

  llmspell   t0; run ``llmspell kernel start`` to its exit (it prints the connection file);
             a BlockingKernelClient on that file, start_channels, kernel_info: t1.
             ``start_returned_ms`` is when the command had returned.
  ipykernel  t0; KernelManager(kernel_name="python3").start_kernel(); its blocking_client,
             start_channels, kernel_info: t1. (jupyter_client connects before the kernel has
             bound its ports and ZeroMQ retries every 100 ms: that is what its users wait.)
  --before PATH adds ``llmspell-before``: the same command from another source tree (e.g.
             ``git archive COMMIT | tar -x -C PATH``), for before/after figures in one run.

Run:  python bench/kernel/bench_cli_start.py [--rounds 9] [--before /tmp/old-tree]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.kernel.common import ROOT, emit, isolated_env, machine, median


def _llmspell(tree: Path) -> dict[str, float]:
    from jupyter_client.blocking.client import BlockingKernelClient

    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "llmspell_tui", "kernel", "start"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    returned = time.perf_counter()
    found = re.search(r"connection file: (\S+)", done.stdout)
    assert found, done.stdout + done.stderr
    client = BlockingKernelClient(connection_file=found.group(1))
    client.load_connection_file()
    client.start_channels()
    reply = client.kernel_info(reply=True, timeout=30)
    t1 = time.perf_counter()
    assert reply["content"]["status"] == "ok"
    client.stop_channels()
    subprocess.run(
        [sys.executable, "-m", "llmspell_tui", "kernel", "stop", "--all"],
        capture_output=True,
        env=env,
        check=True,
    )
    return {"info_ms": (t1 - t0) * 1000, "start_returned_ms": (returned - t0) * 1000}


def _ipykernel() -> dict[str, float]:
    from jupyter_client.manager import KernelManager

    t0 = time.perf_counter()
    km = KernelManager(kernel_name="python3")
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = km.blocking_client()
    client.start_channels()
    reply = client.kernel_info(reply=True, timeout=30)
    t1 = time.perf_counter()
    assert reply["content"]["status"] == "ok"
    client.stop_channels()
    km.shutdown_kernel(now=False)
    km.cleanup_resources()
    return {"info_ms": (t1 - t0) * 1000}


def main() -> None:
    """Run interleaved rounds; print one JSON line per kernel and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--before", type=Path, help="another llmspell source tree to compare")
    args = parser.parse_args()
    emit(machine())
    starts = {"llmspell": lambda: _llmspell(ROOT), "ipykernel": _ipykernel}
    if args.before:
        before: Path = args.before
        starts["llmspell-before"] = lambda: _llmspell(before)
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in starts}
    with isolated_env():
        for start in starts.values():  # bytecode caches, page cache
            start()
        for _ in range(args.rounds):
            for name, start in starts.items():
                runs[name].append(start())
    for name, rows in runs.items():
        record: dict[str, object] = {"bench": "cli_start_to_kernel_info", "kernel": name}
        record["rounds"] = args.rounds
        for key in ("info_ms", "start_returned_ms"):
            values = [r[key] for r in rows if key in r]
            if values:
                record[f"{key}_min"] = round(min(values), 1)
                record[f"{key}_median"] = round(median(values), 1)
        emit(record)
    ipy = median([r["info_ms"] for r in runs["ipykernel"]])
    for name, rows in runs.items():
        if name.startswith("llmspell"):
            ours = median([r["info_ms"] for r in rows])
            emit(
                {"bench": "cli_start_ratio", "kernel": name, "over_ipykernel": round(ours / ipy, 3)}
            )


if __name__ == "__main__":
    main()
