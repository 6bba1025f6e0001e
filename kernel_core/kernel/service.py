"""The kernel service: ZeroMQ sockets, the protocol loop, and the shell/control handlers.

The protocol loop (asyncio on the main thread) is never blocked by Lua: everything that
touches Lua is a job for the execution thread. Shell requests are served one at a time in
arrival order; control requests (interrupt, shutdown, debug) are served at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import zmq
import zmq.asyncio

from kernel_core import __version__
from kernel_core.config import Config
from kernel_core.debugger.channel import DebugChannel
from kernel_core.kernel.audit import AuditLog
from kernel_core.kernel.cells import HASH_SEED, CellFiles
from kernel_core.kernel.connection import ConnectionInfo
from kernel_core.kernel.execution import ExecutionThread
from kernel_core.kernel.executor import CellExecutor, ExecuteOutcome
from kernel_core.kernel.history import HistoryStore
from kernel_core.kernel.iopub import KernelSink
from kernel_core.kernel.iopub_join import IopubJoins
from kernel_core.kernel.leftovers import private_cell_dir
from kernel_core.kernel.shell_queue import FairShellQueue, client_of
from kernel_core.kernel.stop_on_error import StopOnError
from kernel_core.kernel.syntax import SyntaxChecker
from kernel_core.paths import data_dir
from kernel_core.protocol.errors import InvalidContent, MessageTooLarge, ProtocolError, QueueFull
from kernel_core.protocol.wire import Message, Session

log = logging.getLogger(__name__)
audit = logging.getLogger("llmspell.audit")

LANGUAGE_INFO = {
    "name": "lua",
    "version": "5.4",
    "mimetype": "text/x-lua",
    "file_extension": ".lua",
    "pygments_lexer": "lua",
    "codemirror_mode": "lua",
}

Handler = Callable[[Message], Awaitable[None]]

# Shell requests that run Lua code an interrupt can stop.
RUNNING_REQUESTS = frozenset({"execute_request", "llmspell_run_request"})

# Messages iopub holds for one subscriber that does not read (ZeroMQ drops beyond it).
IOPUB_HIGH_WATER_MARK = 10_000

# Quick requests one client may have served ahead of the queue at a time.
MAX_OUT_OF_LINE_PER_CLIENT = 8

# A shell identity (one client's shell socket) counts as a client for this long after its
# last request: a ROUTER is not told when a peer goes, so an identity is forgotten by age.
SHELL_CLIENT_TIMEOUT = 60.0

# Shell requests a client expects answered while a cell runs or a script is paused (they
# are how JupyterLab and jupyter_client know the kernel is alive, and what an editor asks
# at a breakpoint). While the execution thread is busy they skip the shell queue: those
# that need no Lua are answered on the protocol thread, complete and inspect go where DAP
# requests go (the paused loop, the armed hook). While idle they keep their place in line.
QUICK_REQUESTS = frozenset(
    {
        "kernel_info_request",
        "is_complete_request",
        "complete_request",
        "inspect_request",
        "history_request",
        "comm_info_request",
    }
)


@dataclass
class KernelStats:
    """Counters reported in kernel_info (``llmspell`` section) and logs."""

    bad_signatures: int = 0
    malformed: int = 0
    oversized: int = 0
    unknown_types: int = 0
    undelivered: int = 0
    requests: int = 0
    # shell identity -> when it last sent a request (monotonic); pruned after a timeout
    shell_seen: dict[bytes, float] = field(default_factory=dict)

    def shell_request_from(self, identity: bytes) -> None:
        """Note a shell request from ``identity`` (and forget identities long silent)."""
        now = time.monotonic()
        self.shell_seen[identity] = now
        if len(self.shell_seen) > 64:
            self.prune_shell(now)

    def prune_shell(self, now: float) -> int:
        """Forget identities silent for SHELL_CLIENT_TIMEOUT; how many are left."""
        cutoff = now - SHELL_CLIENT_TIMEOUT
        for identity in [i for i, seen in self.shell_seen.items() if seen < cutoff]:
            del self.shell_seen[identity]
        return len(self.shell_seen)


class KernelService:
    """One kernel process: owns the sockets, the execution thread and the history."""

    def __init__(
        self,
        config: Config,
        connection: ConnectionInfo,
        *,
        kernel_id: str,
        name: str,
        managed: bool = False,
    ) -> None:
        self.config = config
        self.connection = connection
        self.kernel_id = kernel_id
        self.name = name
        self.managed = managed  # started by a Jupyter manager: restart = exit
        self.started = time.time()
        self.session = Session(connection.key.encode(), username="kernel")
        self.stats = KernelStats()
        self.execution_count = 0
        self.max_message_size = int(config.get("kernel", "max_message_size"))
        self.cell_files = CellFiles(private_cell_dir())
        self.history = HistoryStore(data_dir() / "history.sqlite3", kernel_id)
        self.state = "starting"
        self._shutdown = asyncio.Event()
        self._restart_requested = False
        self._shell_queue = FairShellQueue()
        self._serving: Message | None = None  # the shell request being served
        self._quick_tasks: set[asyncio.Task[None]] = set()
        self._out_of_line: set[int] = set()  # quick requests served ahead of the queue
        self._out_of_line_by_client: dict[bytes, int] = {}
        self._syntax = SyntaxChecker()
        self._subscribers = 0
        self._iopub_joins = IopubJoins()
        self._stop_on_error = StopOnError()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sink: KernelSink | None = None
        self.engine: ExecutionThread | None = None
        self._startup_error: BaseException | None = None
        self.shell_handlers: dict[str, Handler] = {
            "kernel_info_request": self.kernel_info_request,
            "execute_request": self.execute_request,
            "complete_request": self.complete_request,
            "inspect_request": self.inspect_request,
            "is_complete_request": self.is_complete_request,
            "history_request": self.history_request,
            "comm_info_request": self.comm_info_request,
            "shutdown_request": self.shutdown_request,
            "llmspell_run_request": self.llmspell_run_request,
        }
        self._debug_seq = 0
        self.control_handlers: dict[str, Handler] = {
            "debug_request": self.debug_request,
            "kernel_info_request": self.kernel_info_request,
            "interrupt_request": self.interrupt_request,
            "shutdown_request": self.shutdown_request,
        }
        # Messages that need no reply (comms we do not open, replies to our requests).
        self.ignored = {"comm_open", "comm_msg", "comm_close", "input_reply"}

    # ------------------------------------------------------------------ lifecycle

    async def serve(self, on_bound: Callable[[], None] | None = None) -> bool:
        """Bind, serve until shutdown; returns True if a restart was requested.

        ``on_bound`` runs once every socket is bound (that is when the connection file may
        appear: a client connecting earlier would wait for ZeroMQ's 100 ms reconnect).
        The protocol is served while the Lua world is still being built; requests that need
        Lua wait for it, and a world that cannot start ends the kernel with its error.
        """
        self.loop = asyncio.get_running_loop()
        self.audit = AuditLog(audit, self.loop)
        ctx = zmq.asyncio.Context()
        self._ctx = ctx
        self.shell = self._bind(ctx, zmq.ROUTER, "shell")
        self.control = self._bind(ctx, zmq.ROUTER, "control")
        self.stdin = self._bind(ctx, zmq.ROUTER, "stdin")
        self.iopub = self._bind(ctx, zmq.XPUB, "iopub")
        # VERBOSER: every subscribe and every unsubscribe is passed up, also for a topic
        # others still hold (VERBOSE passes only the last unsubscribe: clients that all
        # subscribe to "" were counted in and never out).
        self.iopub.setsockopt(zmq.XPUB_VERBOSER, 1)
        hb_ctx = zmq.Context()
        hb = hb_ctx.socket(zmq.ROUTER)
        hb.linger = 0
        hb.bind(self.connection.endpoint("hb"))
        self._hb_thread = threading.Thread(
            target=_heartbeat, args=(hb,), name="llmspell-heartbeat", daemon=True
        )
        self._hb_thread.start()
        if on_bound is not None:
            # before the Lua world's thread starts: it would contend for the GIL with the
            # files and the readiness report (nothing is served before the loop runs)
            on_bound()
        self.sink = KernelSink(self)
        self.sink.capture_descriptors()  # before the Lua world: it keeps Lua's own print
        self._start_engine()
        self.state = "idle"
        tasks = [
            asyncio.create_task(self._watch_startup()),
            asyncio.create_task(self._receive_loop(self.shell, "shell")),
            asyncio.create_task(self._receive_loop(self.control, "control")),
            asyncio.create_task(self._receive_loop(self.stdin, "stdin")),
            asyncio.create_task(self._iopub_subscriptions()),
            asyncio.create_task(self._shell_consumer()),
        ]
        self.publish("status", {"execution_state": "starting"}, None)
        try:
            await self._shutdown.wait()
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)
            if self.engine is not None:
                self.engine.interrupt()
                await asyncio.to_thread(self.engine.stop)
            for sock in (self.shell, self.control, self.stdin, self.iopub):
                sock.close(linger=200)
            ctx.term()
            hb_ctx.destroy(linger=0)
            self.history.close()
            self.audit.close()
        if self._startup_error is not None:
            raise self._startup_error
        return self._restart_requested

    def _bind(self, ctx: zmq.asyncio.Context, kind: int, channel: str) -> zmq.asyncio.Socket:
        sock = ctx.socket(kind)
        sock.linger = 0
        if kind == zmq.ROUTER:
            sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
            # a reply to a client that has gone fails (and is logged) instead of vanishing
            sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
            sock.setsockopt(zmq.MAXMSGSIZE, max(self.max_message_size * 4, 1 << 20))
        elif kind == zmq.XPUB:
            # A subscriber that reads late (a busy TUI, a client among a hundred) must not
            # lose output: an XPUB drops, unannounced, what exceeds a subscriber's high-water
            # mark (ZeroMQ's default: 1,000). Set before bind: a listener copies the options
            # it has then to every connection it accepts.
            sock.setsockopt(zmq.SNDHWM, IOPUB_HIGH_WATER_MARK)
        sock.bind(self.connection.endpoint(channel))
        return sock

    def _start_engine(self) -> None:
        assert self.sink is not None
        self.debug_channel = channel = DebugChannel()
        engine = ExecutionThread(
            self.config, self.sink, self.cell_files, debug=(self.debug_channel, self._debug_event)
        )
        self.engine = engine

        def wake_running() -> None:
            executor = engine.executor
            if executor is not None:
                executor.runtime.request_action("debug")

        def wake_idle() -> None:
            engine.submit(
                lambda ex: ex.debugger.serve_pending() if ex.debugger else channel.drain_jobs()
            )

        self.debug_channel.wake_running = wake_running
        self.debug_channel.wake_idle = wake_idle
        engine.start(wait=False)

    def _debug_event(self, event: str, body: dict[str, Any]) -> None:
        """A DAP event from the debugger (execution thread): iopub debug_event."""
        self._debug_seq += 1
        # As ipykernel does: the debug_request that caused the event is its parent (the
        # resume request for the stop it leads to). Events of a run itself (a breakpoint
        # hit, output) have none: a client collecting an execute's output by parent (as
        # nbclient does) does not expect debug_events among them.
        parent = self.debug_channel.cause
        self.publish_threadsafe(
            "debug_event",
            {"seq": self._debug_seq, "type": "event", "event": event, "body": body},
            parent,
        )

    async def _watch_startup(self) -> None:
        assert self.engine is not None
        try:
            await asyncio.wrap_future(self.engine.ready)
        except Exception as exc:  # noqa: BLE001 - the dispatch boundary
            log.error("the Lua world did not start: %s", exc)
            self._startup_error = exc
            self._shutdown.set()

    def request_shutdown(self) -> None:
        """Stop serving (thread-safe)."""
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._shutdown.set)

    # ------------------------------------------------------------------ receiving

    async def _receive_loop(self, sock: zmq.asyncio.Socket, channel: str) -> None:
        while True:
            # A ready socket answers at once without yielding: let the other tasks (the
            # shell consumer, quick requests, the other channels) run between messages, or
            # one client's flood would hold up everything until it is all read.
            await asyncio.sleep(0)
            received = await sock.recv_multipart(copy=False)
            msg = self._decode([f.bytes for f in received], channel, received[0])
            if msg is None:
                continue
            self.stats.requests += 1
            if channel == "shell":
                self.stats.shell_request_from(msg.identities[0] if msg.identities else b"")
                busy = self._serving is not None or not self._shell_queue.empty()
                if busy and msg.msg_type in QUICK_REQUESTS and self._may_skip_queue(msg):
                    self._serve_out_of_line(msg)
                elif not self._shell_queue.put(msg):
                    self._reply_error(
                        msg,
                        self.shell,
                        QueueFull(
                            f"this client has {self._shell_queue.per_client} requests waiting "
                            "already, the most the kernel holds for one client; wait for "
                            "replies before sending more"
                        ),
                    )
            elif channel == "control":
                await self._dispatch(msg, self.control_handlers, self.control)
            elif self.sink is not None:
                self.sink.receive_stdin(msg)

    def _may_skip_queue(self, msg: Message) -> bool:
        """Whether a quick request may be served now: a client gets a few at a time (a
        flood of them waits in its queue like other requests)."""
        return self._out_of_line_by_client.get(client_of(msg), 0) < MAX_OUT_OF_LINE_PER_CLIENT

    def _serve_out_of_line(self, msg: Message) -> None:
        """Serve a quick request now, ahead of the shell queue (see QUICK_REQUESTS)."""
        key = id(msg)
        client = client_of(msg)
        self._out_of_line.add(key)
        counts = self._out_of_line_by_client
        counts[client] = counts.get(client, 0) + 1

        async def serve() -> None:
            try:
                await self._dispatch(msg, self.shell_handlers, self.shell)
            finally:
                self._out_of_line.discard(key)
                counts[client] -= 1
                if not counts[client]:
                    del counts[client]

        task = asyncio.create_task(serve())
        self._quick_tasks.add(task)
        task.add_done_callback(self._quick_tasks.discard)

    def _decode(self, frames: list[bytes], channel: str, first: zmq.Frame) -> Message | None:
        size = sum(len(f) for f in frames)
        try:
            msg = self.session.deserialize(frames)
        except ProtocolError as exc:
            peer = _peer_of(first)
            if exc.ENAME == "BadSignature":
                self.stats.bad_signatures += 1
                self.audit.report(
                    "messages with a bad signature",
                    peer,
                    "dropped a message with a bad signature on %s (%d frames, %d bytes)",
                    channel,
                    len(frames),
                    size,
                )
            else:
                self.stats.malformed += 1
                self.audit.report(
                    "malformed messages",
                    peer,
                    "dropped a malformed message on %s: %s",
                    channel,
                    exc,
                )
            return None
        if size > self.max_message_size:
            self.stats.oversized += 1
            log.warning("refused a %d-byte %s on %s", size, msg.msg_type, channel)
            sock = self.shell if channel == "shell" else self.control
            self._reply_error(
                msg,
                sock,
                MessageTooLarge(
                    f"message of {size} bytes exceeds the limit of {self.max_message_size} "
                    "bytes ([kernel] max_message_size)"
                ),
            )
            return None
        return msg

    async def _shell_consumer(self) -> None:
        while True:
            msg = await self._shell_queue.get()
            if msg.msg_type == "execute_request" and self._stop_on_error.aborts(msg):
                self._reply_aborted(msg)  # sent before its client knew a cell failed
                continue
            if msg.msg_type in RUNNING_REQUESTS:
                await self._iopub_joins.joined(msg.session)
            self._serving = msg
            try:
                await self._dispatch(msg, self.shell_handlers, self.shell)
            finally:
                self._serving = None
                executor = self.engine.executor if self.engine is not None else None
                if executor is not None:
                    executor.forget_interrupt()  # its Lua never ran (a syntax error)

    async def _dispatch(
        self, msg: Message, handlers: dict[str, Handler], sock: zmq.asyncio.Socket
    ) -> None:
        handler = handlers.get(msg.msg_type)
        if handler is None:
            if msg.msg_type in self.ignored:
                return
            self.stats.unknown_types += 1
            log.warning("unknown message type %r", msg.msg_type)
            if msg.msg_type.endswith("_request"):
                self._reply_error(
                    msg,
                    sock,
                    ProtocolError(f"unknown message type '{msg.msg_type}'"),
                    ename="UnknownMessageType",
                )
            return
        self._current_socket = sock
        try:
            await handler(msg)
        except InvalidContent as exc:
            self._reply_error(msg, sock, exc)
        except Exception as exc:
            log.exception("handler for %s failed", msg.msg_type)
            self._reply_error(
                msg, sock, ProtocolError(f"{type(exc).__name__}: {exc}"), ename="InternalError"
            )

    # ------------------------------------------------------------------ sending

    def publish(self, msg_type: str, content: dict[str, Any], parent: Message | None) -> None:
        """Send on iopub (loop thread only)."""
        msg = self.session.message(msg_type, content, parent)
        topic = f"kernel.{self.kernel_id}.{msg_type}".encode()
        self.iopub.send_multipart(self.session.serialize(msg, [topic]))

    def publish_threadsafe(
        self, msg_type: str, content: dict[str, Any], parent: Message | None
    ) -> None:
        """Send on iopub from any thread."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.publish, msg_type, content, parent)

    def reply(
        self, sock: zmq.asyncio.Socket, parent: Message, msg_type: str, content: dict[str, Any]
    ) -> None:
        """Send a reply to the client that sent ``parent``."""
        msg = self.session.message(msg_type, content, parent)
        self.send_to_client(sock, self.session.serialize(msg, parent.identities), msg_type)

    def send_to_client(
        self,
        sock: zmq.asyncio.Socket,
        frames: list[bytes],
        what: str,
        on_undelivered: Callable[[zmq.ZMQError], bool] | None = None,
    ) -> None:
        """Send ``frames`` (identity first) on a ROUTER socket, never waiting (loop thread).

        A client that disconnected (EHOSTUNREACH) or stopped reading (its queue is full)
        must not hold up the others: the message is dropped, logged and counted.
        ``on_undelivered`` is told why first; it returns True when it will try again (then
        nothing is logged yet).
        """
        identity = frames[0] if frames else b""
        sent = cast("asyncio.Future[Any]", sock.send_multipart(frames, flags=zmq.DONTWAIT))

        def check(future: asyncio.Future[Any]) -> None:
            if future.cancelled() or future.exception() is None:
                return
            exc = future.exception()
            retrying = (
                on_undelivered is not None and isinstance(exc, zmq.ZMQError) and on_undelivered(exc)
            )
            if retrying:
                return
            self.stats.undelivered += 1
            if isinstance(exc, zmq.ZMQError) and exc.errno == zmq.EHOSTUNREACH:
                log.warning(
                    "%s not delivered: client %s has disconnected", what, _peer_name(identity)
                )
            elif isinstance(exc, zmq.Again):
                log.warning(
                    "%s dropped: client %s is not reading (its queue is full)",
                    what,
                    _peer_name(identity),
                )
            else:
                log.error("%s to client %s failed: %s", what, _peer_name(identity), exc)

        sent.add_done_callback(check)

    def _reply_error(
        self, msg: Message, sock: zmq.asyncio.Socket, exc: ProtocolError, ename: str | None = None
    ) -> None:
        reply_type = msg.msg_type.replace("_request", "_reply")
        if not reply_type.endswith("_reply"):
            reply_type = "error_reply"
        self.publish("status", {"execution_state": "busy"}, msg)
        self.reply(
            sock,
            msg,
            reply_type,
            {
                "status": "error",
                "ename": ename or exc.ENAME,
                "evalue": str(exc),
                "traceback": [str(exc)],
            },
        )
        self.publish("status", {"execution_state": "idle"}, msg)

    async def _busy(self, msg: Message, work: Callable[[], Awaitable[None]]) -> None:
        self.publish("status", {"execution_state": "busy"}, msg)
        try:
            await work()
        finally:
            self.publish("status", {"execution_state": "idle"}, msg)

    async def run_job(self, job: Callable[[CellExecutor], Any]) -> Any:
        """Run a job on the execution thread and await its result."""
        assert self.engine is not None
        return await asyncio.wrap_future(self.engine.submit(job))

    async def run_quick_job(self, msg: Message, job: Callable[[CellExecutor], Any]) -> Any:
        """Run a short Lua job for ``msg`` without waiting for what holds the execution
        thread.

        A quick request that arrived while shell requests were in hand (a cell runs, a
        script is paused, or one is about to run) goes through the debug channel, served at
        a stop by the paused loop and while Lua runs by the asynchronously armed hook;
        otherwise its job queues like any job, behind the requests that came before it.
        """
        engine = self.engine
        assert engine is not None
        if id(msg) not in self._out_of_line:
            return await self.run_job(job)
        await asyncio.wrap_future(engine.ready)

        def run() -> Any:
            executor = engine.executor
            assert executor is not None
            return job(executor)

        return await asyncio.wrap_future(self.debug_channel.submit_job(run))

    # ------------------------------------------------------------------ handlers

    async def kernel_info_request(self, msg: Message) -> None:
        sock = self._current_socket

        async def work() -> None:
            self.reply(sock, msg, "kernel_info_reply", self.kernel_info())

        await self._busy(msg, work)

    def kernel_info(self) -> dict[str, Any]:
        """kernel_info_reply content (with an ``llmspell`` section of live details)."""
        return {
            "status": "ok",
            "protocol_version": "5.3",
            "implementation": "llmspell",
            "implementation_version": __version__,
            "language_info": LANGUAGE_INFO,
            "banner": f"llmspell {__version__} — LLMSpell Lua 5.4 kernel",
            "help_links": [],
            "debugger": True,
            "llmspell": {
                "kernel_id": self.kernel_id,
                "name": self.name,
                "pid": os.getpid(),
                "started": self.started,
                "transport": self.connection.transport,
                "clients": self._subscribers,
                "shell_clients": self.stats.prune_shell(time.monotonic()),
                "state": self._engine_state(),
                "paused": self._paused(),
                "execution_count": self.execution_count,
                "bad_signatures": self.stats.bad_signatures,
                "malformed_messages": self.stats.malformed,
                "undelivered_messages": self.stats.undelivered,
                "hash_seed": HASH_SEED,
                "cell_file_prefix": self.cell_files.prefix,
            },
        }

    def _paused(self) -> bool:
        """Whether a script sits at a debugger stop (read from the loop thread: a plain
        attribute the execution thread sets)."""
        executor = self.engine.executor if self.engine is not None else None
        debugger = executor.debugger if executor is not None else None
        return debugger is not None and debugger.stop is not None

    def _engine_state(self) -> str:
        if self.engine is None or not self.engine.ready.done():
            return "starting"
        return "busy" if self.engine.busy else "idle"

    async def execute_request(self, msg: Message) -> None:
        content = msg.content
        code = _field(content, "code", str)
        silent = bool(content.get("silent", False))
        store_history = bool(content.get("store_history", not silent)) and not silent
        user_expressions = content.get("user_expressions") or {}
        if not isinstance(user_expressions, dict):
            raise InvalidContent("execute_request: user_expressions must be an object")
        allow_stdin = bool(content.get("allow_stdin", True))
        stop_on_error = bool(content.get("stop_on_error", True))
        sock = self._current_socket

        async def work() -> None:
            started = self._stop_on_error.started()
            if store_history:
                self.execution_count += 1
            count = self.execution_count
            if not silent:
                self.publish("execute_input", {"code": code, "execution_count": count}, msg)
            assert self.sink is not None
            self.sink.begin(msg, allow_stdin=allow_stdin)
            try:
                outcome: ExecuteOutcome = await self.run_job(
                    lambda ex: ex.execute(
                        code, count, {str(k): str(v) for k, v in user_expressions.items()}
                    )
                )
            finally:
                self.sink.end()
            reply: dict[str, Any] = {"status": outcome.status, "execution_count": count}
            if outcome.status == "ok":
                if outcome.result_text is not None and not silent:
                    self.publish(
                        "execute_result",
                        {
                            "execution_count": count,
                            "data": {"text/plain": outcome.result_text},
                            "metadata": {},
                        },
                        msg,
                    )
                reply.update(payload=[], user_expressions=outcome.user_expressions)
            else:
                assert outcome.error is not None
                error = {k: outcome.error[k] for k in ("ename", "evalue", "traceback")}
                if not silent:
                    self.publish("error", error, msg)
                reply.update(error)
                reply["llmspell"] = {
                    "location": outcome.error.get("location"),
                    "suggestion": outcome.error.get("suggestion"),
                }
            if outcome.status == "error" and stop_on_error:
                # up to the reply: a cell sent once the client has read it must not count
                # as sent before (what the kernel does after the reply is not the client's)
                self._stop_on_error.failed(msg, started)
            self.reply(sock, msg, "execute_reply", reply)
            # After the reply (it is not part of the round trip) and before the next shell
            # request (the queue is served one at a time), so history_request sees it.
            if store_history:
                self.history.store(count, code)
            if outcome.status == "error" and stop_on_error:
                self._abort_queued_executes()

        await self._busy(msg, work)

    def _abort_queued_executes(self) -> None:
        """After a failed cell with stop_on_error, queued execute requests are aborted."""
        for queued in self._shell_queue.take(lambda m: m.msg_type == "execute_request"):
            self._reply_aborted(queued)

    def _reply_aborted(self, msg: Message) -> None:
        self.publish("status", {"execution_state": "busy"}, msg)
        self.reply(
            self.shell,
            msg,
            "execute_reply",
            {"status": "aborted", "execution_count": self.execution_count},
        )
        self.publish("status", {"execution_state": "idle"}, msg)

    async def llmspell_run_request(self, msg: Message) -> None:
        """Run a script file on this kernel (``llmspell run --connect``)."""
        path = _field(msg.content, "path", str)
        args = msg.content.get("args") or []
        if not isinstance(args, list):
            raise InvalidContent("llmspell_run_request: args must be a list of strings")
        sock = self._current_socket

        async def work() -> None:
            assert self.sink is not None
            self.sink.begin(msg, allow_stdin=bool(msg.content.get("allow_stdin", True)))
            try:
                outcome: ExecuteOutcome = await self.run_job(
                    lambda ex: ex.run_file(path, [str(a) for a in args])
                )
            finally:
                self.sink.end()
            reply: dict[str, Any] = {
                "status": outcome.status,
                "exit_code": outcome.exit_code,
                "result": outcome.result_data,  # as data, for run --connect --output json
                "failure": outcome.failure,
            }
            if outcome.error:
                reply.update({k: outcome.error[k] for k in ("ename", "evalue", "traceback")})
                self.publish(
                    "error", {k: outcome.error[k] for k in ("ename", "evalue", "traceback")}, msg
                )
            self.reply(sock, msg, "llmspell_run_reply", reply)

        await self._busy(msg, work)

    async def complete_request(self, msg: Message) -> None:
        code = _field(msg.content, "code", str)
        cursor = int(msg.content.get("cursor_pos", len(code)))
        sock = self._current_socket

        async def work() -> None:
            content = await self.run_quick_job(msg, lambda ex: ex.complete(code, cursor))
            self.reply(sock, msg, "complete_reply", content)

        await self._busy(msg, work)

    async def inspect_request(self, msg: Message) -> None:
        code = _field(msg.content, "code", str)
        cursor = int(msg.content.get("cursor_pos", len(code)))
        level = int(msg.content.get("detail_level", 0))
        sock = self._current_socket

        async def work() -> None:
            content = await self.run_quick_job(msg, lambda ex: ex.inspect(code, cursor, level))
            self.reply(sock, msg, "inspect_reply", content)

        await self._busy(msg, work)

    async def is_complete_request(self, msg: Message) -> None:
        code = _field(msg.content, "code", str)
        sock = self._current_socket

        async def work() -> None:
            content = self._syntax.is_complete(code)
            self.reply(sock, msg, "is_complete_reply", content)

        await self._busy(msg, work)

    async def history_request(self, msg: Message) -> None:
        content = msg.content
        access = content.get("hist_access_type", "tail")
        sock = self._current_socket

        async def work() -> None:
            if access == "tail":
                entries = self.history.tail(int(content.get("n") or 10))
            elif access == "range":
                stop = content.get("stop")
                entries = self.history.range(
                    int(content.get("session") or 0),
                    int(content.get("start") or 0),
                    int(stop) if stop is not None else None,
                )
            elif access == "search":
                entries = self.history.search(
                    str(content.get("pattern") or "*"),
                    int(content["n"]) if content.get("n") else None,
                    bool(content.get("unique", False)),
                )
            else:
                raise InvalidContent(
                    f"history_request: hist_access_type must be tail, range or search, "
                    f"got {access!r}"
                )
            history: list[Any] = (
                [[s, li, [src, None]] for s, li, src in entries]
                if content.get("output")
                else [list(e) for e in entries]
            )
            self.reply(sock, msg, "history_reply", {"status": "ok", "history": history})

        await self._busy(msg, work)

    async def comm_info_request(self, msg: Message) -> None:
        sock = self._current_socket

        async def work() -> None:
            self.reply(sock, msg, "comm_info_reply", {"status": "ok", "comms": {}})

        await self._busy(msg, work)

    async def debug_request(self, msg: Message) -> None:
        """DAP over Jupyter: the content is a DAP request; served on the execution thread.

        Answered from the response's future, so the control channel keeps serving (an
        interrupt must get through while a stopped script waits for the client)."""
        sock = self._current_socket
        loop = asyncio.get_running_loop()
        self.publish("status", {"execution_state": "busy"}, msg)

        def answer(response: dict[str, Any]) -> None:
            self.reply(sock, msg, "debug_reply", response)
            self.publish("status", {"execution_state": "idle"}, msg)

        # Queued on the loop when the response is made, so the reply goes out before any
        # event the request causes (the `initialized` after `initialize`, `stopped` after `next`).
        self.debug_channel.submit(
            dict(msg.content),
            client=msg.session,
            on_response=lambda response: loop.call_soon_threadsafe(answer, response),
            parent=msg,
        )

    async def interrupt_request(self, msg: Message) -> None:
        if self.engine is not None:
            # A cell whose execute_input is out but whose Lua has not started yet is the
            # one the client means: it stops as soon as it starts.
            serving = self._serving
            self.engine.interrupt(
                starting=serving is not None and serving.msg_type in RUNNING_REQUESTS
            )
        self.reply(self._current_socket, msg, "interrupt_reply", {"status": "ok"})

    async def shutdown_request(self, msg: Message) -> None:
        restart = bool(msg.content.get("restart", False))
        sock = self._current_socket
        self.reply(sock, msg, "shutdown_reply", {"status": "ok", "restart": restart})
        self.publish("shutdown_reply", {"status": "ok", "restart": restart}, msg)
        if restart and not self.managed:
            await self._restart(msg)
            return
        self._restart_requested = restart
        self._shutdown.set()

    async def _restart(self, msg: Message) -> None:
        """Restart in place: a fresh Lua world; State (SQLite) and history stay."""
        self.publish("status", {"execution_state": "restarting"}, msg)
        if self.engine is not None:
            self.engine.interrupt()
            await asyncio.to_thread(self.engine.stop)
        self.execution_count = 0
        self._start_engine()
        assert self.engine is not None
        await asyncio.wrap_future(self.engine.ready)
        self.publish("status", {"execution_state": "starting"}, msg)
        self.publish("status", {"execution_state": "idle"}, msg)

    # ------------------------------------------------------------------ iopub

    async def _iopub_subscriptions(self) -> None:
        """Count subscribers and welcome each new one (so clients know iopub is live)."""
        while True:
            frame = await self.iopub.recv()
            if not frame:
                continue
            if frame[0] == 1:
                self._subscribers += 1
                self._iopub_joins.subscribed()
                self.publish(
                    "iopub_welcome", {"subscription": frame[1:].decode(errors="replace")}, None
                )
            elif frame[0] == 0:
                self._subscribers = max(self._subscribers - 1, 0)
                if self._subscribers == 0 and self.engine is not None:
                    # the last client is gone: a stopped script must not wait forever
                    self.debug_channel.submit({"command": "clientsGone"}, internal=True)


def _field(content: dict[str, Any], name: str, kind: type) -> Any:
    value = content.get(name)
    if not isinstance(value, kind):
        expected = kind.__name__
        got = "missing" if value is None else type(value).__name__
        raise InvalidContent(f"content.{name} must be a {expected} ({got})")
    return value


def _peer_name(identity: bytes) -> str:
    """A client identity for logs (jupyter_client uses its session id, which is text)."""
    text = identity.decode("ascii", errors="replace")
    return text if text.isprintable() else identity.hex()


def _peer_of(first: zmq.Frame) -> str:
    """Who sent a message, for audit lines: its routing id and, where ZeroMQ knows it, its
    address (for ipc, ``localhost:uid:gid:pid`` of the peer process)."""
    identity = _peer_name(first.bytes) if first.bytes else "-"
    try:
        address = first.get("Peer-Address")
    except zmq.ZMQError:
        address = ""
    return f"{identity} at {address}" if address else identity


def _heartbeat(sock: zmq.Socket[bytes]) -> None:
    with contextlib.suppress(zmq.ZMQError):
        zmq.proxy(sock, sock)
