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
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kernel_core.client import KernelClient, KernelGone
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
        self.result_data: Any = None  # a run's value as data (llmspell_run_reply)
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
            task.add_done_callback(_settled(pending))

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
        what = "the script" if args.command == "run" else "the code"
        status: str | None
        try:
            reply = await client.unless_gone(request, what)
        except KernelGone as exc:
            if not json_mode:
                raise  # said as every llmspell error is, status 1
            output.error = {"message": str(exc), "ename": "KernelGone", "report": str(exc)}
            status, code = "error", 1
        else:
            status = reply.content.get("status")
            code = 0 if status == "ok" else 1
            if args.command == "run":
                code = int(reply.content.get("exit_code", code))
                # the kernel sends the value as data and the failure as a local run reports it
                if "result" in reply.content:
                    output.result_data = reply.content["result"]
                if reply.content.get("failure") is not None:
                    output.error = reply.content["failure"]
        for task in pending:
            task.cancel()  # an interrupt still waiting for a kernel that is gone
    if interrupted and code:
        code = 130
    if json_mode:
        _print_json(args, output, str(status or "error"), code, time.perf_counter() - started)
    return code


def _settled(pending: set[asyncio.Task[None]]) -> Callable[[asyncio.Task[None]], None]:
    """A done callback: forget the task and take its failure (an interrupt the kernel did not
    answer), which asyncio would otherwise print as a traceback on exit."""

    def done(task: asyncio.Task[None]) -> None:
        pending.discard(task)
        if not task.cancelled():
            task.exception()

    return done


def _print_json(
    args: argparse.Namespace, output: _Output, status: str, code: int, elapsed: float
) -> None:
    import orjson

    document = {
        "status": status,
        "exit_code": code,
        # a script's value comes as data (the run reply); a snippet's as its text/plain
        "result": output.result_data if output.result_data is not None else output.result,
        "stdout": "".join(output.parts["stdout"]),
        "stderr": "".join(output.parts["stderr"]),
        "error": output.error,
        "elapsed_ms": round(elapsed * 1000, 3),
    }
    option = orjson.OPT_INDENT_2 if args.output == "pretty" else 0
    sys.stdout.write(orjson.dumps(document, option=option).decode() + "\n")
