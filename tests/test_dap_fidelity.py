"""What an editor sees through ``llmspell dap``: plain text, honest capabilities.

Driven over stdio by tests/dap_client.py, as VS Code and nvim-dap drive the adapter.
"""

from __future__ import annotations

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
