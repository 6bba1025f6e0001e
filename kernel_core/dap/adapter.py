"""The DAP adapter: a client's DAP on one side, a kernel's ``debug_request``s on the other.

The debugger lives in the kernel and speaks DAP natively, so most requests are forwarded
as they are (``debug_request`` on the control channel) and the kernel's ``debug_event``s
on iopub come back as DAP events. The adapter itself does what needs a process: ``launch``
starts a kernel and, after ``configurationDone``, runs the program on it; ``attach``
connects to a running kernel; ``disconnect``, ``terminate`` and ``restart`` end or redo
that. It owns the ``seq`` numbers towards its client.

Ordering: the kernel answers on the control channel and publishes events on iopub, two
sockets with no order between them. After a resume request (continue, next, ...) the
adapter holds events until the response is written, so a client always sees the
``next`` response before the ``stopped`` event it leads to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel_core.ansi import strip_ansi
from kernel_core.dap.framing import FrameReader, FramingError, encode
from kernel_core.debugger.capabilities import CAPABILITIES as KERNEL_CAPABILITIES
from kernel_core.errors import LlmspellError

if TYPE_CHECKING:
    from kernel_core.client import KernelClient
    from kernel_core.dap.kernel_process import KernelProcess
    from kernel_core.protocol.wire import Message

log = logging.getLogger(__name__)

Write = Callable[[bytes], None]

# What the kernel's debugger advertises, plus what the adapter adds (restart). Answered
# before any kernel exists; if the kernel says otherwise, a ``capabilities`` event corrects it.
CAPABILITIES: dict[str, Any] = {**KERNEL_CAPABILITIES, "supportsRestartRequest": True}
ADAPTER_ONLY = {"supportsRestartRequest"}
RESUME_COMMANDS = {"continue", "next", "stepIn", "stepOut", "stepBack", "reverseContinue"}
BREAKPOINT_COMMANDS = {"setBreakpoints", "setFunctionBreakpoints", "setExceptionBreakpoints"}
REQUEST_TIMEOUT = 30.0


class DapError(LlmspellError):
    """A request the adapter refuses; the message goes back in the failed response."""


class DapAdapter:
    """One DAP session over a byte stream, on one kernel at a time."""

    def __init__(
        self,
        write: Write,
        *,
        config_file: str | None = None,
        profile: str | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self._write_bytes = write
        self.config_file = config_file
        self.profile = profile
        self.request_timeout = request_timeout
        self._seq = 0
        self.client: KernelClient | None = None
        self.kernel: KernelProcess | None = None
        self.mode: str | None = None  # "launch" or "attach"
        self.initialize_args: dict[str, Any] = {}
        self.launch_args: dict[str, Any] = {}
        self.program: Path | None = None
        self.no_debug = False
        self.configured = False
        self.terminated_sent = False
        self.done = asyncio.Event()
        self._breakpoint_state: dict[str, dict[str, Any]] = {}
        self._run_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._holding = 0
        self._held: list[dict[str, Any]] = []
        self._remove_listener: Callable[[], None] | None = None
        self._ending = False  # disconnect or restart in progress: the old run's end is silent
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]] = {
            "initialize": self.initialize_request,
            "launch": self.launch_request,
            "attach": self.attach_request,
            "configurationDone": self.configurationDone_request,
            "disconnect": self.disconnect_request,
            "terminate": self.terminate_request,
            "restart": self.restart_request,
        }

    # ------------------------------------------------------------------ the stream

    async def serve(self, chunks: asyncio.Queue[bytes]) -> None:
        """Serve requests from ``chunks`` (b"" = end of input) until disconnect or EOF."""
        reader = FrameReader()
        try:
            while not self.done.is_set():
                getter = asyncio.ensure_future(chunks.get())
                ender = asyncio.ensure_future(self.done.wait())
                finished, _ = await asyncio.wait(
                    {getter, ender}, return_when=asyncio.FIRST_COMPLETED
                )
                for future in (getter, ender):
                    if future not in finished:
                        future.cancel()
                if getter not in finished:
                    break
                data = getter.result()
                if not data:
                    log.info("the client closed its end of the stream")
                    break
                for item in reader.feed(data):
                    if isinstance(item, FramingError):
                        self._framing_error(item)
                    elif item.get("type") == "response":
                        log.debug("ignored a response from the client: %s", item.get("command"))
                    else:
                        await self.dispatch(item)
                    if self.done.is_set():
                        break
        finally:
            await self.close()

    def _send(self, message: dict[str, Any]) -> None:
        self._seq += 1
        message["seq"] = self._seq
        try:
            self._write_bytes(encode(message))
        except OSError as exc:  # the client is gone: nobody to talk to, end the session
            log.info("cannot write to the client (%s); ending", exc)
            self.done.set()

    def respond(
        self,
        request: dict[str, Any],
        body: dict[str, Any] | None = None,
        *,
        error: str | None = None,
    ) -> None:
        """Write the response to ``request`` (failed with ``error`` when given)."""
        response: dict[str, Any] = {
            "type": "response",
            "request_seq": request.get("seq", 0),
            "command": request.get("command", ""),
            "success": error is None,
        }
        if error is not None:
            response["message"] = error
            response["body"] = {"error": {"id": 1, "format": error, "showUser": True}}
        else:
            response["body"] = body or {}
        self._send(response)

    def event(self, name: str, body: dict[str, Any] | None = None) -> None:
        """Write an event (held while a resume request waits for its response)."""
        message = {"type": "event", "event": name, "body": body or {}}
        if self._holding:
            self._held.append(message)
        else:
            self._send(message)

    def _framing_error(self, error: FramingError) -> None:
        log.warning("bad DAP input: %s", error.message)
        if error.seq is not None:
            self.respond(
                {"seq": error.seq, "command": error.command or ""},
                error=f"invalid request: {error.message}",
            )
        else:
            self.event(
                "output",
                {"category": "important", "output": f"llmspell dap: {error.message}\n"},
            )

    # ------------------------------------------------------------------ dispatch

    async def dispatch(self, request: dict[str, Any]) -> None:
        """Answer one request: the adapter's own, or forwarded to the kernel."""
        command = str(request["command"])
        arguments = request.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            self.respond(request, error=f"{command}: arguments must be an object")
            return
        handler = self.handlers.get(command)
        if handler is not None:
            try:
                body = await handler(arguments)
            except LlmspellError as exc:
                self.respond(request, error=str(exc))
                return
            except Exception as exc:
                log.exception("%s failed", command)
                self.respond(request, error=f"{command} failed: {type(exc).__name__}: {exc}")
                return
            self.respond(request, body)
            if command in ("launch", "attach"):
                self.event("initialized")
            elif command == "configurationDone" and self.mode == "launch":
                self._start_run()
            elif command == "disconnect":
                self.done.set()
            return
        if self.no_debug and command in ("setBreakpoints", "setFunctionBreakpoints"):
            self.respond(request, _unverified(arguments, "breakpoints are off (noDebug launch)"))
            return
        if self.client is None:
            self.respond(
                request,
                error=f"{command}: no program is being debugged yet (send launch or attach first)",
            )
            return
        task = asyncio.create_task(self._forward_and_respond(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # sent in arrival order: the kernel serves debug requests one by one, in order
        await asyncio.sleep(0)

    async def _forward_and_respond(self, request: dict[str, Any]) -> None:
        command = str(request["command"])
        resume = command in RESUME_COMMANDS
        if resume:
            self._holding += 1
        try:
            response = await self.forward(request)
            if response.get("success") and command in BREAKPOINT_COMMANDS:
                self._remember_breakpoints(command, request.get("arguments") or {})
            self._send(response)
        finally:
            if resume:
                self._holding -= 1
                if not self._holding:
                    held, self._held = self._held, []
                    for message in held:
                        self._send(message)

    async def forward(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send a DAP request to the kernel; its DAP response, with the client's request_seq."""
        from kernel_core.client import KernelTimeout

        command = str(request.get("command", ""))
        failed: dict[str, Any] = {
            "type": "response",
            "request_seq": request.get("seq", 0),
            "command": command,
            "success": False,
        }
        if self.client is None:
            return {**failed, "message": f"{command}: not connected to a kernel"}
        try:
            reply = await self.client.request(
                "debug_request", request, channel="control", timeout=self.request_timeout
            )
        except KernelTimeout:
            return {
                **failed,
                "message": f"{command}: the kernel did not answer within {self.request_timeout:g}s",
            }
        content = reply.content
        if content.get("type") != "response":
            # the kernel refused the message itself (a Jupyter error reply)
            reason = content.get("evalue") or content.get("message") or "the kernel refused it"
            return {**failed, "message": f"{command}: {reason}"}
        response = dict(content)
        response["request_seq"] = request.get("seq", 0)
        response.pop("seq", None)
        return response

    async def _kernel_request(self, command: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """A request of the adapter's own; raises DapError when the kernel refuses it."""
        response = await self.forward(
            {"seq": 0, "type": "request", "command": command, "arguments": arguments}
        )
        if not response.get("success"):
            raise DapError(str(response.get("message") or f"{command} failed in the kernel"))
        body = response.get("body")
        return body if isinstance(body, dict) else {}

    def _remember_breakpoints(self, command: str, arguments: dict[str, Any]) -> None:
        """What restart sets again on the fresh kernel."""
        if command == "setBreakpoints":
            path = (arguments.get("source") or {}).get("path")
            if isinstance(path, str):
                self._breakpoint_state[f"{command}:{path}"] = {"command": command, **arguments}
        else:
            self._breakpoint_state[command] = {"command": command, **arguments}

    # ------------------------------------------------------------------ kernel events

    def _on_iopub(self, msg: Message) -> None:
        content = msg.content
        if msg.msg_type == "debug_event":
            name = str(content.get("event", ""))
            # every client's initialize makes the kernel say "initialized" to all: the
            # adapter sends its own when its launch or attach is done
            if name and name != "initialized":
                body = content.get("body")
                self.event(name, body if isinstance(body, dict) else {})
        elif msg.msg_type == "stream":
            category = "stderr" if content.get("name") == "stderr" else "stdout"
            self.event("output", {"category": category, "output": str(content.get("text", ""))})
        elif msg.msg_type == "error":
            # Jupyter tracebacks carry ANSI colour (frontends render it); an editor's debug
            # console shows escapes raw, so the report goes out as plain text
            lines = content.get("traceback") or [f"{content.get('ename')}: {content.get('evalue')}"]
            text = strip_ansi("\n".join(str(line) for line in lines))
            self.event("output", {"category": "stderr", "output": text + "\n"})

    # ------------------------------------------------------------------ lifecycle requests

    async def initialize_request(self, args: dict[str, Any]) -> dict[str, Any]:
        self.initialize_args = dict(args)
        return dict(CAPABILITIES)

    async def launch_request(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.mode is not None:
            raise DapError(f"launch: this session is already {self.mode}ed; start another one")
        await self._launch(args)
        return {}

    async def _launch(self, args: dict[str, Any]) -> None:
        from kernel_core.dap.kernel_process import start_kernel

        program = args.get("program")
        if not isinstance(program, str) or not program:
            raise DapError("launch needs 'program': the path of the Lua script to run")
        cwd = args.get("cwd")
        if cwd is not None and (not isinstance(cwd, str) or not Path(cwd).is_dir()):
            raise DapError(f"launch: cwd {cwd!r} is not a directory")
        path = Path(cwd or os.getcwd(), program).expanduser().resolve()
        if not path.is_file():
            raise DapError(f"launch: program {str(path)!r} does not exist")
        script_args = args.get("args") or []
        if not isinstance(script_args, list) or not all(isinstance(a, str) for a in script_args):
            raise DapError("launch: 'args' must be a list of strings")
        env = args.get("env") or {}
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in env.items()
        ):
            raise DapError("launch: 'env' must map names to strings (or null to unset)")
        self.kernel = await start_kernel(
            cwd=cwd, env=env, config_file=self.config_file, profile=self.profile
        )
        self._watch_task = asyncio.create_task(self._watch_kernel(self.kernel))
        await self._connect(self.kernel.connection_file)
        self.launch_args = dict(args)
        self.program = path
        self.no_debug = bool(args.get("noDebug", False))
        self.mode = "launch"
        await self._kernel_request("launch", {**args, "program": str(path)})
        if self.no_debug:
            await self._kernel_request("setExceptionBreakpoints", {"filters": []})

    async def attach_request(self, args: dict[str, Any]) -> dict[str, Any]:
        from kernel_core.kernel.registry import resolve_kernel

        if self.mode is not None:
            raise DapError(f"attach: this session is already {self.mode}ed; start another one")
        spec = args.get("connectionFile") or args.get("kernel")
        if spec is not None and not isinstance(spec, str):
            raise DapError("attach: 'kernel' must be a kernel id or name, 'connectionFile' a path")
        connection_file = resolve_kernel(spec or None)
        await self._connect(connection_file)
        self.mode = "attach"
        await self._kernel_request("attach", args)
        # restart is the adapter's for what it launched; an attached kernel is not its to
        # replace, so the editor is told (and restarts by re-attaching, as DAP says to)
        self.event("capabilities", {"capabilities": {"supportsRestartRequest": False}})
        return {}

    async def _connect(self, connection_file: Path) -> None:
        from kernel_core.client import KernelClient

        client = KernelClient.from_file(connection_file)
        try:
            await client.start()
            await client.wait_ready(15)
        except BaseException:
            await client.close()
            raise
        self.client = client
        self._remove_listener = client.add_listener(self._on_iopub)
        capabilities = await self._kernel_request("initialize", self.initialize_args)
        changed = {
            key: value
            for key, value in capabilities.items()
            if key not in ADAPTER_ONLY and CAPABILITIES.get(key) != value
        }
        if changed:
            self.event("capabilities", {"capabilities": changed})

    async def _disconnect_client(self) -> None:
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        if self.client is not None:
            await self.client.close()
            self.client = None

    async def configurationDone_request(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.client is None:
            raise DapError("configurationDone: send launch or attach first")
        await self._kernel_request("configurationDone", args)
        self.configured = True
        return {}

    async def terminate_request(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.client is None:
            raise DapError("terminate: nothing is being debugged")
        running = self._run_task is not None and not self._run_task.done()
        if self.mode == "launch" and not running:
            self._send_terminated()
            return {}
        await self._kernel_request("terminate", args)
        if self.mode == "attach":
            self._send_terminated()
        # a launched program's run ends now; its end sends exited and terminated
        return {}

    async def disconnect_request(self, args: dict[str, Any]) -> dict[str, Any]:
        self._ending = True
        if self.mode == "attach" and self.client is not None:
            forward = {"terminateDebuggee": bool(args.get("terminateDebuggee", False))}
            await self._kernel_request("disconnect", forward)
        await self._end_kernel()
        return {}

    async def restart_request(self, args: dict[str, Any]) -> dict[str, Any]:
        if self.mode != "launch":
            raise DapError("restart: only a launched program can be restarted")
        new_args = args.get("arguments")
        launch_args = dict(new_args) if isinstance(new_args, dict) else self.launch_args
        self._ending = True
        await self._end_kernel()
        self._ending = False
        self.mode = None
        self.terminated_sent = False
        await self._launch(launch_args)
        for request in list(self._breakpoint_state.values()):
            arguments = {k: v for k, v in request.items() if k != "command"}
            await self._kernel_request(str(request["command"]), arguments)
        await self._kernel_request("configurationDone", {})
        self._start_run()
        return {}

    async def _end_kernel(self) -> None:
        """Stop the run; shut a launched kernel down; disconnect."""
        if self._run_task is not None:
            self._run_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._run_task
            self._run_task = None
        kernel, self.kernel = self.kernel, None
        if kernel is not None and self._watch_task is not None:
            self._watch_task.cancel()
            self._watch_task = None
        shutdown_sent = False
        if kernel is not None and self.client is not None and kernel.running:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.shutdown(), 5)
                shutdown_sent = True
        await self._disconnect_client()
        if kernel is not None:
            await kernel.stop(shutdown_sent=shutdown_sent)

    async def close(self) -> None:
        """End everything this adapter started (the client went away or disconnected)."""
        self._ending = True
        for task in list(self._tasks):
            task.cancel()
        await self._end_kernel()

    # ------------------------------------------------------------------ the program

    def _start_run(self) -> None:
        self._run_task = asyncio.create_task(self._run_program())

    async def _run_program(self) -> None:
        assert self.client is not None
        assert self.program is not None
        script_args = [str(a) for a in self.launch_args.get("args") or []]
        try:
            reply = await self.client.execute(
                "",
                msg_type="llmspell_run_request",
                content={"path": str(self.program), "args": script_args, "allow_stdin": False},
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("the run failed")
            self.event("output", {"category": "stderr", "output": f"llmspell dap: {exc}\n"})
            exit_code = 1
        else:
            content = reply.content
            code = content.get("exit_code")
            if isinstance(code, int) and code:
                exit_code = code
            else:
                exit_code = 0 if content.get("status") == "ok" else 1
        if not self._ending:
            self.event("exited", {"exitCode": exit_code})
            self._send_terminated()

    def _send_terminated(self) -> None:
        if not self.terminated_sent:
            self.terminated_sent = True
            self.event("terminated")

    async def _watch_kernel(self, kernel: KernelProcess) -> None:
        """A launched kernel that dies ends the session (instead of leaving it hanging)."""
        status = await kernel.process.wait()
        if self._ending or self.kernel is not kernel:
            return
        self.event(
            "output",
            {
                "category": "stderr",
                "output": f"llmspell dap: the kernel exited (status {status}); "
                f"its log: {kernel.log_file}\n",
            },
        )
        if self._run_task is not None and not self._run_task.done():
            self._run_task.cancel()
            self.event("exited", {"exitCode": status if status else 1})
        self._send_terminated()


def _unverified(arguments: dict[str, Any], message: str) -> dict[str, Any]:
    requested = arguments.get("breakpoints")
    if not isinstance(requested, list):
        requested = [{"line": n} for n in arguments.get("lines") or []]
    out = []
    for item in requested:
        bp: dict[str, Any] = {"verified": False, "message": message}
        if isinstance(item, dict) and isinstance(item.get("line"), int):
            bp["line"] = item["line"]
        out.append(bp)
    return {"breakpoints": out}


async def serve_stdio(
    *, config_file: str | None = None, profile: str | None = None, stdin_fd: int = 0
) -> None:
    """Serve one DAP session on stdin/stdout (``llmspell dap``)."""
    import sys
    import threading

    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def read_stdin() -> None:
        # a plain thread: stdin may be a pipe, a file or a tty, which asyncio cannot all watch;
        # daemon, so a blocked read never holds up the exit
        while True:
            try:
                data = os.read(stdin_fd, 65536)
            except OSError:
                data = b""
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, data)
            except RuntimeError:  # the loop is closed: the adapter has ended
                return
            if not data:
                return

    threading.Thread(target=read_stdin, name="dap-stdin", daemon=True).start()
    out = sys.stdout.buffer

    def write(data: bytes) -> None:
        out.write(data)
        out.flush()

    adapter = DapAdapter(write, config_file=config_file, profile=profile)
    await adapter.serve(chunks)
