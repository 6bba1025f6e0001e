"""The debugger of one Lua world, speaking DAP. Runs on the execution thread only.

Requests arrive through a :class:`DebugChannel` and are served by ``<command>_request``
methods (debugpy's naming); a stop is a blocking call from Lua (``host.stopped``) that
serves requests until the client resumes. Events go out through ``emit`` as DAP event
bodies; the kernel turns them into Jupyter ``debug_event`` messages.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lupa.lua54 import lua_type

from kernel_core.debugger.breakpoints import BreakpointTable, SourceBreakpoint
from kernel_core.debugger.capabilities import CAPABILITIES, EXCEPTION_FILTERS
from kernel_core.debugger.channel import DebugChannel, PendingRequest
from kernel_core.debugger.instrument import instrument, statement_lines
from kernel_core.debugger.profiling import ProfileControl, ProfileRequestError
from kernel_core.debugger.variables import Handle, VariableStore, expandable
from kernel_core.runtime.failure import suggestion_for

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any]], None]

MAIN_THREAD_ID = 1
INTERNAL_GLOBAL_PREFIX = "__llmspell"
RESUME_COMMANDS = {"continue": "continue", "next": "over", "stepIn": "in", "stepOut": "out"}


class DebugRequestError(Exception):
    """A request that cannot be served; the message goes back in the failed response."""


@dataclass
class Stop:
    """Where the script is stopped."""

    reason: str
    thread_id: int
    frames: list[dict[str, Any]] = field(default_factory=list)
    resume: str | None = None


class DebugSession:
    """Breakpoints, stops, stepping, frames, variables and evaluation for one runtime."""

    def __init__(self, runtime: ScriptRuntime, channel: DebugChannel, emit: Emit) -> None:
        self.runtime = runtime
        self.channel = channel
        self.emit = emit
        self.breakpoints = BreakpointTable()
        self._sites = itertools.count(1)  # ids of conditions compiled into lines
        self.variables = VariableStore()
        self.stop: Stop | None = None
        self.stop_on_entry = False
        self.launch_args: dict[str, Any] = {}
        self.clients: set[str] = set()  # Jupyter sessions that sent debug requests
        self._client = ""  # the sender of the request being served
        self.threads: dict[str, int] = {}
        self._frame_ids: dict[int, int] = {}
        self._function_wraps: dict[str, Any] = {}
        # sourceReferences of code not from files, valid for the session (as DAP asks)
        self._source_refs: dict[str, int] = {}
        self._source_by_ref: dict[int, str] = {}
        self._announced_threads: set[int] = {MAIN_THREAD_ID}
        self.profiling = ProfileControl(runtime, channel, emit, lambda: self.stop is not None)
        self.handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            name[: -len("_request")].replace("__", "/"): getattr(self, name)
            for name in dir(self)
            if name.endswith("_request")
        }
        # The kernel's own requests: out of reach of the wire (a client cannot send them).
        self.internal_handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "clientsGone": self.clients_gone,
        }
        self._main_thread = self._main_pointer()
        host = runtime.lua.table()
        settle = runtime.lua.eval("function() end")
        host.stopped = _settled(settle, self._stopped)
        host.output = lambda category, text: self.emit(
            "output", {"category": str(category), "output": str(text)}
        )
        host.hit_count = self._hit_count
        host.serve_pending = _settled(settle, self._serve_pending_from_lua)
        host.prepare = _settled(settle, self._prepare_from_lua)
        host.read_source = self._source_text
        host.after_resume = self._after_resume
        host.module_loaded = self._announce_source
        host.function_bound = _settled(settle, self._function_bound)
        values = runtime.load_lua("kernel_core.runtime.lua", "values.lua")
        self.lua = runtime.load_lua(
            "kernel_core.debugger", "debugger.lua", host, runtime.mux, values
        )
        self.values = values
        self.lua.classes = runtime.api.classes
        runtime.runner.on_error = self.lua.on_uncaught
        runtime.debugger = self
        self.lua.install_searcher()

    # ------------------------------------------------------------------ serving

    def serve(self, pending: PendingRequest) -> str | None:
        """Serve one request; returns a resume action when it resumes a stop."""
        if pending.job is not None:
            pending.run_job()
            return None
        request = pending.request
        command = str(request.get("command", ""))
        seq = request.get("seq", 0)
        self._client = pending.client
        self.channel.cause = pending.parent
        resume = self._serve_request(pending, command, seq)
        if resume is None:
            self.channel.cause = None
        # else the resume request stays the cause of the events until the next stop
        return resume

    def _serve_request(self, pending: PendingRequest, command: str, seq: Any) -> str | None:
        request = pending.request
        if pending.client and command != "disconnect":
            self.clients.add(pending.client)
        response: dict[str, Any] = {
            "type": "response",
            "request_seq": seq,
            "command": command,
            "success": True,
        }
        resume = None
        try:
            handler = (self.internal_handlers if pending.internal else self.handlers).get(command)
            if handler is None:
                raise DebugRequestError(f"unknown command '{command}'")
            arguments = request.get("arguments") or {}
            if not isinstance(arguments, dict):
                raise DebugRequestError("arguments must be an object")
            body = handler(arguments)
            if isinstance(body, tuple):
                body, resume = body
            response["body"] = body if body is not None else {}
        except DebugRequestError as exc:
            response.update(success=False, message=str(exc))
        except Exception as exc:
            log.exception("debug request %s failed", command)
            response.update(success=False, message=f"{type(exc).__name__}: {exc}")
        pending.future.set_result(response)
        if command == "initialize" and response["success"]:
            self.emit("initialized", {})
        return resume

    def serve_pending(self) -> str | None:
        """Serve every queued request (execution thread, not stopped); "pause" if asked."""
        result = None
        while (pending := self.channel.get_nowait()) is not None:
            if pending.request.get("command") == "pause" and self.stop is None:
                pending.future.set_result(self._ok(pending.request, {}))
                result = "pause"
                continue
            self.serve(pending)
        return result

    def _serve_pending_from_lua(self) -> Any:
        return self.serve_pending()

    @staticmethod
    def _ok(request: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "response",
            "request_seq": request.get("seq", 0),
            "command": request.get("command"),
            "success": True,
            "body": body,
        }

    # ------------------------------------------------------------------ stops

    def _thread_id(self, thread: Any) -> int:
        if thread is None:
            return MAIN_THREAD_ID
        pointer = str(self.runtime.lua.globals().string.format("%p", thread))
        if pointer == self._main_thread:
            return MAIN_THREAD_ID
        if pointer not in self.threads:
            self.threads[pointer] = len(self.threads) + 2
        return self.threads[pointer]

    def _main_pointer(self) -> str:
        # Asked from inside a coroutine (a stop there), lupa answers with the coroutine: so
        # this is read once, at construction, on the main thread (it never changes).
        return str(self.runtime.lua.eval("string.format('%p', (coroutine.running()))"))

    def _stopped(self, reason: str, detail: Any) -> str:
        """Called by Lua at a stop: tell the clients, serve requests until resumed."""
        thread_id = self._thread_id(self.lua.stopped_thread())
        self.stop = Stop(reason, thread_id)
        body: dict[str, Any] = {"reason": reason, "threadId": thread_id, "allThreadsStopped": True}
        if reason in ("breakpoint", "function breakpoint") and detail is not None:
            body["hitBreakpointIds"] = [int(detail)]
        if reason == "exception" and detail is not None:
            text = str(detail.text)
            body.update(text=text, description=text)
            suggestion = suggestion_for(self.runtime, text)
            if suggestion:
                body["llmspell"] = {"suggestion": suggestion}
        self._announce_threads()
        profiler = self.runtime.profiler
        if profiler is not None:
            profiler.stopped()  # time at a stop is not the script's
        self.emit("stopped", body)
        self.channel.cause = None  # the request that led here is answered by this stop
        try:
            while self.stop.resume is None:
                if self.runtime.abort_pending():
                    self.stop.resume = "continue"  # an interrupt ends the stop and the run
                    break
                pending = self.channel.get(0.05)
                if pending is None:
                    continue
                resume = self.serve(pending)
                if resume is not None:
                    self.stop.resume = resume
            return self.stop.resume
        finally:
            self.stop = None
            self.variables.clear()
            self._frame_ids.clear()
            profiler = self.runtime.profiler
            if profiler is not None:
                profiler.resumed()
            self.emit("continued", {"threadId": thread_id, "allThreadsContinued": True})

    def _after_resume(self) -> None:
        if self.runtime.abort_pending():
            self.runtime.rearm()

    def _hit_count(self, bp_id: int, hits: int) -> None:
        bp = self.breakpoints.by_id(int(bp_id))
        if bp is not None:
            bp.hits = int(hits)
            self.emit("llmspell/breakpointHit", {"id": bp.id, "hits": bp.hits})

    # ------------------------------------------------------------------ loading code

    def prepare(self, chunkname: str, source: str) -> tuple[str, list[int]]:
        """Instrument a chunk's breakpoint lines before it is compiled."""
        if chunkname.startswith("@"):
            self._bind_waiting(chunkname[1:], source)
        lines = [int(n) for n in self.lua.breakpoint_lines(chunkname).values()]
        if not lines:
            return source, []
        lua_conditions, lua_hits = self.lua.breakpoint_checks(chunkname)
        conditions = {int(k): str(v) for k, v in lua_conditions.items()}
        hits = {int(k): str(v) for k, v in lua_hits.items()}
        text, checked, sites = instrument(
            source, lines, conditions, lambda: next(self._sites), hits
        )
        table = [
            {"id": s.id, "line": s.line, "condition": s.condition, "hit": s.hit} for s in sites
        ]
        self.lua.add_sites(chunkname, self.runtime.to_lua(table))
        return text, checked

    def _bind_waiting(self, path: str, source: str) -> None:
        """Breakpoints set before their file existed bind now that it loads: resolve their
        lines against the real source and tell the clients (``breakpoint`` events)."""
        waiting = [bp for bp in self.breakpoints.for_path(path) if bp.waiting]
        if not waiting:
            return
        chunk = statement_lines(source)
        for bp in waiting:
            bp.waiting = False
            bp.line = chunk.resolve(bp.requested_line)
            bp.verified = bp.line is not None
            bp.message = (
                None
                if bp.verified
                else f"line {bp.requested_line} and the lines after it have no code"
            )
        specs = [
            {
                "id": bp.id,
                "line": bp.line,
                "condition": bp.condition,
                "hit": bp.hit_condition,
                "log": bp.log_message,
            }
            for bp in self.breakpoints.for_path(path)
            if bp.line is not None
        ]
        self.lua.set_breakpoints("@" + path, self.runtime.to_lua(specs))
        for bp in waiting:
            self.emit("breakpoint", {"reason": "changed", "breakpoint": bp.to_dap()})

    def _prepare_from_lua(self, chunkname: str, source: str) -> Any:
        text, lines = self.prepare(str(chunkname), str(source))
        return text, self.runtime.lua.table_from(lines)

    def loaded(self, chunkname: str, lines: list[int]) -> None:
        """A chunk compiled: its breakpoints now bind."""
        self.lua.mark_loaded(chunkname, self.runtime.lua.table_from(lines))
        self._announce_source(chunkname)

    def _announce_source(self, chunkname: str) -> None:
        """A loadedSource event for a chunk that came from a file."""
        chunkname = str(chunkname)
        if chunkname.startswith("@"):
            self.emit("loadedSource", {"reason": "new", "source": _source(chunkname[1:])})

    # ------------------------------------------------------------------ DAP requests

    def initialize_request(self, args: dict[str, Any]) -> dict[str, Any]:
        return dict(CAPABILITIES)

    def launch_request(self, args: dict[str, Any]) -> None:
        self.launch_args = dict(args)
        self.stop_on_entry = bool(args.get("stopOnEntry", False))

    def attach_request(self, args: dict[str, Any]) -> None:
        self.stop_on_entry = bool(args.get("stopOnEntry", False))

    def configurationDone_request(self, args: dict[str, Any]) -> None:
        if self.stop_on_entry:
            self.lua.set_stop_on_entry(True)

    def disconnect_request(self, args: dict[str, Any]) -> tuple[None, str | None]:
        self.clients.discard(self._client)
        if self.clients and not args.get("terminateDebuggee"):
            return None, None  # others still debug: their breakpoints and the stop stay
        if self.stop is not None and self.runtime.config.get(
            "kernel", "pause_when_last_client_leaves"
        ):
            return None, None
        self.breakpoints.clear()
        self.lua.clear()
        self._unwrap_functions()
        self.profiling.abandon()
        if args.get("terminateDebuggee"):
            self._terminate()
        return None, ("continue" if self.stop is not None else None)

    def terminate_request(self, args: dict[str, Any]) -> tuple[None, str | None]:
        self._terminate()
        return None, ("continue" if self.stop is not None else None)

    def _terminate(self) -> None:
        """End the running script; with nothing running there is nothing to end. An abort
        requested while idle would hit whatever Lua runs next (the next client's requests)."""
        if self.runtime.running:
            self.runtime.request_abort("interrupt", "terminated by the debugger")

    def setBreakpoints_request(self, args: dict[str, Any]) -> dict[str, Any]:
        source = args.get("source") or {}
        path = source.get("path")
        if not isinstance(path, str) or not path:
            raise DebugRequestError("setBreakpoints needs source.path")
        path = os.path.abspath(path)
        requested = args.get("breakpoints")
        if requested is None:
            requested = [{"line": n} for n in args.get("lines") or []]
        if not isinstance(requested, list):
            raise DebugRequestError("breakpoints must be a list")
        text = self._source_text(path)
        chunk = statement_lines(text) if text is not None else None
        specs = []
        results: list[SourceBreakpoint] = []
        for item in requested:
            if not isinstance(item, dict) or not isinstance(item.get("line"), int):
                raise DebugRequestError("each breakpoint needs an integer line")
            line = int(item["line"])
            resolved = chunk.resolve(line) if chunk is not None else line
            bp = self.breakpoints.add(
                path,
                line,
                resolved,
                condition=item.get("condition") or None,
                hit_condition=item.get("hitCondition") or None,
                log_message=item.get("logMessage") or None,
            )
            if resolved is None:
                bp.verified = False
                bp.message = f"line {line} and the lines after it have no code"
            elif text is None:
                bp.verified = False
                bp.waiting = True
                bp.message = f"{path} does not exist (yet); the breakpoint binds when it loads"
            results.append(bp)
            if resolved is not None:
                specs.append(
                    {
                        "id": bp.id,
                        "line": resolved,
                        "condition": bp.condition,
                        "hit": bp.hit_condition,
                        "log": bp.log_message,
                    }
                )
        self.breakpoints.replace(path, results)
        outcomes = self.lua.set_breakpoints("@" + path, self.runtime.to_lua(specs))
        by_id = {spec["id"]: outcomes[i + 1] for i, spec in enumerate(specs)}
        for bp in results:
            outcome = by_id.get(bp.id)
            if outcome is not None and not outcome.ok:
                bp.verified = False
                bp.message = str(outcome.message)
        return {"breakpoints": [bp.to_dap() for bp in results]}

    def setFunctionBreakpoints_request(self, args: dict[str, Any]) -> dict[str, Any]:
        self._unwrap_functions()
        out = []
        for item in args.get("breakpoints") or []:
            name = str(item.get("name", ""))
            bp = self.breakpoints.add_function(
                name,
                condition=item.get("condition") or None,
                hit_condition=item.get("hitCondition") or None,
            )
            ok, message = self.lua.wrap_function(name, bp.id, bp.condition, bp.hit_condition)
            bp.verified = bool(ok)
            if not ok:
                bp.message = str(message)
            self._function_wraps[name] = bp.id  # wrapped, or waiting for its function
            out.append(bp.to_dap())
        return {"breakpoints": out}

    def _function_bound(self, bp_id: int) -> None:
        """A function breakpoint's function appeared (Lua's call hook found it)."""
        bp = self.breakpoints.by_id(int(bp_id))
        if bp is not None:
            bp.verified, bp.message = True, None
            self.emit("breakpoint", {"reason": "changed", "breakpoint": bp.to_dap()})

    def _unwrap_functions(self) -> None:
        for name in list(self._function_wraps):
            self.lua.unwrap_function(name)
        self._function_wraps.clear()

    def setExceptionBreakpoints_request(self, args: dict[str, Any]) -> dict[str, Any]:
        filters = [str(f) for f in args.get("filters") or []]
        known = {str(f["filter"]) for f in EXCEPTION_FILTERS}
        unknown = [f for f in filters if f not in known]
        if unknown:
            raise DebugRequestError(
                f"unknown exception filter {unknown[0]!r}; use {' or '.join(sorted(known))}"
            )
        self.lua.set_exception_filters(self.runtime.lua.table_from(filters))
        return {"breakpoints": [{"verified": True} for _ in filters]}

    def threads_request(self, args: dict[str, Any]) -> dict[str, Any]:
        threads = [{"id": MAIN_THREAD_ID, "name": "main"}]
        for entry in self.runtime.mux.live_threads().values():
            thread_id = self._thread_id(entry.co)
            if thread_id != MAIN_THREAD_ID:
                threads.append({"id": thread_id, "name": f"coroutine {thread_id} ({entry.status})"})
        return {"threads": threads}

    def _announce_threads(self) -> None:
        """``thread`` events for coroutines started or finished since the last stop.

        Sent at stops rather than as coroutines come and go: a script creating thousands of
        coroutines would otherwise flood every client, and clients only look at threads
        while the script is stopped."""
        live = {int(t["id"]) for t in self.threads_request({})["threads"]}
        for thread_id in sorted(live - self._announced_threads):
            self.emit("thread", {"reason": "started", "threadId": thread_id})
        for thread_id in sorted(self._announced_threads - live):
            self.emit("thread", {"reason": "exited", "threadId": thread_id})
        self._announced_threads = live

    def clients_gone(self, args: dict[str, Any]) -> tuple[None, str | None]:
        """Every client left the kernel (the last iopub subscriber went away, maybe without
        a disconnect: a crashed editor). Nobody could resume a stop, so resume it and drop
        the breakpoints, unless ``[kernel] pause_when_last_client_leaves`` says to keep
        them."""
        if self.runtime.config.get("kernel", "pause_when_last_client_leaves"):
            return None, None
        self.clients.clear()
        self.breakpoints.clear()
        self.lua.clear()
        self._unwrap_functions()
        self.profiling.abandon()
        return None, ("continue" if self.stop is not None else None)

    def _require_stop(self) -> Stop:
        if self.stop is None:
            raise DebugRequestError("the script is not stopped")
        return self.stop

    def stackTrace_request(self, args: dict[str, Any]) -> dict[str, Any]:
        stop = self._require_stop()
        thread_id = int(args.get("threadId", stop.thread_id))
        if thread_id != stop.thread_id:
            return {"stackFrames": [], "totalFrames": 0}
        frames = self.runtime.from_lua(self.lua.frames(), what="frames") or []
        start = int(args.get("startFrame") or 0)
        levels = int(args.get("levels") or 0)
        chosen = frames[start : start + levels] if levels else frames[start:]
        out = []
        for offset, info in enumerate(chosen):
            index = start + offset + 1
            frame_id = thread_id * 100000 + index
            self._frame_ids[frame_id] = index
            source = str(info.get("source", "?"))
            is_c = info.get("what") == "C"
            name = info.get("name") or (
                "main chunk" if info.get("what") == "main" else "<anonymous>"
            )
            frame: dict[str, Any] = {
                "id": frame_id,
                "name": f"{name}" + (" [C]" if is_c else ""),
                "line": max(int(info.get("line") or 0), 0),
                "column": 1,
            }
            if is_c:
                frame["presentationHint"] = "subtle"
            elif source.startswith("@"):
                frame["source"] = _source(source[1:])
            else:
                frame["source"] = self._chunk_source(source, str(info.get("short_src") or ""))
            out.append(frame)
        return {"stackFrames": out, "totalFrames": len(frames)}

    def _chunk_source(self, source: str, short_src: str) -> dict[str, Any]:
        """A DAP source for code not loaded from a file (``load(text)``, a cell's eval).

        Named as Lua names it in messages (``[string "first line..."]``, its short source),
        never by its whole text; a ``sourceReference`` for the ``source`` request when the
        text is known: Lua keeps it as the chunk's name when ``load`` was given none.
        """
        name = source[1:] if source.startswith("=") else short_src or source
        text = self._chunk_text(source)
        if text is None:
            return {"name": name, "sourceReference": 0, "presentationHint": "deemphasize"}
        ref = self._source_refs.get(source)
        if ref is None:
            ref = len(self._source_refs) + 1
            self._source_refs[source] = ref
            self._source_by_ref[ref] = source
        return {"name": name, "sourceReference": ref}

    def _chunk_text(self, source: str) -> str | None:
        if source.startswith("="):
            return self.runtime.chunk_sources.get(source[1:])
        return source  # load(text) without a name: the name is the text

    def _frame_index(self, frame_id: Any) -> int:
        if frame_id is None:
            return 1
        index = self._frame_ids.get(int(frame_id))
        if index is None:
            raise DebugRequestError(f"unknown frameId {frame_id} (frames are valid until resumed)")
        return index

    def scopes_request(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require_stop()
        index = self._frame_index(args.get("frameId"))
        scopes = []
        for name, kind, hint in (
            ("Locals", "locals", "locals"),
            ("Upvalues", "upvalues", None),
            ("Varargs", "varargs", None),
            ("Globals", "globals", None),
        ):
            if kind == "varargs" and not self.lua.varargs(index)[1]:
                continue
            if kind == "globals":
                repl = self.runtime.repl_scope
                if repl is not None and repl.is_cell(self.lua.frame_function(index)):
                    # what earlier cells kept (kernel/repl.lua), with their current values
                    ref = self.variables.add(Handle("repl", frame=index))
                    scopes.append({"name": "REPL", "variablesReference": ref, "expensive": False})
            ref = self.variables.add(Handle(kind, frame=index))
            scope: dict[str, Any] = {
                "name": name,
                "variablesReference": ref,
                "expensive": kind == "globals",
            }
            if hint:
                scope["presentationHint"] = hint
            scopes.append(scope)
        return {"scopes": scopes}

    def _variable(self, name: str, value: Any, evaluate_name: str | None) -> dict[str, Any]:
        kind = lua_type(value) or _py_type(value)
        described = self.lua.describe(value)
        text = described[0] if isinstance(described, tuple) else described
        var: dict[str, Any] = {
            "name": name,
            "value": str(text),
            "type": kind,
            "variablesReference": 0,
        }
        if evaluate_name:
            var["evaluateName"] = evaluate_name
        if expandable(value):
            var["variablesReference"] = self.variables.add(
                Handle("value", value=value, evaluate_name=evaluate_name)
            )
            if kind == "table":
                # as debugpy does: the counts let an editor fetch the named children and
                # the array part in chunks (filter, start, count) instead of all at once
                indexed, named = self.lua.table_counts(value)
                var["indexedVariables"] = int(indexed)
                var["namedVariables"] = int(named)
        return var

    def variables_request(self, args: dict[str, Any]) -> dict[str, Any]:
        ref = args.get("variablesReference")
        handle = self.variables.get(int(ref)) if isinstance(ref, int) else None
        if handle is None:
            raise DebugRequestError(
                f"unknown variablesReference {ref!r} (references are valid until the script "
                "resumes)"
            )
        filter_ = args.get("filter")
        if filter_ not in (None, "indexed", "named"):
            raise DebugRequestError(f"unknown variables filter {filter_!r}: use indexed or named")
        start = int(args.get("start") or 0)
        count = int(args.get("count") or 0)
        if handle.kind in ("value", "globals") and lua_type(self._handle_value(handle)) == "table":
            # paged in Lua: an editor's chunk of a huge array costs only the chunk
            chosen = self._children(handle, filter_, start, count)
        else:
            # scopes, functions' upvalues, userdata: named children only
            entries = [] if filter_ == "indexed" else self._children(handle)
            chosen = entries[start : start + count] if count else entries[start:]
        return {"variables": [self._variable(name, value, ev) for name, value, ev in chosen]}

    def _handle_value(self, handle: Handle) -> Any:
        return self.runtime.lua.globals() if handle.kind == "globals" else handle.value

    def _children(
        self, handle: Handle, filter_: str | None = None, start: int = 0, count: int = 0
    ) -> list[tuple[str, Any, str | None]]:
        out: list[tuple[str, Any, str | None]] = []
        if handle.kind in ("locals", "upvalues", "varargs"):
            listing = getattr(self.lua, handle.kind)(handle.frame)
            for i in range(1, len(listing) + 1):
                entry = listing[i]
                name = str(entry.name)
                handle.keys[name] = entry.index
                out.append((name, entry.value, name if handle.kind != "varargs" else None))
            return out
        if handle.kind == "repl":
            repl = self.runtime.repl_scope
            listing = repl.listing()
            for i in range(1, len(listing) + 1):
                name = str(listing[i].name)
                handle.keys[name] = name
                out.append((name, listing[i].value, name))
            return out
        value = self._handle_value(handle)
        kind = lua_type(value)
        if kind == "table":
            entries, total = self.lua.table_entries(value, filter_, start, count)
            for i in range(1, int(total) + 1):
                entry = entries[i]
                if entry.meta:
                    out.append(("[metatable]", entry.value, None))
                    continue
                name = str(self.lua.key_name(entry.key))
                if handle.kind == "globals" and name.startswith(INTERNAL_GLOBAL_PREFIX):
                    continue  # the instrumented lines' check: ours, not the program's
                handle.keys[name] = entry.key
                out.append((name, entry.value, _child_name(handle.evaluate_name, entry.key)))
        elif kind == "function":
            upvalues = self.lua.function_upvalues(value)
            out.extend(
                (str(upvalues[i].key), upvalues[i].value, None) for i in range(1, len(upvalues) + 1)
            )
        elif kind == "userdata":
            meta = self.lua.metatable(value)
            if meta is not None:
                out.append(("[metatable]", meta, None))
        return out

    def setVariable_request(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require_stop()
        handle = self.variables.get(int(args.get("variablesReference") or -1))
        name = str(args.get("name", ""))
        text = str(args.get("value", ""))
        if handle is None:
            raise DebugRequestError("unknown variablesReference")
        if name not in handle.keys:
            self._children(handle)  # the shown page may have been another chunk
        if name not in handle.keys:
            raise DebugRequestError(f"no variable named {name!r} here")
        ok, value = self.lua.eval_value(text, handle.frame if handle.kind != "value" else 1)
        if not ok:
            raise DebugRequestError(f"cannot evaluate {text!r}: {value}")
        if handle.kind in {"locals", "varargs"}:
            self.lua.set_local(handle.frame, handle.keys[name], value)
        elif handle.kind == "upvalues":
            fn = self.lua.frame_function(handle.frame)
            self.lua.set_upvalue(fn, handle.keys[name], value)
        elif handle.kind == "repl":
            self.runtime.repl_scope.set(name, value)
        else:
            target = self.runtime.lua.globals() if handle.kind == "globals" else handle.value
            self.lua.raw_set(target, handle.keys[name], value)
        var = self._variable(name, value, None)
        return {
            "value": var["value"],
            "type": var["type"],
            "variablesReference": var["variablesReference"],
        }

    def evaluate_request(self, args: dict[str, Any]) -> dict[str, Any]:
        expression = args.get("expression")
        if not isinstance(expression, str) or not expression.strip():
            raise DebugRequestError("evaluate needs a non-empty expression")
        index = self._frame_index(args.get("frameId")) if self.stop is not None else 0
        ok, result = self.lua.evaluate(index, expression)
        if not ok:
            raise DebugRequestError(str(result))
        count = int(result.n) - 1  # result[1] is pcall's status
        if count <= 0:
            return {"result": "", "variablesReference": 0}
        value = result[2]
        if args.get("context") == "clipboard":
            text = str(self.values.render(value))
            return {"result": text, "variablesReference": 0}
        var = self._variable(expression, value, expression)
        if count > 1:
            var["value"] = ", ".join(
                str(self.values.summary(result[i])) for i in range(2, count + 2)
            )
        return {
            "result": var["value"],
            "type": var["type"],
            "variablesReference": var["variablesReference"],
            **{k: var[k] for k in ("indexedVariables", "namedVariables") if k in var},
        }

    def setExpression_request(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require_stop()
        expression = str(args.get("expression", ""))
        value = str(args.get("value", ""))
        index = self._frame_index(args.get("frameId"))
        ok, result = self.lua.evaluate(index, f"{expression} = ({value})")
        if not ok:
            raise DebugRequestError(str(result))
        shown = self.evaluate_request({"expression": expression, "frameId": args.get("frameId")})
        shown["value"] = shown.pop("result")
        return shown

    def continue_request(self, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
        self._require_stop()
        return {"allThreadsContinued": True}, "continue"

    def next_request(self, args: dict[str, Any]) -> tuple[None, str]:
        self._require_stop()
        return None, "over"

    def stepIn_request(self, args: dict[str, Any]) -> tuple[None, str]:
        self._require_stop()
        return None, "in"

    def stepOut_request(self, args: dict[str, Any]) -> tuple[None, str]:
        self._require_stop()
        return None, "out"

    def pause_request(self, args: dict[str, Any]) -> None:
        if self.stop is not None:
            return
        raise DebugRequestError("nothing is running to pause")

    def source_request(self, args: dict[str, Any]) -> dict[str, Any]:
        source = args.get("source") or {}
        ref = source.get("sourceReference") or args.get("sourceReference") or 0
        path = source.get("path") or ""
        name = source.get("name") or ""
        if ref:
            # DAP: a reference > 0 is what to read, even when a path is given too
            chunk = self._source_by_ref.get(int(ref))
            text = self._chunk_text(chunk) if chunk is not None else None
            if text is None:
                raise DebugRequestError(f"unknown sourceReference {ref}")
        elif path:
            text = self._source_text(path)
        else:
            text = self.runtime.chunk_sources.get(name)
        if text is None:
            what = repr(path or name)
            raise DebugRequestError(
                f"no source for {what}: Lua keeps no text of a chunk loaded under a name"
                if name and not path
                else f"no source for {what}"
            )
        return {"content": text, "mimeType": "text/x-lua"}

    def loadedSources_request(self, args: dict[str, Any]) -> dict[str, Any]:
        chunks = self.runtime.from_lua(self.lua.loaded_sources()) or []
        return {"sources": [_source(c[1:]) for c in chunks if str(c).startswith("@")]}

    # ---- Jupyter's debugger extras

    def debugInfo_request(self, args: dict[str, Any]) -> dict[str, Any]:
        from kernel_core.kernel.cells import HASH_SEED

        files = getattr(self.runtime, "cell_files", None)
        return {
            "isStarted": True,
            "hashMethod": "Murmur2",
            "hashSeed": HASH_SEED,
            "tmpFilePrefix": files.prefix if files else "",
            "tmpFileSuffix": ".lua",
            "breakpoints": self.breakpoints.by_source_dap(),
            "stoppedThreads": [self.stop.thread_id] if self.stop else [],
            "richRendering": True,
            "exceptionPaths": [],
            "copyToGlobals": False,
        }

    def dumpCell_request(self, args: dict[str, Any]) -> dict[str, Any]:
        code = args.get("code")
        if not isinstance(code, str):
            raise DebugRequestError("dumpCell needs code")
        files = getattr(self.runtime, "cell_files", None)
        if files is None:
            raise DebugRequestError("this runtime has no cell files (not a kernel)")
        return {"sourcePath": str(files.write(code))}

    def inspectVariables_request(self, args: dict[str, Any]) -> dict[str, Any]:
        names = self.runtime.from_lua(self.lua.user_globals()) or []
        g = self.runtime.lua.globals()
        out = [self._variable(str(name), g[name], str(name)) for name in sorted(names)]
        return {"variables": out}

    def richInspectVariables_request(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("variableName", ""))
        index = (
            self._frame_index(args.get("frameId"))
            if self.stop is not None and args.get("frameId") is not None
            else 0
        )
        ok, result = self.lua.evaluate(index, name)
        if not ok:
            raise DebugRequestError(str(result))
        value = result[2] if int(result.n) >= 2 else None
        return {"data": {"text/plain": str(self.values.render(value))}, "metadata": {}}

    def llmspell__profileStart_request(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._profiling(self.profiling.start, args)

    def llmspell__profileStop_request(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._profiling(self.profiling.stop, args)

    def llmspell__profileSnapshot_request(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._profiling(self.profiling.snapshot, args)

    @staticmethod
    def _profiling(
        handler: Callable[[dict[str, Any]], dict[str, Any]], args: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            return handler(args)
        except ProfileRequestError as exc:
            raise DebugRequestError(str(exc)) from exc

    def llmspell__hooks_request(self, args: dict[str, Any]) -> dict[str, Any]:
        hooks = self.runtime.hooks
        stats = hooks.stats() if hasattr(hooks, "stats") else []
        return {"hooks": stats}

    # ------------------------------------------------------------------ helpers

    def _source_text(self, path: str) -> str | None:
        if self.runtime.sources.restricted:  # require's searcher: the sandbox's rules
            data = self.runtime.sources.read_module(path)[0]
            return data.decode("utf-8", "replace") if data is not None else None
        try:
            return Path(path).read_text(encoding="utf-8")
        except OSError:
            return self.runtime.chunk_sources.get(path)


def _settled(settle: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` as a host function that may run inside a coroutine.

    lupa 2.8: in a Python callback called from a coroutine (coroutine.create/resume), the
    first table read returns ``(thread, value)`` instead of the value; any Lua call first
    puts lupa right. Without this a breakpoint inside a coroutine failed with
    "'tuple' object is not callable" and killed the coroutine.
    """

    def entry(*args: Any) -> Any:
        settle()
        return fn(*args)

    return entry


def _source(path: str) -> dict[str, Any]:
    return {"name": os.path.basename(path), "path": path}


def _py_type(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str | bytes):
        return "string"
    return type(value).__name__


def _child_name(parent: str | None, key: Any) -> str | None:
    if parent is None:
        return None
    if isinstance(key, str) and key.isidentifier():
        return f"{parent}.{key}"
    if isinstance(key, int | float) and not isinstance(key, bool):
        return f"{parent}[{key}]"
    if isinstance(key, str):
        return f"{parent}[{key!r}]"
    return None


__all__ = ["DebugRequestError", "DebugSession"]
