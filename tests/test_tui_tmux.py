"""``llmspell tui examples/quickstart.lua`` as a person uses it, in a real terminal (tmux).

The TUI runs in a detached tmux session with TERM=xterm-256color; keys go in with
``send-keys`` and the screen comes back with ``capture-pane``. Each step waits until the
screen shows what the key should cause, so a slow machine is slower, not flaky.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kernel_core.kernel.registry import known_kernels
from tests.required_tools import tmux_available

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = "examples/quickstart.lua"

pytestmark = pytest.mark.skipif(
    not tmux_available(), reason="tmux is not installed (Debian: apt-get install tmux)"
)


@dataclass
class Terminal:
    """One tmux session on a private server, running one command."""

    socket: str
    session: str = "tui"

    def tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a tmux command against this server."""
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )

    def start(self, command: list[str], size: tuple[int, int], env: dict[str, str]) -> None:
        """Start ``command`` in a detached session of ``size`` (columns, rows)."""
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        shell = f"cd {shlex.quote(str(ROOT))} && exec env {exports} {shlex.join(command)}"
        width, height = size
        result = self.tmux(
            "new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height), shell
        )
        assert result.returncode == 0, result.stderr
        # keep the pane after the command exits, so its exit is observable
        self.tmux("set-option", "-t", self.session, "remain-on-exit", "on")

    def screen(self) -> str:
        """The visible screen as text."""
        return self.tmux("capture-pane", "-p", "-t", self.session).stdout

    def press(self, *keys: str) -> None:
        """Type keys as tmux names them (F9, Escape, C-q, Down, ?)."""
        for key in keys:
            self.tmux("send-keys", "-t", self.session, key)

    def wait_for(self, seen: Callable[[str], bool], what: str, timeout: float = 30) -> str:
        """The screen once ``seen(screen)`` holds; fails naming ``what`` with the last screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if seen(screen):
                return screen
            time.sleep(0.05)
        raise AssertionError(f"the screen never showed {what}; last screen:\n{screen}")

    def exited(self) -> bool:
        """Whether the command in the pane has ended."""
        out = self.tmux("display-message", "-p", "-t", self.session, "#{pane_dead}").stdout
        return out.strip() == "1"

    def kill(self) -> None:
        """End the server (and anything still running in it)."""
        self.tmux("kill-server")


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    """A private tmux server, killed afterwards whatever happened."""
    term = Terminal(socket=f"llmspell-test-{uuid.uuid4().hex[:8]}")
    try:
        yield term
    finally:
        term.kill()


def line_of(text: str) -> int:
    """The number of the quickstart's first line containing ``text``."""
    lines = (ROOT / QUICKSTART).read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_a_person_debugs_the_quickstart_in_a_terminal(
    terminal: Terminal, size: tuple[int, int], tmp_path: Path
) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if key.startswith(("LLMSPELL_", "JUPYTER_", "IPYTHONDIR", "PATH", "HOME", "PYTHON"))
    }
    env.update(TERM="xterm-256color", LLMSPELL_STATE__PATH=str(tmp_path / "state.sqlite3"))
    terminal.start([sys.executable, "-m", "llmspell_tui", "tui", QUICKSTART], size, env)

    entry = line_of("local name = ARGS.name")
    terminal.wait_for(lambda s: f"paused at quickstart.lua:{entry}" in s, "the stop on entry")

    # F9 on the line of the first tool call: the cursor starts on the entry line
    target = line_of('local sum = Tool.execute("calculator"')
    terminal.press(*["Down"] * (target - entry), "F9")
    screen = terminal.wait_for(lambda s: "●" in s, "a breakpoint in the gutter")
    assert any("●" in line and "Tool.execute" in line for line in screen.splitlines())

    terminal.press("F5")
    screen = terminal.wait_for(
        lambda s: f"paused at quickstart.lua:{target}" in s, "the stop at the breakpoint"
    )
    assert "Hello, world!" in screen  # the script ran up to it, its output in the console

    terminal.press("F10")
    terminal.wait_for(
        lambda s: f"paused at quickstart.lua:{target + 1}" in s, "the step to the next line"
    )
    # the new local, in the variables pane (its values arrive just after the stack)
    terminal.wait_for(lambda s: "sum = {" in s, "the local the step assigned")

    terminal.press("?")
    terminal.wait_for(lambda s: "Keys (Esc closes)" in s, "the help screen")
    terminal.press("Escape")
    terminal.wait_for(lambda s: "Keys (Esc closes)" not in s, "the help screen closed")

    terminal.press("C-q")
    terminal.wait_for(lambda _: terminal.exited(), "the TUI exit", timeout=20)
    assert known_kernels() == []
