"""A plain text report: the header, the Top Functions table and the Lua heap.

Meant for terminals, CI logs and diffs. :func:`parse_text_table` reads the table back.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel_core.profiler.export.describe import (
    display_name,
    format_seconds,
    no_samples_message,
    one_line,
    script_name,
    summary,
)
from kernel_core.profiler.model import Profile

DEFAULT_LIMIT = 25
HEAP_LIMIT = 10
TABLE_TITLE = "Top functions"
FUNCTION_HEADER = "function"
LOCATION_HEADER = "file:line"


@dataclass(frozen=True)
class TextRow:
    """A row of the Top Functions table as the text report prints it."""

    self_share: float  # 0..1
    total_share: float
    self_weight: float  # in the profile's unit: samples, or microseconds in exact mode
    total_weight: float
    calls: int | None
    function: str
    location: str


def _table(headers: list[str], rows: list[list[str]], numeric: int) -> list[str]:
    """Columns two spaces apart: the first ``numeric`` right-aligned, the rest left-aligned."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        out = [
            cell.rjust(width) if i < numeric else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def _top_table(profile: Profile, limit: int) -> list[str]:
    exact = profile.unit == "microseconds"
    rows = profile.top_functions(limit)

    def amount(weight: float) -> str:
        return f"{weight / 1e3:.3f}" if exact else f"{round(weight)}"

    cells = [
        [
            f"{row.self_share * 100:.1f}%",
            f"{row.total_share * 100:.1f}%",
            amount(row.self_weight),
            amount(row.total_weight),
            "-" if row.calls is None else str(row.calls),
            display_name(row.frame.name),
            one_line(row.frame.location),
        ]
        for row in rows
    ]
    unit = " ms" if exact else ""
    headers = ["self %", "total %", f"self{unit}", f"total{unit}", "calls"]
    headers += [FUNCTION_HEADER, LOCATION_HEADER]
    count = len(profile.total_weights())
    by = "self time" if exact else "self samples"
    return [f"{TABLE_TITLE} by {by} ({len(rows)} of {count})", *_table(headers, cells, 5)]


def _heap(profile: Profile) -> list[str]:
    growth = [(f, kib) for f, kib in profile.heap_growth_by_frame() if kib > 0][:HEAP_LIMIT]
    lines = ["Heap growth (KiB the Lua heap grew while the function was running)"]
    if growth:
        cells = [[f"{kib:.1f}", display_name(f.name), one_line(f.location)] for f, kib in growth]
        lines += _table(["KiB", FUNCTION_HEADER, LOCATION_HEADER], cells, 1)
    else:
        lines.append("no frame saw the heap grow")
    if profile.heap:
        values = [kib for _, kib in profile.heap]
        span = profile.heap[-1][0] - profile.heap[0][0]
        lines.append(
            f"Heap: min {min(values):.1f} KiB, max {max(values):.1f} KiB, final "
            f"{values[-1]:.1f} KiB ({len(values)} reading{'' if len(values) == 1 else 's'} "
            f"over {format_seconds(span)})"
        )
    return lines


def to_text(profile: Profile, limit: int = DEFAULT_LIMIT) -> str:
    """The profile as a plain text report with the ``limit`` heaviest functions."""
    lines = [f"llmspell profile: {script_name(profile)}", *summary(profile), ""]
    if profile.stacks:
        lines += [*_top_table(profile, limit), ""]
    else:
        lines += [no_samples_message(profile), ""]
    if profile.heap or profile.heap_growth:
        lines += [*_heap(profile), ""]
    return "\n".join(lines)


def parse_text_table(text: str) -> list[TextRow]:
    """The Top Functions table of a :func:`to_text` report, row by row ([] when it says there
    were no samples). Raises ValueError when the text holds neither."""
    lines = text.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.startswith(TABLE_TITLE)) + 1
    except StopIteration:
        if any(ln.startswith("No samples") for ln in lines):
            return []
        raise ValueError("not a llmspell text profile: it has no Top functions table") from None
    header = lines[start]
    exact = "self ms" in header
    name_at, location_at = header.index(FUNCTION_HEADER), header.index(LOCATION_HEADER)
    rows: list[TextRow] = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        try:
            self_pct, total_pct, self_w, total_w, calls = line[:name_at].split()
            scale = 1e3 if exact else 1.0
            rows.append(
                TextRow(
                    self_share=float(self_pct.rstrip("%")) / 100,
                    total_share=float(total_pct.rstrip("%")) / 100,
                    self_weight=float(self_w) * scale,
                    total_weight=float(total_w) * scale,
                    calls=None if calls == "-" else int(calls),
                    function=line[name_at:location_at].rstrip(),
                    location=line[location_at:].rstrip(),
                )
            )
        except ValueError as exc:
            raise ValueError(f"Top functions table: cannot read row {line!r}: {exc}") from None
    return rows
