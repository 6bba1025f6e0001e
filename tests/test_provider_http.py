"""The OpenAI-compatible HTTP provider against a real server process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from kernel_core.runtime.providers.base import (
    ChatCall,
    ChatEvent,
    ChatRequest,
    Completed,
    Failed,
    Message,
    ProviderError,
    TextDelta,
    ToolSpec,
)
from kernel_core.runtime.providers.openai_http import OpenAIHttpProvider
from tests.servers.fake_openai import FakeOpenAI

CALC = ToolSpec("calculator", "arithmetic", {"type": "object", "properties": {}})


@pytest.fixture(scope="module")
def provider() -> Iterator[OpenAIHttpProvider]:
    fake = FakeOpenAI().start()
    yield OpenAIHttpProvider("fake", fake.base_url, timeout=3)
    fake.stop()


def drain(call: ChatCall, limit: float = 5) -> list[ChatEvent]:
    events: list[ChatEvent] = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        events += call.poll(0.05)
        if events and isinstance(events[-1], Completed | Failed):
            return events
    raise AssertionError(f"no completion within {limit}s: {events}")


def ask(model: str, prompt: str, **kwargs: object) -> ChatRequest:
    return ChatRequest(model, (Message("user", prompt),), **kwargs)  # type: ignore[arg-type]


def test_lists_the_servers_models(provider: OpenAIHttpProvider) -> None:
    assert "fake-model" in provider.list_models()


def test_streamed_tool_call_fragments_are_reassembled(provider: OpenAIHttpProvider) -> None:
    events = drain(provider.start(ask("fake-model", "add 2 + 3", tools=(CALC,)), stream=True))
    final = events[-1]
    assert isinstance(final, Completed)
    (call,) = final.response.tool_calls
    assert (call.name, call.arguments) == (
        "calculator",
        {"operation": "evaluate", "input": "2 + 3"},
    )
    assert final.response.finish_reason == "tool_calls"


def test_streamed_text_arrives_as_deltas_with_usage(provider: OpenAIHttpProvider) -> None:
    events = drain(provider.start(ask("fake-model", "a b c"), stream=True))
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["echo: ", "a ", "b ", "c"]
    final = events[-1]
    assert isinstance(final, Completed)
    assert final.response.usage.total_tokens == 7


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("error-400", "provider 'fake' returned HTTP 400: max_tokens is too large"),
        ("bad-json", "provider 'fake' returned invalid JSON from /chat/completions"),
    ],
)
def test_server_failures_become_clear_errors(
    provider: OpenAIHttpProvider, model: str, message: str
) -> None:
    final = drain(provider.start(ask(model, "x"), stream=False))[-1]
    assert isinstance(final, Failed)
    assert str(final.error).startswith(message)


def test_cancel_unblocks_a_request_to_a_slow_server(provider: OpenAIHttpProvider) -> None:
    before = set(threading.enumerate())
    call = provider.start(ask("slow", "x"), stream=False)
    (worker,) = set(threading.enumerate()) - before
    assert call.poll(0.2) == []
    call.cancel()
    worker.join(1.0)  # the server would answer only after 5 s
    assert not worker.is_alive()
    assert call.poll(0) == []  # a cancelled call reports nothing


def test_socket_timeout_names_the_setting(provider: OpenAIHttpProvider) -> None:
    impatient = OpenAIHttpProvider("fake", provider.base_url, timeout=0.2)
    final = drain(impatient.start(ask("slow", "x"), stream=False))[-1]
    assert isinstance(final, Failed)
    assert "did not answer within 0.2s" in str(final.error)
    assert "[providers.fake] timeout" in str(final.error)


def test_a_bad_base_url_names_the_config_key() -> None:
    with pytest.raises(ProviderError, match=r"\[providers.x\] base_url must be an http"):
        OpenAIHttpProvider("x", "localhost:8080")


def test_the_api_key_never_shows_in_repr() -> None:
    provider = OpenAIHttpProvider("x", "http://127.0.0.1:1/v1", api_key="sk-secret")
    assert "sk-secret" not in repr(provider)
