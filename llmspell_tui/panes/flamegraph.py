"""The Flamegraph pane: a profile as an icicle graph (:mod:`.icicle`), its top functions
and the Lua heap.

``FlamegraphPane.update_profile`` is called with a fresh snapshot about once a second while
a profiled run goes on; zoom, cursor and search follow the same frames from one snapshot to
the next (frames are named by their path of ``Frame`` values, not by tree nodes).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Input, Sparkline, Static

from kernel_core.profiler.model import Frame, Profile
from kernel_core.profiler.tree import Node, build_tree
from llmspell_tui.panes.flame_layout import frames_matching, name_contains, share_of
from llmspell_tui.panes.icicle import FlameGraph, percent, weight_text, where

__all__ = ["FlameGraph", "FlamegraphPane"]

TOP_ROWS = 200  # rows of the Top Functions table (the rest are the long tail)
HEAP_GROWTH_ROWS = 3
NARROW_WIDTH = 100  # below this the table goes under the graph


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
