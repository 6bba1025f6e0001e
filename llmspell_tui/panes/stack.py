"""The stack pane: the frames of the stopped thread; selecting one moves source and variables."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from llmspell_tui.messages import Frame


class StackPane(OptionList):
    """Frames innermost first, as ``function  file:line``."""

    @dataclass
    class FrameSelected(Message):
        """A frame was chosen (``on_stack_pane_frame_selected``)."""

        pane: StackPane
        frame: Frame

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frames: list[Frame] = []
        self.selected: int | None = None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._select(event.option_index)

    def show(self, frames: list[Frame]) -> None:
        """Show a stack; the innermost frame is selected."""
        self.frames = list(frames)
        self.selected = None
        with self.prevent(OptionList.OptionHighlighted):
            self.clear_options()
            self.add_options(
                Option(Text.assemble((f.name, "bold"), "  ", (f.location, "dim")), id=str(f.id))
                for f in frames
            )
            if frames:
                self.highlighted = 0
        self._select(0)

    def clear(self) -> None:
        """No stopped thread."""
        self.frames = []
        self.selected = None
        with self.prevent(OptionList.OptionHighlighted):
            self.clear_options()

    def _select(self, index: int) -> None:
        if index != self.selected and 0 <= index < len(self.frames):
            self.selected = index
            self.post_message(self.FrameSelected(self, self.frames[index]))
