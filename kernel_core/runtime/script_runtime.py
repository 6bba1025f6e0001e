"""One Lua world: a lupa Lua 5.4 runtime with the sandbox, the LLMSpell globals and the hook
multiplexer.

Every method except :meth:`ScriptRuntime.request_abort` must be called on the thread that
created the runtime (the execution thread): lupa holds a per-runtime lock while Lua runs,
even while Lua sits in a Python callback (notes/lupa-measurements.md §3).
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol

import lupa.lua54 as lupa

from kernel_core.config import Config
from kernel_core.hooks.async_arm import AsyncArmer, read_hook_pointer
from kernel_core.runtime import blocked_read
from kernel_core.runtime.convert import Converter
from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.failure import ScriptFailure, failure_from_lua, syntax_failure
from kernel_core.runtime.hook_points import HookDispatcher, NoHooks
from kernel_core.runtime.native_streams import flush_c_stdio, write_fd

log = logging.getLogger(__name__)

Status = Literal["ok", "error", "interrupted", "exit", "limit"]
INTERNAL_CHUNK_PREFIX = "=[llmspell]"


class OutputSink(Protocol):
    """Where a script's output goes and where its input comes from.

    A sink may name, in a ``native_streams`` attribute, the streams ("stdout", "stderr",
    "stdin") that the process's own descriptors serve: the script then keeps Lua's own
    ``print``, ``io.write`` and ``io.stdin``/``io.stdout``/``io.stderr`` for them, as plain
    Lua does (a kernel captures fd 1 and 2 instead, runtime/native_streams.py). Other
    streams go through ``write``/``read_line``.
    """

    def write(self, stream: str, text: str) -> None:
        """Write ``text`` to ``stream`` ("stdout" or "stderr")."""

    def read_line(self, prompt: str) -> str | None:
        """One line of input without its newline, or None at end of input."""


class BufferSink:
    """An OutputSink that keeps everything in memory (tests, embedding)."""

    def __init__(self, stdin_lines: Sequence[str] = ()) -> None:
        self.chunks: list[tuple[str, str]] = []
        self._stdin = list(stdin_lines)

    def write(self, stream: str, text: str) -> None:
        self.chunks.append((stream, text))

    def read_line(self, prompt: str) -> str | None:
        return self._stdin.pop(0) if self._stdin else None

    def text(self, stream: str = "stdout") -> str:
        """Everything written to ``stream``."""
        return "".join(t for s, t in self.chunks if s == stream)


@dataclass
class RunOutcome:
    """How a run ended."""

    status: Status
    values: tuple[Any, ...] = ()
    failure: ScriptFailure | None = None
    exit_code: int = 0


@dataclass
class RunLimits:
    """Resource limits for a run, from ``[runtime]``."""

    memory_limit: int = 0
    time_limit: float = 0.0
    instruction_limit: int = 0

    @classmethod
    def from_config(cls, config: Config) -> RunLimits:
        runtime = config.section("runtime")
        return cls(
            memory_limit=int(runtime["memory_limit"]),
            time_limit=float(runtime["time_limit"]),
            instruction_limit=int(runtime["instruction_limit"]),
        )


@dataclass
class ScriptContext:
    """The script a runtime was made for: path, arguments, directory."""

    path: Path | None = None
    args: list[str] = field(default_factory=list)

    @property
    def directory(self) -> Path:
        return self.path.parent if self.path else Path.cwd()


def _read_package_lua(package: str, name: str) -> str:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def _env_refusal(name: str) -> str | None:
    from kernel_core.runtime.tools.system import READABLE, readable

    if readable(name):
        return None
    return (
        f"os.getenv: reading '{name}' is not allowed in the restricted sandbox: it reads only "
        f"{', '.join(READABLE)}, never a secret (*KEY*, *TOKEN*, *SECRET*, ...), as the "
        'environment-reader tool does (set [runtime] sandbox = "trusted" to read any)'
    )


def _deny_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("Python attributes are not accessible from Lua")


class ScriptRuntime:
    """A Lua 5.4 world that runs LLMSpell scripts."""

    def __init__(
        self,
        config: Config,
        output: OutputSink,
        *,
        script: ScriptContext | None = None,
        hook_coroutines: bool = True,
    ) -> None:
        """``hook_coroutines=False`` (``llmspell run``: no debugger or profiler can attach)
        keeps Lua's own coroutine.create/wrap/resume unless a time or instruction limit needs
        to reach coroutines."""
        self.config = config
        self.output = output
        self.native_streams = frozenset(getattr(output, "native_streams", ()))
        self.script = script or ScriptContext()
        self.limits = RunLimits.from_config(config)
        self.sandbox_level: str = config.get("runtime", "sandbox")
        self._owner = threading.get_ident()
        self.native_thread_id = threading.get_native_id()  # the kernel sees it wait on stdin
        self._abort_lock = threading.Lock()
        self._pending_abort: tuple[str, str] | None = None
        # set once the run's begin_run has installed its hooks (runner.lua calls
        # rearm_if_pending right after): an abort handed to the hook before that was cleared
        # by begin_run and lost, so until then it is only noted, and armed from there
        self._run_begun = False
        self._pending_actions: list[str] = []  # e.g. "debug": serve queued DAP requests
        self._armer = AsyncArmer()
        self._closers: list[Callable[[], None]] = []
        self._memory_watch: Any = None  # a MemoryWatcher, from the first run with a memory limit
        self._closed = False
        self.hooks: HookDispatcher = NoHooks()  # replaced by the Hook global
        self.debugger: Any = None  # a DebugSession, when a debugger is attached
        self.profiler: Any = None  # a Profiler, while profiling is on
        self.host_call: str | None = None  # the host function Lua is in (for the profiler)
        self._runs = 0  # runs in progress (call() nests when a host function runs Lua)
        self.cell_files: Any = None  # a kernel's CellFiles (cells named as Jupyter expects)
        self.repl_scope: Any = None  # a kernel's REPL scope (repl.lua), shown by the debugger
        # text of chunks that are not files (cells, exec snippets), by chunk name without '='
        self.chunk_sources: dict[str, str] = {}
        self.lua = lupa.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            max_memory=self.limits.memory_limit or 0,
            attribute_filter=_deny_attributes,
        )
        g = self.lua.globals()
        g.python = None  # lupa's bridge module: never visible to scripts, by any path
        self.lua.execute("package.loaded.python = nil")
        self.host = self.lua.table()
        self._install_core_host()
        self.mux = self.load_lua("kernel_core.hooks", "multiplexer.lua", self.host)
        self.mux.setup()
        # before the sandbox replaces `load` with one that refuses binary chunks
        self.mux.as_main = self.load_lua(
            "kernel_core.runtime.lua", "main_chunk.lua", self.lua.globals().load
        )
        self.api = self.load_lua("kernel_core.runtime.lua", "api.lua")
        self.convert = Converter(
            self.api.new_table, self.api.is_array, self.api.array, self.api.table_id
        )
        self.host.read = self.host_function("io.read", self._read)
        self.host.execute = self.host_function("os.execute", self._os_execute)
        self.runner = self.load_lua("kernel_core.runtime.lua", "runner.lua", self.host, self.mux)
        # a memory limit someone set reaches coroutines too (the watcher's abort must reach
        # a coroutine that allocates, or it thrashes at the allocator's cap); the default cap
        # alone keeps Lua's coroutines, ~5x faster to create and resume (docs/benchmarks.md)
        limited = (
            self.limits.time_limit > 0
            or self.limits.instruction_limit > 0
            or (self.limits.memory_limit > 0 and config.origin("runtime.memory_limit") != "default")
        )
        options = self.lua.table_from(
            {
                "level": self.sandbox_level,
                "package_path": self._package_path(),
                "hook_coroutines": hook_coroutines or limited,
                **{f"native_{name}": True for name in self.native_streams},
            }
        )
        self.load_lua("kernel_core.runtime.lua", "sandbox.lua", self.host, self.mux, options)
        from kernel_core.runtime.globals import install_all

        self.installed_globals: set[str] = set()
        self.lazy_globals: Any = None
        install_all(self)

    # ------------------------------------------------------------------ plumbing

    def load_lua(self, package: str, name: str, *args: Any) -> Any:
        """Run one of llmspell's own Lua files (chunk name ``=[llmspell] NAME``)."""
        source = _read_package_lua(package, name)
        chunk = self.lua.eval("function(src, name) return assert(load(src, name, 't')) end")(
            source, f"{INTERNAL_CHUNK_PREFIX} {name}"
        )
        return chunk(*args)

    def host_function(self, name: str, fn: Callable[..., Any]) -> Any:
        """Expose ``fn`` to Lua as a function raising Lua errors for ScriptError.

        Return values are converted with :meth:`to_lua`; a tuple returns several values.
        """

        def call(*args: Any) -> Any:
            outer, self.host_call = self.host_call, name  # the profiler attributes waits
            try:
                result = fn(*args)
            except ScriptError as exc:
                return (False, str(exc))
            except lupa.LuaError as exc:
                # a Lua callback we called failed: hand its message on unchanged
                return (False, str(exc))
            except Exception as exc:
                log.exception("host function %s failed", name)
                return (False, f"internal error in {name}: {type(exc).__name__}: {exc}")
            finally:
                self.host_call = outer
            if isinstance(result, tuple):
                return (True, *(self.to_lua(v) for v in result))
            return (True, self.to_lua(result))

        return self.api.wrap(call)

    def to_lua(self, value: Any) -> Any:
        """Plain Python data as a Lua value."""
        return self.convert.to_lua(value)

    def from_lua(self, value: Any, *, what: str = "value") -> Any:
        """A Lua value as plain Python data (raises ConversionError)."""
        return self.convert.from_lua(value, what=what)

    def set_global(self, name: str, value: Any) -> None:
        """Define a global visible to scripts."""
        self.lua.globals()[name] = value

    def add_closer(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` when the runtime is closed (close databases, stop threads)."""
        self._closers.append(fn)

    def _package_path(self) -> str:
        dirs = [self.script.directory]
        dirs += [Path(p).expanduser() for p in self.config.get("runtime", "module_paths")]
        parts = [f"{d}/?.lua;{d}/?/init.lua" for d in dirs]
        if self.sandbox_level == "trusted":
            parts.append(str(self.lua.eval("package.path")))
        return ";".join(parts)

    def _install_core_host(self) -> None:
        host = self.host
        host.write = self._write
        host.check_path = self._check_path
        from kernel_core.runtime.source_access import SourceAccess

        self.sources = SourceAccess(self)
        host.read_module = self.sources.read_module
        host.note_loaded = self.sources.note_loaded
        host.env_refusal = _env_refusal
        host.thread_created = self._armer.add
        host.threads_forgotten = self._forget_threads
        host.capture_dispatcher = self._capture_dispatcher
        host.on_async = self._on_async
        host.rearm_if_pending = self._rearm_if_pending

    def _write(self, stream: str, text: str) -> None:
        if stream in self.native_streams:
            write_fd(stream, text)  # after what Lua's io.write buffered, in order
            return
        self.output.write(stream, text)

    def _read(self, fmt: Any = "l", *rest: Any) -> Any:
        fmt = str(fmt).lstrip("*") if isinstance(fmt, str) else fmt
        line = self.output.read_line("")
        if line is None:
            return None
        if isinstance(fmt, int):
            return line[:fmt]
        if fmt.startswith("n"):
            try:
                number = float(line.strip())
            except ValueError:
                return None
            return int(number) if number.is_integer() and "." not in line else number
        if fmt.startswith("L"):
            return line + "\n"
        if fmt.startswith("a"):
            rest_lines = [line]
            while (more := self.output.read_line("")) is not None:
                rest_lines.append(more)
            return "\n".join(rest_lines)
        return line

    def allowed_directories(self) -> list[Path]:
        """Directories a restricted script may touch."""
        dirs = [self.script.directory, Path(tempfile.gettempdir())]
        dirs += [Path(p).expanduser() for p in self.config.get("runtime", "allowed_paths")]
        return [Path(os.path.realpath(d)) for d in dirs]

    def _os_execute(self, command: str) -> tuple[bool | None, str, int]:
        from kernel_core.runtime.os_execute import execute

        # a sink may give children another stdin (a kernel: /dev/null, not its fd 0 pipe)
        return execute(
            str(command), self.abort_pending, stdin=getattr(self.output, "child_stdin", None)
        )

    def _check_path(self, path: str, function: str, writing: bool) -> str | None:
        # io.open resolves relative paths against the process cwd: check the same file
        real = Path(os.path.realpath(path))
        for allowed in self.allowed_directories():
            if real == allowed or allowed in real.parents:
                return None
        return (
            f"{function}: access to '{path}' is denied in the restricted sandbox; allowed are "
            f"the script's directory, the temp directory and [runtime] allowed_paths "
            f'(add the directory there, or set [runtime] sandbox = "trusted")'
        )

    def _forget_threads(self, pointers: Any) -> None:
        self._armer.forget([str(p) for p in pointers.values()])

    def _capture_dispatcher(self, pointer: str) -> None:
        self._armer.set_dispatcher(read_hook_pointer(int(pointer, 16)))

    def _on_async(self) -> Any:
        self._armer.asked()
        with self._abort_lock:
            pending = None
            if self._run_begun:  # else begin_run would clear it: kept for rearm_if_pending
                pending, self._pending_abort = self._pending_abort, None
            if pending is None and self._pending_actions:
                pending = (self._pending_actions.pop(0), "")
            more = (self._pending_abort is not None and self._run_begun) or bool(
                self._pending_actions
            )
        if more:  # one action per hook call: arm again for the rest
            timer = threading.Timer(0.001, self._armer.arm)
            timer.daemon = True
            timer.start()
        return pending

    def _rearm_if_pending(self) -> None:
        with self._abort_lock:
            self._run_begun = True
            pending = self._pending_abort is not None or bool(self._pending_actions)
        if pending:
            self._armer.arm()

    def rearm(self) -> None:
        """Arm the asynchronous hook again (after a mode change replaced an armed one)."""
        self._armer.arm()

    def request_action(self, action: str) -> None:
        """Have the running script's thread call ``mux.on_async_action(action)`` at its next
        instruction (any thread). A no-op while no Lua runs; callers cover that case."""
        with self._abort_lock:
            if action not in self._pending_actions:
                self._pending_actions.append(action)
        self._armer.arm()

    # ------------------------------------------------------------------ control (any thread)

    def request_abort(self, kind: str = "interrupt", message: str | None = None) -> None:
        """Stop the running script at its next instruction; safe from any thread.

        ``kind`` is "interrupt", "time" or "memory". The script sees an error it cannot swallow with
        pcall; the run ends with status "interrupted" or "limit".
        """
        text = message or "interrupted by user"
        with self._abort_lock:
            self._pending_abort = (kind, text)
            begun = self._run_begun
        if begun:
            self._armer.arm()
        # a read of stdin blocks in C, where the armed hook waits for it to return
        blocked_read.wake(self._owner, self.native_thread_id, self.abort_pending)

    def cancel_abort(self) -> None:
        """Forget an abort that arrived after the script it was meant for ended (any thread)."""
        with self._abort_lock:
            self._pending_abort = None

    def abort_pending(self) -> bool:
        """Whether an abort was requested and Lua has not yet run to deliver it (any thread).

        Host functions that block (reading input, waiting on the network) poll this to give
        control back to Lua, where the armed hook delivers the abort.
        """
        with self._abort_lock:
            return self._pending_abort is not None

    # ------------------------------------------------------------------ running

    def compile(
        self, source: str, chunkname: str, env: Any = None
    ) -> tuple[Any, ScriptFailure | None]:
        """Compile text with ``env`` as its _ENV (default: the globals); returns
        (function, None) or (None, failure)."""
        if not chunkname.startswith("@"):
            self.chunk_sources[chunkname[1:]] = source
        else:
            self.sources.note_loaded(chunkname[1:])
        lines: list[int] = []
        text = source
        if self.debugger is not None:
            text, lines = self.debugger.prepare(chunkname, source)
        env = env if env is not None else self.lua.globals()
        if lines and self.debugger is not None:
            # the checks' names are upvalues of the chunk, not globals (debugger.lua)
            fn, message = self.debugger.lua.load_checked(text, chunkname, env)
        else:
            fn, message = self.runner.compile(text, chunkname, env)
        if fn is None and lines:  # instrumentation broke it: compile as written
            lines = []
            fn, message = self.runner.compile(source, chunkname, env)
        if fn is not None and self.debugger is not None:
            self.debugger.loaded(chunkname, lines)
        if fn is None:
            return None, syntax_failure(str(message), chunkname, source)
        return fn, None

    def run_file(self, path: str | os.PathLike[str], args: Sequence[str] = ()) -> RunOutcome:
        """Run a script file with its arguments."""
        self._check_thread()
        script = Path(path)
        source = script.read_text(encoding="utf-8")
        self.set_script_args(script, list(args))
        fn, failure = self.compile(source, f"@{script.resolve()}")
        if failure is not None:
            return RunOutcome("error", failure=failure, exit_code=1)
        self._fire_system("SystemStartup", {"script": str(script.resolve()), "args": list(args)})
        return self.call(fn, *args)

    def _fire_system(self, point: str, data: dict[str, Any]) -> None:
        try:
            self.hooks.fire(point, ("system", "llmspell"), data)
        except Exception:
            log.exception("%s hooks failed", point)

    def run_code(self, source: str, chunkname: str = "=(exec)") -> RunOutcome:
        """Run a snippet of Lua."""
        self._check_thread()
        fn, failure = self.compile(source, chunkname)
        if failure is not None:
            return RunOutcome("error", failure=failure, exit_code=1)
        return self.call(fn)

    def call(self, fn: Any, *args: Any, new_run: bool = True) -> RunOutcome:
        """Call a Lua function under the limits, turning every failure into an outcome.

        ``new_run=False``: a call that finishes the run before it (a cell's result being
        rendered), which the profiler does not count as a run of its own."""
        self._check_thread()
        timer = None
        if self.limits.time_limit > 0:
            timer = threading.Timer(
                self.limits.time_limit,
                self.request_abort,
                ("time", f"time limit of {self.limits.time_limit:g}s exceeded"),
            )
            timer.daemon = True
            timer.start()
        self._runs += 1
        profiler = self.profiler
        if profiler is not None and not new_run:
            profiler = None
        if profiler is not None and self._runs == 1:
            profiler.run_started()
        watch = self._memory_watcher() if self._runs == 1 else None
        try:
            ok, payload = self.runner.run(self.limits.instruction_limit, fn, *args)
        finally:
            self._runs -= 1
            if watch is not None:
                watch.run_ended()  # before the pending abort is cleared: none comes after
            if profiler is not None and self._runs == 0:
                profiler.run_ended()
            if self.native_streams and self._runs == 0:
                flush_c_stdio()  # what io.write buffered comes before what follows the run
                drain = getattr(self.output, "drain", None)
                if drain is not None:
                    drain()  # a capturing sink hands on what reached the descriptors
            if timer is not None:
                timer.cancel()
            with self._abort_lock:
                self._pending_abort = None
                if self._runs == 0:
                    self._run_begun = False
        if ok:
            values = tuple(payload[i] for i in range(1, int(payload.n) + 1))
            return RunOutcome("ok", values=values)
        failure = failure_from_lua(self, payload)
        if failure.abort == "exit":
            return RunOutcome("exit", failure=failure, exit_code=failure.exit_code)
        if failure.abort == "interrupt":
            return RunOutcome("interrupted", failure=failure, exit_code=130)
        if failure.abort in ("time", "instructions"):
            return RunOutcome("limit", failure=failure, exit_code=1)
        # "memory": the watcher stopped the run near the limit (memory_watch.py); bare: the
        # allocator refused (one big allocation, or a host function re-raised the error with
        # the caller's position)
        if failure.abort == "memory" or failure.bare_message == "not enough memory":
            self._memory_failure(failure, last_seen=bool(getattr(payload, "last_seen", False)))
            return RunOutcome("limit", failure=failure, exit_code=1)
        return RunOutcome("error", failure=failure, exit_code=1)

    def _memory_watcher(self) -> Any:
        limit = self.limits.memory_limit
        if limit <= 0:
            return None
        if self._memory_watch is None:
            from kernel_core.runtime.memory_watch import MemoryWatcher

            self._memory_watch = MemoryWatcher(
                self.lua,
                limit,
                lambda used: self.request_abort(
                    "memory", f"memory limit of {limit / 1024**2:g} MiB exceeded"
                ),
                lambda: self.request_action("where"),
            )
            self.add_closer(self._memory_watch.close)
        self._memory_watch.run_started()
        return self._memory_watch

    def _memory_failure(self, failure: ScriptFailure, *, last_seen: bool) -> None:
        from kernel_core.runtime.memory_watch import memory_hint

        soft = failure.abort == "memory"
        used = int(self.lua.get_memory_used() or 0)
        # what the failed run held goes now; a coroutine it made is parked until its
        # pointer is forgotten (multiplexer.lua's graveyard), so collect again after that
        self.lua.eval("collectgarbage('collect')")
        self.mux.flush_graveyard()
        self.lua.eval("collectgarbage('collect')")
        limit = self.limits.memory_limit
        if not soft:
            position = failure.message.removesuffix(failure.bare_message)
            failure.message = position + (
                f"memory limit of {limit / 1024**2:g} MiB exceeded" if limit else "out of memory"
            )
        failure.abort = "memory"  # reported as the other limits are
        if not limit:
            failure.suggestion = "the machine ran out of memory: keep fewer values alive"
            return
        failure.suggestion = memory_hint(
            limit,
            soft=soft,
            used=used,
            held_after=int(self.lua.get_memory_used() or 0),
            last_seen=last_seen,
            located=failure.location is not None,
        )

    def set_script_args(self, script: Path, args: list[str]) -> None:
        """Define ``arg`` and ``ARGS`` for a script."""
        from kernel_core.runtime.globals.args import install_args

        self.script = ScriptContext(script.resolve(), args)
        install_args(self, script, args)
        # A world made before its script (a kernel running a file) must find the modules
        # next to that script too, as `llmspell run` does.
        # (table access, no Lua code: a debugger's stop-on-entry must not stop in here)
        directory = self.script.directory
        package = self.lua.globals().package
        prefix = f"{directory}/?.lua;{directory}/?/init.lua;"
        if lupa.lua_type(package) == "table" and prefix not in str(package.path):
            package.path = prefix + str(package.path)

    def api_names(self) -> dict[str, list[str]]:
        """Known names for "did you mean": every global with its fields, the method tables of
        LLMSpell's classes (builders, instances), and ``@tools``, the tool names."""
        collect = self.lua.eval(
            """function(classes)
              local out = {}
              for name, value in pairs(_G) do
                if type(name) == "string" then
                  local fields = {}
                  if type(value) == "table" then
                    for k in pairs(value) do
                      if type(k) == "string" then fields[#fields + 1] = k end
                    end
                  end
                  out[name] = fields
                end
              end
              for name, methods in pairs(classes) do
                local fields = {}
                for k in pairs(methods) do
                  if type(k) == "string" then fields[#fields + 1] = k end
                end
                out[name] = fields
              end
              return out
            end"""
        )
        if self.lazy_globals is not None:
            self.lazy_globals.materialize_all()  # an error is no hot path: know every name
        data = self.convert.from_lua(collect(self.api.classes), lenient=True)
        names = {k: list(v) if isinstance(v, list) else [] for k, v in data.items()}
        tool_names = self.host.tool_names
        if tool_names is not None:
            names["@tools"] = [str(n) for n in tool_names()]
        return names

    @property
    def running(self) -> bool:
        """Whether a run is in progress (execution thread)."""
        return self._runs > 0

    def memory_used(self) -> int:
        """Bytes held by the Lua heap."""
        return int(self.lua.eval("collectgarbage('count')") * 1024)

    def close(self) -> None:
        """Fire SystemShutdown, then release what the globals hold (databases, threads)."""
        if not self._closed and threading.get_ident() == self._owner:
            self._closed = True
            self._fire_system("SystemShutdown", {"script": str(self.script.path or "")})
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception:
                log.exception("closing the runtime")

    def _check_thread(self) -> None:
        if threading.get_ident() != self._owner:
            raise RuntimeError("a ScriptRuntime must be used from the thread that created it")
