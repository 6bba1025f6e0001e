"""The hooks pane against a real kernel: a script's hooks with their calls, failures and
circuit breakers, polled while it runs; a breaker that opens is also a notification.

Snapshots live in snapshots/test_tui_hooks/ (``--snapshot-update`` after a deliberate
change, then look at them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from kernel_core.kernel.registry import known_kernels
from llmspell_tui.bridge import Launch
from llmspell_tui.messages import HookInfo, ScriptFinished
from llmspell_tui.panes.hooks import HooksPane, duration, retry_in
from tests.tui_fixtures import TUI_LUA, RecordingApp, snapshots_in_snapshots_dir  # noqa: F401

pytestmark = pytest.mark.usefixtures("snapshots_in_snapshots_dir")

HOOKS_LUA = TUI_LUA / "hooks.lua"


def hooks_app(tmp_path: Path, theme: str = "dark") -> RecordingApp:
    """The TUI running tests/lua/tui/hooks.lua at once, breakers cooling down for 10 min."""
    config = tmp_path / "llmspell.toml"
    # a long cooldown: the breaker is still open (and its retry time stable) when we look
    config.write_text("[hooks]\nfailure_threshold = 5\ncooldown_ms = 600000\n")
    # named relative to the working directory, as a person would type it: the kernel's own
    # messages (in the console) then carry no checkout-specific path into the snapshots
    script = (
        HOOKS_LUA.relative_to(Path.cwd()) if HOOKS_LUA.is_relative_to(Path.cwd()) else HOOKS_LUA
    )
    return RecordingApp(
        Launch(script=script, stop_on_entry=False, config=str(config), name="hooks"), theme=theme
    )


def tripped(message: HooksPane.Updated) -> bool:
    """The update that shows the failing hook's breaker open."""
    return any(hook.breaker == "open" for hook in message.hooks)


def by_priority(hooks: list[HookInfo]) -> dict[str, HookInfo]:
    """The hooks keyed by their priority name."""
    return {hook.priority: hook for hook in hooks}


async def test_hooks_pane_shows_calls_failures_and_an_open_breaker_with_a_notification(
    tmp_path: Path,
) -> None:
    app = hooks_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        finished = await app.waiter.wait_for(ScriptFinished)
        assert finished.exit_code == 0
        update = await app.waiter.wait_for(HooksPane.Updated, tripped)
        await pilot.pause()
        hooks = by_priority(update.hooks)
        failing, counting = hooks["high"], hooks["low"]
        assert failing.point == counting.point == "BeforeToolExecution"
        assert failing.source.endswith("hooks.lua:4")
        assert (failing.calls, failing.failures, failing.breaker) == (5, 5, "open")
        assert "5 errors in a row" in failing.last_reason
        assert 590_000 < failing.retry_in_ms <= 600_000
        assert (counting.calls, counting.failures, counting.breaker) == (6, 0, "closed")
        shown = str(app.query_one("#hooks-body").render())
        assert (
            "● BeforeToolExecution  open · retry in 10 min\n  tests/lua/tui/hooks.lua:4 · high\n"
            in shown
        )
        assert "  5 calls · avg <1 ms · max <1 ms · 5 failed" in shown
        assert (
            "● BeforeToolExecution  closed\n  tests/lua/tui/hooks.lua:3 · low\n  6 calls" in shown
        )
        notes = [n for n in app._notifications if n.title == "Hook circuit breaker open"]
        assert len(notes) == 1
        assert (
            "BeforeToolExecution hook at tests/lua/tui/hooks.lua:4 is skipped" in notes[0].message
        )
        assert "quota service down" in notes[0].message
    assert known_kernels() == []


def test_hook_times_and_retry_delays_read_as_a_person_would_say_them() -> None:
    assert duration(0.04) == "<1 ms"
    assert duration(2.345) == "2.3 ms"
    assert duration(120.4) == "120 ms"
    assert retry_in(29_100) == "retry in 30 s"
    assert retry_in(599_000) == "retry in 10 min"
    assert retry_in(0) == "probe on next call"


def _open_breaker(
    snap_compare: Callable[..., bool], size: tuple[int, int], theme: str, tmp_path: Path
) -> bool:
    app = hooks_app(tmp_path, theme)

    async def run_before(pilot: Pilot[Any]) -> None:
        await app.waiter.wait_for(ScriptFinished)
        await app.waiter.wait_for(HooksPane.Updated, tripped)
        await pilot.pause()

    try:
        return snap_compare(app, terminal_size=size, run_before=run_before)
    finally:
        assert known_kernels() == []


def _sizes_and_themes() -> Iterator[Any]:
    for theme in ("dark", "light"):
        for size in ((80, 24), (160, 48)):
            yield pytest.param(size, theme, id=f"{size[0]}x{size[1]}-{theme}")


@pytest.mark.parametrize(("size", "theme"), list(_sizes_and_themes()))
def test_snapshot_hooks_pane_with_an_open_breaker(
    size: tuple[int, int], theme: str, snap_compare: Callable[..., bool], tmp_path: Path
) -> None:
    assert _open_breaker(snap_compare, size, theme, tmp_path)
