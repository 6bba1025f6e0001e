"""The icicle layout of a flamegraph: which frame takes which cells of which row.

Pure arithmetic over the call tree of ``kernel_core.profiler.tree`` (no Textual), so the
pane's drawing, its keys and clicks, and the tests all agree on where a frame is.

Rows from the top: the zoomed frame's callers (``all`` first), each the full width; the
zoomed frame, the full width; then its callees, one row per depth, each as wide as its
share of the zoomed frame's value. Cell edges are the frame's value offsets scaled and
rounded, so siblings tile their parent exactly and widths add up. Frames narrower than one
cell are not drawn alone: a run of such siblings becomes one "merged" block when together
they reach a cell, and is left out when they do not (their callees with them).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from kernel_core.profiler.model import Frame, Profile
from kernel_core.profiler.tree import Node

FramePath = tuple[Frame, ...]  # a node named by its frames from the root's child down


@dataclass(frozen=True, eq=False)
class Block:
    """A run of cells in one row: one frame (``node``), or several merged (``merged``)."""

    x: int
    width: int
    depth: int
    node: Node | None  # None for a merged block
    merged: tuple[Node, ...] = ()
    ancestor: bool = False  # a caller of the zoomed frame, drawn above it

    @property
    def end(self) -> int:
        """The first cell after the block."""
        return self.x + self.width

    @property
    def value(self) -> float:
        """The weight the block stands for."""
        if self.node is not None:
            return self.node.value
        return sum(node.value for node in self.merged)


class FlameLayout:
    """The blocks of a tree zoomed on one of its nodes, for a width in cells."""

    def __init__(self, root: Node, zoom: Node, width: int) -> None:
        self.root = root
        self.zoom = zoom
        self.width = width
        self.rows: list[list[Block]] = []
        self._scale = 0.0
        self._by_node: dict[int, Block] = {}
        self._layout()
        self._starts = [[block.x for block in row] for row in self.rows]

    @property
    def zoom_depth(self) -> int:
        """The row of the zoomed frame (how many callers are drawn above it)."""
        return len(self.zoom.path()) if self.zoom.frame is not None else 0

    def _add(self, row: list[Block], block: Block) -> None:
        row.append(block)
        if block.node is not None:
            self._by_node[id(block.node)] = block

    def _layout(self) -> None:
        width = self.width
        if width <= 0:
            return
        chain = [self.root, *self.zoom.path()] if self.zoom.frame is not None else [self.root]
        for depth, node in enumerate(chain):
            self.rows.append([])
            self._add(self.rows[-1], Block(0, width, depth, node, ancestor=node is not self.zoom))
        if self.zoom.value <= 0:
            return
        self._scale = width / self.zoom.value
        # (node, its value offset from the zoomed frame's left edge, its block)
        frontier: list[tuple[Node, float, Block]] = [(self.zoom, 0.0, self.rows[-1][0])]
        depth = len(chain)
        while frontier:
            row: list[Block] = []
            deeper: list[tuple[Node, float, Block]] = []
            for node, start, parent in frontier:
                deeper.extend(self._place_children(node, start, parent, depth, row))
            if row:
                self.rows.append(row)
            frontier = deeper
            depth += 1

    def _cell(self, offset: float) -> int:
        # round half up (not to even), so equal offsets always land on the same edge
        return math.floor(offset * self._scale + 0.5)

    def _place_children(
        self, node: Node, start: float, parent: Block, depth: int, row: list[Block]
    ) -> list[tuple[Node, float, Block]]:
        """Add the blocks of ``node``'s callees to ``row``; those to lay out below them."""
        deeper: list[tuple[Node, float, Block]] = []
        narrow: list[Node] = []  # a run of sub-cell siblings
        narrow_start = offset = start

        def flush(end: float) -> None:
            # the run is one block if together its frames reach a cell
            x0, x1 = self._cell(narrow_start), min(self._cell(end), parent.end)
            if x1 > x0:
                if len(narrow) == 1:
                    block = Block(x0, x1 - x0, depth, narrow[0])
                    self._add(row, block)
                    deeper.append((narrow[0], narrow_start, block))
                else:
                    self._add(row, Block(x0, x1 - x0, depth, None, tuple(narrow)))
            narrow.clear()

        for child in node.sorted_children():
            child_start, offset = offset, offset + child.value
            if child.value * self._scale < 1:
                if not narrow:
                    narrow_start = child_start
                narrow.append(child)
                continue
            if narrow:
                flush(child_start)
            x0, x1 = self._cell(child_start), min(self._cell(offset), parent.end)
            block = Block(x0, x1 - x0, depth, child)
            self._add(row, block)
            deeper.append((child, child_start, block))
        if narrow:
            flush(offset)
        return deeper

    # ------------------------------------------------------------------ finding blocks

    def block_at(self, x: int, y: int) -> Block | None:
        """The block covering cell ``x`` of row ``y``, if any."""
        if not 0 <= y < len(self.rows):
            return None
        row = self.rows[y]
        index = bisect_right(self._starts[y], x) - 1
        if index >= 0 and x < row[index].end:
            return row[index]
        return None

    def block_of(self, node: Node) -> Block | None:
        """The block drawing ``node`` (None when it is too narrow to be drawn alone)."""
        return self._by_node.get(id(node))

    def beside(self, block: Block, step: int) -> Block | None:
        """The nearest frame block left (step -1) or right (+1) of ``block`` in its row."""
        row = self.rows[block.depth]
        index = row.index(block) + step
        while 0 <= index < len(row):
            if row[index].node is not None:
                return row[index]
            index += step
        return None

    def below(self, block: Block) -> Block | None:
        """The widest drawn callee of ``block``'s frame (the zoomed frame's, for a caller)."""
        if block.node is None:
            return None
        if block.ancestor:
            return self.rows[block.depth + 1][0]
        drawn = [b for b in map(self.block_of, block.node.children.values()) if b is not None]
        return max(drawn, key=lambda b: (b.width, -b.x), default=None)

    def above(self, block: Block) -> Block | None:
        """The block of ``block``'s caller (None for ``all``)."""
        if block.node is None or block.node.parent is None:
            return None
        return self.block_of(block.node.parent)


