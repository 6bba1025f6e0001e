"""The TUI's own record of its breakpoints: options, enabled state and hits, per file.

The kernel knows only the enabled breakpoints (DAP has no "disabled"), and each
``setBreakpoints`` gives them new ids with hit counts from zero; this book keeps what the user
sees across those resends.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from llmspell_tui.messages import BoundBreakpoint, BreakpointSpec


@dataclass
class Breakpoint:
    """One source breakpoint as the user set it."""

    path: str
    line: int
    condition: str = ""
    hit_condition: str = ""
    log_message: str = ""
    enabled: bool = True
    hits: int = 0  # hits so far, across resends
    kernel_id: int | None = None  # the kernel's id while it is set there
    message: str = ""  # why the kernel could not bind it, if it could not
    _hits_before: int = 0  # hits counted under earlier kernel ids

    @property
    def location(self) -> str:
        """``file.lua:12`` (the file's name only)."""
        return f"{self.path.rsplit('/', 1)[-1]}:{self.line}"

    @property
    def spec(self) -> BreakpointSpec:
        """What the kernel is sent for it."""
        return BreakpointSpec(self.line, self.condition, self.hit_condition, self.log_message)


class BreakpointBook:
    """Every breakpoint of the session, in the order they were set."""

    def __init__(self) -> None:
        self._all: list[Breakpoint] = []

    def __iter__(self) -> Iterator[Breakpoint]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def at(self, path: str, line: int) -> Breakpoint | None:
        """The breakpoint on a line, if there is one."""
        return next((b for b in self._all if b.path == path and b.line == line), None)

    def in_file(self, path: str) -> list[Breakpoint]:
        """A file's breakpoints, by line."""
        return sorted((b for b in self._all if b.path == path), key=lambda b: b.line)

    def lines(self, path: str, *, enabled: bool) -> set[int]:
        """The lines of a file's enabled (or disabled) breakpoints."""
        return {b.line for b in self._all if b.path == path and b.enabled == enabled}

    def specs(self, path: str) -> list[BreakpointSpec]:
        """What the kernel should hold for a file: its enabled breakpoints."""
        return [b.spec for b in self.in_file(path) if b.enabled]

    def toggle(self, path: str, line: int) -> Breakpoint | None:
        """Add a breakpoint on a line, or remove the one there; the new one, or None."""
        existing = self.at(path, line)
        if existing is not None:
            self._all.remove(existing)
            return None
        added = Breakpoint(path, line)
        self._all.append(added)
        return added

    def ensure(self, path: str, line: int) -> Breakpoint:
        """The breakpoint on a line, added if there is none."""
        existing = self.at(path, line)
        if existing is not None:
            return existing
        added = Breakpoint(path, line)
        self._all.append(added)
        return added

    def remove(self, bp: Breakpoint) -> None:
        """Forget a breakpoint."""
        if bp in self._all:
            self._all.remove(bp)

    def bound(self, path: str, results: list[BoundBreakpoint]) -> None:
        """Apply the kernel's answer to a ``setBreakpoints`` for ``path``."""
        for bp in self._all:
            if bp.path == path:
                bp._hits_before = bp.hits
                bp.kernel_id = None
        for result in results:
            sent = self.at(path, result.requested)
            if sent is None or not sent.enabled:
                continue
            sent.kernel_id = result.id
            sent.message = "" if result.verified else result.message
            there = self.at(path, result.line)
            if there is None:
                sent.line = result.line  # the kernel moved it to the next line with code
            elif there is not sent:
                # two requested lines bound to one: keep the one already there
                self._all.remove(sent)

    def hit(self, kernel_id: int, hits: int) -> Breakpoint | None:
        """Record the kernel's hit count for one of its ids; the breakpoint, if known."""
        for bp in self._all:
            if bp.kernel_id == kernel_id:
                bp.hits = bp._hits_before + hits
                return bp
        return None
