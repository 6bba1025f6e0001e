"""Event: publish/subscribe with glob patterns, timeouts, other threads, interrupts."""

from __future__ import annotations

import threading
import time

from kernel_core.runtime.globals.event import event_bus
from tests.conftest import LuaWorld


def test_subscriber_receives_matching_events_with_reference_fields(lua: LuaWorld) -> None:
    event = lua.ok(
        """
        local sub = Event.subscribe("user.*")
        assert(Event.publish("system.boot", {}) == true)
        Event.publish("user.login", {name = "ada", roles = {"admin", "dev"}},
          {correlation_id = "c-1"})
        return Event.receive(sub, 100)
        """
    ).value
    assert event["event_type"] == "user.login"
    assert event["data"] == {"name": "ada", "roles": ["admin", "dev"]}
    assert event["correlation_id"] == "c-1"
    assert event["language"] == "Lua"
    assert event["serialization_version"] == "1.0"
    assert event["sequence"] == 2
    assert event["timestamp"].endswith("Z")
    assert "T" in event["timestamp"]
    assert len(event["id"]) == 36


def test_receive_returns_nil_after_its_timeout(lua: LuaWorld) -> None:
    started = time.perf_counter()
    run = lua.ok("local s = Event.subscribe('x.*') return Event.receive(s, 120) == nil")
    elapsed = time.perf_counter() - started
    assert run.value is True
    assert 0.1 <= elapsed < 1.0


def test_events_published_from_another_thread_wake_a_waiting_script(lua: LuaWorld) -> None:
    lua.ok("sub = Event.subscribe('kernel.*')")
    bus = event_bus(lua.runtime)
    timer = threading.Timer(0.1, bus.publish, ("kernel.ping", {"n": 7}))
    timer.start()
    started = time.perf_counter()
    value = lua.ok("return Event.receive(sub, 3000).data.n").value
    timer.join()
    assert value == 7
    assert time.perf_counter() - started < 2


def test_interrupt_stops_a_script_waiting_in_receive(lua: LuaWorld) -> None:
    timer = threading.Timer(0.1, lua.runtime.request_abort, ("interrupt", "stop"))
    timer.start()
    started = time.perf_counter()
    run = lua.run("local s = Event.subscribe('never') Event.receive(s, 30000)")
    timer.join()
    assert run.outcome.status == "interrupted"
    assert time.perf_counter() - started < 2


def test_unsubscribe_list_and_stats(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local a = Event.subscribe("a.*")
        local b = Event.subscribe("b.?")
        Event.publish("a.one", 1)
        Event.publish("b.x", 2)
        Event.publish("b.xy", 3)
        local before = Event.list_subscriptions()
        local stats = Event.get_stats()
        return {
          before = #before, pattern = before[1].pattern, language = before[1].language,
          stats = stats, first = Event.unsubscribe(a), again = Event.unsubscribe(a),
          after = #Event.list_subscriptions(),
        }
        """
    ).value
    assert (value["before"], value["after"]) == (2, 1)
    assert (value["pattern"], value["language"]) == ("a.*", "lua")
    assert (value["first"], value["again"]) == (True, False)
    stats = value["stats"]
    assert stats["total_published"] == 3
    assert stats["event_bus_stats"]["events_processed"] == 3
    assert stats["event_bus_stats"]["buffer_size"] == 2
    assert stats["bridge_stats"] == {
        "active_subscriptions": 2,
        "subscriptions_by_language": {"lua": 2},
    }


def test_receive_on_an_unknown_subscription_raises_at_the_callers_line(lua: LuaWorld) -> None:
    run = lua.run("local x = 1\nEvent.receive('nope', 10)")
    assert run.outcome.failure is not None
    assert run.outcome.failure.location == ("(test)", 2)
    assert "Event.receive: unknown subscription 'nope'" in run.error


def test_expired_events_are_not_delivered(lua: LuaWorld) -> None:
    value = lua.ok(
        """
        local s = Event.subscribe("t")
        Event.publish("t", "old", {ttl_seconds = 0.05})
        Event.publish("t", "fresh")
        local t0 = os.clock()
        local deadline = os.time() + 1
        repeat until os.clock() - t0 > 0.1 or os.time() > deadline
        return Event.receive(s, 10).data
        """
    ).value
    assert value == "fresh"


def test_functions_cannot_be_published(lua: LuaWorld) -> None:
    assert "cannot convert a function" in lua.fails("Event.publish('x', {f = print})")
