"""Keys as a terminal sends them, in real tmux: Alt+digits (ESC 1 ..) move between panes,
the console session types straight into the console, and lines typed fast stay apart."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kernel_core.kernel.registry import known_kernels
from tests.test_tui_tmux import Terminal, pytestmark, terminal  # noqa: F401

DEMO = "tests/lua/tui/demo.lua"


def environment(tmp_path: Path) -> dict[str, str]:
    """The test's isolated dirs, and a terminal type."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key.startswith(("LLMSPELL_", "JUPYTER_", "IPYTHONDIR", "PATH", "HOME", "PYTHON"))
    }
    env.update(TERM="xterm-256color", LLMSPELL_STATE__PATH=str(tmp_path / "state.sqlite3"))
    return env


def debug_demo(terminal: Terminal, tmp_path: Path) -> None:  # noqa: F811
    """The TUI debugging demo.lua, stopped on entry."""
    terminal.start(
        [sys.executable, "-m", "llmspell_tui", "tui", DEMO], (80, 24), environment(tmp_path)
    )
    terminal.wait_for(lambda s: "paused at demo.lua:2" in s, "the stop on entry")


def quit_tui(terminal: Terminal) -> None:  # noqa: F811
    """Ctrl+Q, and the TUI ends with no kernel left behind."""
    terminal.press("C-q")
    terminal.wait_for(lambda _: terminal.exited(), "the TUI exit", timeout=20)
    assert known_kernels() == []


def test_alt_digits_reach_the_panes_in_tmux(terminal: Terminal, tmp_path: Path) -> None:  # noqa: F811
    debug_demo(terminal, tmp_path)
    terminal.wait_for(lambda s: "▼ Locals" in s, "the entry stop's locals")
    terminal.press("M-4")  # Alt+4: the console; what is typed now is Lua to evaluate
    terminal.press("40 + 2", "Enter")
    terminal.wait_for(lambda s: "│42 " in s, "the value evaluated in the console")
    terminal.press("C-x", "n")  # Ctrl+X: back to the source, where n steps (as in pudb)
    terminal.wait_for(lambda s: "paused at demo.lua:3" in s, "the step from the source")
    terminal.press("M-2", "M-1", "n")  # Alt+2 the stack, Alt+1 the source again
    terminal.wait_for(lambda s: "paused at demo.lua:4" in s, "the step after Alt+1")
    quit_tui(terminal)


def test_alt_1_leaves_the_console_for_the_source_in_tmux(
    terminal: Terminal,  # noqa: F811
    tmp_path: Path,
) -> None:
    # in the console, ESC 1 was read as macOS's Option+1 and typed "¡" into the input
    debug_demo(terminal, tmp_path)
    terminal.press("M-4", "draft = 1")
    terminal.wait_for(lambda s: "draft = 1" in s, "the draft in the console")
    terminal.press("M-1", "n")  # Alt+1: the source, where n steps
    screen = terminal.wait_for(lambda s: "paused at demo.lua:3" in s, "the step after Alt+1")
    assert "¡" not in screen
    assert "draft = 11" not in screen
    assert "draft = 1n" not in screen
    quit_tui(terminal)


def test_a_console_session_takes_fast_typing_line_by_line_in_tmux(
    terminal: Terminal,  # noqa: F811
    tmp_path: Path,
) -> None:
    terminal.start([sys.executable, "-m", "llmspell_tui", "tui"], (80, 24), environment(tmp_path))
    terminal.wait_for(lambda s: "· idle" in s, "the console session ready")
    for attempt in range(5):
        # one send-keys: the keys arrive together, as fast typing does
        terminal.press(f"if true then x = {attempt} end", "Enter", "print(x + 100)", "Enter")
        expected = f"│{100 + attempt} "

        def printed(screen: str, expected: str = expected) -> bool:
            return expected in screen

        terminal.wait_for(printed, f"the output {expected!r}")
    screen = terminal.screen()
    assert "endprint" not in screen
    quit_tui(terminal)
