"""``llmspell run SCRIPT --connect KERNEL``: run a script on a running kernel, streaming its
output here. Ctrl+C interrupts the script on the kernel."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from kernel_core.client import KernelClient
from kernel_core.kernel.registry import resolve_kernel
from kernel_core.protocol.wire import Message


def run_on_kernel(args: argparse.Namespace) -> int:
    """Run ``args.script`` (or ``args.code``) on the kernel named by ``args.connect``."""
    path = resolve_kernel(args.connect)
    return asyncio.run(_run(args, path))


def _show(msg: Message) -> None:
    if msg.msg_type == "stream":
        target = sys.stderr if msg.content.get("name") == "stderr" else sys.stdout
        target.write(str(msg.content.get("text", "")))
        target.flush()
    elif msg.msg_type == "execute_result":
        print(msg.content.get("data", {}).get("text/plain", ""))
    elif msg.msg_type == "error":
        print("\n".join(msg.content.get("traceback", [])), file=sys.stderr)


async def _run(args: argparse.Namespace, connection_file: Path) -> int:
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
            reply = await client.execute(
                "",
                on_message=_show,
                msg_type="llmspell_run_request",
                content={
                    "path": str(Path(args.script).resolve()),
                    "args": args.script_args,
                    "allow_stdin": True,
                },
            )
            status = reply.content.get("status")
            code = int(reply.content.get("exit_code", 0 if status == "ok" else 1))
        else:
            reply = await client.execute(args.code, on_message=_show)
            code = 0 if reply.content.get("status") == "ok" else 1
        if interrupted and code:
            return 130
        return code
