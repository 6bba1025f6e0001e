"""Hook: registration, dispatch from Python and Lua, results, errors and circuit breakers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kernel_core.runtime.breaker import BreakerSettings, CircuitBreaker
from kernel_core.runtime.globals.hook import LuaHookDispatcher
from kernel_core.runtime.hook_points import HOOK_POINTS
from tests.conftest import LuaWorld


class FakeClock:
    """A settable monotonic clock for breaker tests."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def state_of(breaker: CircuitBreaker) -> str:
    """The state, read through a call so mypy does not narrow it across mutations."""
    return breaker.state


def dispatcher(lua: LuaWorld) -> LuaHookDispatcher:
    hooks = lua.runtime.hooks
    assert isinstance(hooks, LuaHookDispatcher)
    return hooks


# ---------------------------------------------------------------- the breaker on its own


def test_breaker_opens_after_consecutive_errors_and_probes_after_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=2, cooldown_ms=1000), clock=clock)
    breaker.record_failure("boom")
    assert state_of(breaker) == "closed"
    breaker.record_failure("boom")
    assert state_of(breaker) == "open"
    assert not breaker.allow()
    assert breaker.retry_in_ms() == pytest.approx(1000)
    clock.now += 0.4
    assert breaker.retry_in_ms() == pytest.approx(600)
    clock.now += 0.6
    assert breaker.allow()
    assert state_of(breaker) == "half_open"
    breaker.record_success(1.0)
    assert state_of(breaker) == "closed"
    assert [(t.from_state, t.to_state) for t in breaker.transitions] == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]


def test_breaker_failed_probe_reopens_for_another_cooldown() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(BreakerSettings(failure_threshold=1, cooldown_ms=500), clock=clock)
    breaker.record_failure("x")
    clock.now += 1
    assert breaker.allow()
    breaker.record_failure("still broken")
    assert state_of(breaker) == "open"
    assert "probe call failed: still broken" in breaker.transitions[-1].reason
    assert not breaker.allow()


def test_breaker_opens_on_consecutive_slow_calls_but_a_fast_call_resets_the_count() -> None:
    breaker = CircuitBreaker(BreakerSettings(slow_call_ms=10, slow_threshold=2), clock=FakeClock())
    breaker.record_success(50)
    breaker.record_success(1)
    breaker.record_success(50)
    assert state_of(breaker) == "closed"
    breaker.record_success(60)
    assert state_of(breaker) == "open"
    assert "2 slow calls in a row" in breaker.transitions[-1].reason


def test_breaker_with_zero_thresholds_never_opens() -> None:
    breaker = CircuitBreaker(
        BreakerSettings(failure_threshold=0, slow_threshold=0), clock=FakeClock()
    )
    for _ in range(20):
        breaker.record_failure("x")
        breaker.record_success(10_000)
    assert state_of(breaker) == "closed"


# ---------------------------------------------------------------- registration


def test_register_returns_a_handle_with_id_point_and_unregister(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        local h = Hook.register("BeforeToolExecution", function() end, "high")
        local id, point = h:id(), h:hook_point()
        local first = h:unregister()
        local second = h:unregister()
        local ok, err = pcall(h.id, h)
        return {id = id, point = point, first = first, second = second, err = err}
        """
    )
    value = run.value
    assert len(value["id"]) == 36
    assert value["point"] == "BeforeToolExecution"
    assert (value["first"], value["second"]) == (True, False)
    assert "was unregistered" in value["err"]


def test_unknown_hook_point_error_suggests_the_nearest_name(lua: LuaWorld) -> None:
    message = lua.fails('Hook.register("BeforeToolExecutoin", function() end)')
    assert message == (
        "Unknown hook point: BeforeToolExecutoin (did you mean 'BeforeToolExecution'?)"
    )


def test_register_checks_its_arguments_at_the_callers_line(lua: LuaWorld) -> None:
    run = lua.run('local x = 1\nHook.register("SystemStartup", "not a function")')
    assert run.outcome.failure is not None
    assert run.outcome.failure.location == ("(test)", 2)
    assert "bad argument #2 to 'Hook.register' (function expected, got string)" in run.error


def test_hook_unregister_returns_false_for_non_handles(lua: LuaWorld) -> None:
    assert lua.ok("return Hook.unregister({})").value is False
    assert lua.ok("return Hook.unregister(nil)").value is False


def test_list_has_llmspell_entry_shape_and_filters(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        Hook.register("BeforeAgentExecution", function() end, "low")
        Hook.register("AfterAgentExecution", function() end)
        return {
          all = Hook.list(),
          by_point = Hook.list("AfterAgentExecution"),
          by_priority = Hook.list({priority = "low"}),
          other_language = Hook.list({language = "javascript"}),
        }
        """
    )
    value = run.value
    assert len(value["all"]) == 2
    entry = value["by_point"][0]
    assert entry["name"].startswith("lua_")
    assert entry["priority"] == "Priority(0)"
    assert entry["priority_name"] == "normal"
    assert entry["language"] == "lua"
    assert entry["version"] == "1.0.0"
    assert entry["tags"] == ["cross-language", "lua"]
    assert entry["point"] == "AfterAgentExecution"
    assert entry["breaker"] == "closed"
    assert entry["source"] == "(test):3"
    assert [e["point"] for e in value["by_priority"]] == ["BeforeAgentExecution"]
    assert value["other_language"] == []


