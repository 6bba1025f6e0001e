"""App-wide kernel events as Textual messages, posted by the kernel bridge.

DAP bodies and Jupyter contents are decoded into the small typed records below at the bridge;
panes receive these, never raw dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from kernel_core.profiler.model import Profile


@dataclass(frozen=True)
class Frame:
    """One stack frame of a stopped thread."""

    id: int
    name: str
    line: int
    path: str | None

    @classmethod
    def from_dap(cls, frame: dict[str, Any]) -> Frame:
        """A frame from a DAP ``StackFrame``."""
        source = frame.get("source") or {}
        path = source.get("path")
        return cls(
            id=int(frame["id"]),
            name=str(frame.get("name", "?")),
            line=int(frame.get("line") or 0),
            path=str(path) if path else None,
        )

    @property
    def location(self) -> str:
        """``file.lua:12`` (the file's name only)."""
        name = self.path.rsplit("/", 1)[-1] if self.path else "?"
        return f"{name}:{self.line}"


@dataclass(frozen=True)
class Thread:
    """A thread of the script: the main one or a coroutine (``coroutine 3 (suspended)``)."""

    id: int
    name: str


@dataclass(frozen=True)
class Scope:
    """A variables scope of a frame (Locals, Upvalues, Varargs, Globals)."""

    name: str
    reference: int
    expensive: bool

    @classmethod
    def from_dap(cls, scope: dict[str, Any]) -> Scope:
        """A scope from a DAP ``Scope``."""
        return cls(
            name=str(scope.get("name", "?")),
            reference=int(scope.get("variablesReference") or 0),
            expensive=bool(scope.get("expensive")),
        )


@dataclass(frozen=True)
class Variable:
    """A name and its value as Lua shows it; ``reference`` > 0 when it can be expanded."""

    name: str
    value: str
    type: str
    reference: int
    indexed: int = 0  # a table's array length (its children may be paged)
    evaluate_name: str | None = None  # an expression for the value, when it has one

    @classmethod
    def from_dap(cls, var: dict[str, Any]) -> Variable:
        """A variable from a DAP ``Variable``."""
        evaluate_name = var.get("evaluateName")
        return cls(
            name=str(var.get("name", "?")),
            value=str(var.get("value", "")),
            type=str(var.get("type", "")),
            reference=int(var.get("variablesReference") or 0),
            indexed=int(var.get("indexedVariables") or 0),
            evaluate_name=str(evaluate_name) if evaluate_name else None,
        )


@dataclass(frozen=True)
class BreakpointSpec:
    """A source breakpoint as sent to the kernel (empty strings: no such option)."""

    line: int
    condition: str = ""
    hit_condition: str = ""
    log_message: str = ""

    def to_dap(self) -> dict[str, Any]:
        """A DAP ``SourceBreakpoint``."""
        out: dict[str, Any] = {"line": self.line}
        if self.condition:
            out["condition"] = self.condition
        if self.hit_condition:
            out["hitCondition"] = self.hit_condition
        if self.log_message:
            out["logMessage"] = self.log_message
        return out


@dataclass(frozen=True)
class BoundBreakpoint:
    """How the kernel bound one requested breakpoint (its id, and the line it moved to)."""

    requested: int
    id: int
    line: int
    verified: bool
    message: str

    @classmethod
    def from_dap(cls, requested: int, bp: dict[str, Any]) -> BoundBreakpoint:
        """The kernel's answer for the breakpoint requested on line ``requested``."""
        return cls(
            requested=requested,
            id=int(bp.get("id") or 0),
            line=int(bp.get("line") or requested),
            verified=bool(bp.get("verified")),
            message=str(bp.get("message") or ""),
        )


@dataclass(frozen=True)
class WatchResult:
    """One watch expression's value at a stop, or the error evaluating it raised."""

    expression: str
    value: str
    type: str
    error: str


@dataclass(frozen=True)
class Completions:
    """What the kernel offers to complete at a cursor: ``matches`` replace ``start:end``."""

    matches: list[str]
    start: int
    end: int

    @classmethod
    def from_reply(cls, content: dict[str, Any], cursor: int) -> Completions:
        """Completions from a Jupyter ``complete_reply``."""
        return cls(
            matches=[str(match) for match in content.get("matches") or []],
            start=int(content.get("cursor_start", cursor)),
            end=int(content.get("cursor_end", cursor)),
        )


@dataclass(frozen=True)
class HookInfo:
    """One registered LLMSpell hook with its statistics and circuit breaker."""

    id: str
    point: str
    source: str
    priority: str
    calls: int
    failures: int
    avg_ms: float
    max_ms: float
    breaker: str  # closed, open or half_open
    retry_in_ms: float
    opened: int  # how many times the breaker has opened
    last_reason: str

    @classmethod
    def from_stats(cls, hook: dict[str, Any]) -> HookInfo:
        """A hook from one entry of the ``llmspell/hooks`` response."""
        transitions = [t for t in hook.get("transitions") or [] if isinstance(t, dict)]
        opened = [t for t in transitions if t.get("to") == "open"]
        return cls(
            id=str(hook.get("id", "")),
            point=str(hook.get("point", "")),
            source=str(hook.get("source") or hook.get("name") or ""),
            priority=str(hook.get("priority", "")),
            calls=int(hook.get("calls") or 0),
            failures=int(hook.get("errors") or 0),
            avg_ms=float(hook.get("avg_ms") or 0.0),
            max_ms=float(hook.get("max_ms") or 0.0),
            breaker=str(hook.get("breaker", "closed")),
            retry_in_ms=float(hook.get("retry_in_ms") or 0.0),
            opened=len(opened),
            last_reason=str(opened[-1].get("reason") or "") if opened else "",
        )


@dataclass
class KernelConnected(Message):
    """Connected to a kernel and its debugger (handled by ``on_kernel_connected``)."""

    kernel_id: str
    name: str
    transport: str
    clients: int
    script: str | None


@dataclass
class KernelFailed(Message):
    """The kernel could not be started or reached (``on_kernel_failed``)."""

    message: str


@dataclass
class KernelEnded(Message):
    """The kernel went away or restarted under this TUI (``on_kernel_ended``): ``how`` is
    "shut down" or "restarted" (by another client: ``llmspell kernel stop``, JupyterLab's
    restart) or "gone" (it stopped answering its heartbeat, or its process ended)."""

    how: str


@dataclass
class KernelBusy(Message):
    """Code started or stopped running on the kernel (``on_kernel_busy``)."""

    busy: bool


@dataclass
class ClientsCounted(Message):
    """How many clients the kernel has (``on_clients_counted``)."""

    clients: int


class Output(Message):
    """Text the script or a cell wrote (``on_output``).

    A flood arrives as one message, not thousands: the bridge adds each stream chunk to the
    Output it posted last until the app has handled it, and keeps only the newest
    ``keep`` lines of it (the console could show no more), counting the rest in ``dropped``.
    """

    def __init__(self, stream: str, text: str, *, keep: int = 0) -> None:
        super().__init__()
        self.chunks: list[tuple[str, str]] = [(stream, text)]
        self.lines = text.count("\n")
        self.dropped = 0  # whole lines left out, older than the newest ``keep``
        self.keep = keep
        self.taken = False  # handled: the bridge starts a new one

    @property
    def stream(self) -> str:
        """The stream of the first chunk."""
        return self.chunks[0][0]

    @property
    def text(self) -> str:
        """Every chunk's text, in order."""
        return "".join(text for _, text in self.chunks)

    def add(self, stream: str, text: str) -> bool:
        """Coalesce one more chunk; False once the app has taken this message."""
        if self.taken:
            return False
        self.chunks.append((stream, text))
        self.lines += text.count("\n")
        if self.keep and self.lines > 2 * self.keep:
            self._trim()
        return True

    def take(self) -> list[tuple[str, str]]:
        """The chunks, trimmed to the newest ``keep`` lines; later output goes elsewhere."""
        self.taken = True
        if self.keep and self.lines > self.keep:
            self._trim()
        return self.chunks

    def _trim(self) -> None:
        """Keep the newest ``keep`` lines (amortised: runs once per ``keep`` lines added)."""
        kept: list[tuple[str, str]] = []
        budget = self.keep
        for stream, text in reversed(self.chunks):
            count = text.count("\n")
            if count <= budget:
                kept.append((stream, text))
                budget -= count
                continue
            # the newest ``budget`` lines of this chunk (and its unfinished last line)
            cut = len(text)
            for _ in range(budget + 1):
                cut = text.rfind("\n", 0, cut)
            kept.append((stream, text[cut + 1 :]))
            self.dropped += count - budget
            for _, older in self.chunks[: len(self.chunks) - len(kept)]:
                self.dropped += older.count("\n")
            break
        self.chunks = kept[::-1]
        self.lines = self.keep


@dataclass
class Result(Message):
    """A value a cell returned (``on_result``)."""

    text: str


@dataclass
class ScriptError(Message):
    """An error a script or cell raised (``on_script_error``).

    ``report`` is the kernel's report as ``llmspell run`` prints it (message, ``--> file:line``,
    the line marked, the traceback, the hint), colour codes removed; ``location`` the file
    and line it points at, when it has one."""

    name: str
    value: str
    report: list[str] = field(default_factory=list)
    location: tuple[str, int] | None = None

    @property
    def syntax(self) -> bool:
        """A syntax error: the script never ran, so nothing stopped at it."""
        return self.name == "SyntaxError"


@dataclass
class ScriptFinished(Message):
    """The script ended (``on_script_finished``)."""

    status: str
    exit_code: int


@dataclass
class Stopped(Message):
    """The debugger stopped a thread (``on_stopped``)."""

    reason: str
    thread_id: int
    text: str
    suggestion: str = ""  # for an exception: the error-pattern database's hint, if any


@dataclass
class Continued(Message):
    """The stopped script runs again (``on_continued``)."""

    thread_id: int


@dataclass
class StackLoaded(Message):
    """The frames of the stopped thread (``on_stack_loaded``)."""

    thread_id: int
    frames: list[Frame]


@dataclass
class ScopesLoaded(Message):
    """The scopes of a frame (``on_scopes_loaded``)."""

    frame_id: int
    scopes: list[Scope]


@dataclass
class VariablesLoaded(Message):
    """The children of a variables reference (``on_variables_loaded``)."""

    reference: int
    variables: list[Variable]
    start: int = 0  # the page's first index
    count: int = 0  # the page size asked for (0: everything)


@dataclass
class SourceLoaded(Message):
    """The text of a source file (``on_source_loaded``)."""

    path: str
    text: str


@dataclass
class ThreadsListed(Message):
    """The script's threads, the main one first (``on_threads_listed``)."""

    threads: list[Thread]


@dataclass
class SourcesListed(Message):
    """The paths of the sources the kernel has loaded (``on_sources_listed``)."""

    paths: list[str]


@dataclass
class BreakpointsSet(Message):
    """The breakpoints of a file as the debugger bound them (``on_breakpoints_set``)."""

    path: str
    lines: list[int]
    bound: list[BoundBreakpoint] = field(default_factory=list)  # in request order


@dataclass
class Evaluated(Message):
    """The value of an expression the console evaluated (``on_evaluated``)."""

    expression: str
    result: str
    type: str


@dataclass
class RequestFailed(Message):
    """A request to the kernel failed (``on_request_failed``)."""

    command: str
    message: str


@dataclass
class BreakpointHit(Message):
    """A breakpoint's condition held again: ``hits`` so far (``on_breakpoint_hit``)."""

    id: int
    hits: int


@dataclass
class WatchesEvaluated(Message):
    """The watches' values at stop number ``serial`` (``on_watches_evaluated``)."""

    serial: int
    frame_id: int
    results: list[WatchResult]


@dataclass
class VariableSet(Message):
    """A variable took a new value (``on_variable_set``)."""

    container: int
    variable: Variable


@dataclass
class VariableSetFailed(Message):
    """setVariable was refused, with the kernel's reason (``on_variable_set_failed``)."""

    name: str
    message: str


@dataclass
class ValueCopied(Message):
    """A value rendered for the clipboard (``on_value_copied``)."""

    name: str
    text: str


@dataclass
class ProfilingChanged(Message):
    """The kernel's profiler was started or stopped (``on_profiling_changed``)."""

    on: bool
    mode: str = "sampling"
    rate: float = 0.0  # samples per second (sampling mode)


@dataclass
class ProfileUpdated(Message):
    """A profile from the kernel: a snapshot of a run going on (``running``) or the final
    one (``on_profile_updated``)."""

    profile: Profile
    running: bool

    def can_replace(self, message: Message) -> bool:
        # each snapshot holds all the previous one did: a newer one makes older ones moot
        return isinstance(message, ProfileUpdated)
