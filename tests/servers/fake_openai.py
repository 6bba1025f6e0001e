"""A real OpenAI-compatible chat-completions server for tests, run as its own process.

Run ``python -m tests.servers.fake_openai``: it binds 127.0.0.1 on a free port, prints
``PORT <n>`` on stdout and serves until its stdin closes (so it dies with the test run).
``FakeOpenAI`` starts and stops it from a fixture.

Behaviour is chosen by the request's model name:

* ``error-500`` / ``error-400``: that HTTP status with ``{"error": {"message": ...}}``.
* ``bad-json``: status 200 with a body that is not JSON.
* ``slow``: waits 5 seconds before answering.
* ``sleep-MS``: waits MS milliseconds before answering (``sleep-800``), then echoes.
* ``inspect``: the reply text is the request body as JSON (to check what a client sent).
* anything else: ``echo: <last user message>``.

When the request offers ``tools`` and the last message is the user's, the reply is a call of
the first tool (arguments ``{"operation": "evaluate", "input": <expression>}`` for
``calculator``, else ``{"input": <prompt>}``); after ``role: tool`` messages the reply is
``tool <name> said: <content>``. With ``stream: true`` the reply is server-sent events ending
in ``data: [DONE]``, text in word pieces and tool-call arguments in fragments. If the
environment variable ``FAKE_OPENAI_API_KEY`` is set, requests must carry it as a Bearer token.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODELS = ["fake-model", "inspect", "slow", "bad-json", "error-500", "error-400"]
_EXPRESSION = re.compile(r"\d+(?:\s*[-+*/]\s*\d+)+")


def _words(text: str) -> int:
    return len(text.split())


def _reply_for(body: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The reply text and tool calls for a request."""
    messages = body.get("messages") or []
    model = body.get("model")
    if model == "inspect":
        return json.dumps(body, sort_keys=True), []
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        results: list[str] = []
        for message in reversed(messages):
            if message.get("role") != "tool":
                break
            results.insert(0, f"tool {message.get('name')} said: {message.get('content')}")
        return " ".join(results), []
    prompt = str(last.get("content") or "")
    tools = body.get("tools") or []
    if tools:
        name = tools[0]["function"]["name"]
        match = _EXPRESSION.search(prompt)
        if name == "calculator" and match:
            arguments = {"operation": "evaluate", "input": match.group()}
        else:
            arguments = {"input": prompt}
        call = {
            "id": f"call_{len(messages)}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        return "", [call]
    return f"echo: {prompt}", []


class Handler(BaseHTTPRequestHandler):
    """One request of the fake server."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # keep the test output clean

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._json(
                200, {"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]}
            )
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        key = os.environ.get("FAKE_OPENAI_API_KEY")
        if key and self.headers.get("Authorization") != f"Bearer {key}":
            self._json(401, {"error": {"message": "Incorrect API key provided"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._json(400, {"error": {"message": "request body is not JSON"}})
            return
        model = body.get("model")
        if model == "error-500":
            self._json(500, {"error": {"message": "the fake server failed on purpose"}})
            return
        if model == "error-400":
            self._json(400, {"error": {"message": "max_tokens is too large"}})
            return
        if model == "bad-json":
            self._send(200, b"<html>this is not json</html>", "application/json")
            return
        if model == "slow":
            time.sleep(5)
        elif isinstance(model, str) and model.startswith("sleep-"):
            time.sleep(int(model.removeprefix("sleep-")) / 1000)  # e.g. sleep-800: 0.8 s
        text, calls = _reply_for(body)
        prompt_tokens = sum(_words(str(m.get("content") or "")) for m in body["messages"])
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": _words(text),
            "total_tokens": prompt_tokens + _words(text),
        }
        if body.get("stream"):
            self._stream(model, text, calls, usage)
            return
        message: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            message["tool_calls"] = calls
        self._json(
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if calls else "stop",
                    }
                ],
                "usage": usage,
            },
        )

    def _stream(
        self, model: Any, text: str, calls: list[dict[str, Any]], usage: dict[str, int]
    ) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

        def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> None:
            chunk = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

        self.wfile.write(b": fake server keep-alive comment\n\n")
        event({"role": "assistant"})
        for piece in re.findall(r"\S+\s*", text):
            event({"content": piece})
        for index, call in enumerate(calls):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            event(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call["id"],
                            "type": "function",
                            "function": {
                                "name": call["function"]["name"],
                                "arguments": arguments[:half],
                            },
                        }
                    ]
                }
            )
            event({"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]})
        event({}, "tool_calls" if calls else "stop")
        self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class FakeOpenAI:
    """The fake server as a child process (start/stop from a fixture)."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self._env = env or {}
        self.process: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        """Start the process and wait until it listens."""
        root = Path(__file__).resolve().parents[2]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.fake_openai"],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **self._env},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"fake OpenAI server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        """Stop the process (closing stdin asks it to exit; kill if it does not)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def main() -> None:
    """Serve on a free port until stdin closes."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # EOF: the test run is over (or died)
    server.shutdown()


if __name__ == "__main__":
    main()
