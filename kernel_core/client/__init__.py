"""The async client used by the TUI, the line REPL, the DAP adapter and the tests."""

from __future__ import annotations

from kernel_core.client.client import KernelClient, KernelGone, KernelTimeout
from kernel_core.client.debug import DebugClient, DebugEvent, DebugRequestFailed, MessageStream

__all__ = [
    "DebugClient",
    "DebugEvent",
    "DebugRequestFailed",
    "KernelClient",
    "KernelGone",
    "KernelTimeout",
    "MessageStream",
]
