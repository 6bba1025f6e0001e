"""The call tree of a profile: what flamegraphs (the SVG export, the TUI pane) lay out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from kernel_core.profiler.model import Frame, Profile


@dataclass
class Node:
    """A frame in the context of its callers; ``value`` includes the children's."""

    frame: Frame | None  # None for the root
    index: int = -1  # frame index in the profile, -1 for the root
    value: float = 0.0
    self_value: float = 0.0
    children: dict[int, Node] = field(default_factory=dict)
    parent: Node | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.frame.name if self.frame else "all"

    def path(self) -> list[Node]:
        """From the root's first child down to this node."""
        out: list[Node] = []
        node: Node | None = self
        while node is not None and node.frame is not None:
            out.append(node)
            node = node.parent
        return out[::-1]

    def sorted_children(self) -> list[Node]:
        """Children by name, as flamegraphs order them (stable between refreshes)."""
        return sorted(self.children.values(), key=lambda n: (n.name, n.index))

    def walk(self) -> Iterator[tuple[Node, int]]:
        """This node and every descendant, depth first, with its depth (root = 0)."""
        stack: list[tuple[Node, int]] = [(self, 0)]
        while stack:
            node, depth = stack.pop()
            yield node, depth
            stack.extend((child, depth + 1) for child in reversed(node.sorted_children()))


def build_tree(profile: Profile) -> Node:
    """Merge the profile's stacks into one tree rooted at "all"."""
    root = Node(frame=None)
    for stack, weight in profile.stacks.items():
        node = root
        node.value += weight
        for index in stack:
            child = node.children.get(index)
            if child is None:
                child = Node(frame=profile.frames[index], index=index, parent=node)
                node.children[index] = child
            child.value += weight
            node = child
        node.self_value += weight
    return root


def find(root: Node, pattern: str) -> tuple[list[Node], float]:
    """Nodes whose name or location contains ``pattern`` (case-insensitive) and their share of
    the root's value, counting nested matches once."""
    needle = pattern.lower()
    matches: list[Node] = []
    covered = 0.0

    def visit(node: Node, inside: bool) -> None:
        nonlocal covered
        hit = node.frame is not None and (
            needle in node.frame.name.lower() or needle in node.frame.location.lower()
        )
        if hit:
            matches.append(node)
            if not inside:
                covered += node.value
        for child in node.children.values():
            visit(child, inside or hit)

    visit(root, False)
    return matches, (covered / root.value if root.value else 0.0)
