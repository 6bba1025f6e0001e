"""A provider for any OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, llama.cpp,
vLLM, LM Studio, ...), over stdlib ``http.client``.

Each request runs on a daemon worker thread that never touches Lua; it delivers events on a
:class:`ChatCall`. Cancelling the call shuts the socket down, which unblocks the worker's read
at once, so an interrupted script does not leave a request hanging for the whole timeout.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from kernel_core.runtime.providers.base import (
    ChatCall,
    ChatRequest,
    ChatResponse,
    Completed,
    Failed,
    Message,
    ProviderError,
    TextDelta,
    ToolCall,
    Usage,
)

if TYPE_CHECKING:
    import http.client

log = logging.getLogger(__name__)

MAX_ERROR_BODY = 300


@dataclass(frozen=True)
class Endpoint:
    """Where a provider lives: scheme, host, port and the path prefix (``/v1``)."""

    scheme: str
    host: str
    port: int
    prefix: str

    @classmethod
    def parse(cls, provider: str, base_url: str) -> Endpoint:
        """Parse ``base_url`` or raise a ProviderError naming the provider's config key."""
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ProviderError(
                f"[providers.{provider}] base_url must be an http:// or https:// URL such as "
                f"http://127.0.0.1:8080/v1, got {base_url!r}"
            )
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    def url(self, path: str) -> str:
        return f"{self.scheme}://{self.host}:{self.port}{self.prefix}{path}"


