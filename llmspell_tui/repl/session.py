"""The line REPL: prompt_toolkit on top of the async kernel client.

Multiline input uses the kernel's ``is_complete``; Tab completion its ``complete``; the
history (Up/Down, Ctrl+R reverse search) is the kernel's shared history, reloaded before
each prompt so what other clients ran is searchable too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncGenerator, Iterable
from pathlib import Path
from typing import Any

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.history import History
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.patch_stdout import patch_stdout
from pygments.lexers.scripting import LuaLexer

from kernel_core.client import KernelClient
from kernel_core.protocol.wire import Message

HELP = """\
.help        this help
.kernels     list running kernels
.info        this kernel's details
.interrupt   interrupt running code (Ctrl+C does it too)
.restart     restart the kernel (a fresh Lua world; State is kept)
.clear       clear the screen
.exit        leave (Ctrl+D)
"""


class KernelHistory(History):
    """The kernel's shared history as prompt_toolkit history."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[str] = []

    def load_history_strings(self) -> Iterable[str]:
        return list(reversed(self.entries))

    def store_string(self, string: str) -> None:
        del string  # the kernel stores what it runs

    def replace(self, entries: list[str]) -> None:
        """Swap in fresh entries (oldest first)."""
        self.entries = entries
        self._loaded = True
        self._loaded_strings = list(reversed(entries))


class KernelCompleter(Completer):
    """Completions from the kernel's complete_request."""

    def __init__(self, client: KernelClient) -> None:
        self.client = client

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        return []

    async def get_completions_async(
        self, document: Document, complete_event: CompleteEvent
    ) -> AsyncGenerator[Completion, None]:
        try:
            reply = await self.client.request(
                "complete_request",
                {"code": document.text, "cursor_pos": document.cursor_position},
                timeout=2,
            )
        except Exception:  # noqa: BLE001 - best effort: a probe or a completion may fail
            return
        content = reply.content
        start = int(content.get("cursor_start", document.cursor_position))
        types = {
            t["text"]: t.get("type", "")
            for t in content.get("metadata", {}).get("_jupyter_types_experimental", [])
        }
        for match in content.get("matches", []):
            yield Completion(
                str(match),
                start_position=start - document.cursor_position,
                display_meta=types.get(match, ""),
            )


def _print_message(msg: Message) -> None:
    if msg.msg_type == "stream":
        target = sys.stderr if msg.content.get("name") == "stderr" else sys.stdout
        target.write(str(msg.content.get("text", "")))
        target.flush()
    elif msg.msg_type == "execute_result":
        print(msg.content.get("data", {}).get("text/plain", ""))
    elif msg.msg_type == "display_data":
        data = msg.content.get("data", {})
        print(data.get("text/markdown") or data.get("text/plain", ""))
    elif msg.msg_type == "error":
        print("\n".join(msg.content.get("traceback", [])), file=sys.stderr)


async def _start_kernel(args: argparse.Namespace) -> tuple[Path, Any]:
    """Start a kernel process for this REPL; returns its connection file and process."""
    from kernel_core.kernel.connection import kernels_dir
    from kernel_core.kernel.registry import known_kernels

    before = {k.connection_file for k in known_kernels()}
    command = [sys.executable, "-m", "llmspell_tui", "kernel", "start", "--foreground"]
    for flag in ("config", "profile"):
        value = getattr(args, flag, None)
        if value:
            command += [f"--{flag}", value]
    log = open(kernels_dir() / "repl-kernel.out", "ab")  # noqa: SIM115, ASYNC230 - lives as long as the kernel
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    for _ in range(300):
        for kernel in known_kernels():
            if kernel.connection_file not in before and kernel.info and kernel.info.pid == proc.pid:
                return kernel.connection_file, proc
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    raise RuntimeError("the kernel did not start; see " + str(kernels_dir() / "repl-kernel.out"))


