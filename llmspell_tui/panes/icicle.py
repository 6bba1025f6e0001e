"""The icicle graph of the Flamegraph pane, and the words and colours it shows frames in.

:class:`FlameGraph` draws with the Line API: one strip per row built from the blocks of
:mod:`llmspell_tui.panes.flame_layout`, so a profile with thousands of frames costs what is
visible, not a widget per frame. Colours are component classes styled in ``themes/app.tcss``
from theme variables: frames take one of eight colours by a stable hash of their file, so a
file keeps its colour between runs and themes; "wait" and "native" frames, C functions and the
callers above a zoom have their own.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kernel_core.profiler.export.describe import format_seconds
from kernel_core.profiler.model import SYNTHETIC_KINDS, Frame, Profile
from kernel_core.profiler.tree import Node
from llmspell_tui.panes.flame_layout import (
    Block,
    FlameLayout,
    path_of,
    resolve,
)

FILE_COLOURS = 8  # flamegraph--file-0 .. -7 in themes/app.tcss
SEPARATOR = "▕"  # a sliver of background between neighbouring frames


# ---------------------------------------------------------------------- words and colours


def near(path: str) -> str:
    """A path relative to the working directory when it is under it (as the user named it)."""
    cwd = os.getcwd() + os.sep
    return path.removeprefix(cwd)


def where(frame: Frame) -> str:
    """``file:line`` of a frame, its file near the working directory."""
    if frame.file:
        return f"{near(frame.file)}:{frame.line}" if frame.line else near(frame.file)
    return f"[{frame.kind}]"


def percent(share: float) -> str:
    """A 0..1 share as a percentage, one decimal."""
    return f"{share * 100:.1f}%"


def weight_text(profile: Profile, weight: float) -> str:
    """A weight as a person reads it: samples (with their time) or time (exact mode)."""
    if profile.unit == "samples":
        samples = round(weight)
        text = f"{samples:,} sample{'s' if samples != 1 else ''}"
        return f"{text} ({format_seconds(profile.seconds(weight))})" if profile.interval else text
    return format_seconds(profile.seconds(weight))


def frame_class(frame: Frame | None) -> str:
    """The component class that colours a frame: by file, or by what the frame is."""
    if frame is None:
        return "flamegraph--root"
    if frame.kind in SYNTHETIC_KINDS:
        return f"flamegraph--{frame.kind}"
    if frame.kind == "C" or not frame.file:
        return "flamegraph--c"
    # crc32, not hash(): the same file gets the same colour in every process and run
    return f"flamegraph--file-{zlib.crc32(frame.file.encode()) % FILE_COLOURS}"


def fit(text: str, width: int) -> str:
    """``text`` cut (with an ellipsis) or padded to exactly ``width`` cells."""
    if width <= 0:
        return ""
    if cell_len(text) > width:
        text = set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, 1)
    return set_cell_size(text, width)


def hover_text(profile: Profile, block: Block) -> str:
    """What hovering a block tells: name, file:line, weight and share of the total."""
    total = profile.total or 1.0
    if block.node is None:
        return (
            f"{len(block.merged)} frames too narrow to show\n"
            f"{weight_text(profile, block.value)} · {percent(block.value / total)} of total\n"
            "click to zoom in on them"
        )
    node = block.node
    if node.frame is None:
        return f"all\n{weight_text(profile, node.value)} · 100.0% of total"
    return (
        f"{node.frame.name}\n{where(node.frame)}\n"
        f"{weight_text(profile, node.value)} · {percent(node.value / total)} of total"
    )


# ---------------------------------------------------------------------- the graph


class FlameGraph(ScrollView, can_focus=True):
    """The icicle graph: root at the top, callees below, width = share of the zoomed frame."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Caller", show=False, id="flame.caller"),
        Binding("down", "cursor_down", "Callee", show=False, id="flame.callee"),
        Binding("left", "cursor_beside(-1)", "Frame to the left", show=False, id="flame.left"),
        Binding("right", "cursor_beside(1)", "Frame to the right", show=False, id="flame.right"),
        Binding("enter", "zoom_in", "Zoom into frame", id="flame.zoom"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(f"flamegraph--file-{n}" for n in range(FILE_COLOURS)),
        "flamegraph--c",
        "flamegraph--wait",
        "flamegraph--native",
        "flamegraph--root",
        "flamegraph--ancestor",
        "flamegraph--merged",
        "flamegraph--dim",
        "flamegraph--match",
        "flamegraph--cursor",
    }

    @dataclass
    class CursorMoved(Message):
        """The cursor is on another frame (``on_flame_graph_cursor_moved``)."""

        graph: FlameGraph
        node: Node | None

    @dataclass
    class Zoomed(Message):
        """The graph is zoomed on another frame (``on_flame_graph_zoomed``)."""

        graph: FlameGraph
        node: Node

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.profile: Profile | None = None
        self.root: Node | None = None
        self.zoom: Node | None = None
        self.cursor: Node | None = None
        self.highlight: frozenset[int] = frozenset()  # frame indexes drawn as matches
        self.hovered: Block | None = None
        self._layout: FlameLayout | None = None

    def on_resize(self) -> None:
        self._relayout()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        block = self._block_under(event)
        if block is None or self.root is None:
            return
        if block.node is None:  # a merged run: zoom on its caller, where it has room
            parent = block.merged[0].parent
            if parent is not None:
                self.zoom_to(parent)
            return
        self.zoom_to(block.node)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        block = self._block_under(event)
        if block is self.hovered:
            return
        self.hovered = block
        self.tooltip = (
            Text(hover_text(self.profile, block)) if block is not None and self.profile else None
        )

    def on_leave(self) -> None:
        self.hovered = None
        self.tooltip = None

    def _block_under(self, event: events.MouseEvent) -> Block | None:
        offset = event.get_content_offset(self)
        if offset is None or self._layout is None:
            return None
        return self._layout.block_at(offset.x, offset.y + int(self.scroll_offset.y))

    # ------------------------------------------------------------------ actions

    def action_cursor_up(self) -> None:
        """Move the cursor to the caller."""
        self._step(lambda layout, block: layout.above(block))

    def action_cursor_down(self) -> None:
        """Move the cursor to the widest callee."""
        self._step(lambda layout, block: layout.below(block))

    def action_cursor_beside(self, step: int) -> None:
        """Move the cursor to the next frame left or right in its row."""
        self._step(lambda layout, block: layout.beside(block, step))

    def action_zoom_in(self) -> None:
        """Zoom on the cursor's frame (a caller above the zoom: zoom out to it)."""
        if self.cursor is not None:
            self.zoom_to(self.cursor)

    def _step(self, move: Callable[[FlameLayout, Block], Block | None]) -> None:
        layout, block = self._layout, self.cursor_block
        if layout is None or block is None:
            return
        target = move(layout, block)
        if target is not None and target.node is not None:
            self.move_cursor(target.node)

    # ------------------------------------------------------------------ state

    @property
    def layout_now(self) -> FlameLayout | None:
        """The blocks as drawn now."""
        return self._layout

    @property
    def cursor_block(self) -> Block | None:
        """The block under the cursor."""
        if self._layout is None or self.cursor is None:
            return None
        return self._layout.block_of(self.cursor)

    def show(self, profile: Profile, root: Node) -> None:
        """Draw a new profile, keeping the zoom and the cursor on the same frames."""
        zoom_path = path_of(self.zoom) if self.zoom is not None else ()
        cursor_path = path_of(self.cursor) if self.cursor is not None else ()
        self.profile, self.root = profile, root
        self.zoom = resolve(root, zoom_path)
        cursor = resolve(root, cursor_path) if self.cursor is not None else self.zoom
        self.cursor = None  # so that move_cursor reports the cursor's (new) node
        self.hovered = None
        self._relayout()
        self.move_cursor(cursor, scroll=False)

    def clear(self) -> None:
        """Show nothing."""
        self.profile = self.root = self.zoom = self.cursor = None
        self.hovered = None
        self._relayout()

    def zoom_to(self, node: Node) -> None:
        """Zoom on ``node`` (its callers stay drawn above it, dimmed) and put the cursor there."""
        if self.root is None:
            return
        self.zoom = node
        self._relayout()
        self.move_cursor(node)
        self.post_message(self.Zoomed(self, node))

    def zoom_out(self) -> bool:
        """Zoom on the zoomed frame's caller, the cursor on the frame zoomed until now;
        False when the whole profile is shown already."""
        previous = self.zoom
        if previous is None or previous.parent is None:
            return False
        self.zoom = caller = previous.parent
        self._relayout()
        self.move_cursor(previous)
        self.post_message(self.Zoomed(self, caller))
        return True

    def move_cursor(self, node: Node | None, *, scroll: bool = True) -> None:
        """Put the cursor on ``node`` (on its nearest drawn caller when it is too narrow)."""
        layout = self._layout
        while node is not None and layout is not None and layout.block_of(node) is None:
            node = node.parent
        changed = node is not self.cursor
        self.cursor = node
        block = self.cursor_block
        if scroll and block is not None:
            self.scroll_to_region(Region(0, block.depth, 1, 1), animate=False, immediate=True)
        self.refresh()
        if changed:
            self.post_message(self.CursorMoved(self, node))

    def set_highlight(self, frames: frozenset[int]) -> None:
        """Draw the frames with these indexes as matches, the others dimmed (empty: none)."""
        self.highlight = frames
        self.refresh()

    def _relayout(self) -> None:
        width = self.scrollable_content_region.width
        if self.root is None or self.zoom is None or width <= 0:
            self._layout = None
            self.virtual_size = Size(0, 0)
        else:
            self._layout = FlameLayout(self.root, self.zoom, width)
            self.virtual_size = Size(width, len(self._layout.rows))
            if self.cursor is not None and self._layout.block_of(self.cursor) is None:
                self.move_cursor(self.cursor, scroll=False)
        self.refresh()

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        layout = self._layout
        index = y + int(self.scroll_offset.y)
        if layout is None or index >= len(layout.rows):
            return Strip.blank(width, base)
        segments: list[Segment] = []
        x = 0
        for block in layout.rows[index]:
            if block.x > x:
                segments.append(Segment(" " * (block.x - x), base))
            segments.extend(self._block_segments(block, base))
            x = block.end
        if x < width:
            segments.append(Segment(" " * (width - x), base))
        return Strip(segments, width)

    def _block_style(self, block: Block) -> Style:
        style = self.get_component_rich_style
        if block.node is None:
            return style("flamegraph--merged")
        if block.ancestor:
            look = style("flamegraph--ancestor")
        elif self.highlight and block.node.index not in self.highlight:
            look = style("flamegraph--dim")
        else:
            look = style(frame_class(block.node.frame))
            if self.highlight:
                look += style("flamegraph--match")
        if block.node is self.cursor:
            look += style("flamegraph--cursor")
        return look

    def _block_label(self, block: Block) -> str:
        if block.node is None:  # "+12" where it fits, dots where it does not
            label = f"+{len(block.merged)}"
            return label if len(label) < block.width else "·" * block.width
        if block.node.frame is None:
            total = weight_text(self.profile, block.node.value) if self.profile else ""
            return f"all · {total}"
        return block.node.frame.name

    def _block_segments(self, block: Block, base: Style) -> list[Segment]:
        style = self._block_style(block)
        if block.width == 1:
            return [Segment(fit(self._block_label(block), 1), style)]
        fill = style.color if style.reverse else style.bgcolor
        separator = Style(color=base.bgcolor, bgcolor=fill)
        return [
            Segment(fit(self._block_label(block), block.width - 1), style),
            Segment(SEPARATOR, separator),
        ]


# ---------------------------------------------------------------------- the pane
