"""What the kernel does on its execution thread: run cells with REPL semantics, complete,
inspect, check completeness. Everything here runs on the thread that owns the runtime and
returns plain data."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lupa.lua54 import lua_type

from kernel_core.kernel.cells import CellFiles, is_complete, plan_cell
from kernel_core.kernel.stop_scope import StopScope
from kernel_core.runtime.convert import ConversionError
from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.failure import ScriptFailure, display_path, format_failure
from kernel_core.runtime.lua_tokens import KEYWORDS

if TYPE_CHECKING:
    # The protocol loop imports this module before its first reply; the debugger, the
    # profiler and the Lua runtime are imported by the execution thread as it builds the
    # world (CellExecutor), after that reply.
    from kernel_core.config import Config
    from kernel_core.debugger.channel import DebugChannel
    from kernel_core.debugger.session import DebugSession, Emit
    from kernel_core.runtime.script_runtime import OutputSink, RunOutcome

log = logging.getLogger(__name__)

_COMPLETION_CONTEXT = re.compile(r"(?P<base>(?:[A-Za-z_]\w*\s*[.:]\s*)*)(?P<prefix>[A-Za-z_]\w*)?$")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_NAME_AT = re.compile(r"[A-Za-z_][\w.:]*")

ENAMES = {
    "error": "LuaError",
    "interrupted": "Interrupted",
    "limit": "LimitExceeded",
    "exit": "ScriptExit",
}


@dataclass
class ExecuteOutcome:
    """The result of one execute_request, as plain data."""

    status: str  # "ok" | "error"
    result_text: str | None = None
    error: dict[str, Any] | None = None
    user_expressions: dict[str, Any] = field(default_factory=dict)
    exit_code: int = 0
    # `llmspell run --connect --output json`: the script's returned value(s) as data, and a
    # failure as `llmspell run --output json` reports it (ScriptFailure.to_dict)
    result_data: Any = None
    failure: dict[str, Any] | None = None


class CellExecutor:
    """The kernel's Lua world with REPL semantics."""

    def __init__(
        self,
        config: Config,
        sink: OutputSink,
        cell_files: CellFiles,
        debug: tuple[DebugChannel, Emit] | None = None,
    ) -> None:
        from kernel_core.runtime.script_runtime import ScriptContext, ScriptRuntime

        self.runtime = ScriptRuntime(config, sink, script=ScriptContext(None))
        self.cell_files = cell_files
        self.runtime.cell_files = cell_files  # dumpCell/debugInfo name cells as Jupyter does
        self.debugger: DebugSession | None = None
        if debug is not None:
            from kernel_core.debugger.session import DebugSession

            self.debugger = DebugSession(self.runtime, debug[0], debug[1])
        self.repl = self.runtime.load_lua(
            "kernel_core.kernel", "repl.lua", self.runtime.lua.globals(), self.runtime.mux
        )
        self.runtime.repl_scope = self.repl  # the debugger shows a cell's REPL locals
        if self.debugger is not None:
            self.debugger.lua.repl_env = self.repl.env  # evaluate when not stopped: as a cell
            self.debugger.lua.repl_is_cell = self.repl.is_cell  # a cell frame sees them all
        self.cell_numbers: dict[str, int] = {}
        self._kept: set[str] = set()  # names of the REPL locals (repl.lua keeps them)
        # True while a cell or script runs: only then does an interrupt apply. An abort
        # requested at any other time would hit the next Lua call (a completion, the
        # next cell's compile) as an error outside any protected call.
        self.running = False
        self._running_lock = threading.Lock()
        self._interrupt_at_start = False  # an interrupt that came before the run began
        try:
            self.values: Any = self.runtime.load_lua("kernel_core.runtime.lua", "values.lua")
        except FileNotFoundError:
            self.values = None
        self._render_all: Any = None
        self._install_display(sink)

    def _install_display(self, sink: OutputSink) -> None:
        display = getattr(sink, "display", None)
        if display is None:
            return

        def emit(kind: str, payload: Any, fmt: Any = None) -> None:
            data = self.runtime.from_lua(payload, what="display value")
            bundle: dict[str, Any]
            if kind == "markdown":
                bundle = {"text/markdown": str(data), "text/plain": str(data)}
            elif kind == "html":
                bundle = {"text/html": str(data), "text/plain": str(data)}
            elif kind == "image":
                import base64

                raw = str(data)
                if Path(raw).is_file():
                    problem = self.runtime.sources.refusal(raw, "Display.image")
                    if problem is not None:
                        raise ScriptError(problem)
                    raw = base64.b64encode(Path(raw).read_bytes()).decode()
                mime = f"image/{fmt or 'png'}"
                bundle = {mime: raw, "text/plain": f"<{mime} image>"}
            elif kind == "json":
                bundle = {"application/json": data, "text/plain": repr(data)}
            else:
                bundle = {str(k): v for k, v in dict(data).items()}
            display(bundle)

        table = self.runtime.lua.table()
        for kind in ("markdown", "html", "image", "json", "data"):
            table[kind] = self.runtime.host_function(
                f"Display.{kind}", lambda p, f=None, k=kind: emit(k, p, f)
            )
        self.runtime.set_global("Display", table)

    # ------------------------------------------------------------------ execute

    def execute(self, code: str, count: int, user_expressions: dict[str, str]) -> ExecuteOutcome:
        """Run one cell: an expression shows its value; statements keep top-level locals."""
        path = self.cell_files.write(code)
        self.cell_numbers[str(path)] = count
        chunkname = f"@{path}"
        fn, failure, kept = None, None, []
        expression = "return " + code
        # a bare load decides whether the cell is an expression: a failure with its hints
        # (failure.py) costs more than many cells take to run
        if self.runtime.runner.compile(expression, "=(expression?)", self.repl.env)[0] is not None:
            fn, failure = self._compile_cell(expression, chunkname, _IDENTIFIER.findall(code))
        if fn is None:
            plan = plan_cell(code)
            fn, failure = self._compile_cell(plan.statements, chunkname, plan.mentions)
            kept = plan.names
            if fn is None and kept:  # the hand-over broke it (a final label goto jumps to)
                plain, _failure = self._compile_cell(code, chunkname, plan.mentions)
                if plain is not None:  # runs as written; its locals end with it
                    fn, failure, kept = plain, None, []
        if fn is None:
            assert failure is not None
            if failure.location and failure.location[0] == str(path):
                failure.line_text = _nth(code, failure.location[1])
            from kernel_core.runtime.script_runtime import RunOutcome

            return self._error(RunOutcome("error", failure=failure, exit_code=1), count)
        outcome = self._interruptible(lambda: self.runtime.call(fn))
        if outcome.status != "ok":
            return self._error(outcome, count)
        values = outcome.values
        if kept and values and lua_type(values[0]) == "function":
            self.repl.keep(values[0])  # the closure over the cell's top-level locals
            self._kept.update(kept)
            values = values[1:]
        result = ExecuteOutcome("ok")
        if values:
            shown = self._render_interruptible(values)
            if shown.status != "ok":
                return self._error(shown, count)
            result.result_text = str(shown.values[0])
        result.user_expressions = self._user_expressions(user_expressions)
        return result

    def _render_interruptible(self, values: Any) -> RunOutcome:
        """Render values as a run of their own: a ``__tostring`` that loops is stopped by an
        interrupt and the limits like any other Lua code."""
        if self._render_all is None:
            self._render_all = self.runtime.lua.eval(
                "function(render, opts, ...) local out = {} for i = 1, select('#', ...) do "
                "local v = select(i, ...) out[i] = render and render(v, opts) or tostring(v) end "
                "return table.concat(out, '\\t') end"
            )
        render = self.values.render if self.values is not None else None
        opts = self.runtime.lua.table_from({"max_depth": 4})
        return self._interruptible(
            lambda: self.runtime.call(self._render_all, render, opts, *values, new_run=False)
        )

    def _compile_cell(
        self, body: str, chunkname: str, mentions: list[str]
    ) -> tuple[Any, ScriptFailure | None]:
        """The cell function for ``body``: a main chunk with _G as its _ENV whose REPL locals
        (those of ``mentions`` that earlier cells kept) are shared upvalues (repl.lua)."""
        fn, failure = self.runtime.compile(body, chunkname)  # errors, breakpoints, as written
        if fn is None:
            return None, failure
        # names the REPL keeps (a superset of the kept names is harmless: repl.known checks)
        known = [n for n in dict.fromkeys(mentions) if n in self._kept]
        prelude = (
            list(self.repl.known(self.runtime.lua.table_from(known)).values()) if known else []
        )
        if not prelude:
            return self.repl.track(fn), None
        text = body
        checked = False
        if self.debugger is not None:
            text, lines = self.debugger.prepare(chunkname, body)
            checked = bool(lines)
        if text.startswith("#"):  # runner.compile blanks a #! line; here it is line 2
            text = re.sub(r"^[^\n]*", "", text, count=1)
        if checked:  # the checks' names are upvalues too (debugger.lua)
            assert self.debugger is not None
            prelude.append(str(self.debugger.lua.CHECK_NAMES))
        wrapped = f"local {', '.join(prelude)}; return function(...)\n{text}\nend"
        outer, message = self.runtime.runner.compile(wrapped, chunkname, self.runtime.lua.globals())
        cell = None
        if outer is not None:
            cell, message = self.repl.finish(outer)
            if cell is not None and checked:
                assert self.debugger is not None
                self.debugger.lua.give_checks(cell)
        if cell is None:  # too many names for one function, say: earlier locals stay unseen
            log.warning("cell compiled without its REPL locals: %s", message)
            return self.repl.track(fn), None
        return cell, None

    def run_file(self, path: str, args: list[str]) -> ExecuteOutcome:
        """Run a script file on this kernel (``llmspell run --connect``)."""
        outcome = self._interruptible(lambda: self.runtime.run_file(path, args))
        if outcome.status == "ok":
            result = ExecuteOutcome("ok")
            values = outcome.values
            try:
                if len(values) == 1:
                    result.result_data = self.runtime.from_lua(values[0], what="result")
                elif values:
                    result.result_data = [self.runtime.from_lua(v, what="result") for v in values]
            except ConversionError as exc:
                result.failure = {
                    "message": f"the script's return value cannot be converted: {exc}"
                }
            return result
        error = self._error(outcome, 0)
        if outcome.failure is not None and outcome.status != "exit":
            error.failure = outcome.failure.to_dict()
        return error

    def interrupt(self, *, starting: bool = False) -> None:
        """Stop the running cell or script at its next instruction (any thread).

        ``starting``: a cell or script is on its way to run (its request is being served,
        its Lua not yet started): the interrupt then stops it as soon as it starts.
        """
        with self._running_lock:
            if self.running:
                self.runtime.request_abort("interrupt", "interrupted by user")
            elif starting:
                self._interrupt_at_start = True

    def forget_interrupt(self) -> None:
        """Drop an interrupt meant for a request that ended before its Lua ran (any thread)."""
        with self._running_lock:
            self._interrupt_at_start = False

    def _interruptible(self, run: Callable[[], RunOutcome]) -> RunOutcome:
        with self._running_lock:
            if self._interrupt_at_start:  # interrupted before its first instruction
                from kernel_core.runtime.script_runtime import RunOutcome

                self._interrupt_at_start = False
                failure = ScriptFailure("interrupted by user", abort="interrupt", exit_code=130)
                return RunOutcome("interrupted", failure=failure, exit_code=130)
            self.running = True
        try:
            return run()
        finally:
            with self._running_lock:  # an abort that raced with the end of the run is dropped
                self.running = False
                self.runtime.cancel_abort()

    def render(self, value: Any) -> str:
        """A value as the REPL shows it (strings quoted, tables pretty-printed)."""
        if self.values is not None:
            return str(self.values.render(value, self.runtime.lua.table_from({"max_depth": 4})))
        return str(self.runtime.lua.globals().tostring(value))

    def _user_expressions(self, expressions: dict[str, str]) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for name, expression in expressions.items():
            fn, failure = self.runtime.compile(
                "return " + expression, "=(user expression)", env=self.repl.env
            )
            # inside the interruptible region: an expression (or its __tostring) may loop
            outcome = (
                self._interruptible(partial(self.runtime.call, fn)) if fn is not None else None
            )
            if outcome is not None and outcome.status == "ok":
                outcome = self._render_interruptible(outcome.values)
            if outcome is not None and outcome.status == "ok":
                text = str(outcome.values[0]) if outcome.values else ""
                results[name] = {"status": "ok", "data": {"text/plain": text}, "metadata": {}}
            else:
                fail = failure or (outcome.failure if outcome else None)
                results[name] = {
                    "status": "error",
                    "ename": "LuaError",
                    "evalue": fail.bare_message if fail else "error",
                    "traceback": [],
                }
        return results

    def _error(self, outcome: RunOutcome, count: int) -> ExecuteOutcome:
        failure = outcome.failure or ScriptFailure("error")
        self._relabel_cells(failure)
        ename = "SyntaxError" if failure.syntax else ENAMES.get(outcome.status, "LuaError")
        text = format_failure(failure, color=True)
        for path, number in self.cell_numbers.items():
            text = text.replace(display_path(path), f"Cell In[{number}]")
        return ExecuteOutcome(
            "error",
            error={
                "ename": ename,
                "evalue": failure.bare_message,
                "traceback": text.splitlines(),
                "location": list(failure.location) if failure.location else None,
                "suggestion": failure.suggestion,
            },
            exit_code=outcome.exit_code,
        )

    def _relabel_cells(self, failure: ScriptFailure) -> None:
        if failure.location and failure.location[0] in self.cell_numbers and not failure.line_text:
            failure.line_text = _line_of_file(failure.location[0], failure.location[1])
        # An earlier cell's local is an upvalue of the cell that uses it (repl.lua): at a
        # cell's top level, say what the user wrote
        m = re.search(r"\(upvalue '([A-Za-z_]\w*)'\)", failure.message)
        lua_frames = [f for f in failure.frames if f.what != "C" and not f.internal]
        at_top = bool(lua_frames) and lua_frames[0].what == "main"
        at_top = at_top and lua_frames[0].path in self.cell_numbers
        if m and at_top and self.repl.names[m.group(1)]:
            failure.message = failure.message.replace(m.group(0), f"(local '{m.group(1)}')")
            from kernel_core.devex.error_patterns import suggest

            failure.suggestion = suggest(
                failure.bare_message, source_line=failure.line_text, names=None
            )

    # ------------------------------------------------------------------ introspection

    def is_complete(self, code: str) -> dict[str, str]:
        """Jupyter is_complete_reply content."""
        fn, failure = self.runtime.compile("return " + code, "=(is_complete)")
        if fn is None:
            fn, failure = self.runtime.compile(code, "=(is_complete)")  # as a cell compiles
        status, indent = is_complete(
            code, None if fn is not None else (failure.message if failure else "")
        )
        reply = {"status": status}
        if status == "incomplete":
            reply["indent"] = indent
        return reply

    def complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        """Jupyter complete_reply content: globals, REPL locals, keywords, fields, methods."""
        before = code[:cursor_pos]
        m = _COMPLETION_CONTEXT.search(before)
        prefix = (m.group("prefix") if m else "") or ""
        base = (m.group("base") if m else "") or ""
        candidates: list[tuple[str, str]]
        if base.strip():
            stripped = re.sub(r"\s+", "", base)
            separator = stripped[-1]
            value = self._resolve(stripped[:-1])
            fields = self.runtime.from_lua(self.repl.fields(value)) if value is not None else []
            candidates = [(str(f[0]), str(f[1])) for f in fields or []]
            if separator == ":":
                candidates = [c for c in candidates if c[1] == "function"]
        else:
            names = self._stop_names() + (
                self.runtime.from_lua(self.repl.visible_names(self.runtime.lazy_globals.names()))
                or []
            )
            candidates = [(str(n), "name") for n in names]
            candidates += [(k, "keyword") for k in sorted(KEYWORDS)]
        matches = sorted({c for c in candidates if c[0].startswith(prefix)}, key=lambda c: c[0])
        start = cursor_pos - len(prefix)
        return {
            "status": "ok",
            "matches": [c[0] for c in matches],
            "cursor_start": start,
            "cursor_end": cursor_pos,
            "metadata": {
                "_jupyter_types_experimental": [
                    {"text": c[0], "type": c[1], "start": start, "end": cursor_pos} for c in matches
                ]
            },
        }

    def inspect(self, code: str, cursor_pos: int, detail_level: int) -> dict[str, Any]:
        """Jupyter inspect_reply content: what the name under the cursor is."""
        name = _name_at(code, cursor_pos)
        if not name:
            return {"status": "ok", "found": False, "data": {}, "metadata": {}}
        value = self._resolve(name)
        if value is None:
            from kernel_core.devex.api_docs import lookup

            doc = lookup(name)
            if doc is None:
                return {"status": "ok", "found": False, "data": {}, "metadata": {}}
            return {"status": "ok", "found": True, "data": {"text/plain": doc}, "metadata": {}}
        kind = str(self.runtime.lua.globals().type(value))
        lines = [f"{name}: {kind}"]
        from kernel_core.devex.api_docs import lookup

        doc = lookup(name)
        if doc:
            lines.append(doc)
        if kind == "function":
            info = self.runtime.lua.eval("function(f) return debug.getinfo(f, 'S') end")(value)
            if info is not None and info.what != "C":
                lines.append(f"defined at {display_path(str(info.source))}:{info.linedefined}")
            else:
                lines.append("built-in function")
        else:
            lines.append(
                self.render(value) if detail_level or kind != "table" else self.render(value)[:2000]
            )
        text = "\n".join(lines)
        return {"status": "ok", "found": True, "data": {"text/plain": text}, "metadata": {}}

    def _stop(self) -> StopScope | None:
        """At a stop, completions and inspections see the stopped frame."""
        debugger = self.debugger
        return StopScope(debugger) if debugger is not None and debugger.stop else None

    def _resolve(self, path: str) -> Any:
        stop = self._stop()
        value = stop.resolve(path) if stop is not None else None
        return value if value is not None else self.repl.resolve(path)

    def _stop_names(self) -> list[str]:
        stop = self._stop()
        return stop.frame_names() if stop is not None else []

    def close(self) -> None:
        self.runtime.close()


def _nth(text: str, number: int) -> str | None:
    lines = text.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else None


def _line_of_file(path: str, number: int) -> str | None:
    try:
        return _nth(Path(path).read_text(encoding="utf-8"), number)
    except OSError:
        return None


def _name_at(code: str, cursor_pos: int) -> str:
    for m in _NAME_AT.finditer(code):
        if m.start() <= cursor_pos <= m.end():
            return m.group().rstrip(".:")
    return ""
