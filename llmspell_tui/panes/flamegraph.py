"""The Flamegraph pane: a profile as an icicle graph, its top functions and the Lua heap.

The graph (:class:`FlameGraph`) draws with the Line API: one strip per row built from the
blocks of :mod:`llmspell_tui.panes.flame_layout`, so a profile with thousands of frames costs
what is visible, not a widget per frame. Colours are component classes styled in
``themes/app.tcss`` from theme variables: frames take one of eight colours by a stable hash
of their file, so a file keeps its colour between runs and themes; "wait" and "native"
frames, C functions and the callers above a zoom have their own.

``FlamegraphPane.update_profile`` is called with a fresh snapshot about once a second while
a profiled run goes on; zoom, cursor and search follow the same frames from one snapshot to
the next (frames are named by their path of ``Frame`` values, not by tree nodes).
"""

from __future__ import annotations

import gc
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable, Input, Sparkline, Static

from kernel_core.profiler.model import SYNTHETIC_KINDS, Frame, Profile
from kernel_core.profiler.tree import Node, build_tree
from llmspell_tui.panes.flame_layout import (
    Block,
    FlameLayout,
    frames_matching,
    name_contains,
    path_of,
    resolve,
    share_of,
)

FILE_COLOURS = 8  # flamegraph--file-0 .. -7 in themes/app.tcss
TOP_ROWS = 200  # rows of the Top Functions table (the rest are the long tail)
HEAP_GROWTH_ROWS = 3
NARROW_WIDTH = 100  # below this the table goes under the graph
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


