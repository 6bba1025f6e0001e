"""The variables pane: Locals / Upvalues / Globals of the selected frame, expanded lazily."""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from llmspell_tui.messages import Scope, Variable

# Theme variable that colours each Lua type's values.
TYPE_COLOURS = {
    "string": "text-success",
    "number": "text-accent",
    "boolean": "text-warning",
    "nil": "text-warning",
    "table": "text-primary",
    "function": "text-secondary",
    "thread": "text-secondary",
    "userdata": "text-secondary",
}


@dataclass
class Node:
    """What a tree node stands for: a variables reference, loaded or not yet."""

    reference: int
    loaded: bool = False


class VariablesPane(Tree[Node]):
    """A tree of scopes and variables; a node's children are fetched when it first opens."""

    @dataclass
    class Expand(Message):
        """A node needs its children (``on_variables_pane_expand``)."""

        pane: VariablesPane
        reference: int

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("variables", id=id)
        self.show_root = False
        self.guide_depth = 2
        self._by_reference: dict[int, TreeNode[Node]] = {}

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Node]) -> None:
        event.stop()
        data = event.node.data
        if data is not None and data.reference and not data.loaded:
            data.loaded = True
            self.post_message(self.Expand(self, data.reference))

    def show_scopes(self, scopes: list[Scope]) -> None:
        """Replace the tree with a frame's scopes; Locals opens at once."""
        self.clear_tree()
        for scope in scopes:
            node = self.root.add(Text(scope.name, style="bold"), data=Node(scope.reference))
            self._by_reference[scope.reference] = node
            if scope.name == "Locals":
                node.expand()

    def show_variables(self, reference: int, variables: list[Variable]) -> None:
        """Fill in the children of ``reference``."""
        parent = self._by_reference.get(reference)
        if parent is None:
            return  # a stale answer for a tree already replaced
        parent.remove_children()
        if not variables:
            parent.add_leaf(Text("(empty)", style="dim italic"))
        for var in variables:
            label = self._label(var)
            if var.reference:
                node = parent.add(label, data=Node(var.reference))
                self._by_reference[var.reference] = node
            else:
                parent.add_leaf(label)

    def clear_tree(self) -> None:
        """Nothing to show (the script runs)."""
        self.clear()
        self._by_reference.clear()

    def _label(self, var: Variable) -> Text:
        colour = self.app.theme_variables.get(TYPE_COLOURS.get(var.type, "foreground"))
        style = Style.parse(colour) if colour and colour.startswith("#") else Style()
        return Text.assemble(var.name, " = ", (var.value, style))