# ---------------------------------------------------------------- dispatch from Python


def test_hooks_run_in_priority_order_and_modified_data_feeds_the_next(lua: LuaWorld) -> None:
    lua.ok(
        """
        order = {}
        Hook.register("BeforeToolExecution", function(ctx)
          order[#order + 1] = "low"
          return {type = "modified", data = {n = ctx.data.n * 10}}
        end, "low")
        Hook.register("BeforeToolExecution", function(ctx)
          order[#order + 1] = "highest"
          return {type = "modified", data = {n = ctx.data.n + 1}}
        end, "highest")
        Hook.register("BeforeToolExecution", function(ctx)
          order[#order + 1] = "bogus priority means normal"
        end, "urgent")
        """
    )
    decision = lua.runtime.hooks.fire("BeforeToolExecution", ("tool", "calculator"), {"n": 1})
    assert decision.action == "modified"
    assert decision.data == {"n": 20}
    assert decision.hooks_run == 3
    assert lua.ok("return order").value == ["highest", "bogus priority means normal", "low"]


def test_callback_context_carries_point_component_metadata_and_data(lua: LuaWorld) -> None:
    lua.ok("Hook.register('AfterAgentExecution', function(ctx) seen = ctx end)")
    lua.runtime.hooks.fire(
        "AfterAgentExecution", ("agent", "writer"), {"text": "hi"}, {"model": "local/echo"}
    )
    seen = lua.ok("return seen").value
    assert seen["point"] == "AfterAgentExecution"
    assert seen["component_id"] == {"type": "agent", "name": "writer"}
    assert seen["language"] == "lua"
    assert seen["metadata"] == {"model": "local/echo"}
    assert seen["data"] == {"text": "hi"}
    assert len(seen["correlation_id"]) == 36


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("nil", {"action": "continue"}),
        ('"continue"', {"action": "continue"}),
        ('"skip"', {"action": "skip"}),
        ('"skipped"', {"action": "skip"}),
        ('"too expensive"', {"action": "cancel", "reason": "too expensive"}),
        ('{type = "cancel"}', {"action": "cancel", "reason": "cancelled by hook"}),
        ('{type = "cancel", reason = "no"}', {"action": "cancel", "reason": "no"}),
        ('{type = "replace", data = {v = 1}}', {"action": "replace", "data": {"v": 1}}),
        ('{type = "redirect", target = "other"}', {"action": "redirect", "target": "other"}),
        ('{type = "retry"}', {"action": "retry", "delay_ms": 1000, "max_attempts": 3}),
        (
            '{type = "retry", delay_ms = 5, max_attempts = 2}',
            {"action": "retry", "delay_ms": 5, "max_attempts": 2},
        ),
        ('{type = "skipped", reason = "cached"}', {"action": "skip", "reason": "cached"}),
        ('{type = "something else"}', {"action": "continue"}),
    ],
)
def test_hook_results_become_decisions(
    lua: LuaWorld, result: str, expected: dict[str, Any]
) -> None:
    lua.ok(f"Hook.register('BeforeToolExecution', function() return {result} end)")
    decision = lua.runtime.hooks.fire("BeforeToolExecution", ("tool", "t"), {})
    for key, value in expected.items():
        assert getattr(decision, key) == value


def test_a_stopping_result_ends_the_chain(lua: LuaWorld) -> None:
    lua.ok(
        """
        calls = 0
        Hook.register("ToolValidation", function() calls = calls + 1 return "invalid" end, "high")
        Hook.register("ToolValidation", function() calls = calls + 1 end, "low")
        """
    )
    decision = lua.runtime.hooks.fire("ToolValidation", ("tool", "t"), {})
    assert (decision.action, decision.reason) == ("cancel", "invalid")
    assert lua.ok("return calls").value == 1


def test_firing_a_point_without_hooks_continues_and_unknown_points_are_bugs(
    lua: LuaWorld,
) -> None:
    assert lua.runtime.hooks.fire("SystemStartup", ("system", "llmspell"), {}).action == "continue"
    with pytest.raises(ValueError, match="Unknown hook point: SystemStart"):
        lua.runtime.hooks.fire("SystemStart", ("system", "llmspell"), {})


def test_every_reference_hook_point_is_accepted(lua: LuaWorld) -> None:
    for point in HOOK_POINTS:
        lua.ok(f"Hook.register('{point}', function() end)")
    assert len(dispatcher(lua).stats()) == len(HOOK_POINTS)


# ---------------------------------------------------------------- dispatch from Lua