class OpenAIHttpProvider:
    """Chat completions from an OpenAI-compatible server."""

    kind: Literal["local", "http"] = "http"

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        api_key: str = "",
        model: str = "",
        timeout: float = 60.0,
    ) -> None:
        self.name = name
        self.base_url = base_url
        self.endpoint = Endpoint.parse(name, base_url)
        self.default_model = model
        self.timeout = timeout
        self._api_key = api_key

    def __repr__(self) -> str:
        # never show the key
        return f"OpenAIHttpProvider({self.name!r}, {self.base_url!r})"

    def start(self, request: ChatRequest, *, stream: bool) -> ChatCall:
        """Send the request on a worker thread; events arrive on the returned call."""
        call = ChatCall()
        body = encode_request(request, stream=stream)
        worker = threading.Thread(
            target=self._complete,
            args=(call, body, stream, request.timeout or self.timeout),
            name=f"llmspell-provider-{self.name}",
            daemon=True,
        )
        worker.start()
        return call

    def list_models(self, call: ChatCall | None = None) -> list[str]:
        """Model ids the server offers (``GET /models``); blocking, for worker threads."""
        status, _, body = self._request(call or ChatCall(), "GET", "/models", None)
        data = self._json(body, "/models")
        self._raise_for_status(status, data)
        items = data.get("data") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ProviderError(f"provider '{self.name}' returned a /models reply without data")
        return [str(item["id"]) for item in items if isinstance(item, dict) and "id" in item]

    # ------------------------------------------------------------------ worker thread

    def _complete(self, call: ChatCall, body: bytes, stream: bool, timeout: float) -> None:
        try:
            response = self._chat(call, body, stream, timeout)
        except ProviderError as exc:
            if not call.cancelled.is_set():
                call.put(Failed(exc))
            return
        except Exception as exc:  # the worker's boundary: report, never die silently
            log.exception("provider %s: request failed", self.name)
            call.put(Failed(ProviderError(f"provider '{self.name}' failed: {exc}")))
            return
        call.put(Completed(response))

    def _chat(self, call: ChatCall, body: bytes, stream: bool, timeout: float) -> ChatResponse:
        status, content_type, reply = self._request(
            call, "POST", "/chat/completions", body, stream=stream, timeout=timeout
        )
        if status >= 400 or not stream or "text/event-stream" not in content_type:
            raw = reply.read() if not isinstance(reply, bytes) else reply
            data = self._json(raw, "/chat/completions")
            self._raise_for_status(status, data)
            response = decode_response(self.name, data)
            if stream and response.content:
                call.put(TextDelta(response.content))  # a server that ignored stream=true
            return response
        return self._read_stream(call, reply)

    def _request(
        self,
        call: ChatCall,
        method: str,
        path: str,
        body: bytes | None,
        *,
        stream: bool = False,
        timeout: float | None = None,
    ) -> tuple[int, str, Any]:
        import http.client

        timeout = timeout or self.timeout
        endpoint = self.endpoint
        conn: http.client.HTTPConnection
        if endpoint.scheme == "https":
            import ssl

            conn = http.client.HTTPSConnection(
                endpoint.host, endpoint.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)
        headers = {"Content-Type": "application/json", "User-Agent": "llmspell"}
        if stream:
            headers["Accept"] = "text/event-stream"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        url = endpoint.url(path)
        try:
            conn.connect()
            sock = conn.sock
            call.on_cancel(lambda: sock.shutdown(socket.SHUT_RDWR))
            conn.request(method, endpoint.prefix + path, body=body, headers=headers)
            reply = conn.getresponse()
            content_type = reply.getheader("Content-Type") or ""
            if stream and reply.status < 400 and "text/event-stream" in content_type:
                return reply.status, content_type, _Lines(conn, reply)
            data = reply.read()
            conn.close()
            return reply.status, content_type, data
        except ConnectionRefusedError:
            conn.close()
            raise ProviderError(
                f"cannot connect to provider '{self.name}' at {url}: connection refused "
                f"(is the server running? check [providers.{self.name}] base_url)"
            ) from None
        except TimeoutError:
            conn.close()
            raise ProviderError(
                f"provider '{self.name}' did not answer within {timeout:g}s ({url}); raise "
                f"[providers.{self.name}] timeout or check the server"
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if call.cancelled.is_set():
                raise ProviderError("request cancelled") from None
            raise ProviderError(f"cannot reach provider '{self.name}' at {url}: {exc}") from None

    def _read_stream(self, call: ChatCall, lines: _Lines) -> ChatResponse:
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage = Usage()
        model = ""
        finish = "stop"
        try:
            for data in lines.events(self.name):
                if data == "[DONE]":
                    break
                chunk = self._json(data.encode(), "/chat/completions (stream)")
                if not isinstance(chunk, dict):
                    continue
                if "error" in chunk:
                    raise ProviderError(
                        f"provider '{self.name}' reported an error while streaming: "
                        f"{_error_message(chunk)}"
                    )
                model = str(chunk.get("model") or model)
                if isinstance(chunk.get("usage"), dict):
                    usage = _usage(chunk["usage"])
                for choice in chunk.get("choices") or []:
                    delta = choice.get("delta") or {}
                    piece = delta.get("content")
                    if piece:
                        text.append(piece)
                        call.put(TextDelta(piece))
                    for fragment in delta.get("tool_calls") or []:
                        _merge_tool_fragment(calls, fragment)
                    if choice.get("finish_reason"):
                        finish = str(choice["finish_reason"])
        finally:
            lines.close()
        tool_calls = tuple(
            ToolCall(c["id"] or f"call_{i}", c["name"], _arguments(self.name, c["name"], c["args"]))
            for i, c in sorted(calls.items())
        )
        return ChatResponse("".join(text), model, tool_calls, usage, finish)

    def _json(self, raw: bytes, path: str) -> Any:
        try:
            return json.loads(raw)
        except ValueError as exc:
            sample = raw[:MAX_ERROR_BODY].decode("utf-8", "replace")
            raise ProviderError(
                f"provider '{self.name}' returned invalid JSON from {path} ({exc}); the reply "
                f"begins: {sample!r}"
            ) from None

    def _raise_for_status(self, status: int, data: Any) -> None:
        if status < 400:
            return
        hint = ""
        if status in (401, 403):
            hint = f" (check the API key: [providers.{self.name}] api_key_env)"
        elif status == 404:
            hint = f" (check [providers.{self.name}] base_url and the model name)"
        raise ProviderError(
            f"provider '{self.name}' returned HTTP {status}: {_error_message(data)}{hint}"
        )


class _Lines:
    """A streaming reply read line by line; owns its connection."""

    def __init__(self, conn: http.client.HTTPConnection, reply: http.client.HTTPResponse) -> None:
        self._conn = conn
        self._reply = reply

    def events(self, provider: str) -> Any:
        """The ``data:`` payloads of the server-sent events, in order."""
        data: list[str] = []
        while True:
            try:
                raw = self._reply.readline()
            except TimeoutError:
                raise ProviderError(
                    f"provider '{provider}' stopped sending while streaming (timed out)"
                ) from None
            except OSError as exc:
                raise ProviderError(f"provider '{provider}' stream broke off: {exc}") from None
            if not raw:
                if data:
                    yield "\n".join(data)
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line:
                if data:
                    yield "\n".join(data)
                    data = []
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            # comments (":") and other fields (event:, id:, retry:) carry nothing we need

    def close(self) -> None:
        self._conn.close()


def encode_request(request: ChatRequest, *, stream: bool) -> bytes:
    """The JSON body of a chat-completions request."""
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [_encode_message(m) for m in request.messages],
        "stream": stream,
    }
    if stream:
        body["stream_options"] = {"include_usage": True}
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in request.tools
        ]
    return json.dumps(body).encode()


