"""A self-contained interactive SVG flamegraph, in icicle layout (callers on top).

Icicle, like the TUI's Flamegraph pane, so both read the same way: the root ("all") is the top
row and each frame sits below its caller, as wide as its share of the profile's total weight.
Hover shows a frame's name, file:line, weight and share (a ``<title>`` tooltip and the details
line); a click zooms into it, Esc or "Reset zoom" zooms out; Ctrl+F or "Search" highlights
matching frames and says their total share. The script is inline (flamegraph.js next to this
module) and nothing is loaded from elsewhere, so the file works offline.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from html import escape
from importlib import resources

from kernel_core.profiler.export.describe import (
    display_name,
    format_weight,
    no_samples_message,
    one_line,
    script_name,
    summary,
)
from kernel_core.profiler.export.palette import (
    KIND_COLORS,
    MATCH_COLOR,
    file_color,
    frame_color,
)
from kernel_core.profiler.model import Profile
from kernel_core.profiler.tree import Node, build_tree

WIDTH = 1200
PAD = 10
ROW = 17  # pixels per stack level
FONT = 12
CHAR_WIDTH = FONT * 0.6  # monospace advance, to truncate labels that do not fit
# Frames narrower than this are left out, as flamegraph.pl's --minwidth does: they cannot be
# seen or hovered, and leaving them out keeps a profile of many small stacks a small file.
MIN_WIDTH = 0.1
LEGEND_FILES = 8
HEAP_FRAMES = 5
SPARK_WIDTH = 360
SPARK_HEIGHT = 36
SPARK_POINTS = 600
KIND_NAMES = {"wait": "wait (host call)", "native": "native / GC", "C": "C function"}
HINT = "Hover a frame for details, click to zoom, Esc to zoom out, Ctrl+F to search."


def _x(text: str) -> str:
    """``text`` escaped for XML content and attribute values."""
    return escape(one_line(text), quote=True)


@functools.cache
def _script() -> str:
    source = resources.files(__package__).joinpath("flamegraph.js").read_text("utf-8")
    if "]]>" in source:
        raise RuntimeError("flamegraph.js must not contain ']]>' (it is embedded in CDATA)")
    return source


@dataclass(frozen=True)
class _FrameMarkup:
    """What every flamegraph node of one frame shares, escaped once per frame, not per node."""

    name: str  # the display name, unescaped (labels are cut from it, then escaped)
    attrs: str  # data-i, data-n, data-l attributes
    title: str  # "name — file:line", escaped
    calls: str  # " — N calls in all" in exact mode, escaped
    color: str


def _markups(profile: Profile) -> list[_FrameMarkup]:
    out = []
    for index, frame in enumerate(profile.frames):
        name, location = display_name(frame.name), one_line(frame.location)
        calls = profile.calls.get(index) if profile.mode == "exact" else None
        out.append(
            _FrameMarkup(
                name=name,
                attrs=f' data-i="{index}" data-n="{_x(name)}" data-l="{_x(location)}"',
                title=f"{_x(name)} — {_x(location)}",
                calls="" if calls is None else f" — {calls} call{'' if calls == 1 else 's'} in all",
                color=frame_color(frame),
            )
        )
    return out


ROOT_MARKUP = _FrameMarkup("all", ' data-i="-1" data-n="all"', "all", "", "#e0e0e0")


def _label(name: str, width: float) -> str:
    room = int((width - 6) / CHAR_WIDTH)
    if room < 3:
        return ""
    return name if len(name) <= room else name[: room - 2] + ".."


def _frames(profile: Profile, top: float) -> tuple[list[str], int]:
    """The flame's ``<g class="f">`` elements (the root first) and its depth in rows.

    A node's title reads "name — file:line — weight — share%" (and its calls in exact mode);
    frames too narrow for a label get no ``<text>`` (the script adds one when zoomed).
    """
    root = build_tree(profile)
    markups = _markups(profile)
    scale = (WIDTH - 2 * PAD) / root.value if root.value else 0.0
    percent = 100 / root.value if root.value else 0.0
    out: list[str] = []
    depth_max = 0
    # Iterative, so a deeply recursive Lua script cannot exhaust Python's stack.
    pending: list[tuple[Node, int, float, str]] = [(root, 0, float(PAD), "")]
    while pending:
        node, depth, x, parent = pending.pop()
        width = node.value * scale
        if width < MIN_WIDTH:
            continue
        ident = f"f{len(out)}"
        depth_max = max(depth_max, depth + 1)
        m = ROOT_MARKUP if node.frame is None else markups[node.index]
        y = top + depth * ROW
        label = _label(m.name, width)
        text = f'<text x="{x + 3:.3f}" y="{y + ROW - 5:.1f}">{_x(label)}</text>' if label else ""
        parent_attr = f' data-p="{parent}"' if parent else ""
        out.append(
            f'<g class="f" id="{ident}"{parent_attr}{m.attrs}><title>{m.title} — '
            f"{format_weight(profile, node.value)}{m.calls} — {node.value * percent:.2f}%"
            f'</title><rect x="{x:.3f}" y="{y:.1f}" width="{width:.3f}" height="{ROW - 1}" '
            f'fill="{m.color}" rx="2"/>{text}</g>'
        )
        child_x = x
        placed: list[tuple[Node, int, float, str]] = []
        for child in node.sorted_children():
            placed.append((child, depth + 1, child_x, ident))
            child_x += child.value * scale
        pending.extend(reversed(placed))
    return out, depth_max


def _legend(profile: Profile, y: float) -> tuple[list[str], float]:
    """Swatches for the heaviest files and the fixed-colour kinds present; the height used."""
    by_file: dict[str, float] = {}
    kinds: set[str] = set()
    totals, selfs = profile.total_weights(), profile.self_weights()
    for index, frame in enumerate(profile.frames):
        if frame.kind in KIND_COLORS:
            kinds.add(frame.kind)
        elif index in totals:
            key = frame.file or frame.location
            by_file[key] = by_file.get(key, 0.0) + selfs.get(index, 0.0)
    files = sorted(by_file, key=lambda f: (-by_file[f], f))
    items = [(file_color(f), f if len(f) <= 40 else "…" + f[-39:]) for f in files[:LEGEND_FILES]]
    if len(files) > LEGEND_FILES:
        items.append(("", f"+{len(files) - LEGEND_FILES} more files"))
    items += [(KIND_COLORS[k], KIND_NAMES[k]) for k in ("wait", "native", "C") if k in kinds]
    if not items:
        return [], 0.0
    out: list[str] = []
    x, row_y = float(PAD), y
    for color, text in items:
        advance = 18 + len(text) * 6.6 + 16
        if x + advance > WIDTH - PAD and x > PAD:
            x, row_y = float(PAD), row_y + 16
        if color:
            out.append(
                f'<rect class="swatch" x="{x:.1f}" y="{row_y - 10:.1f}" width="12" height="12" '
                f'fill="{color}"/>'
            )
        out.append(f'<text class="legend" x="{x + 16:.1f}" y="{row_y:.1f}">{_x(text)}</text>')
        x += advance
    return out, row_y - y + 18


def _spark_points(heap: list[tuple[float, float]], left: float, top: float) -> str:
    """The heap readings as polyline points in a SPARK_WIDTH x SPARK_HEIGHT box."""
    readings = heap[:: max(1, len(heap) // SPARK_POINTS)]
    t0, t1 = readings[0][0], readings[-1][0]
    low, high = min(k for _, k in heap), max(k for _, k in heap)
    points = []
    for t, kib in readings:
        across = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
        up = (kib - low) / (high - low) if high > low else 0.5
        points.append(f"{left + across * SPARK_WIDTH:.1f},{top + (1 - up) * SPARK_HEIGHT:.1f}")
    return " ".join(points)


def _heap(profile: Profile, y: float) -> tuple[list[str], float]:
    """The heap sparkline and the frames that grew the heap most; the height used."""
    out: list[str] = []
    growth = [(f, kib) for f, kib in profile.heap_growth_by_frame() if kib > 0][:HEAP_FRAMES]
    if profile.heap:
        values = [kib for _, kib in profile.heap]
        low, high = min(values), max(values)
        out.append(
            f'<text class="heap" x="{PAD}" y="{y:.1f}">Lua heap (KiB): min {low:.1f}, max '
            f"{high:.1f}, final {values[-1]:.1f}</text>"
        )
        box_top = y + 6
        points = _spark_points(profile.heap, PAD, box_top)
        out.append(
            f'<rect class="spark-box" x="{PAD}" y="{box_top:.1f}" width="{SPARK_WIDTH}" '
            f'height="{SPARK_HEIGHT}"/><polyline id="heap-sparkline" points="{points}"/>'
        )
    if growth:
        gx = PAD + SPARK_WIDTH + 90
        out.append(f'<text class="heap" x="{gx}" y="{y:.1f}">Heap growth (KiB):</text>')
        for n, (frame, kib) in enumerate(growth, start=1):
            out.append(
                f'<text class="heap-growth" x="{gx}" y="{y + n * 14:.1f}">+{kib:.1f} '
                f"{_x(display_name(frame.name))} ({_x(frame.location)})</text>"
            )
    if not out:
        return [], 0.0
    return out, max(SPARK_HEIGHT + 22, 14 * len(growth) + 12)


def _style() -> str:
    return (
        "<style>"
        "text{font-family:Menlo,Consolas,'DejaVu Sans Mono',monospace;font-size:12px;fill:#222}"
        ".title{font-size:17px;font-weight:bold}"
        f".f text{{font-size:{FONT - 1}px;pointer-events:none}}"
        ".f{cursor:pointer}.f:hover rect{stroke:#000;stroke-width:.7}"
        ".f.caller rect{opacity:.55}"
        f".f.match rect{{fill:{MATCH_COLOR}}}"
        ".btn{cursor:pointer;fill:#1d4fa0;text-decoration:underline}.btn.off{opacity:.35}"
        ".swatch{stroke:#666;stroke-width:.5}"
        ".spark-box{fill:#fff;stroke:#bbb}"
        "#heap-sparkline{fill:none;stroke:#c0392b;stroke-width:1.2}"
        "</style>"
    )


def to_svg(profile: Profile) -> str:
    """The profile as an interactive SVG flamegraph (one self-contained file)."""
    header = [f"llmspell profile: {script_name(profile)}", *summary(profile)]
    body: list[str] = [
        f'<text class="title" x="{WIDTH / 2}" y="24" text-anchor="middle">{_x(header[0])}</text>',
        f'<text id="reset-zoom" class="btn off" x="{PAD}" y="24">Reset zoom</text>',
        f'<text id="search" class="btn" x="{WIDTH - PAD}" y="24" text-anchor="end">Search</text>',
    ]
    y = 44.0
    for line in header[1:]:
        body.append(
            f'<text class="summary" x="{WIDTH / 2}" y="{y}" text-anchor="middle">{_x(line)}</text>'
        )
        y += 16
    legend, used = _legend(profile, y + 4)
    body += legend
    y += used
    heap, used = _heap(profile, y + 8)
    body += heap
    y += used + 14
    frames, depth = _frames(profile, y)
    if not frames:
        body.append(
            f'<text class="empty" x="{PAD}" y="{y + 14}">{_x(no_samples_message(profile))}</text>'
        )
        depth = 1
    height = int(y + depth * ROW + 34)
    body.append(f'<g id="flame">{"".join(frames)}</g>')
    body.append(f'<text id="details" x="{PAD}" y="{height - 10}">{_x(HINT)}</text>')
    body.append(
        f'<text id="matched" class="btn" x="{WIDTH - PAD}" y="{height - 10}" '
        'text-anchor="end"></text>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" data-flame-x="{PAD}" '
        f'data-flame-width="{WIDTH - 2 * PAD}" data-char-width="{CHAR_WIDTH}">\n'
        f"{_style()}\n"
        f'<rect width="100%" height="100%" fill="#fafafa"/>\n'
        + "\n".join(body)
        + f'\n<script type="text/ecmascript"><![CDATA[\n{_script()}]]></script>\n</svg>\n'
    )
