"""Agents against a real OpenAI-compatible server process (tests/servers/fake_openai.py)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, CliResult, LuaWorld
from tests.servers.fake_openai import FakeOpenAI


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def world(server: FakeOpenAI, make_lua: Callable[..., LuaWorld]) -> LuaWorld:
    return make_lua(
        providers={"fake": {"base_url": server.base_url, "model": "fake-model", "timeout": 3}}
    )


def test_agent_answers_through_the_configured_server(world: LuaWorld) -> None:
    result = world.ok(
        'local a = Agent.builder():name("h"):model("fake/fake-model"):build()\n'
        'return a:execute({text = "hello there"})'
    ).value
    assert result["text"] == "echo: hello there"
    meta = result["metadata"]
    assert (meta["provider"], meta["model"]) == ("fake", "fake-model")
    assert meta["prompt_tokens"] == 2
    assert meta["token_count"] == 5


def test_request_carries_system_prompt_history_and_sampling_options(world: LuaWorld) -> None:
    text = world.ok(
        'local a = Agent.builder():name("i"):model("fake/inspect"):system_prompt("be terse")\n'
        "  :temperature(0.2):max_tokens(50):build()\n"
        'a:execute("first")\n'
        'return a:execute("second", {temperature = 0.9}).text'
    ).value
    sent = json.loads(text)
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert sent["messages"][0]["content"] == "be terse"
    assert sent["messages"][1]["content"] == "first"
    assert json.loads(sent["messages"][2]["content"])["messages"][-1]["content"] == "first"
    assert sent["messages"][3]["content"] == "second"
    assert sent["temperature"] == 0.9
    assert sent["max_tokens"] == 50
    assert sent["stream"] is False


def test_streaming_from_the_server_arrives_in_pieces(world: LuaWorld) -> None:
    value = world.ok(
        'local a = Agent.builder():name("s"):model("fake/fake-model"):build()\n'
        "local parts = {}\n"
        'local r = a:execute_streaming("one two three", {}, function(c)\n'
        "  parts[#parts + 1] = c.text end)\n"
        "return {parts, r.chunks_received, r.text, r.metadata.token_count}"
    ).value
    assert value[0] == ["echo: ", "one ", "two ", "three"]
    assert value[1] == 4
    assert value[2] == "echo: one two three"
    assert value[3] == 7


@pytest.mark.parametrize("stream", [False, True])
def test_server_tool_calls_run_through_tool_execute(world: LuaWorld, stream: bool) -> None:
    call = 'a:execute_streaming("shout it", function() end)' if stream else 'a:execute("shout it")'
    value = world.ok(
        'Tool.register("shout", function(p) return {success = true,'
        " result = string.upper(p.input)} end)\n"
        'local a = Agent.builder():name("t"):model("fake/fake-model"):tool("shout"):build()\n'
        f"local r = {call}\n"
        "return {r.text, r.metadata.tool_calls[1].name, a:get_metrics().tool_invocations}"
    ).value
    reply = value[0]
    assert reply.startswith("tool shout said: ")
    assert json.loads(reply.removeprefix("tool shout said: "))["result"] == "SHOUT IT"
    assert value[1:] == ["shout", 1]


def test_http_errors_carry_the_servers_message(world: LuaWorld) -> None:
    message = world.fails('Agent.builder():name("e"):model("fake/error-500"):build():execute("x")')
    assert message == "provider 'fake' returned HTTP 500: the fake server failed on purpose"
    assert world.ok(
        'local m = Agent.get("e"):get_metrics() return {m.requests_total, m.requests_failed}'
    ).value == [1, 1]


def test_agent_error_hook_can_retry_then_replace(world: LuaWorld) -> None:
    value = world.ok(
        "local attempts = {}\n"
        'Hook.register("AgentError", function(ctx)\n'
        "  attempts[#attempts + 1] = ctx.data.attempt\n"
        '  if ctx.data.attempt < 2 then return {type = "retry", delay_ms = 10,'
        " max_attempts = 3} end\n"
        '  return {type = "replace", data = {text = "fallback answer"}} end)\n'
        'local r = Agent.builder():name("r"):model("fake/error-500"):build():execute("x")\n'
        "return {r.text, attempts}"
    ).value
    assert value == ["fallback answer", [1, 2]]


def test_connection_refused_is_a_clear_error(make_lua: Callable[..., LuaWorld]) -> None:
    world = make_lua(providers={"dead": {"base_url": "http://127.0.0.1:9/v1", "model": "m"}})
    message = world.fails('Agent.builder():name("d"):model("dead/m"):build():execute("x")')
    assert message.startswith("cannot connect to provider 'dead' at http://127.0.0.1:9/v1/")
    assert "connection refused" in message


def test_interrupt_stops_a_script_waiting_on_a_slow_server(world: LuaWorld) -> None:
    agent = 'local a = Agent.builder():name("w"):model("fake/slow"):build()\n'
    timer = threading.Timer(0.3, world.runtime.request_abort)
    timer.start()
    started = time.perf_counter()
    run = world.run(agent + 'pcall(a.execute, a, "x") print("not reached")')
    assert time.perf_counter() - started < 2
    assert run.outcome.status == "interrupted"
    assert run.stdout == ""


def test_max_execution_time_ends_a_slow_call(world: LuaWorld) -> None:
    message = world.fails(
        'Agent.builder():name("w"):model("fake/slow"):max_execution_time(0.3):build():execute("x")'
    )
    assert "Agent 'w' timed out after 0.3s" in message


def test_api_key_comes_from_the_named_environment_variable(
    make_lua: Callable[..., LuaWorld], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeOpenAI(env={"FAKE_OPENAI_API_KEY": "sekrit"}).start()
    try:
        settings = {"base_url": fake.base_url, "model": "fake-model", "api_key_env": "MY_KEY"}
        world = make_lua(providers={"keyed": settings})
        assert "environment variable MY_KEY" in world.fails(
            'Agent.builder():name("k"):model("keyed/fake-model"):build()'
        )
        monkeypatch.setenv("MY_KEY", "wrong")
        assert "HTTP 401: Incorrect API key provided (check the API key" in make_lua(
            providers={"keyed": settings}
        ).fails('Agent.builder():name("k"):model("keyed/fake-model"):build():execute("x")')
        monkeypatch.setenv("MY_KEY", "sekrit")
        assert (
            make_lua(providers={"keyed": settings})
            .ok(
                'local a = Agent.builder():name("k"):model("keyed/fake-model"):build()\n'
                'return a:execute("x").text'
            )
            .value
            == "echo: x"
        )
    finally:
        fake.stop()


def test_llmspell_run_uses_a_provider_from_the_environment(
    server: FakeOpenAI, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    script = tmp_path / "agent.lua"
    script.write_text(
        'local a = Agent.builder():model("fake/fake-model"):build()\n'
        'print(a:execute({text = "from the cli"}).text)\n'
    )
    env = {"LLMSPELL_PROVIDERS__FAKE__BASE_URL": server.base_url, "PYTHONPATH": str(ROOT)}
    result = cli("run", str(script), env=env)
    assert result.stdout == "echo: from the cli\n", result.stderr