def decode_response(provider: str, data: Any) -> ChatResponse:
    """A non-streaming chat-completions reply as a ChatResponse."""
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ProviderError(
            f"provider '{provider}' returned a reply without choices: "
            f"{json.dumps(data)[:MAX_ERROR_BODY]}"
        )
    choice = choices[0]
    message = choice.get("message") or {}
    tool_calls = tuple(
        ToolCall(
            str(c.get("id") or f"call_{i}"),
            str(c["function"]["name"]),
            _arguments(provider, c["function"]["name"], c["function"].get("arguments")),
        )
        for i, c in enumerate(message.get("tool_calls") or [])
    )
    return ChatResponse(
        content=message.get("content") or "",
        model=str(data.get("model") or ""),
        tool_calls=tool_calls,
        usage=_usage(data.get("usage") or {}),
        finish_reason=str(choice.get("finish_reason") or "stop"),
    )


def _encode_message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["content"] = message.content or None
        out["tool_calls"] = [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in message.tool_calls
        ]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
        if message.name:
            out["name"] = message.name
    return out


def _merge_tool_fragment(calls: dict[int, dict[str, str]], fragment: dict[str, Any]) -> None:
    entry = calls.setdefault(int(fragment.get("index", 0)), {"id": "", "name": "", "args": ""})
    entry["id"] = fragment.get("id") or entry["id"]
    function = fragment.get("function") or {}
    entry["name"] += function.get("name") or ""
    entry["args"] += function.get("arguments") or ""


def _arguments(provider: str, tool: str, raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if raw in (None, ""):
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        raise ProviderError(
            f"provider '{provider}' asked for tool '{tool}' with arguments that are not JSON: "
            f"{str(raw)[:MAX_ERROR_BODY]!r}"
        ) from None
    if not isinstance(value, dict):
        raise ProviderError(
            f"provider '{provider}' asked for tool '{tool}' with arguments that are not a JSON "
            f"object: {str(raw)[:MAX_ERROR_BODY]!r}"
        )
    return value


def _usage(data: dict[str, Any]) -> Usage:
    return Usage(int(data.get("prompt_tokens") or 0), int(data.get("completion_tokens") or 0))


def _error_message(data: Any) -> str:
    if isinstance(data, dict):
        error = data.get("error", data.get("message"))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            return str(error)[:MAX_ERROR_BODY]
    return json.dumps(data)[:MAX_ERROR_BODY]
