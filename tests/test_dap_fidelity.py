"""What an editor sees through ``llmspell dap``: plain text, honest capabilities.

Driven over stdio by tests/dap_client.py, as VS Code and nvim-dap drive the adapter.
"""

from __future__ import annotations

import subprocess
import sys

from tests.test_dap import FIXTURES, MakeClient, dap, run_to_end

__all__ = ["dap"]  # the fixture, re-exported for pytest

ESC = "\x1b"


def test_an_uncaught_error_reaches_the_editor_as_plain_text(dap: MakeClient) -> None:
    client = dap()
    client.start(FIXTURES / "errors.lua")
    client.ok("configurationDone")
    assert run_to_end(client) == 1
    stderr = client.output("stderr")
    assert "bad uncaught" in stderr
    assert ESC not in client.output(), "ANSI escapes in DAP output events"
    assert "error: " in stderr, stderr  # the report's words survive, only colour goes


def test_an_attached_session_does_not_advertise_the_restart_it_refuses(dap: MakeClient) -> None:
    started = subprocess.run(
        [sys.executable, "-m", "llmspell_tui", "kernel", "start", "--name", "dapcaps"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    try:
        client = dap()
        caps = client.ok("initialize", {"adapterID": "llmspell"})
        assert caps["supportsRestartRequest"] is True  # nothing launched or attached yet
        client.ok("attach", {"kernel": "dapcaps"})
        client.event("initialized")
        changed = client.event("capabilities")["body"]["capabilities"]
        assert changed["supportsRestartRequest"] is False
        assert "launched" in client.request("restart")["message"]
        client.ok("disconnect", {"terminateDebuggee": False})
        assert client.process.wait(15) == 0
    finally:
        subprocess.run(
            [sys.executable, "-m", "llmspell_tui", "kernel", "stop", "dapcaps"],
            capture_output=True,
            timeout=30,
            check=False,
        )


def test_a_launched_session_restarts_as_advertised(dap: MakeClient) -> None:
    client = dap()
    caps = client.start(FIXTURES / "session.lua")
    assert caps["supportsRestartRequest"] is True
    client.ok("configurationDone")
    assert run_to_end(client) == 0
    client.ok("restart", timeout=40)
    assert run_to_end(client) == 0
    assert not [
        e for e in client.events("capabilities") if "supportsRestartRequest" in e["body"]
    ], "a launched session keeps its restart"
