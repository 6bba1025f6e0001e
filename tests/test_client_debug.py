"""kernel_core.client.debug: DAP requests over a kernel's control channel, events from iopub."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kernel_core.client import DebugClient, DebugRequestFailed, KernelClient, MessageStream
from llmspell_tui.kernel_process import start_kernel, stop_kernel
from tests.debug_fixtures import marker_line
from tests.tui_fixtures import DEMO


@pytest.fixture
async def client() -> AsyncIterator[KernelClient]:
    """A client of a fresh kernel, shut down afterwards."""
    connection_file, proc = await start_kernel(owner="test")
    kernel = KernelClient.from_file(connection_file)
    try:
        await kernel.start()
        await kernel.wait_ready(15)
        yield kernel
    finally:
        await kernel.close()
        await stop_kernel(proc, connection_file)


async def test_initialize_answers_capabilities_and_publishes_initialized(
    client: KernelClient,
) -> None:
    debug = DebugClient(client)
    with MessageStream(client) as stream:
        body = await debug.request("initialize", {"clientID": "test", "adapterID": "llmspell"})
        event = await DebugClient.next_event(stream, "initialized")
    assert body["supportsConfigurationDoneRequest"] is True
    assert event.event == "initialized"


async def test_a_failed_request_raises_with_the_debuggers_message(client: KernelClient) -> None:
    debug = DebugClient(client)
    with pytest.raises(DebugRequestFailed, match="stackTrace: the script is not stopped") as info:
        await debug.request("stackTrace", {"threadId": 1})
    assert info.value.command == "stackTrace"


async def test_a_launched_script_stops_on_entry_and_at_a_breakpoint(client: KernelClient) -> None:
    debug = DebugClient(client)
    with MessageStream(client) as stream:
        await debug.request("initialize", {"clientID": "test", "adapterID": "llmspell"})
        await debug.request("launch", {"program": str(DEMO), "stopOnEntry": True})
        loop = marker_line(DEMO, "loop")
        bound = await debug.request(
            "setBreakpoints", {"source": {"path": str(DEMO)}, "breakpoints": [{"line": loop}]}
        )
        assert bound["breakpoints"][0]["verified"] is True
        await debug.request("configurationDone")
        await client.send("llmspell_run_request", {"path": str(DEMO), "args": []})
        entry = await DebugClient.next_event(stream, "stopped")
        assert entry.body["reason"] == "entry"
        await debug.request("continue", {"threadId": 1})
        hit = await DebugClient.next_event(stream, "stopped")
        assert hit.body["reason"] == "breakpoint"
        frames = (await debug.request("stackTrace", {"threadId": 1}))["stackFrames"]
        assert frames[0]["line"] == loop
        await debug.request("disconnect", {"terminateDebuggee": True})
        finished = await stream.next("status")
        while finished.content.get("execution_state") != "idle":
            finished = await stream.next("status")
