"""``llmspell kernel start`` (the daemonising command a user types) → a jupyter_client
client's first kernel_info_reply, beside ipykernel started the way jupyter_client starts it
(KernelManager from its kernelspec, then a BlockingKernelClient), in interleaved rounds.

  llmspell   t0; run ``llmspell kernel start`` to its exit (it prints the connection file);
             a BlockingKernelClient on that file, start_channels, kernel_info: t1.
             ``start_returned_ms`` is when the command had returned. ``cpu_ms``: the
             command's CPU time plus the kernel's up to the reply (its Lua world is
             built on a thread meanwhile, so part of that is counted too).
  ipykernel  t0; KernelManager(kernel_name="python3").start_kernel(); its blocking_client,
             start_channels, kernel_info: t1. (jupyter_client connects before the kernel has
             bound its ports and ZeroMQ retries every 100 ms: that is what its users wait.)
             ``cpu_ms``: the kernel's CPU time up to the reply (the manager's own work in
             this process is not counted).
  --before PATH adds ``llmspell-before``: the same command from another source tree (e.g.
             ``git archive COMMIT | tar -x -C PATH``), for before/after figures in one run.

Run:  python bench/kernel/bench_cli_start.py [--rounds 9] [--before /tmp/old-tree]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.kernel.common import ROOT, emit, isolated_env, machine, median


def _cpu_ns(pid: int) -> int:
    """Time a live process has spent on a CPU so far (ns): less moved by load than wall."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def _children_cpu_ns() -> int:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return int((usage.ru_utime + usage.ru_stime) * 1e9)


def _llmspell(tree: Path) -> dict[str, float]:
    from jupyter_client.blocking.client import BlockingKernelClient

    env = {**os.environ, "PYTHONPATH": str(tree)}
    cpu0 = _children_cpu_ns()
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "llmspell_tui", "kernel", "start"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    returned = time.perf_counter()
    cli_cpu = _children_cpu_ns() - cpu0
    found = re.search(r"connection file: (\S+)", done.stdout)
    pid = re.search(r"started, pid (\d+)", done.stdout)
    assert found, done.stdout + done.stderr
    assert pid, done.stdout
    client = BlockingKernelClient(connection_file=found.group(1))
    client.load_connection_file()
    client.start_channels()
    reply = client.kernel_info(reply=True, timeout=30)
    t1 = time.perf_counter()
    kernel_cpu = _cpu_ns(int(pid.group(1)))
    assert reply["content"]["status"] == "ok"
    client.stop_channels()
    subprocess.run(
        [sys.executable, "-m", "llmspell_tui", "kernel", "stop", "--all"],
        capture_output=True,
        env=env,
        check=True,
    )
    return {
        "info_ms": (t1 - t0) * 1000,
        "start_returned_ms": (returned - t0) * 1000,
        "cpu_ms": (cli_cpu + kernel_cpu) / 1e6,
    }


def _ipykernel() -> dict[str, float]:
    from jupyter_client.manager import KernelManager

    t0 = time.perf_counter()
    km = KernelManager(kernel_name="python3")
    km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = km.blocking_client()
    client.start_channels()
    reply = client.kernel_info(reply=True, timeout=30)
    t1 = time.perf_counter()
    provisioner: Any = km.provisioner  # a LocalProvisioner: it has the pid
    kernel_cpu = _cpu_ns(int(provisioner.pid))
    assert reply["content"]["status"] == "ok"
    client.stop_channels()
    km.shutdown_kernel(now=False)
    km.cleanup_resources()
    return {"info_ms": (t1 - t0) * 1000, "cpu_ms": kernel_cpu / 1e6}


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
        for key in ("info_ms", "start_returned_ms", "cpu_ms"):
            values = [r[key] for r in rows if key in r]
            if values:
                record[f"{key}_min"] = round(min(values), 1)
                record[f"{key}_median"] = round(median(values), 1)
        emit(record)
    ipy = median([r["info_ms"] for r in runs["ipykernel"]])
    ipy_cpu = median([r["cpu_ms"] for r in runs["ipykernel"]])
    for name, rows in runs.items():
        if name.startswith("llmspell"):
            ours = median([r["info_ms"] for r in rows])
            cpu = median([r["cpu_ms"] for r in rows])
            ratio: dict[str, object] = {"bench": "cli_start_ratio", "kernel": name}
            ratio["over_ipykernel"] = round(ours / ipy, 3)
            ratio["cpu_over_ipykernel"] = round(cpu / ipy_cpu, 3)
            emit(ratio)


if __name__ == "__main__":
    main()
