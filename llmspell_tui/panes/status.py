"""The status bar: kernel, state (idle / running / paused at file:line / finished), clients,
and whether the profiler is on."""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static


class StatusBar(Static):
    """One line about the kernel and the script."""

    kernel: reactive[str] = reactive("connecting…")
    transport: reactive[str] = reactive("")
    state: reactive[str] = reactive("starting")
    clients: reactive[int] = reactive(0)
    profiling: reactive[str] = reactive("")  # "sampling 1,000 Hz" while the profiler is on

    def render(self) -> Text:
        parts = [f"kernel {self.kernel}"]
        if self.transport:
            parts.append(self.transport)
        parts.append(self.state)
        if self.clients:
            parts.append(f"{self.clients} client{'s' if self.clients != 1 else ''}")
        if self.profiling:
            parts.append(f"● profiling ({self.profiling})")
        return Text(" · ".join(parts))