def duration(seconds: float) -> str:
    """Seconds in the unit that reads best (µs, ms, s)."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def weight_text(profile: Profile, weight: float) -> str:
    """A weight as a person reads it: samples (with their time) or time (exact mode)."""
    if profile.unit == "samples":
        samples = round(weight)
        text = f"{samples:,} sample{'s' if samples != 1 else ''}"
        return f"{text} ({duration(profile.seconds(weight))})" if profile.interval else text
    return duration(profile.seconds(weight))


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


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a profile is taken in.

    A big profile is tens of thousands of new objects (tree nodes, table rows); in a running
    app every few hundred allocations start a collection that walks the app's many objects
    too (a 5,000-stack update took 150 ms that way, 35 ms without). They are collected as
    usual afterwards.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


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


class FlamegraphPane(Widget):
    """The graph with its detail line and search, the Top Functions table and the heap."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Search frames", key_display="/", id="flame.search"),
        Binding("escape", "back", "Clear search / zoom out", show=False, id="flame.back"),
    ]

    @dataclass
    class Updated(Message):
        """A profile is shown (``on_flamegraph_pane_updated``)."""

        pane: FlamegraphPane
        profile: Profile

    def __init__(self, *, start_key: str = "Alt+P", id: str | None = None) -> None:
        super().__init__(id=id)
        self.start_key = start_key
        self.profile: Profile | None = None
        self.profiling = False  # the kernel's profiler is on
        self.live = False  # the profile shown is a snapshot of a run still going on
        self.search: str = ""
        self.selected: Frame | None = None  # the Top Functions row that highlights
        self.matches = 0
        self.match_share = 0.0
        self._frame_rows: dict[str, Frame] = {}
        self._calls_column = False

    def compose(self) -> ComposeResult:
        # markup off: frame names and paths are data ("[C]", "t[1]")
        yield Static(id="flame-empty", markup=False)
        with Vertical(id="flame-main"):
            yield FlameGraph(id="flame-graph")
            yield Static(id="flame-detail", markup=False)
            yield Input(
                placeholder="search: name or file:line (Enter keeps, Esc clears)", id="flame-search"
            )
        with Container(id="flame-side"):
            yield DataTable(id="flame-top", cursor_type="row")
            with Vertical(id="flame-memory"):
                yield Sparkline([], id="flame-heap")
                yield Static(id="flame-heap-info", markup=False)

    def on_mount(self) -> None:
        self.border_title = "Flamegraph"
        self._set_columns(calls=False)
        self._show_state()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_WIDTH, "-narrow")

    # ------------------------------------------------------------------ parts

    @property
    def graph(self) -> FlameGraph:
        """The icicle graph."""
        return self.query_one(FlameGraph)

    @property
    def table(self) -> DataTable[str | Text]:
        """The Top Functions table."""
        return self.query_one("#flame-top", DataTable)

    @property
    def search_input(self) -> Input:
        """The search box (shown by ``/``)."""
        return self.query_one("#flame-search", Input)

    @property
    def detail(self) -> str:
        """The detail line as shown."""
        return str(self.query_one("#flame-detail", Static).render())

    # ------------------------------------------------------------------ data

    def update_profile(self, profile: Profile, *, live: bool | None = None) -> None:
        """Show ``profile`` in place of the one shown, keeping zoom, cursor and search on the
        same frames when they are still there."""
        with collector_paused():
            self.profile = profile
            if live is not None:
                self.live = live
            self._show_state()
            if not profile.stacks:
                self.graph.clear()
            else:
                self.graph.show(profile, build_tree(profile))
                self._show_top(profile)
            self._apply_highlight()
            self._show_heap(profile)
            self._show_subtitle()
        self.post_message(self.Updated(self, profile))

    def set_profiling(self, on: bool) -> None:
        """Whether the kernel is profiling (the empty pane says what to do either way)."""
        self.profiling = on
        self._show_state()
        self._show_subtitle()

    def _show_state(self) -> None:
        empty = self.profile is None or not self.profile.stacks
        self.set_class(empty, "-empty")
        if self.profiling:
            message = "Profiling — no samples yet: run the script (F5) or code in the console"
        elif self.profile is not None:
            message = "The profile is empty: nothing ran while profiling was on"
        else:
            message = f"No profile yet — press {self.start_key} to start profiling"
        self.query_one("#flame-empty", Static).update(message)

    def _show_subtitle(self) -> None:
        profile = self.profile
        parts: list[str] = []
        if profile is not None and profile.stacks:
            parts.append(weight_text(profile, profile.total))
            if profile.mode == "exact":
                parts.append("exact")
            elif profile.interval:
                parts.append(f"{1 / profile.interval:,.0f} Hz")
        if self.profiling:
            parts.append("● profiling")
        self.border_subtitle = " · ".join(parts)

    def _set_columns(self, *, calls: bool) -> None:
        table = self.table
        table.clear(columns=True)
        table.add_column("self", key="self")
        table.add_column("total", key="total")
        if calls:
            table.add_column("calls", key="calls")
        table.add_column("function", key="function")
        self._calls_column = calls

    def _show_top(self, profile: Profile) -> None:
        table = self.table
        exact = profile.mode == "exact"
        if exact != self._calls_column:
            self._set_columns(calls=exact)
        chosen = None
        if table.row_count and table.cursor_row >= 0:
            chosen = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        self._frame_rows.clear()
        for stats in profile.top_functions(TOP_ROWS):
            frame = stats.frame
            key = f"{frame.kind}\0{frame.name}\0{frame.file}\0{frame.line}"
            self._frame_rows[key] = frame
            cells: list[str | Text] = [percent(stats.self_share), percent(stats.total_share)]
            if exact:
                cells.append(f"{stats.calls:,}" if stats.calls is not None else "")
            label = frame.name if not frame.file else f"{frame.name}  {where(frame)}"
            cells.append(Text(label))  # not markup
            table.add_row(*cells, key=key)
        if chosen is not None and chosen in self._frame_rows:
            table.move_cursor(row=table.get_row_index(chosen), scroll=False)

    def _show_heap(self, profile: Profile) -> None:
        sparkline = self.query_one("#flame-heap", Sparkline)
        info = self.query_one("#flame-heap-info", Static)
        if not profile.heap:
            sparkline.data = []
            info.update("Lua heap: no samples")
            return
        sparkline.data = [kib for _, kib in profile.heap]
        now, peak = profile.heap[-1][1], max(kib for _, kib in profile.heap)
        lines = [f"Lua heap {now:,.0f} KiB, peak {peak:,.0f} KiB"]
        for frame, kib in profile.heap_growth_by_frame(HEAP_GROWTH_ROWS):
            lines.append(f"+{kib:,.0f} KiB  {frame.name}  {where(frame) if frame.file else ''}")
        info.update("\n".join(line.rstrip() for line in lines))

    # ------------------------------------------------------------------ search and highlight

    def _apply_highlight(self) -> None:
        profile = self.profile
        frames: frozenset[int] = frozenset()
        if profile is not None and (self.search or self.selected is not None):
            if self.selected is not None:
                chosen = self.selected
                frames = frames_matching(profile, lambda frame: frame == chosen)
            else:
                frames = frames_matching(profile, name_contains(self.search))
            present = {i for stack in profile.stacks for i in stack} if frames else set()
            frames = frozenset(frames & present)
        self.matches = len(frames)
        self.match_share = share_of(profile, frames) if profile is not None else 0.0
        self.graph.set_highlight(frames)
        if self.search or self.selected is not None:
            what = (
                f"“{self.search}”" if self.search else self.selected.name if self.selected else ""
            )
            self.border_title = Text(
                f"Flamegraph · {what}: {self.matches} match{'es' if self.matches != 1 else ''}, "
                f"{percent(self.match_share)} of total"
            )
        else:
            self.border_title = "Flamegraph"

    def action_search(self) -> None:
        """/: search frames by name or file:line."""
        self.add_class("-searching")
        self.search_input.focus()

    def action_back(self) -> None:
        """Esc: close the search (or the table's highlight) first, then zoom out one level."""
        if self.search or self.selected is not None or self.has_class("-searching"):
            self.clear_search()
            return
        self.graph.zoom_out()

    def clear_search(self) -> None:
        """Forget the search and the table's highlight; the graph has the focus again."""
        self.search = ""
        self.selected = None
        self.remove_class("-searching")
        with self.search_input.prevent(Input.Changed):
            self.search_input.value = ""
        self._apply_highlight()
        self.graph.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.search = event.value.strip()
        self.selected = None
        self._apply_highlight()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.search:
            self.remove_class("-searching")
        self.graph.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        frame = self._frame_rows.get(str(event.row_key.value))
        if frame is None:
            return
        self.selected = frame
        self.search = ""
        with self.search_input.prevent(Input.Changed):
            self.search_input.value = ""
        self.remove_class("-searching")
        self._apply_highlight()

    # ------------------------------------------------------------------ the detail line

    def on_flame_graph_cursor_moved(self, event: FlameGraph.CursorMoved) -> None:
        self._show_detail(event.node)

    def on_flame_graph_zoomed(self, event: FlameGraph.Zoomed) -> None:
        self._show_detail(self.graph.cursor)

    def _show_detail(self, node: Node | None) -> None:
        detail = self.query_one("#flame-detail", Static)
        profile, zoom = self.profile, self.graph.zoom
        if node is None or profile is None or zoom is None:
            detail.update("")
            return
        total = profile.total or 1.0
        if node.frame is None:
            detail.update(f"all · {weight_text(profile, node.value)} · 100.0% of total")
            return
        parts = [node.frame.name, where(node.frame), weight_text(profile, node.value)]
        parts.append(f"{percent(node.value / total)} of total")
        if zoom.frame is not None and zoom.value:
            parts.append(f"{percent(node.value / zoom.value)} of {zoom.frame.name}")
        if profile.mode == "exact" and node.index in profile.calls:
            calls = profile.calls[node.index]
            parts.append(f"{calls:,} call{'s' if calls != 1 else ''}")
        detail.update(" · ".join(parts))
