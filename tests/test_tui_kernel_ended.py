"""The kernel goes away under the TUI: another client stops or restarts it, or it is
killed. The screen said "paused at ..." or "running" on; now it says what happened, and
nothing offers to step a script that no longer runs. Against a real kernel, with Pilot."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable

from llmspell_tui.messages import KernelEnded, Stopped
from tests.tui_fixtures import RecordingApp, demo_app, started

__all__ = ["started"]


def llmspell(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmspell_tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def console_text(app: RecordingApp) -> str:
    return "\n".join(line.rstrip() for line in app.console_pane.log_view.text_lines)


async def test_kernel_stop_from_another_terminal_ends_the_paused_view(
    started: Callable[[RecordingApp], None],
) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)):
        started(app)
        await app.waiter.wait_for(Stopped)
        stopped = await asyncio.to_thread(llmspell, "kernel", "stop", "demo")
        assert stopped.returncode == 0, stopped.stderr
        ended = await app.waiter.wait_for(KernelEnded)
        assert ended.how == "shut down"
        assert app.status.state == "kernel shut down"
        assert app.thread_id is None
        assert not app.running
        assert "shut down by another client" in console_text(app)
        # its heartbeat stops with it: no second notice that the kernel is gone
        await asyncio.sleep(5)
        assert "stopped answering" not in console_text(app)


async def test_a_killed_kernel_is_noticed_by_its_heartbeat(
    started: Callable[[RecordingApp], None],
) -> None:
    app = demo_app()
    async with app.run_test(size=(100, 30)):
        started(app)
        await app.waiter.wait_for(Stopped)
        process = app.bridge.process
        assert process is not None
        os.kill(process.pid, signal.SIGKILL)  # says nothing on iopub
        ended = await app.waiter.wait_for(KernelEnded, timeout=30)
        assert ended.how == "gone"
        assert app.status.state == "kernel gone"
        assert app.thread_id is None
        assert "stopped answering" in console_text(app)
