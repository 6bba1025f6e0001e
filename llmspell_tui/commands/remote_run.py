"""``llmspell run SCRIPT --connect KERNEL``: run a script on a running kernel, streaming its
output here. Ctrl+C interrupts the script on the kernel; a kernel that goes away meanwhile
(``kernel stop``, killed) ends the run with status 1 rather than a wait for a reply that
cannot come.

The output follows the rules of a local run: ``--output json|pretty`` prints one object
(the same keys as ``llmspell run --output json``) instead of the streams, and the kernel's
coloured error report keeps its colour only where a local run's would (output.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from kernel_core.client import KernelClient
from kernel_core.kernel.registry import resolve_kernel
from kernel_core.protocol.wire import Message
from llmspell_tui.commands.output import strip_ansi, use_colour


def run_on_kernel(args: argparse.Namespace) -> int:
    """Run ``args.script`` (or ``args.code``) on the kernel named by ``args.connect``."""
    path = resolve_kernel(args.connect)
    return asyncio.run(_run(args, path))


class _Output:
    """Where the kernel's messages go: this terminal, or the ``--output json`` object."""

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.parts: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.result: str | None = None
        self.error: dict[str, Any] | None = None

    def show(self, msg: Message) -> None:
        if msg.msg_type == "stream":
            name = "stderr" if msg.content.get("name") == "stderr" else "stdout"
            text = str(msg.content.get("text", ""))
            if self.json_mode:
                self.parts[name].append(text)
                return
            target = sys.stderr if name == "stderr" else sys.stdout
            target.write(text)
            target.flush()
        elif msg.msg_type == "execute_result":
            self.result = str(msg.content.get("data", {}).get("text/plain", ""))
            if not self.json_mode:
                print(self.result)
        elif msg.msg_type == "error":
            lines = [str(line) for line in msg.content.get("traceback", [])]
            self.error = {
                "message": str(msg.content.get("evalue", "")),
                "ename": str(msg.content.get("ename", "")),
                "report": strip_ansi("\n".join(lines)),
            }
            if not self.json_mode:
                text = "\n".join(lines)
                print(text if use_colour(sys.stderr) else strip_ansi(text), file=sys.stderr)


async def _run(args: argparse.Namespace, connection_file: Path) -> int:
    json_mode = args.output in ("json", "pretty")
    output = _Output(json_mode)
    started = time.perf_counter()
    async with KernelClient.from_file(connection_file) as client:

        async def answer(prompt: str, password: bool) -> str:
            return await asyncio.to_thread(input, prompt)

        client.on_input = answer
        loop = asyncio.get_running_loop()
        interrupted = False

        pending: set[asyncio.Task[None]] = set()

        def on_sigint() -> None:
            nonlocal interrupted
            interrupted = True
            task = loop.create_task(client.interrupt())
            pending.add(task)
            task.add_done_callback(pending.discard)

        import signal

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        if args.command == "run":
            request = client.execute(
                "",
                on_message=output.show,
                msg_type="llmspell_run_request",
                content={
                    "path": str(Path(args.script).resolve()),
                    "args": args.script_args,
                    "allow_stdin": True,
                },
            )
        else:
            request = client.execute(args.code, on_message=output.show)
        reply = await _unless_kernel_gone(client, request)
        status: str | None
        if reply is None:
            what = "script" if args.command == "run" else "code"
            message = f"the kernel stopped while the {what} ran (it no longer answers)"
            if not json_mode:
                print(f"llmspell: {message}", file=sys.stderr)
            output.error = {"message": message, "ename": "KernelGone", "report": message}
            status, code = "error", 1
        elif args.command == "run":
            status = reply.content.get("status")
            code = int(reply.content.get("exit_code", 0 if status == "ok" else 1))
        else:
            status = reply.content.get("status")
            code = 0 if status == "ok" else 1
    if interrupted and code:
        code = 130
    if json_mode:
        _print_json(args, output, str(status or "error"), code, time.perf_counter() - started)
    return code


# The kernel answers its heartbeat from a thread of its own while Lua runs or is paused, so
# silence means the process is gone (stopped, killed, crashed): a reply will never come.
# Several misses in a row, so that a loaded machine's slow answer is not taken for death.
HEARTBEAT_EVERY = 1.0
HEARTBEAT_MISSES = 3


async def _unless_kernel_gone(
    client: KernelClient, request: Coroutine[Any, Any, Message]
) -> Message | None:
    """The reply to ``request``, or None once the kernel stops answering its heartbeat."""
    task = asyncio.ensure_future(request)
    misses = 0
    while True:
        done, _ = await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
        if done:
            return task.result()
        misses = 0 if await client.heartbeat(timeout=HEARTBEAT_EVERY) else misses + 1
        if task.done():
            return task.result()
        if misses >= HEARTBEAT_MISSES:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return None


def _print_json(
    args: argparse.Namespace, output: _Output, status: str, code: int, elapsed: float
) -> None:
    import orjson

    document = {
        "status": status,
        "exit_code": code,
        # the kernel sends a value as text (its text/plain), not as data
        "result": output.result,
        "stdout": "".join(output.parts["stdout"]),
        "stderr": "".join(output.parts["stderr"]),
        "error": output.error,
        "elapsed_ms": round(elapsed * 1000, 3),
    }
    option = orjson.OPT_INDENT_2 if args.output == "pretty" else 0
    sys.stdout.write(orjson.dumps(document, option=option).decode() + "\n")
