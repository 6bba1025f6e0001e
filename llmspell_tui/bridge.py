"""The TUI's link to its kernel: requests go out as plain calls, everything that comes back
(replies, iopub output, DAP events) is posted to the app as a message from ``messages.py``.

Each method is meant to run in a Textual worker: the UI never waits on the kernel. A failed
request becomes a :class:`~llmspell_tui.messages.RequestFailed` message, not an exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message as UIMessage

from kernel_core.errors import LlmspellError
from kernel_core.profiler.model import Profile
from kernel_core.protocol.wire import Message
from llmspell_tui import messages as m
from llmspell_tui.kernel_process import start_kernel, stop_kernel

if TYPE_CHECKING:
    from kernel_core.client import DebugClient, DebugRequestFailed, KernelClient, KernelTimeout

log = logging.getLogger(__name__)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_ARROW = re.compile(r"^\s*--> (.+):(\d+)$")

Post = Callable[[UIMessage], object]
# Parents whose busy/idle status means "code is running" (not kernel_info and the like).
RUNNING_PARENTS = {"execute_request", "llmspell_run_request"}
FLOOD_KEEP = 1000  # lines of output kept of what arrives while the app draws one frame
OUTPUT_PERIOD = 0.05  # s: output is handed to the app at most this often
# A kernel that misses this many heartbeats in a row, one every period, is gone.
HEARTBEAT_PERIOD = 2.0
HEARTBEAT_TIMEOUT = 2.0
HEARTBEATS_MISSED = 2


# The kernel client (zmq, the wire protocol) is imported when the bridge connects, after the
# first frame: its errors are named through these (an ``except`` evaluates them only when an
# exception arrives, and every request is made after the import).
def _failed() -> type[DebugRequestFailed]:
    from kernel_core.client import DebugRequestFailed

    return DebugRequestFailed


def _timeout() -> type[KernelTimeout]:
    from kernel_core.client import KernelTimeout

    return KernelTimeout


def _errors() -> tuple[type[DebugRequestFailed], type[KernelTimeout]]:
    return (_failed(), _timeout())


def _message_of(exc: Exception) -> str:
    """A failed request's message (the DAP error's text, or a timeout's)."""
    return exc.message if isinstance(exc, _failed()) else str(exc)


@dataclass(frozen=True)
class Launch:
    """Start a kernel for this TUI and, with a script, debug it."""

    script: Path | None = None
    args: list[str] = field(default_factory=list)
    stop_on_entry: bool = True
    config: str | None = None
    profile: str | None = None  # the configuration profile (-p NAME)
    name: str | None = None
    # profile the script from its first line: the llmspell/profileStart arguments (mode,
    # rate) sent before it runs; None = profiling stays off until asked for
    profiling: dict[str, Any] | None = None


@dataclass(frozen=True)
class Attach:
    """Join a running kernel (id, name or connection file; None = the newest live one)."""

    kernel: str | None = None


