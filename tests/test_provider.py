"""The Provider global, provider routing and the local provider's rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kernel_core.runtime.providers.base import ChatRequest, Completed, Message, TextDelta, ToolSpec
from kernel_core.runtime.providers.local_provider import (
    LocalProvider,
    answer,
    choose_tool_call,
    find_expression,
)
from kernel_core.runtime.providers.registry import split_model
from tests.conftest import LuaWorld

CALC = ToolSpec("calculator", "does arithmetic", {"type": "object"})
UUID = ToolSpec("uuid-generator", "makes ids", {"type": "object"})


def test_with_nothing_configured_the_local_provider_is_listed_and_available(
    lua: LuaWorld,
) -> None:
    value = lua.ok(
        "return {Provider.list(), Provider.isAvailable('local'), Provider.isAvailable('openai'),"
        " Provider.get('nope')}"
    ).value
    providers, local_ok, openai_ok = value[0], value[1], value[2]
    assert [p["name"] for p in providers] == ["builtin/local/llmspell-local"]
    assert providers[0]["enabled"] is True
    assert providers[0]["capabilities"]["supports_streaming"] is True
    assert (local_ok, openai_ok) == (True, False)
    assert len(value) == 3  # Provider.get of an unknown name is nil


def test_configured_providers_come_first_and_report_missing_settings(
    make_lua: Callable[..., LuaWorld],
) -> None:
    world = make_lua(
        providers={
            "default": "ollama",
            "ollama": {"base_url": "http://127.0.0.1:11434/v1", "model": "llama3.1:8b"},
            "openai": {"model": "gpt-4o-mini", "api_key_env": "NO_SUCH_KEY_VAR"},
        }
    )
    value = world.ok(
        "local names = {} for i, p in ipairs(Provider.list()) do names[i] = p.name end\n"
        "return {names, Provider.get('openai'),\n"
        "  Provider.getCapabilities('http/ollama/llama3.1:8b'), Provider.isAvailable('ollama')}"
    ).value
    names, openai, caps, ollama_ok = value
    assert names == [
        "http/ollama/llama3.1:8b",
        "http/openai/gpt-4o-mini",
        "builtin/local/llmspell-local",
    ]
    assert openai["enabled"] is False
    assert "no base_url configured" in openai["problem"]
    assert caps["available_models"] == ["llama3.1:8b"]
    assert ollama_ok is True


def test_a_bare_model_uses_the_default_provider(make_lua: Callable[..., LuaWorld]) -> None:
    world = make_lua(providers={"default": "offline", "offline": {"type": "local"}})
    meta = world.ok('return Agent.builder():model("tiny"):build():execute("x").metadata').value
    assert meta["provider"] == "offline"
    assert "fallback" not in meta


def test_model_strings_split_at_the_first_slash() -> None:
    assert split_model("ollama/llama3.1:8b") == ("ollama", "llama3.1:8b")
    assert split_model("openrouter/meta-llama/llama-3") == ("openrouter", "meta-llama/llama-3")
    assert split_model("gpt-4o") == (None, "gpt-4o")


def test_a_configured_http_provider_without_a_model_is_a_clear_error(
    make_lua: Callable[..., LuaWorld],
) -> None:
    world = make_lua(providers={"srv": {"base_url": "http://127.0.0.1:9/v1"}})
    assert world.fails('Agent.builder():provider("srv"):build()').startswith(
        "Model is required: name one with :model('srv/MODEL')"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what is 2 + 2?", "2 + 2"),
        ("calculate (3 + 4) * 5 please", "(3 + 4) * 5"),
        ("on 2024-01-15 we met", None),
        ("nothing here", None),
        ("2 ^ 10", "2 ^ 10"),
    ],
)
def test_local_model_finds_arithmetic_but_not_dates(text: str, expected: str | None) -> None:
    assert find_expression(text) == expected


def test_local_model_prefers_the_calculator_for_arithmetic() -> None:
    call = choose_tool_call("use uuid-generator to add 3 * 7", (UUID, CALC))
    assert call is not None
    assert (call.name, call.arguments) == (
        "calculator",
        {"operation": "evaluate", "input": "3 * 7"},
    )


def test_local_model_calls_a_mentioned_tool_with_json_or_key_value_arguments() -> None:
    json_call = choose_tool_call('use uuid-generator {"operation": "generate"}', (UUID,))
    kv_call = choose_tool_call('uuid-generator operation=generate format="hyphenated"', (UUID,))
    plain = choose_tool_call("run the uuid-generator", (UUID,))
    assert json_call is not None
    assert json_call.arguments == {"operation": "generate"}
    assert kv_call is not None
    assert kv_call.arguments == {"operation": "generate", "format": "hyphenated"}
    assert plain is not None
    assert plain.arguments == {"input": "run the uuid-generator"}
    assert choose_tool_call("just chat", (UUID,)) is None


def test_local_model_answers_from_tool_results() -> None:
    request = ChatRequest(
        "m",
        (
            Message("user", "what is 6 * 7"),
            Message("assistant", ""),
            Message(
                "tool",
                '{"success": true, "result": {"result": 42.0}}',
                tool_call_id="c1",
                name="calculator",
            ),
        ),
    )
    assert answer(request).content == "The calculator tool returned 42."


def test_local_provider_streams_in_pieces_then_completes() -> None:
    call = LocalProvider().start(
        ChatRequest("m", (Message("user", "a fairly long prompt to echo back"),)), stream=True
    )
    events = call.poll(0)
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    final = events[-1]
    assert isinstance(final, Completed)
    assert len(deltas) > 2
    assert "".join(deltas) == final.response.content
    assert final.response.usage.completion_tokens > 0


def test_a_provider_list_entry_works_as_a_table_and_as_its_name(lua: LuaWorld) -> None:
    # scripts written against LLMSpell concatenate entries and pass them where a name goes
    value = lua.ok(
        """
        local p = Provider.list()[1]
        local a = Agent.builder():name("by-entry"):provider(p):build()
        local b = Agent.create({name = "by-table", provider = p})
        return {name = p.name, text = "using " .. p, back = p .. "!", str = tostring(p),
                ok = Provider.isAvailable(p), got = Provider.get(p).name,
                caps = Provider.getCapabilities(p) ~= nil,
                reply = a:execute({text = "hi"}).text ~= nil,
                b = b:execute({text = "hi"}).text ~= nil,
                json = JSON.parse(JSON.stringify(p)).name}
        """
    ).value
    name = "builtin/local/llmspell-local"
    assert value["name"] == name
    assert value["text"] == "using " + name
    assert value["back"] == name + "!"
    assert value["str"] == name
    assert value["ok"] is True
    assert value["got"] == name
    assert value["caps"] is True
    assert value["reply"] is True
    assert value["b"] is True
    assert value["json"] == name
