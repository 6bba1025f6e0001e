"""kernel_core.client: iopub messages that queued up while the client was busy are read one
at a time, with the other tasks of its loop (a UI's keys and frames) let in between."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from kernel_core.client import KernelClient
from kernel_core.protocol.wire import Message
from llmspell_tui.kernel_process import start_kernel, stop_kernel

# a line every 5 ms for a second: each its own message (the kernel sends output every 5 ms)
PRINTS = """
for i = 1, 200 do
  print(i)
  local t = os.clock()
  while os.clock() - t < 0.005 do end
end
"""


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


async def test_a_backlog_of_output_does_not_hold_the_loop(client: KernelClient) -> None:
    received: list[Message] = []
    client.add_listener(received.append)
    done = asyncio.Event()
    request = asyncio.ensure_future(client.request("execute_request", {"code": PRINTS}))
    await asyncio.sleep(0.1)  # the request is sent
    # the loop is held while the script prints: its output queues up in the client's socket
    time.sleep(2)  # noqa: ASYNC251 -- holding the loop is the point
    backlog = len(received)

    seen: list[int] = []

    async def other_task() -> None:
        while not done.is_set():
            seen.append(len(received))
            await asyncio.sleep(0)

    def idle(msg: Message) -> None:
        if msg.msg_type == "status" and msg.content.get("execution_state") == "idle":
            done.set()

    client.add_listener(idle)
    probe = asyncio.ensure_future(other_task())
    await asyncio.wait_for(done.wait(), 30)
    await probe
    await request
    streams = sum(1 for msg in received if msg.msg_type == "stream")
    assert streams > 3, "the script's output came as too few messages to queue up"
    # the other task ran while queued messages were still being read, not only after all
    assert any(backlog < count < len(received) for count in seen), (backlog, seen[-5:])
