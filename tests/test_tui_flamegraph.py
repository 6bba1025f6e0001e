"""The Flamegraph pane: layout arithmetic, keys, mouse, search, the Top Functions table, live
updates, and the TUI profiling a script on a real kernel.

The pane tests host the real pane (styled by themes/app.tcss, themed as the TUI is) and feed
it profiles built with the data model; the last test drives the whole TUI against a kernel.
Snapshots live in snapshots/test_tui_flamegraph/ (``--snapshot-update`` after a deliberate
change, then look at them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from kernel_core.kernel.registry import known_kernels
from kernel_core.profiler.model import Frame, Profile
from kernel_core.profiler.tree import Node, build_tree
from llmspell_tui.bridge import Launch
from llmspell_tui.messages import ProfileUpdated, ProfilingChanged, ScriptFinished, StackLoaded
from llmspell_tui.panes.flame_layout import (
    Block,
    FlameLayout,
    frames_matching,
    name_contains,
    share_of,
)
from llmspell_tui.panes.flamegraph import FlameGraph, FlamegraphPane
from llmspell_tui.panes.icicle import frame_class, weight_text
from llmspell_tui.themes import LAYOUT_FILE, load_themes, theme_name
from tests.tui_fixtures import TUI_LUA, RecordingApp, snapshots_in_snapshots_dir  # noqa: F401

pytestmark = pytest.mark.usefixtures("snapshots_in_snapshots_dir")

MAIN = Frame("main chunk", "examples/work.lua", 0, "main")
HEAVY = Frame("heavy", "examples/work.lua", 3)
LIGHT = Frame("light", "examples/work.lua", 10)
PARSE = Frame("parse", "lib/json.lua", 20)
FORMAT = Frame("string.format", "", 0, "C")
WAIT = Frame("wait: Agent.complete", "", 0, "wait")
NATIVE = Frame("native", "", 0, "native")


def work_profile() -> Profile:
    """1,000 samples: heavy 60% (parse half of it), light 20%, an Agent call 15%, native 4%."""
    profile = Profile(interval=0.001, duration=1.0)
    profile.add([MAIN, HEAVY], 300)
    profile.add([MAIN, HEAVY, PARSE], 200)
    profile.add([MAIN, HEAVY, PARSE, FORMAT], 100)
    profile.add([MAIN, LIGHT], 120)
    profile.add([MAIN, LIGHT, PARSE], 80)
    profile.add([MAIN, WAIT], 150)
    profile.add([MAIN, NATIVE], 40)
    profile.add([MAIN], 10)
    profile.heap = [(i * 0.1, 100.0 + i * 5 + (i * 37) % 90) for i in range(60)]
    profile.heap_growth = {(0, 1, 2): 512.0, (0, 3): 128.0}
    return profile


def child(node: Node, name: str) -> Node:
    """The callee of ``node`` named ``name``."""
    return next(c for c in node.children.values() if c.name == name)


def row_of(layout: FlameLayout, depth: int) -> dict[str, Block]:
    """The frame blocks of a row by name."""
    return {b.node.name: b for b in layout.rows[depth] if b.node is not None}


# ---------------------------------------------------------------------- layout arithmetic


def test_each_frame_is_as_wide_as_its_share_and_callees_tile_their_caller() -> None:
    root = build_tree(work_profile())
    layout = FlameLayout(root, root, 100)
    assert [(b.x, b.width) for b in layout.rows[0]] == [(0, 100)]
    callees = row_of(layout, 2)
    assert {name: (b.x, b.width) for name, b in callees.items()} == {
        "heavy": (0, 60),
        "light": (60, 20),
        "native": (80, 4),
        "wait: Agent.complete": (84, 15),
    }
    # the callees and main's own 1% fill main's width exactly
    assert sum(b.width for b in layout.rows[2]) == 99
    assert {name: (b.x, b.width) for name, b in row_of(layout, 3).items()} == {"parse": (60, 8)}
    parses = [b for b in layout.rows[3] if b.node is not None]
    assert [(b.x, b.width) for b in parses] == [(0, 30), (60, 8)]


def test_frames_narrower_than_a_cell_merge_into_one_block_or_are_left_out() -> None:
    profile = Profile(interval=0.001)
    profile.add([MAIN, HEAVY], 985)
    profile.add([MAIN, HEAVY, Frame("speck", "util.lua", 50)], 1)  # under heavy, 0.1 cell
    for n in range(12):  # 12 x 0.1 cell
        profile.add([MAIN, Frame(f"tiny{n:02}", "util.lua", n + 1)], 1)
    profile.add([MAIN, Frame("zz-alone", "util.lua", 99)], 2)  # 0.2 cell, after the tiny ones
    root = build_tree(profile)
    layout = FlameLayout(root, root, 100)
    row = layout.rows[2]
    assert [(b.node.name if b.node else "merged", b.x, b.width) for b in row] == [
        ("heavy", 0, 99),
        ("merged", 99, 1),
    ]
    assert len(row[1].merged) == 13  # the tiny ones and zz-alone, side by side: one run
    assert len(layout.rows) == 3  # speck, alone and too narrow, is not drawn
    assert layout.block_at(99, 2) is row[1]
    assert layout.beside(row[0], 1) is None  # the cursor skips merged blocks


def test_zooming_draws_the_callers_full_width_above_the_zoomed_frame() -> None:
    root = build_tree(work_profile())
    heavy = child(child(root, "main chunk"), "heavy")
    layout = FlameLayout(root, heavy, 100)
    assert layout.zoom_depth == 2
    callers = layout.rows[0] + layout.rows[1]
    assert [(b.node.name if b.node else "", b.width, b.ancestor) for b in callers] == [
        ("all", 100, True),
        ("main chunk", 100, True),
    ]
    assert [(b.x, b.width, b.ancestor) for b in layout.rows[2]] == [(0, 100, False)]
    assert {n: (b.x, b.width) for n, b in row_of(layout, 3).items()} == {"parse": (0, 50)}
    assert {n: (b.x, b.width) for n, b in row_of(layout, 4).items()} == {"string.format": (0, 17)}


def test_a_search_counts_its_share_once_even_through_recursion() -> None:
    fib = Frame("fib", "fib.lua", 1)
    profile = Profile(interval=0.001)
    profile.add([MAIN, fib, fib, fib], 30)
    profile.add([MAIN, fib], 10)
    profile.add([MAIN, LIGHT], 60)
    found = frames_matching(profile, name_contains("FIB"))
    assert found == {profile.frames.index(fib)}
    assert share_of(profile, found) == pytest.approx(0.4)
    assert share_of(profile, frames_matching(profile, name_contains("fib.lua"))) == 0.4
    assert share_of(profile, frozenset()) == 0.0


def test_frames_are_coloured_by_file_stably_and_synthetic_ones_apart() -> None:
    assert frame_class(HEAVY) == frame_class(LIGHT) == frame_class(MAIN)
    assert frame_class(HEAVY).startswith("flamegraph--file-")
    assert frame_class(WAIT) == "flamegraph--wait"
    assert frame_class(NATIVE) == "flamegraph--native"
    assert frame_class(FORMAT) == "flamegraph--c"
    assert frame_class(None) == "flamegraph--root"
    # crc32 of the name: the same in every process (hash() is salted per process)
    assert frame_class(PARSE) == "flamegraph--file-6"
    assert frame_class(HEAVY) == "flamegraph--file-1"


def test_weights_read_as_samples_with_their_time_or_as_time_in_exact_mode() -> None:
    assert weight_text(work_profile(), 1234) == "1,234 samples (1.23 s)"
    assert weight_text(work_profile(), 1) == "1 sample (1 ms)"
    exact = Profile(mode="exact", unit="microseconds")
    assert weight_text(exact, 12_345) == "12.3 ms"
    assert weight_text(exact, 850) == "850 µs"


# ---------------------------------------------------------------------- the pane


class PaneApp(App[None]):
    """The flamegraph pane alone, styled and themed as the TUI styles it."""

    CSS_PATH = LAYOUT_FILE

    def __init__(self, profile: Profile | None = None, theme: str = "dark") -> None:
        super().__init__()
        self.profile = profile
        self.theme_short = theme

    def compose(self) -> ComposeResult:
        yield FlamegraphPane(id="flamegraph")

    def on_mount(self) -> None:
        for theme in load_themes():
            self.register_theme(theme)
        self.theme = theme_name(self.theme_short)
        if self.profile is not None:
            self.pane.update_profile(self.profile)
        self.pane.graph.focus()

    @property
    def pane(self) -> FlamegraphPane:
        """The pane under test."""
        return self.query_one(FlamegraphPane)


def row_text(pane: FlamegraphPane, index: int) -> list[str]:
    """A row of the Top Functions table as shown."""
    return [str(cell) for cell in pane.table.get_row_at(index)]


def cursor_name(app: PaneApp) -> str:
    """The name of the frame under the graph's cursor."""
    cursor = app.pane.graph.cursor
    assert cursor is not None
    return cursor.name


