"""The shell queue: requests waiting for the execution thread, held per client (its shell
identity) and served round-robin, so one client's thousands of requests delay another's by
at most one request each; each client's share of the queue is bounded."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from kernel_core.protocol.wire import Message

# Requests one client may have waiting; more are refused with an error reply (QueueFull).
MAX_QUEUED_PER_CLIENT = 1000


def client_of(msg: Message) -> bytes:
    """The shell identity a request came from (its routing id)."""
    return msg.identities[0] if msg.identities else b""


class FairShellQueue:
    """Per-client FIFO queues, served one request per client in turn (protocol loop only)."""

    def __init__(self, per_client: int = MAX_QUEUED_PER_CLIENT) -> None:
        self.per_client = per_client
        self._queues: dict[bytes, deque[Message]] = {}
        self._turns: deque[bytes] = deque()  # clients with waiting requests, next first
        self._nonempty = asyncio.Event()

    def put(self, msg: Message) -> bool:
        """Queue ``msg``; False when its client already has ``per_client`` waiting."""
        client = client_of(msg)
        waiting = self._queues.get(client)
        if waiting is None:
            waiting = self._queues[client] = deque()
            self._turns.append(client)
        elif len(waiting) >= self.per_client:
            return False
        waiting.append(msg)
        self._nonempty.set()
        return True

    async def get(self) -> Message:
        """The next request: the oldest of the client whose turn it is."""
        while not self._turns:
            self._nonempty.clear()
            await self._nonempty.wait()
        client = self._turns.popleft()
        waiting = self._queues[client]
        msg = waiting.popleft()
        if waiting:
            self._turns.append(client)  # back of the line
        else:
            del self._queues[client]
        return msg

    def empty(self) -> bool:
        """Whether no request is waiting."""
        return not self._turns

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def take(self, wanted: Callable[[Message], bool]) -> list[Message]:
        """Remove and return the waiting requests ``wanted`` selects (each client's in order)."""
        taken: list[Message] = []
        for client in list(self._turns):
            waiting = self._queues[client]
            kept = deque(m for m in waiting if not wanted(m))
            taken.extend(m for m in waiting if wanted(m))
            if kept:
                self._queues[client] = kept
            else:
                del self._queues[client]
                self._turns.remove(client)
        return taken
