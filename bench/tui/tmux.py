"""tmux for the TUI benches: a private server per run (``-L SOCKET``), no user config."""

from __future__ import annotations

import subprocess


def tmux(socket: str, *args: str) -> str:
    """Run tmux against a private server; its stdout."""
    return subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    ).stdout
