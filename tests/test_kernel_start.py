"""`llmspell kernel start`, the daemonising form: it returns once the kernel itself says it
serves (a pipe), and a kernel that dies at start is reported with its reason."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from jupyter_client.blocking.client import BlockingKernelClient

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def test_kernel_start_returns_a_kernel_that_answers_at_once(cli: Cli) -> None:
    result = cli("kernel", "start", "--name", "quick")
    assert result.returncode == 0, result.stderr
    found = re.search(
        r"kernel (\S+) \(quick\) started, pid (\d+)\nconnection file: (\S+)\n$", result.stdout
    )
    assert found, result.stdout
    client = BlockingKernelClient(connection_file=found.group(3))
    client.load_connection_file()
    client.start_channels()
    try:
        reply = client.kernel_info(reply=True, timeout=10)
        details = reply["content"]["llmspell"]
        assert (details["kernel_id"], details["pid"]) == (found.group(1), int(found.group(2)))
    finally:
        client.stop_channels()
        assert cli("kernel", "stop", "quick").returncode == 0
    assert json.loads(cli("kernel", "list", "--json").stdout) == []


def test_kernel_start_reports_a_kernel_that_dies_at_start(cli: Cli) -> None:
    # an address of no interface here (TEST-NET-3): the kernel cannot bind it
    result = cli("kernel", "start", "--transport", "tcp", "--ip", "203.0.113.7")
    assert result.returncode == 1
    assert "llmspell: the kernel exited at start (status 1)" in result.stderr
    assert "Cannot assign requested address" in result.stderr
    assert json.loads(cli("kernel", "list", "--json").stdout) == []
