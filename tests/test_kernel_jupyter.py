"""llmspell kernels as Jupyter's own tools see them: a kernel started by `jupyter console`
(through our kernelspec) keeps its log out of the console's terminal, and `jupyter console
--existing kernel-ID.json` finds a kernel that `llmspell kernel start` started."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from jupyter_client.connect import find_connection_file
from jupyter_core.paths import jupyter_runtime_dir

from tests.conftest import CliResult
from tests.kernel_fixtures import jupyter_console, talk_and_quit

Cli = Callable[..., CliResult]


def test_a_kernel_started_by_jupyter_console_logs_to_its_file_not_the_terminal(cli: Cli) -> None:
    assert cli("kernel", "install", "--user").returncode == 0
    child, transcript = jupyter_console("--kernel", "llmspell")
    talk_and_quit(child)
    assert "INFO" not in transcript.getvalue()
    assert "connection file" not in transcript.getvalue()
    logs = list(Path(os.environ["LLMSPELL_RUNTIME_DIR"]).glob("kernel-*.log"))
    assert any("starting, connection file" in log.read_text() for log in logs)


def _started(cli: Cli) -> tuple[str, int, Path]:
    result = cli("kernel", "start", "--name", "work")
    assert result.returncode == 0, result.stderr
    found = re.search(
        r"kernel (\S+) \(work\) started, pid (\d+)\nconnection file: (\S+)", result.stdout
    )
    assert found, result.stdout
    return found.group(1), int(found.group(2)), Path(found.group(3))


def test_jupyter_console_existing_finds_a_kernel_by_its_file_name(cli: Cli) -> None:
    kernel_id, _, path = _started(cli)
    try:
        name = f"kernel-{kernel_id}.json"
        assert Path(find_connection_file(name)).resolve() == path.resolve()
        child, _ = jupyter_console("--existing", name)
        talk_and_quit(child)
    finally:
        assert cli("kernel", "stop", "work").returncode == 0
    with pytest.raises(OSError):
        find_connection_file(name)
    assert list(Path(jupyter_runtime_dir()).glob("kernel-*")) == []


def test_kernel_list_removes_the_jupyter_link_of_a_killed_kernel(cli: Cli) -> None:
    _, pid, path = _started(cli)
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    result = cli("kernel", "list")
    assert "process gone" in result.stderr
    assert not path.exists()
    assert list(Path(jupyter_runtime_dir()).glob("kernel-*")) == []