async def _repl(args: argparse.Namespace) -> int:
    from kernel_core.kernel.registry import resolve_kernel

    proc = None
    if args.attach is None:
        connection_file, proc = await _start_kernel(args)
    else:
        connection_file = resolve_kernel(args.attach or None)
    client = KernelClient.from_file(connection_file)
    await client.start()
    try:
        info = await client.wait_ready(15)
        print(info.get("banner", "llmspell"))
        print("Type .help for commands; Ctrl+D exits.")
        history = KernelHistory()
        bindings = KeyBindings()

        @bindings.add("enter")
        def _(event: KeyPressEvent) -> None:
            buffer = event.current_buffer
            text = buffer.text
            if not text.strip() or text.strip().startswith("."):
                buffer.validate_and_handle()
                return

            async def check() -> None:
                try:
                    reply = await client.request("is_complete_request", {"code": text}, timeout=2)
                    status = reply.content.get("status")
                    indent = str(reply.content.get("indent", ""))
                except Exception:  # noqa: BLE001 - best effort: a probe or a completion may fail
                    status, indent = "complete", ""
                if status == "incomplete":
                    buffer.insert_text("\n" + indent)
                else:
                    buffer.validate_and_handle()

            event.app.create_background_task(check())

        session: PromptSession[str] = PromptSession(
            history=history,
            completer=KernelCompleter(client),
            lexer=PygmentsLexer(LuaLexer),
            key_bindings=bindings,
            multiline=True,
            complete_while_typing=False,
            enable_history_search=False,
        )

        async def answer(prompt: str, password: bool) -> str:
            return await session.prompt_async(prompt, is_password=password)

        client.on_input = answer
        count = 1
        while True:
            with contextlib.suppress(Exception):
                reply = await client.request(
                    "history_request",
                    {"hist_access_type": "tail", "n": 1000, "output": False, "raw": True},
                    timeout=2,
                )
                history.replace([str(e[2]) for e in reply.content.get("history", [])])
            try:
                with patch_stdout(raw=True):
                    text = await session.prompt_async(ANSI(f"\x1b[32mlua [{count}]>\x1b[0m "))
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            stripped = text.strip()
            if not stripped:
                continue
            if stripped.startswith("."):
                if await _meta(stripped, client):
                    break
                continue
            task = asyncio.ensure_future(client.execute(text, on_message=_print_message))
            while not task.done():
                try:
                    await asyncio.shield(task)
                except KeyboardInterrupt:
                    await client.interrupt()
                except asyncio.CancelledError:
                    await client.interrupt()
            reply_msg = task.result()
            count = int(reply_msg.content.get("execution_count", count)) + 1
    finally:
        if proc is not None:
            with contextlib.suppress(Exception):
                await client.shutdown()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), 5)
            if proc.returncode is None:
                proc.terminate()
        await client.close()
    return 0


async def _meta(command: str, client: KernelClient) -> bool:
    """Run a meta command; True means leave."""
    name = command.split(maxsplit=1)[0]
    if name in (".exit", ".quit"):
        return True
    if name == ".help":
        print(HELP)
    elif name == ".interrupt":
        await client.interrupt()
    elif name == ".restart":
        await client.shutdown(restart=True)
        print("kernel restarted")
    elif name == ".clear":
        print("\x1b[2J\x1b[H", end="")
    elif name == ".info":
        info = await client.kernel_info()
        for key, value in info.get("llmspell", {}).items():
            print(f"{key:>16}: {value}")
    elif name == ".kernels":
        from kernel_core.kernel.registry import known_kernels

        for kernel in known_kernels():
            print(f"{kernel.kernel_id[:8]}  {kernel.name}  {kernel.connection_file}")
    else:
        print(f"unknown command {name}; .help lists them")
    return False


def run_repl(args: argparse.Namespace) -> int:
    """Entry point of ``llmspell repl``."""
    return asyncio.run(_repl(args))
