"""The Agent global with the deterministic local provider (no network)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import LuaWorld

BUILD = 'local a = Agent.builder():name("helper"):model("openai/gpt-4o-mini"):build()\n'


def test_unconfigured_provider_falls_back_to_local_and_says_who_answered(lua: LuaWorld) -> None:
    result = lua.ok(BUILD + 'return a:execute({text = "Hello! What is 2 + 2?"})').value
    assert result["text"] == 'You said: "Hello! What is 2 + 2?". 2 + 2 = 4.'
    assert result["content"] == result["response"] == result["text"]
    meta = result["metadata"]
    assert (meta["provider"], meta["model"]) == ("local", "llmspell-local")
    assert meta["requested_model"] == "openai/gpt-4o-mini"
    assert meta["token_count"] == meta["prompt_tokens"] + meta["completion_tokens"] > 0


def test_same_prompt_history_and_system_prompt_give_the_same_answer(
    make_lua: Callable[..., LuaWorld],
) -> None:
    code = """
      local a = Agent.builder():name("n"):system_prompt("be brief"):build()
      local first = a:execute("hi").text
      return {first, a:execute("what now?").text}
    """
    one, two = make_lua().ok(code).value, make_lua().ok(code).value
    assert one == two
    assert one[0] == 'You said: "hi".'
    assert one[1] == '(message 2 of our conversation) You said: "what now?".'


def test_execute_takes_a_string_prompt_with_options(lua: LuaWorld) -> None:
    result = lua.ok(BUILD + 'return a:execute("one two three four five", {max_tokens = 3})').value
    assert result["text"] == "You said:"
    assert result["metadata"]["finish_reason"] == "length"


def test_history_is_kept_trimmed_and_reset(lua: LuaWorld) -> None:
    history = lua.ok(
        'local a = Agent.builder():name("h"):max_conversation_length(4):build()\n'
        'a:execute("one") a:execute("two") a:execute("three")\n'
        "local h = a:get_history() a:reset() return {h, #a:get_history()}"
    ).value
    roles = [m["role"] for m in history[0]]
    assert roles == ["user", "assistant", "user", "assistant"]
    assert [m["content"] for m in history[0]][::2] == ["two", "three"]
    assert history[1] == 0


def test_streaming_delivers_several_chunks_that_add_up_to_the_answer(lua: LuaWorld) -> None:
    value = lua.ok(
        BUILD + "local parts = {}\n"
        'local r = a:execute_streaming("tell me something long enough", {}, function(c)\n'
        "  parts[#parts + 1] = c.text end)\n"
        'local r2 = a:invokeStream({text = "again"}, function(c) end)\n'
        "return {r, table.concat(parts), #parts, r2.chunks_received}"
    ).value
    result, joined, count, second = value
    assert result["success"] is True
    assert result["chunks_received"] == count > 2
    assert joined == result["text"]
    assert second >= 1


def test_streaming_callback_can_yield_from_a_coroutine(lua: LuaWorld) -> None:
    value = lua.ok(
        BUILD + "local co = coroutine.wrap(function()\n"
        '  a:execute_streaming("count the pieces of this",\n'
        "    function(c) coroutine.yield(c.text) end)\n"
        '  return "end" end)\n'
        "local got = {} repeat local v = co() got[#got + 1] = v until v == 'end'\n"
        "return got"
    ).value
    assert value[-1] == "end"
    assert len(value) > 2


def test_an_error_in_the_stream_callback_reaches_the_script(lua: LuaWorld) -> None:
    message = lua.fails(BUILD + 'a:execute_streaming("x y z", function(c) error("stop here") end)')
    assert "stop here" in message
    assert lua.ok("return #Agent.list()").value == 1


def test_duplicate_names_and_bad_arguments_raise_clear_errors(lua: LuaWorld) -> None:
    lua.ok(BUILD)
    assert lua.fails('Agent.builder():name("helper"):build()') == (
        "Agent instance 'helper' already exists"
    )
    assert lua.fails('Agent.get("helper"):execute({prompt_text = 1})').startswith(
        "agent:execute: the input table needs a 'text' field"
    )
    assert lua.fails('Agent.get("helper"):execute(nil)') == (
        "bad argument #1 to 'agent:execute' (table or string expected, got nil)"
    )
    assert "must be called with ':'" in lua.fails('Agent.builder().name("x")')


def test_list_get_and_destroy(lua: LuaWorld) -> None:
    value = lua.ok(
        BUILD + 'Agent.builder():name("second"):build()\n'
        "local before = {Agent.list(), Agent.list_instances(), Agent.get('helper') == a}\n"
        "a:destroy()\n"
        "return {before, Agent.list_instances(), Agent.get('helper') == nil}"
    ).value
    before, after, gone = value
    assert [e["name"] for e in before[0]] == ["helper", "second"]
    assert before[1] == ["helper", "second"]
    assert before[2] is True
    assert after == ["second"]
    assert gone is True


def test_create_and_register_take_config_tables(lua: LuaWorld) -> None:
    value = lua.ok(
        'local a = Agent.create({name = "c", model = "local/any", system_prompt = "s"})\n'
        'local n = Agent.register({name = "r", model = {provider = "local", model_id = "m",'
        " temperature = 0.5}, custom_config = {system_prompt = 'sys'}})\n"
        'return {a:execute("x").text, n, Agent.get("r"):get_config()}'
    ).value
    assert value[0] == 'You said: "x".'
    assert value[1] == "r"
    config = value[2]
    assert (config["provider"], config["model"], config["temperature"]) == ("local", "m", 0.5)
    assert config["system_prompt"] == "sys"
    assert "api_key" not in config


def test_metrics_count_requests_failures_and_memory(lua: LuaWorld) -> None:
    metrics: dict[str, Any] = lua.ok(
        BUILD + 'a:execute("one") a:pause() pcall(a.execute, a, "two") a:resume()\n'
        "return a:get_metrics()"
    ).value
    assert metrics["agent_id"] == "helper"
    assert metrics["requests_total"] == 1
    assert metrics["requests_active"] == 0
    assert metrics["memory_bytes"] == len("one") + len('You said: "one".')


def test_lifecycle_states_move_and_refuse_bad_transitions(lua: LuaWorld) -> None:
    value = lua.ok(
        BUILD + "local s = {a:get_state()} a:start() s[2] = a:get_state() a:pause()\n"
        "s[3] = a:get_state() local ok, err = pcall(a.execute, a, 'x')\n"
        "a:resume() a:set_error('boom') s[4] = a:get_state() s[5] = a:is_healthy()\n"
        "a:recover() s[6] = a:get_state() s[7] = a:get_recovery_attempts()\n"
        "return {s, err}"
    ).value
    assert value[0] == ["Ready", "Running", "Paused", "Error", False, "Ready", 1]
    assert "is paused and cannot execute; call agent:resume() first" in value[1]
    assert "cannot resume agent 'helper' in state Ready" in lua.fails(
        "Agent.get('helper'):resume()"
    )


def test_hooks_can_modify_input_and_output_and_cancel(lua: LuaWorld) -> None:
    value = lua.ok(
        BUILD + 'local h1 = Hook.register("BeforeAgentExecution", function(ctx)\n'
        '  return {type = "modified", data = {input = {text = "rewritten"}}} end)\n'
        'local h2 = Hook.register("AfterAgentExecution", function(ctx)\n'
        '  return {type = "modified", data = {output = {text = ctx.data.output.text .. "!"}}}'
        " end)\n"
        'local r = a:execute("original")\n'
        "h1:unregister() h2:unregister()\n"
        'Hook.register("BeforeAgentExecution", function() return "not today" end)\n'
        'local ok, err = pcall(a.execute, a, "x")\n'
        "return {r.text, err}"
    ).value
    assert value[0] == 'You said: "rewritten".!'
    assert "execution cancelled by hook: not today" in value[1]


def test_hook_replace_skips_the_provider(lua: LuaWorld) -> None:
    value = lua.ok(
        BUILD + 'Hook.register("BeforeAgentExecution", function()\n'
        '  return {type = "replace", data = {text = "cached"}} end)\n'
        'local r = a:execute("x") return {r.text, #a:get_history(), a:get_metrics().requests_total}'
    ).value
    assert value == ["cached", 0, 0]


def test_init_hooks_fire_when_an_agent_is_built(lua: LuaWorld) -> None:
    value = lua.ok(
        "local seen = {}\n"
        'Hook.register("BeforeAgentInit", function(ctx) seen[#seen + 1] = ctx.point end)\n'
        'Hook.register("AfterAgentInit", function(ctx)\n'
        "  seen[#seen + 1] = ctx.point .. ':' .. ctx.data.provider end)\n"
        'Agent.builder():name("x"):build() return seen'
    ).value
    assert value == ["BeforeAgentInit", "AfterAgentInit:local"]


def test_local_model_calls_a_registered_tool_it_is_allowed_to_use(lua: LuaWorld) -> None:
    value = lua.ok(
        'Tool.register("shout", {description = "upper-cases input",\n'
        "  execute = function(p) return {success = true, result = string.upper(p.text)} end})\n"
        'local a = Agent.builder():name("t"):tool("shout"):build()\n'
        'local r = a:execute("please shout text=hello")\n'
        "return {r.text, r.metadata.tool_calls, a:get_metrics().tool_invocations}"
    ).value
    assert value[0] == "The shout tool returned HELLO."
    assert value[1] == [{"name": "shout", "arguments": {"text": "hello"}, "success": True}]
    assert value[2] == 1


def test_tool_failures_are_reported_to_the_model_not_raised(lua: LuaWorld) -> None:
    value = lua.ok(
        'Tool.register("broken", function(p) error("disk on fire") end)\n'
        'local a = Agent.builder():name("t"):allow_tool("broken"):build()\n'
        'return a:execute("use broken now").text'
    ).value
    assert value.startswith("The broken tool failed:")
    assert "disk on fire" in value


def test_contexts_and_shared_memory(lua: LuaWorld) -> None:
    value = lua.ok(
        BUILD + 'local ctx = Agent.create_context({data = {city = "Paris"}})\n'
        'local child = Agent.create_child_context(ctx, "conversation", "copy")\n'
        'Agent.update_context(child, "lang", "fr")\n'
        'Agent.set_shared_memory({type = "user", id = "u1"}, "k", {1, 2})\n'
        'local r = a:execute_with_context({text = "where?"}, child)\n'
        "return {Agent.get_context_data(ctx, 'lang'), Agent.get_context_data(child, 'city'),\n"
        "  Agent.get_shared_memory({type = 'user', id = 'u1'}, 'k'), r.text}"
    ).value
    assert value[0] is None
    assert value[1] == "Paris"
    assert value[2] == [1, 2]
    assert value[3] == 'You said: "where?".'


def test_composite_agents_route_sequentially_and_by_vote(lua: LuaWorld) -> None:
    value = lua.ok(
        'Agent.builder():name("a1"):build() Agent.builder():name("a2"):build()\n'
        'Agent.create_composite("pipe", {"a1", "a2"}, "sequential")\n'
        'Agent.create_composite("vote", {"a1", "a2"}, {strategy = "vote"})\n'
        'return {Agent.get("pipe"):execute("hi").text, Agent.get("vote"):execute("yo").text,\n'
        '  Agent.get_hierarchy("pipe").children[2].name}'
    ).value
    assert value[0] == 'You said: "You said: "hi".".'
    assert value[1].endswith('You said: "yo".')
    assert value[2] == "a2"


def test_discovery_templates_and_type_info(lua: LuaWorld) -> None:
    value = lua.ok(
        'local a = Agent.create_from_template("calc", "calculator", {})\n'
        "return {Agent.discover(), Agent.get_info('llm').name, Agent.list_templates(),\n"
        "  a:has_tool('calculator'), Agent.discover_by_capability('tool_calling')}"
    ).value
    assert {"llm", "basic"} <= {d["type"] for d in value[0]}
    assert value[1] == "llm"
    assert "calculator" in value[2]
    assert value[3] is True
    assert value[4] == ["calc"]
    assert "unknown agent type 'robot'" in lua.fails("Agent.get_info('robot')")


def test_agent_state_round_trips_through_state(lua: LuaWorld) -> None:
    value = lua.ok(
        BUILD + 'a:execute("remember me") a:save_state() a:reset()\n'
        "local loaded = a:load_state()\n"
        "return {loaded, a:get_history()[1].content}"
    ).value
    assert value == [True, "remember me"]