class KernelBridge:
    """One kernel connection with its debugger, translating to Textual messages."""

    def __init__(self, target: Launch | Attach, post: Post, *, scrollback: int = 0) -> None:
        self.target = target
        self.post = post
        self.scrollback = scrollback  # lines of output worth keeping (0: all)
        self.client: KernelClient | None = None
        self.debug: DebugClient | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.connection_file: Path | None = None
        # iopub messages, and the app messages that must follow them (a run's end after its
        # output), in the order the pump posts them
        self._inbox: asyncio.Queue[Message | UIMessage] = asyncio.Queue()
        self._unlisten: Callable[[], None] | None = None
        # code runs on the shell (a script, paused or not, or a cell): shell requests would wait
        self.shell_busy = False

    @property
    def flood_keep(self) -> int:
        """Lines of one frame's output worth drawing: a frame's worth of a flood beyond a
        few screens would scroll past unseen, and drawing it would delay the next key."""
        return min(self.scrollback, FLOOD_KEEP) if self.scrollback else FLOOD_KEEP

    # ------------------------------------------------------------------ lifecycle

    async def connect(self) -> bool:
        """Start or find the kernel, connect, configure the debugger; False if that failed."""
        try:
            await self._connect()
        except (LlmspellError, OSError) as exc:
            self.post(m.KernelFailed(str(exc)))
            return False
        return True

    async def _connect(self) -> None:
        from kernel_core.client import DebugClient, KernelClient
        from kernel_core.kernel.registry import resolve_kernel

        target = self.target
        if isinstance(target, Launch):
            self.connection_file, self.process = await start_kernel(
                config=target.config, profile=target.profile, name=target.name
            )
        else:
            self.connection_file = resolve_kernel(target.kernel)
        client = self.client = KernelClient.from_file(self.connection_file)
        # listening before the first request, so nothing published in between is lost
        self._unlisten = client.add_listener(self._inbox.put_nowait)
        await client.start()
        # on control: the shell queue may be busy with a running (or paused) script
        reply = await client.request("kernel_info_request", channel="control", timeout=15)
        info = reply.content.get("llmspell", {})
        self.debug = DebugClient(client)
        script = await self._configure_debugger()
        self.post(
            m.KernelConnected(
                kernel_id=str(info.get("kernel_id", "")),
                name=str(info.get("name") or ""),
                transport=str(info.get("transport", "")),
                clients=int(info.get("clients") or 0),
                script=script,
            )
        )
        if isinstance(target, Attach):
            await self._show_current_stop(str(info.get("state", "")))

    async def _configure_debugger(self) -> str | None:
        """initialize, launch or attach, configurationDone; the launched script's path."""
        assert self.debug is not None
        target, debug = self.target, self.debug
        await debug.request("initialize", {"clientID": "llmspell-tui", "adapterID": "llmspell"})
        script = None
        if isinstance(target, Launch):
            await debug.request("setExceptionBreakpoints", {"filters": ["uncaught"]})
            arguments: dict[str, Any] = {"stopOnEntry": target.stop_on_entry}
            if target.script is not None:
                script = str(target.script.resolve())
                arguments.update(program=script, args=target.args)
            await debug.request("launch", arguments)
        else:
            await debug.request("attach", {})
        await debug.request("configurationDone")
        if isinstance(target, Launch) and target.profiling is not None:
            # on before the app asks for the run, so the profile starts at its first line
            await self.profile_start(**target.profiling)
        return script

    async def run_fresh(self, breakpoints: dict[str, list[m.BreakpointSpec]]) -> None:
        """Run the launched script again from a clean Lua world, as ``llmspell run`` would.

        A second run in the same world finds the first one's globals and registrations (a
        named agent "already exists"), so the kernel this TUI launched restarts in place
        first: a new Lua world, the same process, State and history kept (shutdown_request
        with restart). Its debugger is new too: configured again, with ``breakpoints``.
        """
        assert self.client is not None
        client = self.client

        async def restart() -> None:
            await client.shutdown(restart=True)
            # the control channel serves the next request once the new world is ready
            await client.request("kernel_info_request", channel="control", timeout=30)
            await self._configure_debugger()
            for path, specs in breakpoints.items():
                await self.set_breakpoints(path, specs)

        await self._guard("restart", restart())
        await self.run_script()

    async def _show_current_stop(self, state: str) -> None:
        """On attach: show what the kernel is doing now (running, or stopped somewhere)."""
        assert self.debug is not None
        if state == "busy":
            self.shell_busy = True
            self.post(m.KernelBusy(True))
        info = await self.debug.request("debugInfo")
        for thread_id in info.get("stoppedThreads") or []:
            self.post(m.Stopped("attach", int(thread_id), ""))

    async def pump(self) -> None:
        """Post every iopub message as a Textual message, until cancelled.

        Output is coalesced: while the app has not yet handled the last Output posted, more
        output joins it instead of queueing behind it, and a new Output is posted at most
        every ``OUTPUT_PERIOD`` (what comes meanwhile joins it), so a script printing in a
        loop costs the app (and the terminal) a redraw of the console 20 times a second, and
        a key pressed meanwhile waits for none of it."""
        loop = asyncio.get_running_loop()
        pending: m.Output | None = None  # the Output that more output joins
        waiting: m.Output | None = None  # not posted yet: the last one was posted just now
        posted_at = -OUTPUT_PERIOD
        timer: asyncio.TimerHandle | None = None

        def post_waiting() -> None:
            nonlocal waiting, posted_at, timer
            if timer is not None:
                timer.cancel()
                timer = None
            if waiting is not None:
                self.post(waiting)
                waiting, posted_at = None, loop.time()

        handled = 0
        try:
            while True:
                msg = await self._inbox.get()
                if isinstance(msg, Message) and self._own_shutdown(msg):
                    continue  # this TUI's own restart (F5 after a run) or quit
                translated = msg if isinstance(msg, UIMessage) else translate(msg)
                if isinstance(translated, m.Output):
                    if pending is None or not pending.add(translated.stream, translated.text):
                        pending = m.Output(translated.stream, translated.text, keep=self.flood_keep)
                        if loop.time() - posted_at >= OUTPUT_PERIOD:
                            self.post(pending)
                            posted_at = loop.time()
                        else:
                            waiting = pending
                            timer = loop.call_at(posted_at + OUTPUT_PERIOD, post_waiting)
                elif translated is not None:
                    if isinstance(translated, m.KernelBusy):
                        self.shell_busy = translated.busy
                    post_waiting()  # the output before this message goes first, as it was sent
                    pending = None  # later output comes after this message
                    self.post(translated)
                handled += 1
                if handled % 16 == 0:
                    # a full queue never suspends the pump: let keys and frames in between
                    await asyncio.sleep(0)
        finally:
            if timer is not None:
                timer.cancel()

    def _own_shutdown(self, msg: Message) -> bool:
        client = self.client
        return (
            msg.msg_type == "shutdown_reply"
            and client is not None
            and msg.parent_header.get("session") == client.session.session_id
        )

    async def watch(self) -> None:
        """Post KernelEnded("gone") once the kernel stops answering its heartbeat (or the
        process this TUI started ends): a kernel killed, or stopped with a signal, says
        nothing on iopub. The heartbeat answers while Lua runs or is paused."""
        client = self.client
        if client is None:
            return
        missed = 0
        while True:
            await asyncio.sleep(HEARTBEAT_PERIOD)
            process = self.process
            if process is not None and process.returncode is not None:
                break
            missed = 0 if await client.heartbeat(HEARTBEAT_TIMEOUT) else missed + 1
            if missed >= HEARTBEATS_MISSED:
                break
        self.post_after_output(m.KernelEnded("gone"))

    def post_after_output(self, message: UIMessage) -> None:
        """Post ``message`` once the iopub messages received so far have been posted."""
        self._inbox.put_nowait(message)

    async def close(self) -> None:
        """Disconnect, and stop the kernel if this TUI started it."""
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self.client is not None:
            if self.process is not None and self.debug is not None:
                # a launched script ends with its debugger (DAP's terminateDebuggee), even
                # when it is paused, so the kernel can shut down at once
                with contextlib.suppress(LlmspellError):
                    await self.debug.request("disconnect", {"terminateDebuggee": True}, timeout=5)
            await self.client.close()
        if self.process is not None and self.connection_file is not None:
            await stop_kernel(self.process, self.connection_file)
            self.process = None

    # ------------------------------------------------------------------ requests

    async def _guard(self, command: str, call: Awaitable[None]) -> None:
        try:
            await call
        except _errors() as exc:
            self.post(m.RequestFailed(command, _message_of(exc)))

    async def _dap(self, command: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.debug is not None
        return await self.debug.request(command, arguments)

    async def run_script(self) -> None:
        """Run the launched script to its end; posts ScriptFinished."""
        assert self.client is not None
        assert isinstance(self.target, Launch)
        assert self.target.script is not None

        async def run() -> None:
            assert self.client is not None
            assert isinstance(self.target, Launch)
            self.shell_busy = True  # before the kernel's busy status arrives
            reply = await self.client.execute(
                "",
                msg_type="llmspell_run_request",
                content={
                    "path": str(self.target.script),
                    "args": self.target.args,
                    "allow_stdin": False,
                },
            )
            status = str(reply.content.get("status", "error"))
            code = int(reply.content.get("exit_code", 0 if status == "ok" else 1))
            # the reply comes once the kernel is idle, but the run's output may still wait in
            # the pump's queue: the end is shown after it
            self.post_after_output(m.ScriptFinished(status, code))

        await self._guard("run", run())

    async def execute(self, code: str) -> None:
        """Run code in the kernel (its output arrives as messages)."""
        assert self.client is not None
        client = self.client

        async def run() -> None:
            await client.execute(code, allow_stdin=False)

        await self._guard("execute", run())

    async def count_clients(self) -> None:
        """Ask the kernel how many clients it has."""
        assert self.client is not None
        client = self.client

        async def count() -> None:
            reply = await client.request("kernel_info_request", channel="control", timeout=5)
            self.post(m.ClientsCounted(int(reply.content.get("llmspell", {}).get("clients", 0))))

        await self._guard("kernel_info", count())

    async def stack(self, thread_id: int) -> None:
        """Load the frames of a stopped thread."""

        async def load() -> None:
            body = await self._dap("stackTrace", {"threadId": thread_id})
            frames = [m.Frame.from_dap(f) for f in body.get("stackFrames", [])]
            self.post(m.StackLoaded(thread_id, frames))

        await self._guard("stackTrace", load())

    async def threads(self) -> None:
        """List the script's threads (the main one and its live coroutines)."""

        async def load() -> None:
            body = await self._dap("threads")
            found = [m.Thread(int(t["id"]), str(t.get("name", ""))) for t in body["threads"]]
            self.post(m.ThreadsListed(found))

        await self._guard("threads", load())

    async def scopes(self, frame_id: int) -> None:
        """Load the scopes of a frame."""

        async def load() -> None:
            body = await self._dap("scopes", {"frameId": frame_id})
            scopes = [m.Scope.from_dap(s) for s in body.get("scopes", [])]
            self.post(m.ScopesLoaded(frame_id, scopes))

        await self._guard("scopes", load())

    async def variables(self, reference: int, start: int = 0, count: int = 0) -> None:
        """Load the children of a variables reference (``count`` of them from ``start``)."""

        async def load() -> None:
            arguments: dict[str, Any] = {"variablesReference": reference}
            if count:
                arguments.update(start=start, count=count)
            body = await self._dap("variables", arguments)
            found = [m.Variable.from_dap(v) for v in body.get("variables", [])]
            self.post(m.VariablesLoaded(reference, found, start, count))

        await self._guard("variables", load())

    async def source(self, path: str) -> None:
        """Load a source file's text (through the kernel, so remote kernels work too)."""

        async def load() -> None:
            body = await self._dap("source", {"source": {"path": path}})
            self.post(m.SourceLoaded(path, str(body.get("content", ""))))

        await self._guard("source", load())

    async def loaded_sources(self) -> None:
        """List the sources the kernel has loaded (scripts, modules, console cells)."""

        async def load() -> None:
            body = await self._dap("loadedSources")
            paths = [str(s["path"]) for s in body.get("sources") or [] if s.get("path")]
            self.post(m.SourcesListed(paths))

        await self._guard("loadedSources", load())

    async def set_breakpoints(
        self, path: str, breakpoints: list[int] | list[m.BreakpointSpec]
    ) -> None:
        """Replace the breakpoints of a file (plain lines, or lines with conditions).

        Before the kernel is connected this sends nothing: the app sends its breakpoints once
        it is (App.run_bridge)."""
        if self.debug is None:
            return
        specs = [b if isinstance(b, m.BreakpointSpec) else m.BreakpointSpec(b) for b in breakpoints]

        async def send() -> None:
            body = await self._dap(
                "setBreakpoints",
                {"source": {"path": path}, "breakpoints": [spec.to_dap() for spec in specs]},
            )
            bound = [
                m.BoundBreakpoint.from_dap(spec.line, b)
                for spec, b in zip(specs, body.get("breakpoints", []), strict=False)
            ]
            self.post(m.BreakpointsSet(path, sorted({b.line for b in bound}), bound))

        await self._guard("setBreakpoints", send())

    async def resume(self, command: str, thread_id: int) -> None:
        """continue, next, stepIn or stepOut."""

        async def send() -> None:
            await self._dap(command, {"threadId": thread_id})

        await self._guard(command, send())

    async def terminate(self) -> None:
        """End the running (or paused) script; its run reply follows as ScriptFinished."""

        async def send() -> None:
            await self._dap("terminate")

        await self._guard("terminate", send())

    async def pause(self) -> None:
        """Pause the running script."""

        async def send() -> None:
            await self._dap("pause", {"threadId": 1})

        await self._guard("pause", send())

    # ------------------------------------------------------------------ console and hooks
    # These return their answer to the pane's worker that asked (a completion or a history
    # belongs to one keypress, not to the app). Shell requests wait behind a running or
    # paused script, so while the shell is busy they are not sent: None means "not now".

    async def is_complete(self, code: str) -> tuple[str, str]:
        """The kernel's verdict on ``code`` (complete, incomplete, invalid) and its indent."""
        if self.client is None or self.shell_busy:
            return "complete", ""
        try:
            reply = await self.client.request("is_complete_request", {"code": code}, timeout=3)
        except _timeout():
            return "complete", ""
        return str(reply.content.get("status", "complete")), str(reply.content.get("indent", ""))

    async def complete(self, code: str, cursor: int) -> m.Completions | None:
        """The kernel's completions at ``cursor`` (None while the shell is busy)."""
        if self.client is None or self.shell_busy:
            return None
        try:
            reply = await self.client.request(
                "complete_request", {"code": code, "cursor_pos": cursor}, timeout=3
            )
        except _timeout():
            return None
        return m.Completions.from_reply(reply.content, cursor)

    async def history(self, n: int = 1000) -> list[str] | None:
        """The last ``n`` entries of the history every client shares, oldest first."""
        if self.client is None or self.shell_busy:
            return None
        try:
            reply = await self.client.request(
                "history_request",
                {"hist_access_type": "tail", "n": n, "output": False, "raw": True},
                timeout=5,
            )
        except _timeout():
            return None
        return [str(entry[2]) for entry in reply.content.get("history") or [] if len(entry) > 2]

    async def hooks(self) -> list[m.HookInfo] | None:
        """Every registered hook with its statistics (None if the kernel did not answer)."""
        if self.debug is None:
            return None
        try:
            body = await self.debug.request("llmspell/hooks", timeout=5)
        except _errors() as exc:
            log.debug("llmspell/hooks failed: %s", exc)
            return None
        return [m.HookInfo.from_stats(h) for h in body.get("hooks") or [] if isinstance(h, dict)]

    # ------------------------------------------------------------------ profiling

    async def profile_start(self, mode: str | None = None, rate: float | None = None) -> None:
        """Start the kernel's profiler (its default mode and rate unless given)."""

        async def send() -> None:
            arguments: dict[str, Any] = {}
            if mode is not None:
                arguments["mode"] = mode
            if rate is not None:
                arguments["rate"] = rate
            body = await self._dap("llmspell/profileStart", arguments)
            self.post(
                m.ProfilingChanged(
                    bool(body.get("running", True)),
                    str(body.get("mode") or mode or "sampling"),
                    float(body.get("rate") or rate or 0.0),
                )
            )

        await self._guard("llmspell/profileStart", send())

    async def profile_stop(self) -> None:
        """Stop the kernel's profiler; its final profile follows."""

        async def send() -> None:
            body = await self._dap("llmspell/profileStop")
            self.post(m.ProfilingChanged(False))
            update = profile_update(body, running=False)
            if update is not None:
                self.post(update)

        await self._guard("llmspell/profileStop", send())

    async def profile_snapshot(self) -> None:
        """Ask for the profile as it is now (nothing is posted if the kernel has none)."""
        if self.debug is None:
            return
        try:
            body = await self.debug.request("llmspell/profileSnapshot", timeout=5)
        except _errors() as exc:
            log.debug("llmspell/profileSnapshot failed: %s", exc)
            return
        update = profile_update(body, running=bool(body.get("running")))
        if update is not None:  # a running one turns profiling on in the app (another client's)
            self.post(update)

    async def evaluate(self, expression: str, frame_id: int | None) -> None:
        """Evaluate an expression in a frame (the console while paused)."""

        async def send() -> None:
            arguments: dict[str, Any] = {"expression": expression, "context": "repl"}
            if frame_id is not None:
                arguments["frameId"] = frame_id
            body = await self._dap("evaluate", arguments)
            self.post(
                m.Evaluated(expression, str(body.get("result", "")), str(body.get("type", "")))
            )

        await self._guard("evaluate", send())

    async def evaluate_watches(self, expressions: list[str], frame_id: int, serial: int) -> None:
        """Evaluate each watch expression in a frame; an error is that watch's result."""

        async def send() -> None:
            results = []
            for expression in expressions:
                try:
                    body = await self._dap(
                        "evaluate",
                        {"expression": expression, "frameId": frame_id, "context": "watch"},
                    )
                except _failed() as exc:
                    results.append(m.WatchResult(expression, "", "", exc.message))
                    continue
                value, kind = str(body.get("result", "")), str(body.get("type", ""))
                results.append(m.WatchResult(expression, value, kind, ""))
            self.post(m.WatchesEvaluated(serial, frame_id, results))

        await self._guard("evaluate", send())

    async def set_variable(self, container: int, name: str, value: str) -> None:
        """Give the variable ``name`` of a scope or table a new value (Lua source)."""

        async def send() -> None:
            try:
                body = await self._dap(
                    "setVariable", {"variablesReference": container, "name": name, "value": value}
                )
            except _failed() as exc:
                self.post(m.VariableSetFailed(name, exc.message))
                return
            self.post(m.VariableSet(container, m.Variable.from_dap({"name": name, **body})))

        await self._guard("setVariable", send())

    async def copy_value(self, name: str, expression: str, frame_id: int | None) -> None:
        """Render a value in full for the clipboard (evaluate's "clipboard" context)."""

        async def send() -> None:
            arguments: dict[str, Any] = {"expression": expression, "context": "clipboard"}
            if frame_id is not None:
                arguments["frameId"] = frame_id
            body = await self._dap("evaluate", arguments)
            self.post(m.ValueCopied(name, str(body.get("result", ""))))

        await self._guard("evaluate", send())


def translate(msg: Message) -> UIMessage | None:
    """The Textual message for one iopub message (None for those the TUI ignores)."""
    content = msg.content
    kind = msg.msg_type
    if kind == "stream":
        return m.Output(str(content.get("name", "stdout")), str(content.get("text", "")))
    if kind == "execute_result":
        return m.Result(str(content.get("data", {}).get("text/plain", "")))
    if kind == "error":
        location = content.get("location")
        where = None
        if isinstance(location, list) and len(location) == 2 and isinstance(location[1], int):
            where = (str(location[0]).removeprefix("@"), location[1])
        report = [_ANSI.sub("", str(line)) for line in content.get("traceback") or []]
        for line in report if where is None else ():
            # a script's run reports the place only in its text: "  --> path:line"
            if found := _ARROW.match(line):
                where = (found.group(1), int(found.group(2)))
                break
        return m.ScriptError(
            str(content.get("ename", "")), str(content.get("evalue", "")), report, where
        )
    if kind == "shutdown_reply":
        return m.KernelEnded("restarted" if content.get("restart") else "shut down")
    if kind == "status":
        if msg.parent_header.get("msg_type") not in RUNNING_PARENTS:
            return None
        return m.KernelBusy(content.get("execution_state") == "busy")
    if kind == "debug_event":
        event = str(content.get("event", ""))
        body = content.get("body") or {}
        if event == "stopped":
            return m.Stopped(
                str(body.get("reason", "")),
                int(body.get("threadId") or 1),
                str(body.get("text") or body.get("description") or ""),
                str((body.get("llmspell") or {}).get("suggestion") or ""),
            )
        if event == "continued":
            return m.Continued(int(body.get("threadId") or 1))
        if event == "output":
            return m.Output(str(body.get("category", "console")), str(body.get("output", "")))
        if event == "llmspell/breakpointHit":
            return m.BreakpointHit(int(body.get("id") or 0), int(body.get("hits") or 0))
        if event == "llmspell/profile":
            return profile_update(body, running=bool(body.get("running")))
    return None


def profile_update(body: dict[str, Any], *, running: bool) -> m.ProfileUpdated | None:
    """The profile a DAP body carries (``{"profile": Profile.to_json(), ...}``) as a message;
    None when there is none or it cannot be read (logged: a bad snapshot is skipped, the
    next one comes a second later)."""
    data = body.get("profile")
    if not isinstance(data, dict):
        return None
    try:
        return m.ProfileUpdated(Profile.from_json(data), running)
    except ValueError as exc:
        log.warning("ignoring a profile from the kernel: %s", exc)
        return None
