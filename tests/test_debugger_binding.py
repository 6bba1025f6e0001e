"""A breakpoint in a file that does not exist yet binds when the file is written and loaded."""

from __future__ import annotations

from pathlib import Path

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.debug_fixtures import Debugger
from tests.kernel_fixtures import kernel

__all__ = ["kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]


def test_breakpoint_in_a_file_written_later_binds_with_a_breakpoint_event(
    kernel: Kernel, tmp_path: Path
) -> None:
    _, client = kernel
    debug = Debugger(client)
    debug.start()
    module = tmp_path / "later.lua"
    reply = debug.ok("setBreakpoints", source={"path": str(module)}, breakpoints=[{"line": 2}])
    first = reply["breakpoints"][0]
    assert first["verified"] is False
    assert "binds when it loads" in first["message"]
    debug.ok("configurationDone")
    module.write_text("local M = {}\n\nfunction M.go() return 1 end\nreturn M\n")
    msg_id = debug.execute(f"package.path = '{tmp_path}/?.lua;' .. package.path\nrequire('later')")
    event = debug.wait_event("breakpoint")
    assert event["reason"] == "changed"
    bound = event["breakpoint"]
    assert bound["id"] == first["id"]
    assert bound["verified"] is True
    assert bound["line"] == 3
    stop = debug.wait_event("stopped")  # line 3 runs while the module loads
    assert stop["hitBreakpointIds"] == [first["id"]]
    debug.ok("continue", threadId=stop["threadId"])
    assert debug.shell_reply(msg_id)["status"] == "ok"
