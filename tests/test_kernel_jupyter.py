"""llmspell kernels as Jupyter's own tools see them: a kernel started by `jupyter console`
(through our kernelspec) keeps its log out of the console's terminal, and `jupyter console
--existing kernel-ID.json` finds a kernel that `llmspell kernel start` started."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def _console(*args: str) -> tuple[pexpect.spawn, io.StringIO]:
    transcript = io.StringIO()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "jupyter_console", *args, "--simple-prompt"],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=30,
    )
    child.logfile_read = transcript
    return child, transcript


def _talk_and_quit(child: pexpect.spawn) -> None:
    try:
        child.expect(r"In \[\d+\]: ")
        child.sendline("return 6 * 7")
        child.expect("42")
        child.expect(r"In \[\d+\]: ")
        child.sendeof()
        child.expect(r"exit \(\[y\]/n\)\?")
        child.sendline("y")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_a_kernel_started_by_jupyter_console_logs_to_its_file_not_the_terminal(cli: Cli) -> None:
    assert cli("kernel", "install", "--user").returncode == 0
    child, transcript = _console("--kernel", "llmspell")
    _talk_and_quit(child)
    assert "INFO" not in transcript.getvalue()
    assert "connection file" not in transcript.getvalue()
    logs = list(Path(os.environ["LLMSPELL_RUNTIME_DIR"]).glob("kernel-*.log"))
    assert any("starting, connection file" in log.read_text() for log in logs)
