"""The stack pane: the frames of the stopped thread, then the script's other threads
(coroutines); selecting a frame moves source and variables, selecting a thread loads its
frames when the kernel has them."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from llmspell_tui.messages import Frame, Thread


class StackPane(OptionList):
    """Frames innermost first, as ``function  file:line``; then a row per other thread."""

    @dataclass
    class FrameSelected(Message):
        """A frame was chosen (``on_stack_pane_frame_selected``)."""

        pane: StackPane
        frame: Frame

    @dataclass
    class ThreadSelected(Message):
        """Another thread's row was chosen (``on_stack_pane_thread_selected``)."""

        pane: StackPane
        thread: Thread

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frames: list[Frame] = []
        self.threads: list[Thread] = []  # the threads other than the stopped one
        self.thread_frames: dict[int, list[Frame]] = {}  # frames the kernel gave for them
        self.rows: list[Frame | Thread] = []
        self.selected: int | None = None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._select(event.option_index)

    def show(self, frames: list[Frame]) -> None:
        """Show a stack; the innermost frame is selected."""
        self.frames = list(frames)
        self.thread_frames = {}
        self.selected = None
        self._rebuild(0 if frames else None)
        self._select(0)

    def show_threads(self, threads: list[Thread], stopped: int | None) -> None:
        """The script's threads; the stopped one (its frames are above) gets no row."""
        self.threads = [t for t in threads if t.id != stopped]
        self._rebuild(self.highlighted)

    def show_thread_frames(self, thread_id: int, frames: list[Frame]) -> None:
        """Frames of another thread, shown under its row."""
        if frames and any(t.id == thread_id for t in self.threads):
            self.thread_frames[thread_id] = list(frames)
            self._rebuild(self.highlighted)

    def clear(self) -> None:
        """No stopped thread."""
        self.frames = []
        self.threads = []
        self.thread_frames = {}
        self.rows = []
        self.selected = None
        with self.prevent(OptionList.OptionHighlighted):
            self.clear_options()

    def _rebuild(self, highlighted: int | None) -> None:
        rows: list[Frame | Thread] = list(self.frames)
        for thread in self.threads:
            rows.append(thread)
            rows.extend(self.thread_frames.get(thread.id, []))
        self.rows = rows
        with self.prevent(OptionList.OptionHighlighted):
            self.clear_options()
            self.add_options(self._option(row) for row in rows)
            if highlighted is not None and 0 <= highlighted < len(rows):
                self.highlighted = highlighted

    def _option(self, row: Frame | Thread) -> Option:
        if isinstance(row, Thread):
            return Option(Text(row.name, style="italic"))
        indent = "" if row in self.frames else "  "
        return Option(Text.assemble(indent, (row.name, "bold"), "  ", (row.location, "dim")))

    def _select(self, index: int) -> None:
        if index == self.selected or not 0 <= index < len(self.rows):
            return
        self.selected = index
        row = self.rows[index]
        if isinstance(row, Thread):
            self.post_message(self.ThreadSelected(self, row))
        else:
            self.post_message(self.FrameSelected(self, row))
