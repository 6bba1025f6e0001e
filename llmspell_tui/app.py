"""The llmspell TUI: a debugger for one script (or a session on one kernel).

The app is a client of the kernel like any other: ``KernelBridge`` talks to the kernel in
workers and posts messages (``llmspell_tui.messages``); the handlers here route them to the
panes, and the panes' own messages (a frame chosen, a breakpoint toggled, code typed) become
requests. Nothing here waits on the kernel.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Static

from llmspell_tui import messages as m
from llmspell_tui.alt_keys import read_alt_digits_as_alt
from llmspell_tui.breakpoint_book import Breakpoint, BreakpointBook
from llmspell_tui.bridge import Attach, KernelBridge, Launch
from llmspell_tui.dialogs import BreakpointDialog, BreakpointOptions
from llmspell_tui.help import ActionCommands, HelpScreen, ProfilingCommands, described, key_text
from llmspell_tui.layout import HIDEABLE, layout_file, load_layout, save_layout
from llmspell_tui.panes.breakpoints import BreakpointsPane
from llmspell_tui.panes.console import ConsolePane
from llmspell_tui.panes.console_log import DEFAULT_SCROLLBACK
from llmspell_tui.panes.flamegraph import FlameGraph, FlamegraphPane
from llmspell_tui.panes.hooks import HooksPane
from llmspell_tui.panes.source import SourcePane
from llmspell_tui.panes.stack import StackPane
from llmspell_tui.panes.status import StatusBar
from llmspell_tui.panes.variables import VariablesPane
from llmspell_tui.panes.watches import WatchesPane
from llmspell_tui.themes import (
    LAYOUT_FILE,
    load_themes,
    registered_name,
    saved_name,
    theme_name,
)

E = TypeVar("E", bound=Message)
SHORT_SCREEN = 30  # rows: below, the side column is laid out tighter
WIDE_SCREEN = 120  # columns: below, the footer is compact
RUNNING_VIEW_DELAY = 0.1  # s: a resume shows the script running unless it stops by then


def _while_shown(
    handler: Callable[[LlmspellApp, E], None],
) -> Callable[[LlmspellApp, E], None]:
    """Drop a kernel message that arrives while the app is closing (its panes are gone)."""

    @functools.wraps(handler)
    def guarded(app: LlmspellApp, message: E) -> None:
        if app.panes_attached:
            handler(app, message)

    return guarded


def _near_path(message: str) -> str:
    """An error message whose ``/abs/path.lua:3:`` prefix is made relative to the working
    directory when the file is under it (as the command line named it)."""
    path, colon, rest = message.partition(":")
    if colon and path.startswith("/"):
        with contextlib.suppress(ValueError):
            path = str(Path(path).relative_to(Path.cwd()))
    return path + colon + rest


class LlmspellApp(App[int]):
    """Source, stack, variables and console panes over one kernel."""

    CSS_PATH = LAYOUT_FILE
    TITLE = "llmspell"
    BINDINGS: ClassVar[list[BindingType]] = [
        # first: the footer shows keys in this order, and "?" names the rest
        Binding("question_mark", "help", "Keys", key_display="?", id="help"),
        Binding("f5", "continue", "Continue", id="continue"),
        Binding("f10", "step_over", "Step over", id="step_over"),
        Binding("f11", "step_in", "Step in", id="step_in"),
        Binding("shift+f11,f23", "step_out", "Step out", key_display="⇧F11", id="step_out"),
        Binding("f9", "toggle_breakpoint", "Breakpoint", id="toggle_breakpoint"),
        Binding(
            "shift+f9,f21",
            "edit_breakpoint",
            "Edit breakpoint",
            key_display="⇧F9",
            id="edit_breakpoint",
        ),
        Binding("ctrl+w", "add_watch", "Add watch", show=False, id="add_watch"),
        Binding("ctrl+o", "open_source", "Open source…", show=False, id="open_source"),
        Binding("f6", "pause", "Pause", id="pause"),
        Binding("ctrl+q", "quit", "Quit", id="quit"),
        Binding("ctrl+p", "command_palette", "Commands", id="palette"),
        Binding("ctrl+shift+f5", "restart", "Restart", show=False, id="restart"),
        # layout: focus, hide/show and resize panes (remembered between runs)
        Binding("f7", "focus_pane(1)", "Next pane", show=False, id="pane.next"),
        Binding("shift+f7,f19", "focus_pane(-1)", "Previous pane", show=False, id="pane.previous"),
        # Alt+digit: a terminal sends ESC 1, read as alt+1 (alt_keys.py); priority, so it
        # moves the focus before the keys typed after it are handed on, and reaches the
        # app from the console too. macOS's Option+1 without "Option as Meta" types ¡ (™,
        # £, ¢): those name the panes too, except in the console, where they are text.
        # Ctrl+X leaves the console as well, as in pudb.
        *[
            Binding(
                f"alt+{digit}",
                f"jump('{pane}')",
                f"Go to {pane}",
                key_display=f"Alt+{digit}",
                show=False,
                priority=True,
                id=f"pane.{pane}",
            )
            for digit, pane in ((1, "source"), (2, "stack"), (3, "variables"), (4, "console"))
        ],
        *[
            Binding(option, f"jump('{pane}')", show=False, id=f"pane.{pane}.option")
            for option, pane in (
                ("inverted_exclamation_mark", "source"),
                ("trade_mark_sign", "stack"),
                ("pound_sign", "variables"),
                ("cent_sign", "console"),
            )
        ],
        # priority: the console's TextArea would take Ctrl+X as "cut"
        Binding(
            "ctrl+x",
            "toggle_console_focus",
            "Console ⇄ source",
            show=False,
            priority=True,
            id="pane.console_toggle",
        ),
        Binding("alt+s", "toggle_pane('stack')", "Hide/show stack", show=False, id="hide.stack"),
        Binding(
            "alt+v", "toggle_pane('variables')", "Hide/show variables", show=False, id="hide.vars"
        ),
        Binding(
            "alt+c", "toggle_pane('console')", "Hide/show console", show=False, id="hide.console"
        ),
        Binding(
            "alt+w", "toggle_pane('watches')", "Hide/show watches", show=False, id="hide.watches"
        ),
        Binding(
            "alt+b",
            "toggle_pane('breakpoints')",
            "Hide/show breakpoints",
            show=False,
            id="hide.breakpoints",
        ),
        Binding("alt+h", "toggle_pane('hooks')", "Hide/show hooks", show=False, id="hide.hooks"),
        Binding("alt+left", "resize_side(1)", "Wider side column", show=False, id="side.wider"),
        Binding("alt+right", "resize_side(-1)", "Narrower side column", show=False, id="side.less"),
        Binding("alt+up", "resize_console(1)", "Taller console", show=False, id="console.taller"),
        Binding(
            "alt+down", "resize_console(-1)", "Shorter console", show=False, id="console.shorter"
        ),
        Binding("ctrl+t", "toggle_theme", "Dark/light theme", show=False, id="theme.toggle"),
        # profiling: the flamegraph takes the place of the source and side panes while shown
        Binding(
            "alt+p", "toggle_profiling", "Start/stop profiling", show=False, id="profile.toggle"
        ),
        Binding(
            "alt+f", "toggle_flamegraph", "Show/hide flamegraph", show=False, id="pane.flamegraph"
        ),
    ]
    COMMANDS = App.COMMANDS | {ActionCommands, ProfilingCommands}

    def __init__(
        self,
        target: Launch | Attach,
        *,
        theme: str | None = "dark",
        scrollback: int = DEFAULT_SCROLLBACK,
    ) -> None:
        super().__init__()
        read_alt_digits_as_alt()  # before the driver reads a key: Alt+1 is not "¡"
        self.target = target
        self.scrollback = scrollback
        self.layout = load_layout()
        # --theme (or [tui] theme) first, then the theme last picked in the TUI
        self.theme_short = theme or self.layout.theme or "dark"
        self._theme_from_command_line = theme is not None
        self._restarting = False
        self.bridge = KernelBridge(target, self.post_message, scrollback=scrollback)
        self.thread_id: int | None = None  # the stopped thread
        self.frame: m.Frame | None = None  # the selected frame
        self.breakpoints = BreakpointBook()
        self.stops = 0  # how many stops so far: a watch's value belongs to one
        self.sources: dict[str, str] = {}
        self.script: str | None = None
        self.running = False
        self.exit_code: int | None = None
        # the source the pane should show once the kernel has sent it
        self._wanted_source: str | None = None
        self._wanted_line: int | None = None
        self._wanted_frame_line: int | None = None
        self._panes: list[Widget] = []
        self._footer_stopped = False  # whether the footer last drew the stopped keys
        self._banner_sticky = False  # the error banner shows a syntax error, not a stop
        self._footer_timer: Timer | None = None
        self._running_timer: Timer | None = None  # shows "running" unless a stop comes first
        self.profiling = False  # the kernel's profiler is on
        self._ended_profiles: set[Any] = set()  # "started" stamps of profiles seen stopped
        self.flamegraph_shown = False
        # the flamegraph pane mounts after the first frame (its widgets and their CSS cost
        # ~0.1 s of CPU a user would wait for); what needs it before then waits here
        self._flamegraph_mounted = False
        self._until_flamegraph: list[Callable[[], None]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="error-banner")
        with Horizontal(id="main"):
            yield SourcePane(id="source")
            with Vertical(id="side"):
                yield StackPane(id="stack")
                yield VariablesPane(id="variables")
                yield WatchesPane(id="watches")
                yield BreakpointsPane(id="breakpoints")
                yield HooksPane(self.bridge, id="hooks")
        yield ConsolePane(self.bridge, scrollback=self.scrollback, id="console")
        yield StatusBar(id="status")
        # the palette's key is one of the bindings (below), not docked at the right, where
        # it overlapped the keys cut off there and let their last letter through
        yield Footer(show_command_palette=False)

    # ------------------------------------------------------------------ panes

    @property
    def source_pane(self) -> SourcePane:
        """The source pane."""
        return self.query_one(SourcePane)

    @property
    def stack_pane(self) -> StackPane:
        """The stack pane."""
        return self.query_one(StackPane)

    @property
    def variables_pane(self) -> VariablesPane:
        """The variables pane."""
        return self.query_one(VariablesPane)

    @property
    def watches_pane(self) -> WatchesPane:
        """The watches pane."""
        return self.query_one(WatchesPane)

    @property
    def breakpoints_pane(self) -> BreakpointsPane:
        """The breakpoints pane."""
        return self.query_one(BreakpointsPane)

    @property
    def console_pane(self) -> ConsolePane:
        """The console pane."""
        return self.query_one(ConsolePane)

    @property
    def flamegraph_pane(self) -> FlamegraphPane:
        """The flamegraph pane (shown in place of the source and side panes); there once
        ``_flamegraph_mounted`` is set (after the first frame)."""
        return self.query_one(FlamegraphPane)

    async def _mount_flamegraph(self) -> None:
        pane = FlamegraphPane(id="flamegraph")
        pane.display = False
        # the empty flamegraph names the key that starts profiling, as the footer shows it
        toggle = next(b for b in described(self.BINDINGS) if b.id == "profile.toggle")
        pane.start_key = self.get_key_display(toggle)
        await self.mount(pane, before=self.console_pane)
        pane.set_profiling(self.profiling)
        self._flamegraph_mounted = True
        waiting, self._until_flamegraph = self._until_flamegraph, []
        for action in waiting:
            action()

    def _with_flamegraph(self, action: Callable[[], None]) -> bool:
        """Whether the flamegraph pane is there; if not, ``action`` runs once it is."""
        if not self._flamegraph_mounted:
            self._until_flamegraph.append(action)
        return self._flamegraph_mounted

    @property
    def status(self) -> StatusBar:
        """The status bar."""
        return self.query_one(StatusBar)

    @property
    def panes_attached(self) -> bool:
        """Whether every pane is on screen (not yet, or no longer while the app closes)."""
        return bool(self._panes) and all(pane.is_attached for pane in self._panes)

    # ------------------------------------------------------------------ lifecycle

    def on_mount(self) -> None:
        self._panes = [
            self.source_pane,
            self.stack_pane,
            self.variables_pane,
            self.watches_pane,
            self.breakpoints_pane,
            self.console_pane,
            self.status,
        ]
        for theme in load_themes():
            self.register_theme(theme)
        self.theme = self._starting_theme()
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        self._apply_layout()
        self.call_after_refresh(self._mount_flamegraph)
        self.source_pane.border_title = "Source"
        self.stack_pane.border_title = "Stack"
        self.variables_pane.border_title = "Variables"
        self.watches_pane.border_title = "Watches"
        self.breakpoints_pane.border_title = "Breakpoints"
        self.console_pane.border_title = "Console"
        # a script session starts where its keys are (n, s, c step it, as in pudb); a console
        # session (no script, or another's kernel) where one types
        if isinstance(self.target, Launch) and self.target.script is not None:
            self.source_pane.focus()
            self._show_script_now(self.target.script)
        else:
            self._focus("console")
        # the kernel starts once the first frame is on the screen: its process (Python,
        # zmq, Lua) would take the CPU from the first paint on a busy or small machine
        self.call_after_refresh(self.run_bridge)

    def _show_script_now(self, script: Path) -> None:
        """The script's text from the disk at once: the kernel takes a second to start and
        stop on entry, and its state (the current line, the stack) follows when it does."""
        path = str(script.resolve())
        try:
            text = script.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return  # the kernel's copy comes with the first stop
        self.sources[path] = text
        self.source_pane.show(path, text)

    def on_resize(self, event: events.Resize) -> None:
        # a short screen fits every pane by a tighter side column (themes/app.tcss), a
        # narrow one every footer key by a compact footer
        self.set_class(event.size.height < SHORT_SCREEN, "-short")
        with contextlib.suppress(NoMatches):
            self.query_one(Footer).compact = event.size.width < WIDE_SCREEN

    async def on_unmount(self) -> None:
        await self.bridge.close()

    @work(group="kernel", exclusive=True, exit_on_error=False)
    async def run_bridge(self) -> None:
        """Connect, start the script, then post the kernel's messages until the app ends."""
        if not await self.bridge.connect():
            return
        # the source shows before the kernel is there: breakpoints set meanwhile (F9) are in
        # the book only; they reach the kernel now, in order, before the script runs
        for path in sorted({b.path for b in self.breakpoints}):
            await self.bridge.set_breakpoints(path, self.breakpoints.specs(path))
        if isinstance(self.target, Launch) and self.target.script is not None:
            self.running = True
            self.refresh_bindings()
            self._request(self.bridge.run_script(), group="script")
        self._request(self.bridge.watch(), group="watch")
        await self.bridge.pump()

    def _request(self, call: Coroutine[Any, Any, None], *, group: str = "dap") -> None:
        self.run_worker(call, group=group, exit_on_error=False)

    # ------------------------------------------------------------------ kernel messages

    @_while_shown
    def on_kernel_connected(self, event: m.KernelConnected) -> None:
        self.status.kernel = event.name or event.kernel_id[:8]
        self.status.transport = event.transport
        self.status.clients = event.clients
        self.script = event.script
        self.console_pane.load_history()  # focused before there was a kernel to ask
        if event.script is not None:
            self.status.state = "running"
            self._show_source(event.script, None)
        else:
            self.status.state = "idle"

    @_while_shown
    def on_kernel_failed(self, event: m.KernelFailed) -> None:
        self.status.state = "no kernel"
        self.console_pane.write_error(f"cannot reach the kernel: {event.message}")

    @_while_shown
    def on_kernel_ended(self, event: m.KernelEnded) -> None:
        """The kernel was shut down or restarted by another client, or is gone: nothing
        runs or is paused any more, and the screen says so (it said "running" on)."""
        self.workers.cancel_group(self, "script")  # its reply will never come
        if event.how != "restarted":  # nothing left to watch (or to say "gone" of again)
            self.workers.cancel_group(self, "watch")
        self._cancel_running_view()
        self._clear_stop_view()
        self.thread_id = None
        self.running = False
        self._footer_shows_stopped(False)
        self.console_pane.set_paused(False)
        self.refresh_bindings()
        if event.how == "restarted":
            self.status.state = "restarted by another client"
            hint = "the kernel was restarted by another client: the run ended (F5 runs again)"
        elif event.how == "shut down":
            self.status.state = "kernel shut down"
            hint = "the kernel was shut down by another client (Ctrl+Q quits)"
        else:
            self.status.state = "kernel gone"
            hint = "the kernel stopped answering: it was killed or has crashed (Ctrl+Q quits)"
        self.console_pane.flush()
        self.console_pane.write_error(hint)

    @_while_shown
    def on_kernel_busy(self, event: m.KernelBusy) -> None:
        if event.busy and self.thread_id is None:
            self.status.state = "running"
        elif not event.busy and self.status.state == "running":
            self.status.state = "idle"
        if not event.busy and self.profiling:  # a console cell ended: its profile
            self._request(self.bridge.profile_snapshot(), group="profile")

    @_while_shown
    def on_clients_counted(self, event: m.ClientsCounted) -> None:
        self.status.clients = event.clients

    def on_output(self, event: m.Output) -> None:
        chunks = event.take()  # output from now on goes into a new message
        if not self.panes_attached:
            return
        if event.dropped:
            self.console_pane.write_dropped(event.dropped)
        for stream, text in chunks:
            self.console_pane.write_output(stream, text)

    @_while_shown
    def on_result(self, event: m.Result) -> None:
        self.console_pane.write_result(event.text)

    @_while_shown
    def on_script_error(self, event: m.ScriptError) -> None:
        self.console_pane.flush()
        # the report llmspell run prints, so an error reads the same in both
        self.console_pane.write_error(
            "\n".join(event.report) if event.report else f"{event.name}: {event.value}"
        )
        if event.location is not None and self.thread_id is None:
            path, line = event.location
            full = Path.cwd() / path  # the kernel says it as the command line would
            if str(full) in self.sources or full.is_file():
                self._show_source(str(full), line)  # the line marked, as at a stop
        if event.syntax:
            # nothing stops at a syntax error: the banner says what and where until the next run
            where = (
                f"\n--> {_near_path(f'{event.location[0]}:{event.location[1]}')}"
                if (event.location)
                else ""
            )
            self._show_error_banner(f"syntax error: {event.value}{where}", "", sticky=True)

    @_while_shown
    def on_script_finished(self, event: m.ScriptFinished) -> None:
        if self._cancel_running_view():  # it ended right after a resume: no stop to show
            self._clear_stop_view()
        self.running = False
        self.refresh_bindings()
        self.exit_code = event.exit_code
        self.console_pane.flush()
        self._show_error_banner(None)
        if self._restarting:
            self._restarting = False
            self._run_again()
            return
        self.status.state = f"finished (exit {event.exit_code})"
        self._request(self.bridge.count_clients())
        if self.profiling:  # the run's whole profile, whether or not its last event came
            self._request(self.bridge.profile_snapshot(), group="profile")

    @_while_shown
    def on_stopped(self, event: m.Stopped) -> None:
        self._cancel_running_view()  # the last stop's stack and line stay until the new one's
        self.thread_id = event.thread_id
        self.stops += 1
        self._footer_shows_stopped(True)  # stepping is possible now: the footer shows it
        self.status.state = f"paused ({event.reason})"
        self.console_pane.flush()
        self.console_pane.set_paused(True)
        if event.text:
            self.console_pane.write_error(_near_path(event.text))
        if event.suggestion:
            self.console_pane.write_error(f"hint: {event.suggestion}")
        if event.reason == "exception":
            self._show_error_banner(event.text, event.suggestion)
        self._request(self.bridge.stack(event.thread_id))
        self._request(self.bridge.threads())
        self.query_one(HooksPane).poll()

    def _footer_shows_stopped(self, stopped: bool) -> None:
        """Redraw the footer's keys for the stopped/running state, only when it changes.

        Rebuilding the footer costs ~25 ms; a step is a continue and a stop 1 ms apart, so
        a resume updates the footer only if no stop follows within a moment."""
        if self._footer_timer is not None:
            self._footer_timer.stop()
            self._footer_timer = None
        if stopped:
            if not self._footer_stopped:
                self.refresh_bindings()
            return

        def resumed() -> None:
            self._footer_timer = None
            if self._footer_stopped and self.thread_id is None:
                self.refresh_bindings()

        self._footer_timer = self.set_timer(0.2, resumed)

    @_while_shown
    def on_continued(self, event: m.Continued) -> None:
        self.thread_id = None
        self._footer_shows_stopped(False)
        self.frame = None
        self.console_pane.set_paused(False)
        self._show_error_banner(None)
        # a step is a continue and a stop a millisecond apart: emptying the stack, the
        # locals and the current line for that moment cost a frame (~20 ms) that the new
        # line then waited behind; they are emptied only if the script runs on a moment
        self._cancel_running_view()
        self._running_timer = self.set_timer(RUNNING_VIEW_DELAY, self._show_running)

    def _show_running(self) -> None:
        """The script runs on: no stack, no locals, no current line."""
        self._running_timer = None
        if self.thread_id is not None or not self.panes_attached:
            return
        self._clear_stop_view()
        self.status.state = "running"

    def _clear_stop_view(self) -> None:
        self.stack_pane.clear()
        self.variables_pane.clear_tree()
        self.source_pane.set_current_line(None)

    def _cancel_running_view(self) -> bool:
        """Forget a pending "running" view; whether one was pending."""
        if self._running_timer is None:
            return False
        self._running_timer.stop()
        self._running_timer = None
        return True

    @_while_shown
    def on_stack_loaded(self, event: m.StackLoaded) -> None:
        if self.thread_id is None:
            return  # the script ran on since
        if event.thread_id != self.thread_id:
            # a coroutine's row was chosen: the kernel gives frames of the stopped thread only
            self.stack_pane.show_thread_frames(event.thread_id, event.frames)
            return
        self.stack_pane.show(event.frames)
        if event.frames:
            self.status.state = f"paused at {event.frames[0].location}"

    @_while_shown
    def on_threads_listed(self, event: m.ThreadsListed) -> None:
        if self.thread_id is not None:
            self.stack_pane.show_threads(event.threads, self.thread_id)

    def on_stack_pane_thread_selected(self, event: StackPane.ThreadSelected) -> None:
        if self.thread_id is not None:
            self._request(self.bridge.stack(event.thread.id))

    @_while_shown
    def on_stack_pane_frame_selected(self, event: StackPane.FrameSelected) -> None:
        self.frame = event.frame
        frames = self.stack_pane.frames
        innermost = frames[0] if frames else event.frame
        if event.frame.path is not None:
            if event.frame == innermost:
                self._show_source(event.frame.path, event.frame.line)
            else:
                # an outer frame: its line is marked apart from the innermost (current) line
                current = innermost.line if innermost.path == event.frame.path else None
                self._show_source(event.frame.path, current, frame_line=event.frame.line)
        self._request(self.bridge.scopes(event.frame.id))
        self._evaluate_watches()

    @_while_shown
    def on_scopes_loaded(self, event: m.ScopesLoaded) -> None:
        if self.frame is not None and event.frame_id == self.frame.id:
            self.variables_pane.show_scopes(event.scopes)

    def on_variables_pane_expand(self, event: VariablesPane.Expand) -> None:
        self._request(self.bridge.variables(event.reference, event.start, event.count))

    @_while_shown
    def on_variables_loaded(self, event: m.VariablesLoaded) -> None:
        self.variables_pane.show_variables(
            event.reference, event.variables, event.start, event.count
        )

    def on_variables_pane_set_value(self, event: VariablesPane.SetValue) -> None:
        self._request(self.bridge.set_variable(event.container, event.name, event.value))

    @_while_shown
    def on_variable_set(self, event: m.VariableSet) -> None:
        self.variables_pane.show_set(event.container, event.variable)
        self._evaluate_watches()  # a watch may read what just changed

    @_while_shown
    def on_variable_set_failed(self, event: m.VariableSetFailed) -> None:
        self.notify(event.message, title=f"cannot set {event.name}", severity="error")

    def on_variables_pane_copy_value(self, event: VariablesPane.CopyValue) -> None:
        var = event.variable
        if var.evaluate_name is None or self.thread_id is None:
            # no expression reaches it (a vararg, a metatable): copy what is shown
            self._copied(var.name, var.value)
            return
        frame_id = self.frame.id if self.frame is not None else None
        self._request(self.bridge.copy_value(var.name, var.evaluate_name, frame_id))

    @_while_shown
    def on_value_copied(self, event: m.ValueCopied) -> None:
        self._copied(event.name, event.text)

    def _copied(self, name: str, text: str) -> None:
        self.copy_to_clipboard(text)
        self.notify(f"copied the value of {name} ({len(text):,} characters)")

    # ------------------------------------------------------------------ watches

    def on_watches_pane_changed(self, event: WatchesPane.Changed) -> None:
        self._evaluate_watches()

    def _evaluate_watches(self) -> None:
        expressions = self.watches_pane.expressions
        if self.thread_id is not None and self.frame is not None and expressions:
            self._request(self.bridge.evaluate_watches(expressions, self.frame.id, self.stops))

    @_while_shown
    def on_watches_evaluated(self, event: m.WatchesEvaluated) -> None:
        if event.serial == self.stops:
            self.watches_pane.show_results(event.serial, event.results)

    @_while_shown
    def on_source_loaded(self, event: m.SourceLoaded) -> None:
        self.sources[event.path] = event.text
        if self._wanted_source == event.path:
            self._show_source(event.path, self._wanted_line, frame_line=self._wanted_frame_line)

    @_while_shown
    def on_sources_listed(self, event: m.SourcesListed) -> None:
        if not event.paths:
            self.notify("the kernel has loaded no source yet", title="Open source")
            return
        self.search_commands(
            [
                (_near_path(path), functools.partial(self._open_source, path), path)
                for path in event.paths
            ],
            placeholder="Open source…",
        )

    def _open_source(self, path: str) -> None:
        """Show a loaded source; the stopped frame's line stays marked when it is that file."""
        line = self.frame.line if self.frame is not None and self.frame.path == path else None
        self._show_source(path, line)
        self.source_pane.focus()

    def on_source_pane_breakpoint_toggled(self, event: SourcePane.BreakpointToggled) -> None:
        self.breakpoints.toggle(event.path, event.line)
        self._send_breakpoints(event.path)

    @_while_shown
    def on_breakpoints_set(self, event: m.BreakpointsSet) -> None:
        self.breakpoints.bound(event.path, event.bound)
        self._show_breakpoints()

    @_while_shown
    def on_breakpoint_hit(self, event: m.BreakpointHit) -> None:
        if self.breakpoints.hit(event.id, event.hits) is not None:
            self._show_breakpoints()

    def on_breakpoints_pane_chosen(self, event: BreakpointsPane.Chosen) -> None:
        self._show_source(event.breakpoint.path, None)
        self.source_pane.action_cursor_to(event.breakpoint.line)
        self.source_pane.scroll_to_region_line(event.breakpoint.line - 1, center=True)

    def on_breakpoints_pane_enabled_toggled(self, event: BreakpointsPane.EnabledToggled) -> None:
        event.breakpoint.enabled = not event.breakpoint.enabled
        self._send_breakpoints(event.breakpoint.path)

    def on_breakpoints_pane_deleted(self, event: BreakpointsPane.Deleted) -> None:
        self.breakpoints.remove(event.breakpoint)
        self._send_breakpoints(event.breakpoint.path)

    def on_breakpoints_pane_edit_requested(self, event: BreakpointsPane.EditRequested) -> None:
        self._edit_breakpoint(event.breakpoint)

    def _edit_breakpoint(self, bp: Breakpoint) -> None:
        def answered(options: BreakpointOptions | None) -> None:
            if options is None:
                return
            bp.condition = options.condition
            bp.hit_condition = options.hit_condition
            bp.log_message = options.log_message
            self._send_breakpoints(bp.path)

        current = BreakpointOptions(bp.condition, bp.hit_condition, bp.log_message)
        self.push_screen(BreakpointDialog(bp.location, current), answered)

    def _send_breakpoints(self, path: str) -> None:
        """Show a file's breakpoints as they are now and send the enabled ones to the kernel."""
        self._show_breakpoints()
        self._request(self.bridge.set_breakpoints(path, self.breakpoints.specs(path)))

    def _show_breakpoints(self) -> None:
        self.breakpoints_pane.show(list(self.breakpoints))
        path = self.source_pane.path
        if path is not None:
            self.source_pane.set_breakpoints(
                self.breakpoints.lines(path, enabled=True),
                self.breakpoints.lines(path, enabled=False),
            )

    def on_console_pane_submitted(self, event: ConsolePane.Submitted) -> None:
        if self.thread_id is not None:
            frame_id = self.frame.id if self.frame is not None else None
            self._request(self.bridge.evaluate(event.code, frame_id))
        else:
            self._request(self.bridge.execute(event.code))

    @_while_shown
    def on_evaluated(self, event: m.Evaluated) -> None:
        self.console_pane.write_result(event.result)

    @_while_shown
    def on_request_failed(self, event: m.RequestFailed) -> None:
        self.console_pane.write_error(f"{event.command}: {event.message}")

    def _show_source(self, path: str, line: int | None, *, frame_line: int | None = None) -> None:
        """Show ``path`` at ``line`` in the source pane (and an outer frame's ``frame_line``),
        loading it first if needed."""
        text = self.sources.get(path)
        if text is None:
            self._wanted_source, self._wanted_line = path, line
            self._wanted_frame_line = frame_line
            self._request(self.bridge.source(path))
            return
        self._wanted_source = None
        pane = self.source_pane
        if pane.path != path:
            pane.show(path, text)
        pane.set_breakpoints(
            self.breakpoints.lines(path, enabled=True), self.breakpoints.lines(path, enabled=False)
        )
        pane.set_current_line(line, frame_line)

    # ------------------------------------------------------------------ profiling

    @_while_shown
    def on_profiling_changed(self, event: m.ProfilingChanged) -> None:
        if not self._with_flamegraph(lambda: self.on_profiling_changed(event)):
            return
        was_on, self.profiling = self.profiling, event.on
        if event.on:
            how = event.mode if event.mode == "exact" else f"{event.mode} {event.rate:,.0f} Hz"
            self.status.profiling = how
            if not was_on:  # news: show the pane (a hidden one stays hidden afterwards)
                self._show_flamegraph(True)
        else:
            self.status.profiling = ""
        self.flamegraph_pane.set_profiling(event.on)

    @_while_shown
    def on_profile_updated(self, event: m.ProfileUpdated) -> None:
        if not self._with_flamegraph(lambda: self.on_profile_updated(event)):
            return
        profile = event.profile
        session = profile.meta.get("started")
        if event.running:
            if session is not None and session in self._ended_profiles:
                return  # a snapshot or event from before a stop, overtaken by the final profile
            if not self.profiling:  # started before this TUI looked, or by another client
                rate = 1 / profile.interval if profile.interval else 0.0
                self.post_message(m.ProfilingChanged(True, profile.mode, rate))
        elif session is not None:
            self._ended_profiles.add(session)
        self.flamegraph_pane.update_profile(profile, live=event.running)

    def action_toggle_profiling(self) -> None:
        """Alt+P: start the kernel's profiler, or stop it and show the final profile."""
        if self.profiling:
            self.action_stop_profiling()
        else:
            self.action_start_profiling()

    def action_start_profiling(self, mode: str | None = None) -> None:
        """Start profiling (sampling, or ``exact`` with call counts at a higher overhead)."""
        self._request(self.bridge.profile_start(mode), group="profile")

    def action_stop_profiling(self) -> None:
        """Stop profiling; the final profile stays in the flamegraph."""
        self._request(self.bridge.profile_stop(), group="profile")

    def action_toggle_flamegraph(self) -> None:
        """Alt+F: show the flamegraph in place of the source and side panes, or hide it."""
        if self._with_flamegraph(self.action_toggle_flamegraph):
            self._show_flamegraph(not self.flamegraph_shown)

    def _show_flamegraph(self, shown: bool) -> None:
        """Show or hide the flamegraph pane (mounted: shown, or ``_flamegraph_mounted``)."""
        if shown == self.flamegraph_shown:
            return
        self.flamegraph_shown = shown
        self.flamegraph_pane.display = shown
        self.query_one("#main").display = not shown
        if shown:
            self._focus("flamegraph")
            if self.flamegraph_pane.profile is None:
                # a profile taken before this TUI looked (or by another client) shows at once
                self._request(self.bridge.profile_snapshot(), group="profile")
        else:
            self._focus("source")

    # ------------------------------------------------------------------ actions

    def refresh_bindings(self) -> None:
        """Redraw the footer's keys (and remember for which state)."""
        self._footer_stopped = self.thread_id is not None
        super().refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stepping needs a stopped thread; pause a running one."""
        if action in ("step_over", "step_in", "step_out"):
            return self.thread_id is not None or None
        if action == "pause":
            return (self.running and self.thread_id is None) or None
        return True

    def action_continue(self) -> None:
        """F5: continue a stopped script, or run the script again once it has finished."""
        if self.thread_id is not None:
            self._request(self.bridge.resume("continue", self.thread_id))
        elif not self.running and self.script is not None:
            self._run_again()

    def action_step_over(self) -> None:
        """F10: the next line in this function."""
        if self.thread_id is not None:
            self._request(self.bridge.resume("next", self.thread_id))

    def action_step_in(self) -> None:
        """F11: into the call on this line."""
        if self.thread_id is not None:
            self._request(self.bridge.resume("stepIn", self.thread_id))

    def action_step_out(self) -> None:
        """Shift+F11: out of this function."""
        if self.thread_id is not None:
            self._request(self.bridge.resume("stepOut", self.thread_id))

    def action_toggle_breakpoint(self) -> None:
        """F9: a breakpoint on the source cursor's line, or none."""
        self.source_pane.action_toggle_breakpoint()

    def action_edit_breakpoint(self) -> None:
        """Shift+F9: the options of the cursor line's breakpoint (set there if there is none)."""
        source = self.source_pane
        if source.path is not None and source.lines:
            self._edit_breakpoint(self.breakpoints.ensure(source.path, source.cursor_line))

    def action_add_watch(self) -> None:
        """w: watch an expression."""
        self.watches_pane.action_add_watch()

    def action_open_source(self) -> None:
        """Ctrl+O: choose one of the kernel's loaded sources and show it."""
        self._request(self.bridge.loaded_sources())

    def action_pause(self) -> None:
        """F6: stop the running script where it is."""
        if self.running and self.thread_id is None:
            self._request(self.bridge.pause())

    def action_restart(self) -> None:
        """Ctrl+Shift+F5: end the script and run it again on the same kernel."""
        if self.script is None or not isinstance(self.target, Launch):
            return
        self.console_pane.write_output("console", "restarting the script\n")
        if self.running:
            self._restarting = True  # the run's end (on_script_finished) starts the next
            self._request(self.bridge.terminate())
        else:
            self._run_again()

    def _run_again(self) -> None:
        self.running = True
        self.refresh_bindings()
        self.status.state = "running"
        # a clean Lua world for each run, as `llmspell run` gives; the breakpoints stay
        kept = {b.path: self.breakpoints.specs(b.path) for b in self.breakpoints}
        self._request(self.bridge.run_fresh(kept), group="script")

    def _pane_names(self) -> list[str]:
        """The panes this app has, in F7 order."""
        return ["source", *(p for p in HIDEABLE if self.query(f"#{p}"))]

    def _shown_panes(self) -> list[str]:
        """The panes on screen, in F7 order."""
        if self.flamegraph_shown:
            return ["flamegraph"] + (["console"] if "console" not in self.layout.hidden else [])
        return [p for p in self._pane_names() if p not in self.layout.hidden]

    def action_focus_pane(self, step: int) -> None:
        """F7 / Shift+F7: focus the next (previous) shown pane."""
        shown = self._shown_panes()
        focused = self.focused
        current = 0
        for index, name in enumerate(shown):
            pane = self.query_one(f"#{name}")
            if focused is not None and (focused is pane or pane in focused.ancestors):
                current = index
                break
        self._focus(shown[(current + step) % len(shown)])

    def action_jump(self, pane: str) -> None:
        """Alt+1..4: focus a pane, showing it if it was hidden."""
        if pane != "console":
            self._show_flamegraph(False)  # it stands where the other panes are
        if pane in self.layout.hidden:
            self.action_toggle_pane(pane)
        self._focus(pane)

    def action_toggle_console_focus(self) -> None:
        """Ctrl+X: from the console to the source, from anywhere else to the console."""
        focused = self.focused
        if focused is not None and self.console_pane in focused.ancestors_with_self:
            self.action_jump("source")
        else:
            self.action_jump("console")

    def on_source_pane_typed(self, event: SourcePane.Typed) -> None:
        """A character the source has no key for: the user meant the console."""
        self.action_jump("console")
        self.console_pane.input.insert(event.character)

    def action_toggle_pane(self, pane: str) -> None:
        """Hide a pane, or show it again."""
        if not self.query(f"#{pane}"):
            return
        if self.layout.toggle(pane):
            self._save_layout()
            self._focus(pane)
        else:
            self._save_layout()
            focused = self.focused
            if (
                focused is None
                or not focused.display
                or not all(w.display for w in focused.ancestors if isinstance(w, Widget))
            ):
                self._focus("source")

    def action_resize_side(self, delta: int) -> None:
        """Alt+Left / Alt+Right: widen or narrow the side column (stack and variables)."""
        self.layout.resize_side(delta)
        self._save_layout()

    def action_resize_console(self, delta: int) -> None:
        """Alt+Up / Alt+Down: make the console taller or shorter."""
        self.layout.resize_console(delta)
        self._save_layout()

    def action_toggle_theme(self) -> None:
        """Ctrl+T: switch between the dark and the light theme (remembered)."""
        dark = self.current_theme.dark
        self.theme = theme_name("light" if dark else "dark")

    def _focus(self, pane: str) -> None:
        widget = self.query_one(f"#{pane}")
        if pane == "console":
            widget = self.console_pane.query_one("#console-input")
        elif pane == "flamegraph":
            widget = self.flamegraph_pane.graph
        # at once, not after the queued messages as widget.focus() does: keys typed right
        # after Alt+4 (already on their way) belong to the pane it goes to
        self.screen.set_focus(widget)

    def _apply_layout(self) -> None:
        hidden = self.layout.hidden
        for pane in self._pane_names()[1:]:
            self.query_one(f"#{pane}").display = pane not in hidden
        side = self.query_one("#side")
        side.display = any(child.display for child in side.children)
        side.styles.width = f"{self.layout.side_width}%"
        self.console_pane.styles.height = f"{self.layout.console_height}%"

    def _save_layout(self) -> None:
        self._apply_layout()
        save_layout(self.layout)

    def _starting_theme(self) -> str:
        """The registered name of the theme to start in; a remembered theme that is gone
        (renamed, or from another version) is ignored with a notice, never fatal."""
        found = registered_name(self.theme_short, self.available_themes)
        if found is not None:
            return found
        if not self._theme_from_command_line:  # the command line's was checked already
            self.notify(
                f"the theme '{self.theme_short}' remembered in {layout_file()} is not "
                "available any more; using dark (Ctrl+T or the palette picks another)",
                title="theme ignored",
                severity="warning",
                timeout=10,
            )
        self.theme_short = "dark"
        return theme_name("dark")

    def _remember_theme(self, theme: object) -> None:
        short = saved_name(self.theme)
        if short != self.theme_short:
            self.theme_short = self.layout.theme = short
            save_layout(self.layout)

    def _show_error_banner(
        self, message: str | None, suggestion: str = "", *, sticky: bool = False
    ) -> None:
        """Above the panes while stopped on a script error (or after a syntax error, which
        stays until the next run: ``sticky``): its message and the hint."""
        banner = self.query_one("#error-banner", Static)
        if message is None and self._banner_sticky:
            return
        self._banner_sticky = sticky and message is not None
        banner.set_class(message is not None, "-shown")
        if message is not None:
            text = f"✖ {_near_path(message)}"
            if suggestion:
                text += f"\nhint: {suggestion}"
            banner.update(text)

    def get_key_display(self, binding: Binding) -> str:
        """Keys as the ``?`` screen writes them (F5, Shift+F11, Ctrl+Q), in the footer too."""
        return key_text(binding)

    def action_help(self) -> None:
        """?: every key."""
        self.push_screen(
            HelpScreen(
                [
                    ("everywhere", described(self.BINDINGS)),
                    ("source pane", described(SourcePane.BINDINGS)),
                    ("variables pane", described(VariablesPane.BINDINGS)),
                    ("watches pane", described(WatchesPane.BINDINGS)),
                    ("breakpoints pane", described(BreakpointsPane.BINDINGS)),
                    (
                        "flamegraph pane",
                        described([*FlameGraph.BINDINGS, *FlamegraphPane.BINDINGS]),
                    ),
                ]
            )
        )