def block_named(graph: FlameGraph, name: str) -> Block:
    """The drawn block of the first frame called ``name``."""
    layout = graph.layout_now
    assert layout is not None
    return next(b for row in layout.rows for b in row if b.node and b.node.name == name)


async def test_arrows_walk_callers_callees_and_neighbours_and_the_detail_line_follows() -> None:
    app = PaneApp(work_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        assert cursor_name(app) == "all"
        await pilot.press("down", "down")
        assert cursor_name(app) == "heavy"
        assert app.pane.detail == (
            "heavy · examples/work.lua:3 · 600 samples (600 ms) · 60.0% of total"
        )
        await pilot.press("down")
        assert cursor_name(app) == "parse"
        await pilot.press("right")
        assert cursor_name(app) == "parse"  # light's parse, the next block in the row
        assert app.pane.graph.cursor is not None
        assert app.pane.graph.cursor.parent is not None
        assert app.pane.graph.cursor.parent.name == "light"
        await pilot.press("up", "right")
        assert cursor_name(app) == "native"
        await pilot.press("right", "right")
        assert cursor_name(app) == "wait: Agent.complete"
        assert app.pane.detail.startswith("wait: Agent.complete · [wait] · 150 samples")


async def test_enter_zooms_into_the_cursor_frame_and_escape_zooms_out_one_level() -> None:
    app = PaneApp(work_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        graph = app.pane.graph
        await pilot.press("down", "down", "enter")
        assert graph.zoom is not None
        assert graph.zoom.name == "heavy"
        assert block_named(graph, "heavy").width == graph.scrollable_content_region.width
        await pilot.press("down")
        assert app.pane.detail.endswith("50.0% of heavy")
        await pilot.press("escape")
        assert graph.zoom.name == "main chunk"
        assert cursor_name(app) == "heavy"  # the frame zoomed until now
        await pilot.press("escape", "escape")
        assert graph.zoom.name == "all"


async def test_clicking_a_frame_zooms_into_it_and_hovering_tells_its_share() -> None:
    app = PaneApp(work_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        graph = app.pane.graph
        light = block_named(graph, "light")
        await pilot.hover(graph, offset=(light.x + 1, light.depth))
        tooltip = str(graph.tooltip)
        assert tooltip == "light\nexamples/work.lua:10\n200 samples (200 ms) · 20.0% of total"
        await pilot.click(graph, offset=(light.x + 1, light.depth))
        assert graph.zoom is not None
        assert graph.zoom.name == "light"
        assert cursor_name(app) == "light"
        # the callers stay drawn above: clicking one zooms out to it
        await pilot.click(graph, offset=(0, 0))
        assert graph.zoom.name == "all"


async def test_slash_searches_frames_and_the_title_shows_matches_and_their_share() -> None:
    app = PaneApp(work_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        pane, graph = app.pane, app.pane.graph
        await pilot.press("down", "down", "enter")  # zoomed on heavy
        await pilot.press("slash")
        assert pane.search_input.has_focus
        await pilot.press(*"json")
        assert pane.border_title == "Flamegraph · “json”: 1 match, 38.0% of total"
        assert pane.profile is not None
        assert graph.highlight == {pane.profile.frames.index(PARSE)}
        await pilot.press("enter")
        assert graph.has_focus
        assert pane.search == "json"
        await pilot.press("escape")  # the search goes first
        assert pane.search == ""
        assert graph.highlight == frozenset()
        assert pane.border_title == "Flamegraph"
        assert graph.zoom is not None
        assert graph.zoom.name == "heavy"
        await pilot.press("escape")  # then the zoom
        assert graph.zoom.name == "main chunk"


async def test_choosing_a_top_function_highlights_its_frames() -> None:
    app = PaneApp(work_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.pane.table
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        assert rows[0] == ["30.0%", "60.0%", "heavy  examples/work.lua:3"]
        assert rows[1] == ["28.0%", "38.0%", "parse  lib/json.lua:20"]
        table.focus()
        await pilot.press("down", "enter")  # parse, second by self time
        profile = app.pane.profile
        assert profile is not None
        assert app.pane.graph.highlight == {profile.frames.index(PARSE)}
        assert app.pane.border_title == "Flamegraph · parse: 1 match, 38.0% of total"
        await pilot.press("escape")
        assert app.pane.graph.highlight == frozenset()


async def test_a_new_snapshot_keeps_zoom_cursor_and_search_on_the_same_frames() -> None:
    app = PaneApp(work_profile())
    async with app.run_test(size=(120, 40)) as pilot:
        pane, graph = app.pane, app.pane.graph
        await pilot.press("down", "down", "enter", "down")  # zoom heavy, cursor parse
        await pilot.press("slash", *"format", "enter")
        newer = work_profile()
        newer.add([MAIN, HEAVY, PARSE], 400)  # a second later: parse grew
        pane.update_profile(newer, live=True)
        await pilot.pause()
        assert graph.zoom is not None
        assert graph.zoom.name == "heavy"
        assert cursor_name(app) == "parse"
        assert pane.detail.endswith("of total · 70.0% of heavy")
        assert graph.highlight == {newer.frames.index(FORMAT)}
        assert row_text(pane, 0) == ["48.6%", "55.7%", "parse  lib/json.lua:20"]
        assert pane.border_title == "Flamegraph · “format”: 1 match, 7.1% of total"
        # a snapshot where the zoomed frame is gone: zoom on its deepest caller still there
        without = Profile(interval=0.001)
        without.add([MAIN, LIGHT], 10)
        pane.update_profile(without)
        await pilot.pause()
        assert graph.zoom.name == "main chunk"
        assert cursor_name(app) == "main chunk"


async def test_the_empty_pane_says_how_to_start_profiling() -> None:
    app = PaneApp()
    async with app.run_test(size=(80, 24)):
        pane = app.pane
        empty = str(pane.query_one("#flame-empty").render())
        assert empty == "No profile yet — press Alt+P to start profiling"
        assert not pane.query_one("#flame-main").display
        pane.set_profiling(True)
        assert "no samples yet" in str(pane.query_one("#flame-empty").render())
        assert pane.border_subtitle == "● profiling"


async def test_exact_profiles_show_calls_and_the_heap_lists_its_growth() -> None:
    profile = Profile(mode="exact", unit="microseconds")
    profile.add([MAIN, HEAVY], 3000)
    profile.add([MAIN, LIGHT], 1000)
    profile.calls = {1: 30, 2: 10, 0: 1}
    profile.heap = [(0.0, 100.0), (0.5, 900.0), (1.0, 400.0)]
    profile.heap_growth = {(0, 1): 700.0, (0, 2): 100.0}
    app = PaneApp(profile)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.pane.table
        assert [str(c.label) for c in table.columns.values()] == [
            "self",
            "total",
            "calls",
            "function",
        ]
        assert row_text(app.pane, 0) == ["75.0%", "75.0%", "30", "heavy  examples/work.lua:3"]
        info = str(app.pane.query_one("#flame-heap-info").render())
        assert info.splitlines() == [
            "Lua heap 400 KiB, peak 900 KiB",
            "+700 KiB  heavy  examples/work.lua:3",
            "+100 KiB  light  examples/work.lua:10",
        ]
        await pilot.press("down", "down")
        assert app.pane.detail == "heavy · examples/work.lua:3 · 3 ms · 75.0% of total · 30 calls"


# ---------------------------------------------------------------------- snapshots


def _pane_snapshot(
    snap_compare: Callable[..., bool], size: tuple[int, int], theme: str, keys: list[str]
) -> bool:
    return snap_compare(PaneApp(work_profile(), theme), terminal_size=size, press=keys)


@pytest.mark.parametrize(
    ("size", "theme", "keys"),
    [
        pytest.param((120, 40), "dark", ["down", "down"], id="120x40-dark"),
        pytest.param((80, 24), "light", ["down", "down"], id="80x24-light"),
        pytest.param(
            (80, 24), "dark", ["down", "down", "enter", "slash", *"json"], id="80x24-dark-search"
        ),
    ],
)
def test_snapshot_flamegraph_pane(
    size: tuple[int, int], theme: str, keys: list[str], snap_compare: Callable[..., bool]
) -> None:
    assert _pane_snapshot(snap_compare, size, theme, keys)


# ---------------------------------------------------------------------- in the TUI, on a kernel

TWO_FUNCTIONS = TUI_LUA / "profile_two.lua"


async def test_profiling_a_run_in_the_tui_shows_both_functions_in_proportion(
    tmp_path: Path,
) -> None:
    app = RecordingApp(Launch(script=TWO_FUNCTIONS, name="profile"))
    async with app.run_test(size=(120, 40)) as pilot:
        await app.waiter.wait_for(StackLoaded)  # stopped on entry
        await pilot.press("alt+p")
        started = await app.waiter.wait_for(ProfilingChanged)
        assert started.on
        assert started.mode == "sampling"
        assert app.flamegraph_shown
        assert "● profiling (sampling 1,000 Hz)" in str(app.status.render())
        await pilot.press("f5")
        finished = await app.waiter.wait_for(ScriptFinished)
        assert finished.exit_code == 0
        await pilot.press("alt+p")  # stop: the final profile comes with the answer
        await app.waiter.wait_for(ProfilingChanged, lambda change: not change.on)
        final = await app.waiter.wait_for(ProfileUpdated, lambda u: not u.running)
        await pilot.pause()
        assert "profiling" not in str(app.status.render())
        # the Top Functions table: heavy's own Lua time is three times light's
        table = app.flamegraph_pane.table
        shown = [row_text(app.flamegraph_pane, i) for i in range(table.row_count)]
        self_share = {row[-1].split()[0]: float(row[0].rstrip("%")) for row in shown}
        # (3x the work: the pane shows that proportion; tests/test_profile_accuracy.py and
        # bench/profiler hold the sampler to its accuracy, on a machine less loaded than this)
        assert 2.0 < self_share["heavy"] / self_share["light"] < 5.0
        # the graph: each function's block is its share of the whole run
        graph = app.flamegraph_pane.graph
        width = graph.scrollable_content_region.width
        for name in ("heavy", "light"):
            block = block_named(graph, name)
            assert block.node is not None
            assert abs(block.width - width * block.node.value / final.profile.total) <= 1
        await pilot.press("alt+f")
        assert not app.flamegraph_shown
        assert app.source_pane.has_focus
    assert known_kernels() == []
