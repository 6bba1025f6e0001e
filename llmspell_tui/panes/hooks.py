"""The hooks pane: every registered LLMSpell hook, its calls, timings, failures and breaker.

Polled through the kernel's ``llmspell/hooks`` DAP request about once a second while code
runs (and once more when it stops running), so the counts move as the script fires hooks.
A breaker that opens is also a notification.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Protocol

from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from llmspell_tui.colours import theme_style
from llmspell_tui.messages import HookInfo

POLL_SECONDS = 1.0
BREAKER_COLOURS = {"closed": "success", "open": "error", "half_open": "warning"}
BREAKER_NAMES = {"closed": "closed", "open": "open", "half_open": "half-open"}


class HooksKernel(Protocol):
    """What the hooks pane asks the kernel (``KernelBridge`` answers)."""

    shell_busy: bool

    async def hooks(self) -> list[HookInfo] | None: ...


def relative(text: str) -> str:
    """Paths under the working directory as relative paths (a hook's source, a reason)."""
    return text.replace(os.getcwd() + os.sep, "")


def duration(ms: float) -> str:
    """A hook's call time, coarse below a millisecond (where the figure is mostly noise)."""
    if ms < 1:
        return "<1 ms"
    if ms < 10:
        return f"{ms:.1f} ms"
    return f"{ms:.0f} ms"


def retry_in(ms: float) -> str:
    """Time until an open breaker lets a probe call through."""
    if ms <= 0:
        return "probe on next call"
    seconds = math.ceil(ms / 1000)
    if seconds < 60:
        return f"retry in {seconds} s"
    return f"retry in {math.ceil(seconds / 60)} min"


class HooksPane(VerticalScroll):
    """One entry of two lines per hook, in firing order per point."""

    @dataclass
    class Updated(Message):
        """Fresh hook statistics are shown (``on_hooks_pane_updated``)."""

        pane: HooksPane
        hooks: list[HookInfo]

    def __init__(self, kernel: HooksKernel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.kernel = kernel
        self.hooks: list[HookInfo] = []
        self._received = 0.0  # monotonic time of the last answer (retry times count from it)
        self._opened: dict[str, int] = {}  # breaker openings already notified, per hook
        self._was_busy = False
        self._polled = False

    def compose(self) -> ComposeResult:
        yield Static(id="hooks-body")

    def on_mount(self) -> None:
        self.border_title = "Hooks"
        self._render_hooks()
        self.set_interval(POLL_SECONDS, self._tick)

    def _tick(self) -> None:
        busy = self.kernel.shell_busy
        if busy or self._was_busy or not self._polled:
            self.poll()
        self._was_busy = busy
        if any(hook.breaker == "open" for hook in self.hooks):
            self._render_hooks()  # the retry countdown

    @work(group="hooks-poll", exclusive=True, exit_on_error=False)
    async def poll(self) -> None:
        """Ask the kernel for every hook's statistics now."""
        hooks = await self.kernel.hooks()
        if hooks is None:
            return
        self._polled = True
        self._received = time.monotonic()
        self._notify_openings(hooks)
        self.hooks = hooks
        self._render_hooks()
        self.post_message(self.Updated(self, hooks))

    def _notify_openings(self, hooks: list[HookInfo]) -> None:
        for hook in hooks:
            seen = self._opened.get(hook.id)
            # a breaker that opened before this TUI looked is news only while it is open
            if hook.opened > (seen or 0) and (seen is not None or hook.breaker == "open"):
                self.app.notify(
                    f"{hook.point} hook at {relative(hook.source)} is skipped: "
                    + relative(hook.last_reason),
                    title="Hook circuit breaker open",
                    severity="warning",
                    timeout=8,
                )
            self._opened[hook.id] = hook.opened

    def _render_hooks(self) -> None:
        body = self.query_one("#hooks-body", Static)
        self.border_subtitle = f"{len(self.hooks)} registered" if self.hooks else ""
        if not self.hooks:
            body.update(Text("no hooks registered", style="italic"))
            return
        muted = self._colour("foreground-muted")
        elapsed_ms = (time.monotonic() - self._received) * 1000
        out = Text(no_wrap=False)
        for index, hook in enumerate(self.hooks):
            if index:
                out.append("\n")
            breaker_colour = self._colour(BREAKER_COLOURS.get(hook.breaker, "foreground"))
            out.append("● ", style=breaker_colour)
            out.append(hook.point, style="bold")
            out.append(f"  {BREAKER_NAMES.get(hook.breaker, hook.breaker)}", style=breaker_colour)
            if hook.breaker == "open":
                out.append(f" · {retry_in(hook.retry_in_ms - elapsed_ms)}", style=muted)
            out.append(f"\n  {relative(hook.source)} · {hook.priority}", style=muted)
            out.append(
                f"\n  {hook.calls} call{'s' if hook.calls != 1 else ''}"
                f" · avg {duration(hook.avg_ms)} · max {duration(hook.max_ms)}"
            )
            if hook.failures:
                out.append(f" · {hook.failures} failed", style=self._colour("text-error"))
        body.update(out)

    def _colour(self, variable: str) -> Style:
        return theme_style(self.app, variable)
