"""Breakpoints as the client set them: ids, requested and bound lines, conditions, hits."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any


@dataclass
class SourceBreakpoint:
    """A line (or function) breakpoint."""

    id: int
    path: str
    requested_line: int
    line: int | None
    condition: str | None = None
    hit_condition: str | None = None
    log_message: str | None = None
    function: str | None = None
    verified: bool = True
    message: str | None = None
    hits: int = 0
    waiting: bool = False  # its file did not exist when it was set

    def to_dap(self) -> dict[str, Any]:
        """The DAP Breakpoint body."""
        out: dict[str, Any] = {"id": self.id, "verified": self.verified}
        if self.function is None:
            out["line"] = self.line if self.line is not None else self.requested_line
            out["source"] = {"name": self.path.rsplit("/", 1)[-1], "path": self.path}
        if self.message:
            out["message"] = self.message
        return out


class BreakpointTable:
    """Every breakpoint of a session, by source path and by id."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._by_source: dict[str, list[SourceBreakpoint]] = {}
        self._functions: list[SourceBreakpoint] = []
        self._by_id: dict[int, SourceBreakpoint] = {}

    def add(
        self,
        path: str,
        requested: int,
        line: int | None,
        *,
        condition: str | None = None,
        hit_condition: str | None = None,
        log_message: str | None = None,
    ) -> SourceBreakpoint:
        """A new line breakpoint (not yet part of the table until ``replace``)."""
        bp = SourceBreakpoint(
            next(self._ids), path, requested, line, condition, hit_condition, log_message
        )
        self._by_id[bp.id] = bp
        return bp

    def add_function(
        self, name: str, *, condition: str | None = None, hit_condition: str | None = None
    ) -> SourceBreakpoint:
        """A new function breakpoint."""
        bp = SourceBreakpoint(next(self._ids), "", 0, None, condition, hit_condition, function=name)
        self._by_id[bp.id] = bp
        self._functions.append(bp)
        return bp

    def replace(self, path: str, breakpoints: list[SourceBreakpoint]) -> None:
        """The breakpoints of ``path`` are now exactly these."""
        for old in self._by_source.get(path, []):
            if old not in breakpoints:
                self._by_id.pop(old.id, None)
        if breakpoints:
            self._by_source[path] = breakpoints
        else:
            self._by_source.pop(path, None)

    def for_path(self, path: str) -> list[SourceBreakpoint]:
        """The line breakpoints of one source."""
        return list(self._by_source.get(path, []))

    def by_id(self, bp_id: int) -> SourceBreakpoint | None:
        return self._by_id.get(bp_id)

    def all(self) -> list[SourceBreakpoint]:
        """Every line breakpoint, by source then line."""
        return [bp for path in sorted(self._by_source) for bp in self._by_source[path]]

    def by_source_dap(self) -> list[dict[str, Any]]:
        """debugInfo's breakpoints: [{source, breakpoints: [{line, ...}]}]."""
        return [
            {
                "source": path,
                "breakpoints": [
                    {
                        "line": bp.line or bp.requested_line,
                        **({"condition": bp.condition} if bp.condition else {}),
                        **({"hitCondition": bp.hit_condition} if bp.hit_condition else {}),
                        **({"logMessage": bp.log_message} if bp.log_message else {}),
                    }
                    for bp in bps
                ],
            }
            for path, bps in sorted(self._by_source.items())
        ]

    def clear(self) -> None:
        self._by_source.clear()
        self._functions.clear()
        self._by_id.clear()
