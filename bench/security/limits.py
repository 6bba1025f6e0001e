"""Runaway shapes against interrupt and the time limit (issue 13's figures).

For each shape (a loop, or a wait, in every place a script can put one):

  interrupt_ms   a real kernel (KernelManager + BlockingKernelClient, as any Jupyter client):
                 execute the cell, wait until it runs (0.5 s, or until its shell's pid file
                 appears), t0; ``interrupt_kernel()`` (SIGINT, as the kernelspec says);
                 t1 = the execute_reply. Goal < 100 ms.
  ename          the reply's ename (Interrupted expected).
  serving        a second client, connected after the interrupt: kernel_info_reply and
                 ``40 + 2`` -> 42. Goal yes.
  overshoot_ms   ``llmspell run --time-limit 1 SCRIPT``: from the script's first statement
                 (it writes a line to stderr) to the limit's message on stderr, minus 1 s
                 (median of the rounds). Goal < 100 ms. ``overshoot_exit_ms``: to the
                 process's exit instead (its shutdown included). A shape only a kernel
                 has (a user expression) has none.

Run:  python bench/security/limits.py [--rounds 3] [--shape NAME]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from jupyter_client.manager import KernelManager

from bench.kernel.common import emit, isolated_env, machine, median
from tests.servers.fake_openai import FakeOpenAI

LOOP = "while true do end"
HOOK = (
    'Hook.register("BeforeToolExecution", function() {body} end)\n'
    'Tool.execute("calculator", {{input = "1 + 1"}})'
)

# name -> (cell code, script code or None, extra execute options)
SHAPES: dict[str, tuple[str, str | None, dict[str, Any]]] = {
    "plain loop": (LOOP, LOOP, {}),
    "package.loaded.coroutine": (
        "local c = package.loaded.coroutine\nc.resume(c.create(function() " + LOOP + " end))",
        "local c = package.loaded.coroutine\nc.resume(c.create(function() " + LOOP + " end))",
        {},
    ),
    "require('coroutine').wrap": (
        "require('coroutine').wrap(function() " + LOOP + " end)()",
        "require('coroutine').wrap(function() " + LOOP + " end)()",
        {},
    ),
    "coroutine inside pcall": (
        "pcall(function() local c = require('coroutine') c.wrap(function() "
        + LOOP
        + " end)() end)",
        "pcall(function() local c = require('coroutine') c.wrap(function() "
        + LOOP
        + " end)() end)",
        {},
    ),
    "__tostring of a result": (
        "setmetatable({}, {__tostring = function() " + LOOP + " end})",
        "print(setmetatable({}, {__tostring = function() " + LOOP + " end}))",
        {},
    ),
    "user expression": ("1", None, {"user_expressions": {"x": f"(function() {LOOP} end)()"}}),
    "Hook callback": (HOOK.format(body=LOOP), HOOK.format(body=LOOP), {}),
    "Hook callback in pcall": (
        HOOK.format(body="pcall(function() " + LOOP + " end)"),
        HOOK.format(body="pcall(function() " + LOOP + " end)"),
        {},
    ),
    "Workflow function step": (
        'Workflow.builder():name("w"):sequential():add_step({name = "s", type = "function", '
        "fn = function() " + LOOP + " end}):build():execute({})",
        'Workflow.builder():name("w"):sequential():add_step({name = "s", type = "function", '
        "fn = function() " + LOOP + " end}):build():execute({})",
        {},
    ),
    "os.execute sleep": ('os.execute("sleep 30")', 'os.execute("sleep 30")', {}),
    "io.read waiting": ("io.read()", "io.read()", {"allow_stdin": True}),
    # tests/servers/fake_openai.py's "sleep-60000" model answers after a minute
    "Agent on a slow provider": (
        'Agent.builder():name(tostring({})):model("fake/sleep-60000"):build():execute("x")',
        'Agent.builder():name(tostring({})):model("fake/sleep-60000"):build():execute("x")',
        {},
    ),
    "Event.receive waiting": (
        'Event.receive(Event.subscribe("never.*"), 60000)',
        'Event.receive(Event.subscribe("never.*"), 60000)',
        {},
    ),
}


def _serving(km: KernelManager) -> bool:
    """A second client gets kernel_info and a result."""
    other = km.blocking_client()
    other.start_channels()
    try:
        other.kernel_info(reply=True, timeout=10)
        reply = other.execute_interactive("40 + 2", timeout=10, output_hook=lambda m: None)
        expressions = other.execute("40 + 2", user_expressions={"v": "40 + 2"}, reply=True)
        value = expressions["content"]["user_expressions"]["v"]["data"]["text/plain"]
        return bool(reply["content"]["status"] == "ok" and value == "42")
    except Exception:  # noqa: BLE001 - any failure means not serving
        return False
    finally:
        other.stop_channels()


def interrupt(km: KernelManager, code: str, options: dict[str, Any]) -> dict[str, Any]:
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
        msg_id = client.execute(code, **options)
        time.sleep(0.5)  # into the loop (or the wait)
        t0 = time.perf_counter()
        km.interrupt_kernel()
        while True:
            reply = client.get_shell_msg(timeout=60)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        ms = (time.perf_counter() - t0) * 1000
        content = reply["content"]
        ename = content.get("ename")
        if ename is None and "user_expressions" in content:
            x = content["user_expressions"].get("x", {})
            ename = "Interrupted" if "interrupted" in str(x.get("evalue")) else x.get("ename")
    except Exception as exc:  # noqa: BLE001 - the kernel never answered
        return {"interrupt_ms": None, "ename": f"no reply: {type(exc).__name__}"}
    finally:
        client.stop_channels()
    return {"interrupt_ms": round(ms, 1), "ename": ename}


def overshoot(code: str, tmp: Path, rounds: int) -> tuple[float, float]:
    """Median ms from the script's first statement to the limit's message on stderr, and
    to the process's exit, past the 1 s limit."""
    script = tmp / "shape.lua"
    # the limit's timer starts as the script does: its first statement says so at once
    script.write_text('io.stderr:write("go\\n")\n' + code + "\n")
    args = [sys.executable, "-m", "llmspell_tui", "run", "--time-limit", "1", str(script)]
    env = dict(os.environ, LLMSPELL_STATE__PATH=str(tmp / "state.sqlite3"))
    to_message, to_exit = [], []
    for _ in range(rounds):
        # stdin: a pipe nobody writes to (io.read waits), open until the run ends
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert proc.stderr is not None
        started = said = None
        for line in proc.stderr:
            now = time.perf_counter()
            if line == "go\n" and started is None:
                started = now
            elif "time limit of 1s exceeded" in line and said is None:
                said = now
        proc.wait()
        ended = time.perf_counter()
        if started is None or said is None:
            return (float("nan"), float("nan"))
        to_message.append((said - started) * 1000 - 1000)
        to_exit.append((ended - started) * 1000 - 1000)
    return (median(to_message), median(to_exit))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shape", action="append")
    args = parser.parse_args()
    emit(machine())
    names = args.shape or list(SHAPES)
    server = FakeOpenAI().start()
    with isolated_env() as base, tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        os.environ["LLMSPELL_STATE__PATH"] = str(base / "state.sqlite3")
        os.environ["LLMSPELL_PROVIDERS__FAKE__BASE_URL"] = server.base_url
        os.environ["LLMSPELL_PROVIDERS__FAKE__TIMEOUT"] = "120"
        km = KernelManager(kernel_name="llmspell")
        km.start_kernel()
        try:
            for name in names:
                cell, script, options = SHAPES[name]
                times, enames, serving = [], set(), True
                for _ in range(args.rounds):
                    if not km.is_alive():
                        km.restart_kernel(now=True)
                    result = interrupt(km, cell, options)
                    enames.add(str(result["ename"]))
                    if result["interrupt_ms"] is not None:
                        times.append(result["interrupt_ms"])
                    serving = serving and _serving(km)
                    if result["interrupt_ms"] is None:
                        break
                record: dict[str, Any] = {
                    "bench": "limits",
                    "shape": name,
                    "interrupt_ms": median(times) if times else None,
                    "interrupt_max_ms": max(times) if times else None,
                    "ename": sorted(enames),
                    "serving": serving,
                }
                shot = overshoot(script, tmp, args.rounds) if script else (None, None)
                record["overshoot_ms"], record["overshoot_exit_ms"] = shot
                record["goal_met"] = bool(
                    enames == {"Interrupted"}
                    and times
                    and len(times) == args.rounds
                    and record["interrupt_ms"] < 100
                    and serving
                    and (record["overshoot_ms"] is None or record["overshoot_ms"] < 100)
                )
                emit(record)
        finally:
            km.shutdown_kernel(now=True)
            km.cleanup_resources()
            server.stop()


if __name__ == "__main__":
    main()