def test_lua_components_fire_hooks_through_api_fire_hook(lua: LuaWorld) -> None:
    fire = lua.runtime.api.fire_hook
    empty = fire("BeforeWorkflowStage", "workflow", "wf", lua.runtime.to_lua({"step": 1}))
    assert empty["action"] == "continue"
    lua.ok(
        """
        Hook.register("BeforeWorkflowStage", function(ctx)
          return {type = "modified", data = {step = ctx.data.step + 1, who = ctx.component_id.name}}
        end)
        """
    )
    decision = fire("BeforeWorkflowStage", "workflow", "wf", lua.runtime.to_lua({"step": 1}))
    assert decision["action"] == "modified"
    assert lua.runtime.from_lua(decision["data"]) == {"step": 2, "who": "wf"}


def test_api_fire_hook_rejects_unknown_points(lua: LuaWorld) -> None:
    fire_from_lua = lua.runtime.lua.eval(
        "function(api) local ok, err = pcall(api.fire_hook, 'Nope', 'x', 'y', {}) return err end"
    )
    assert "Unknown hook point: Nope" in fire_from_lua(lua.runtime.api)


# ---------------------------------------------------------------- errors and breakers


def test_a_failing_hook_is_reported_counted_and_the_operation_continues(lua: LuaWorld) -> None:
    run = lua.ok(
        """
        Hook.register("BeforeToolExecution", function() error("hook exploded") end, "high")
        Hook.register("BeforeToolExecution", function()
          return {type = "modified", data = {ok = true}}
        end)
        """
    )
    decision = lua.runtime.hooks.fire("BeforeToolExecution", ("tool", "t"), {})
    assert decision.action == "modified"
    assert decision.data == {"ok": True}
    assert any("hook exploded" in note for note in decision.notes)
    stderr = run.sink.text("stderr")
    assert stderr.count("\n") == 1
    assert "BeforeToolExecution hook at (test):2 failed (the operation continues)" in stderr
    assert "hook exploded" in stderr
    stats = dispatcher(lua).stats()
    assert [(s["calls"], s["errors"]) for s in stats] == [(1, 1), (1, 0)]


def test_breaker_opens_skips_the_hook_and_records_transitions(
    make_lua: Callable[..., LuaWorld],
) -> None:
    lua = make_lua(hooks={"failure_threshold": 2, "cooldown_ms": 60_000})
    lua.ok("calls = 0 Hook.register('ToolError', function() calls = calls + 1 error('bad') end)")
    hooks = dispatcher(lua)
    for _ in range(5):
        assert hooks.fire("ToolError", ("tool", "t"), {}).action == "continue"
    assert "is skipped for 60 s by its circuit breaker" in lua.sink.text("stderr")
    assert lua.ok("return calls").value == 2
    (stat,) = hooks.stats()
    assert (stat["calls"], stat["errors"], stat["skipped_while_open"]) == (2, 2, 3)
    assert stat["breaker"] == "open"
    assert 0 < stat["retry_in_ms"] <= 60_000
    events = hooks.drain_events()
    assert [(e["from"], e["to"]) for e in events] == [("closed", "open")]
    assert events[0]["point"] == "ToolError"
    assert "2 errors in a row" in events[0]["reason"]
    assert hooks.drain_events() == []


def test_open_breaker_lets_one_probe_through_after_cooldown(
    make_lua: Callable[..., LuaWorld],
) -> None:
    lua = make_lua(hooks={"failure_threshold": 1, "cooldown_ms": 1000})
    clock = FakeClock()
    lua.ok("fail = true Hook.register('AgentError', function() if fail then error('x') end end)")
    real = dispatcher(lua)
    for hook_stats in real.stats():
        hook = real.hook(hook_stats["id"])
        assert hook is not None
        hook.breaker.clock = clock
    real.fire("AgentError", ("agent", "a"), {})
    assert real.stats()[0]["breaker"] == "open"
    clock.now += 2
    lua.ok("fail = false")
    real.fire("AgentError", ("agent", "a"), {})
    assert real.stats()[0]["breaker"] == "closed"
    assert [(e["from"], e["to"]) for e in real.drain_events()] == [
        ("closed", "open"),
        ("open", "half_open"),
        ("half_open", "closed"),
    ]


def test_a_hook_that_fires_its_own_point_does_not_recurse(lua: LuaWorld) -> None:
    lua.runtime.set_global(
        "fire_again",
        lua.runtime.host_function(
            "fire_again",
            lambda: lua.runtime.hooks.fire("BeforeToolExecution", ("tool", "inner"), {}).action,
        ),
    )
    lua.ok(
        """
        calls = 0
        Hook.register('BeforeToolExecution', function() calls = calls + 1 fire_again() end)
        """
    )
    lua.runtime.hooks.fire("BeforeToolExecution", ("tool", "outer"), {})
    assert lua.ok("return calls").value == 1


def test_stats_report_timing_and_source(lua: LuaWorld) -> None:
    lua.ok("Hook.register('SystemShutdown', function() end, 'lowest')")
    for _ in range(3):
        lua.runtime.hooks.fire("SystemShutdown", ("system", "llmspell"), {})
    (stat,) = dispatcher(lua).stats()
    assert stat["calls"] == 3
    assert stat["priority"] == "lowest"
    assert stat["source"] == "(test):1"
    assert 0 <= stat["avg_ms"] <= stat["max_ms"]
    assert stat["breaker"] == "closed"
    assert stat["retry_in_ms"] == 0