# ---------------------------------------------------------------------- naming nodes


def path_of(node: Node) -> FramePath:
    """The frames from the root's child down to ``node`` (what survives a new snapshot)."""
    return tuple(n.frame for n in node.path() if n.frame is not None)


def resolve(root: Node, path: FramePath) -> Node:
    """The node named by ``path`` in ``root``'s tree, or its deepest caller that exists."""
    node = root
    for frame in path:
        child = next((c for c in node.children.values() if c.frame == frame), None)
        if child is None:
            break
        node = child
    return node


# ---------------------------------------------------------------------- highlighting


def name_contains(pattern: str) -> Callable[[Frame], bool]:
    """A search: the frame's name or ``file:line`` contains ``pattern`` (any case)."""
    needle = pattern.lower()

    def wanted(frame: Frame) -> bool:
        return needle in frame.name.lower() or needle in frame.location.lower()

    return wanted


def frames_matching(profile: Profile, wanted: Callable[[Frame], bool]) -> frozenset[int]:
    """The indexes of the profile's frames that are ``wanted``."""
    return frozenset(i for i, frame in enumerate(profile.frames) if wanted(frame))


def share_of(profile: Profile, indexes: frozenset[int]) -> float:
    """The share of the profile's weight whose stacks pass through any of ``indexes`` (a
    match under a match, as in recursion, counted once)."""
    total = profile.total
    if not total or not indexes:
        return 0.0
    inside = sum(w for stack, w in profile.stacks.items() if not indexes.isdisjoint(stack))
    return inside / total
