"""The variables pane: Locals / Upvalues / Globals of the selected frame, expanded lazily.

Large tables come a page at a time (a "… N more" node fetches the next); a value can be
edited in place (setVariable) and copied in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from llmspell_tui.dialogs import ExpressionDialog
from llmspell_tui.messages import Scope, Variable

PAGE = 100  # children fetched per request

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
    """What a tree node stands for: a scope, a variable, or the rest of a paged table."""

    reference: int  # its own variables reference (0: nothing inside)
    loaded: bool = False
    container: int = 0  # the reference of the scope or table holding it
    variable: Variable | None = None
    more_from: int | None = None  # a "… more" node: the index of the next page


class VariablesPane(Tree[Node]):
    """A tree of scopes and variables; a node's children are fetched when it first opens."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit_value", "Edit value", id="variables.edit"),
        Binding("y", "copy_value", "Copy value", id="variables.copy"),
    ]

    @dataclass
    class Expand(Message):
        """A node needs its children (``on_variables_pane_expand``)."""

        pane: VariablesPane
        reference: int
        start: int = 0
        count: int = 0

    @dataclass
    class SetValue(Message):
        """Give a variable a new value, Lua source (``on_variables_pane_set_value``)."""

        pane: VariablesPane
        container: int
        name: str
        value: str

    @dataclass
    class CopyValue(Message):
        """Copy a variable's value in full (``on_variables_pane_copy_value``)."""

        pane: VariablesPane
        variable: Variable

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
            self.post_message(self.Expand(self, data.reference, 0, PAGE))

    def on_tree_node_selected(self, event: Tree.NodeSelected[Node]) -> None:
        event.stop()
        data = event.node.data
        if data is not None and data.more_from is not None and data.loaded is False:
            data.loaded = True  # asked once: a second Enter before the answer asks nothing
            event.node.set_label(Text("… loading", style="dim italic"))
            self.post_message(self.Expand(self, data.container, data.more_from, PAGE))

    def action_edit_value(self) -> None:
        """Ask for a new value (Lua source) for the variable under the cursor."""
        node = self.cursor_node
        data = node.data if node is not None else None
        if data is None or data.variable is None or not data.container:
            return
        var = data.variable
        self.app.push_screen(
            ExpressionDialog(f"New value for {var.name} (Lua)", var.value),
            lambda answer: self._set_answer(data.container, var.name, answer),
        )

    def action_copy_value(self) -> None:
        """Copy the value under the cursor (in full, as the kernel renders it)."""
        node = self.cursor_node
        data = node.data if node is not None else None
        if data is not None and data.variable is not None:
            self.post_message(self.CopyValue(self, data.variable))

    def _set_answer(self, container: int, name: str, answer: str | None) -> None:
        if answer:
            self.post_message(self.SetValue(self, container, name, answer))

    def show_scopes(self, scopes: list[Scope]) -> None:
        """Replace the tree with a frame's scopes; Locals opens at once."""
        self.clear_tree()
        for scope in scopes:
            node = self.root.add(Text(scope.name, style="bold"), data=Node(scope.reference))
            self._by_reference[scope.reference] = node
            if scope.name == "Locals":
                node.expand()

    def show_variables(
        self, reference: int, variables: list[Variable], start: int = 0, count: int = 0
    ) -> None:
        """Fill in the children of ``reference`` (or a page of them from ``start``)."""
        parent = self._by_reference.get(reference)
        if parent is None:
            return  # a stale answer for a tree already replaced
        if start == 0:
            parent.remove_children()
        else:
            for child in list(parent.children):
                if child.data is not None and child.data.more_from is not None:
                    child.remove()
        if not variables and start == 0:
            parent.add_leaf(Text("(empty)", style="dim italic"))
        for var in variables:
            data = Node(var.reference, container=reference, variable=var)
            if var.reference:
                self._by_reference[var.reference] = parent.add(self._label(var), data=data)
            else:
                parent.add_leaf(self._label(var), data=data)
        loaded = start + len(variables)
        if count and len(variables) == count:
            owner = parent.data.variable if parent.data is not None else None
            left = (owner.indexed if owner is not None else 0) - loaded
            more = f"… {left:,} more" if left > 0 else "… more"
            parent.add_leaf(
                Text(more, style="dim italic"),
                data=Node(0, container=reference, more_from=loaded),
            )

    def show_set(self, container: int, variable: Variable) -> None:
        """A variable of ``container`` has a new value: relabel it (its old children are gone)."""
        parent = self._by_reference.get(container)
        if parent is None:
            return
        for child in parent.children:
            data = child.data
            if data is None or data.variable is None or data.variable.name != variable.name:
                continue
            old = data.variable
            shown = Variable(
                variable.name,
                variable.value,
                variable.type,
                variable.reference,
                variable.indexed,
                old.evaluate_name,
            )
            self._by_reference.pop(data.reference, None)
            child.data = Node(shown.reference, container=container, variable=shown)
            child.remove_children()
            child.collapse()
            child.allow_expand = bool(shown.reference)
            if shown.reference:
                self._by_reference[shown.reference] = child
            child.set_label(self._label(shown))

    def clear_tree(self) -> None:
        """Nothing to show (the script runs)."""
        self.clear()
        self._by_reference.clear()

    def _label(self, var: Variable) -> Text:
        colour = self.app.theme_variables.get(TYPE_COLOURS.get(var.type, "foreground"))
        style = Style.parse(colour) if colour and colour.startswith("#") else Style()
        return Text.assemble(var.name, " = ", (var.value, style))
