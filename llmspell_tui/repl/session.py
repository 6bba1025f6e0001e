"""The line REPL: prompt_toolkit on top of the async kernel client.

Multiline input uses the kernel's ``is_complete``; Tab completion its ``complete``; the
history (Up/Down, Ctrl+R reverse search) is the kernel's shared history, reloaded before
each prompt so what other clients ran is searchable too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncGenerator, Iterable

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import has_focus, is_searching
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.history import History
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.patch_stdout import patch_stdout
from pygments.lexers.scripting import LuaLexer

from kernel_core.client import KernelClient, KernelGone
from kernel_core.protocol.wire import Message
from llmspell_tui.kernel_process import start_kernel, stop_kernel

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


def _continuation(width: int, line_number: int, is_soft_wrap: int) -> str:
    """The prompt of continuation lines: ``...>`` aligned under ``lua [n]>``."""
    del line_number
    return " " * width if is_soft_wrap else "...> ".rjust(width)


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


async def _repl(args: argparse.Namespace) -> int:
    from kernel_core.kernel.registry import resolve_kernel

    proc = None
    if args.attach is None:
        connection_file, proc = await start_kernel(
            config=getattr(args, "config", None),
            profile=getattr(args, "profile", None),
            owner="repl",
        )
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

        # Only in the input line: in Ctrl+R search, Enter must stay prompt_toolkit's
        # accept-search (taken here, it submitted the search text and wedged the prompt).
        @bindings.add("enter", filter=has_focus(DEFAULT_BUFFER) & ~is_searching)
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
            prompt_continuation=_continuation,
            complete_while_typing=False,
            enable_history_search=False,
        )

        async def answer(prompt: str, password: bool) -> str:
            return await session.prompt_async(prompt, is_password=password, handle_sigint=False)

        client.on_input = answer
        runner = CellRunner(client)
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, runner.on_sigint)
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
                    text = await session.prompt_async(
                        ANSI(f"\x1b[32mlua [{count}]>\x1b[0m "), handle_sigint=False
                    )
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
            reply_msg = await runner.run(text)
            count = int(reply_msg.content.get("execution_count", count)) + 1
    finally:
        await client.close()
        if proc is not None:
            await stop_kernel(proc, connection_file)
    return 0


class CellRunner:
    """Runs cells; Ctrl+C while one runs interrupts it.

    At the prompt the terminal is in raw mode, so Ctrl+C is a key (prompt_toolkit clears the
    line); while a cell runs it is SIGINT. asyncio.run's own handler would cancel the main
    task the first time and raise KeyboardInterrupt the second, ending the REPL, so this
    handler replaces it for the whole session (prompts are told not to install theirs):
    it interrupts a running cell and ignores the signal otherwise. ``running`` is set
    before the first await after the prompt returns, and signal handlers run between loop
    iterations, so no press falls between the two.
    """

    def __init__(self, client: KernelClient) -> None:
        self.client = client
        self.running = False
        self._pending: set[asyncio.Task[None]] = set()

    def on_sigint(self) -> None:
        """The SIGINT handler."""
        if not self.running:
            return
        task = asyncio.get_running_loop().create_task(self.client.interrupt())
        self._pending.add(task)
        task.add_done_callback(self._settled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        # take an unanswered interrupt's failure, which asyncio would print as a traceback
        self._pending.discard(task)
        if not task.cancelled():
            task.exception()

    async def run(self, code: str) -> Message:
        """Execute a cell, printing its output; returns the execute_reply."""
        self.running = True
        shown_error = False

        def show(msg: Message) -> None:
            nonlocal shown_error
            shown_error = shown_error or msg.msg_type == "error"
            _print_message(msg)

        try:
            # a kernel stopped or killed meanwhile ends the REPL (KernelGone, status 1)
            try:
                reply = await self.client.unless_gone(
                    self.client.execute(code, on_message=show), "the cell"
                )
            except KernelGone:
                for task in self._pending:
                    task.cancel()  # an interrupt no kernel is left to answer
                raise
            # Refusals (MessageTooLarge, InvalidContent, ...) publish no error: say why here
            status = reply.content.get("status")
            if status == "error" and not shown_error:
                content = reply.content
                print(f"{content.get('ename')}: {content.get('evalue')}", file=sys.stderr)
            elif status == "aborted":
                print("aborted: an earlier cell failed", file=sys.stderr)
            return reply
        finally:
            self.running = False
            for task in list(self._pending):
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await task


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
