"""An exception stop carries the error-pattern database's hint, as the run's error reply does."""

from __future__ import annotations

from pathlib import Path

from tests.debug_fixtures import Debugger, dbg, debug_kernel, marker_line

__all__ = ["dbg", "debug_kernel"]

TYPO = Path(__file__).parent / "lua" / "tui" / "typo.lua"


def test_an_uncaught_error_stops_with_the_suggestion_for_its_message(dbg: Debugger) -> None:
    dbg.ok("setExceptionBreakpoints", filters=["uncaught"])
    msg_id = dbg.run_file(TYPO)
    stop = dbg.stopped()
    assert stop["reason"] == "exception"
    assert "attempt to call a nil value (field 'uper')" in stop["text"]
    assert "did you mean string.upper?" in stop["llmspell"]["suggestion"]
    assert dbg.current_line() == marker_line(TYPO, "raise")
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "error"


def test_an_error_without_a_known_pattern_stops_without_a_suggestion(dbg: Debugger) -> None:
    dbg.ok("setExceptionBreakpoints", filters=["uncaught"])
    msg_id = dbg.run_file(Path(__file__).parent / "lua" / "debug" / "errors.lua")
    stop = dbg.stopped()
    assert "bad uncaught" in stop["text"]
    assert "llmspell" not in stop
    dbg.ok("continue", threadId=1)
    assert dbg.shell_reply(msg_id)["status"] == "error"
