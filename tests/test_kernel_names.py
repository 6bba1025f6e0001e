"""`llmspell kernel start --name NAME` when a kernel of that name runs already.

Seen as a user: a second `kernel start --name work` started another 'work', and from then on
every `--connect work`, `repl --attach work` and `kernel stop work` said "'work' matches
several kernels". A name names one running kernel.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_a_second_kernel_cannot_take_a_running_kernels_name(cli: Cli) -> None:
    first = cli("kernel", "start", "--name", "work")
    assert first.returncode == 0, first.stderr
    try:
        second = cli("kernel", "start", "--name", "work")
        assert second.returncode == 2
        assert "a kernel named 'work' is already running" in second.stderr
        rows = json.loads(cli("kernel", "list", "--output", "json").stdout)
        assert [row["name"] for row in rows] == ["work"]
        assert cli("exec", "print(1)", "--connect", "work").stdout == "1\n"
        # once it is stopped, the name is free again
        assert cli("kernel", "stop", "work").returncode == 0
        again = cli("kernel", "start", "--name", "work")
        assert again.returncode == 0, again.stderr
    finally:
        cli("kernel", "stop", "--all")
