"""DAP's base protocol: ``Content-Length`` framed JSON messages on a byte stream.

The reader is fed whatever chunks the stream delivers (a message may arrive a byte at a
time, or several in one read) and yields whole messages. What cannot be decoded is yielded
as a :class:`FramingError` and the reader resynchronises at the next header, so one bad
message never wedges the session.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

HEADER_END = b"\r\n\r\n"
# A header block longer than this is not a DAP header (someone is writing something else).
MAX_HEADER = 8192
# A bigger body would be a client bug or an attack; refuse it instead of buffering it.
MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class FramingError:
    """Bytes that were not a valid DAP message; ``message`` says what was wrong."""

    message: str
    seq: int | None = None
    command: str | None = None


def encode(message: dict[str, Any]) -> bytes:
    """One message with its header, ready to write."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class FrameReader:
    """Incremental decoder: ``feed`` bytes, get messages and errors in stream order.

    An adapter reads requests (``requests_only``, the default: anything else is an error
    naming what was wrong); a client reads responses and events (``requests_only=False``).
    """

    def __init__(self, *, requests_only: bool = True) -> None:
        self.requests_only = requests_only
        self._buffer = bytearray()
        self._length: int | None = None

    def feed(self, data: bytes) -> Iterator[dict[str, Any] | FramingError]:
        """Add bytes; yield every message (or error) that is now complete."""
        self._buffer += data
        while True:
            if self._length is None:
                end = self._buffer.find(HEADER_END)
                if end < 0:
                    if len(self._buffer) > MAX_HEADER:
                        self._buffer.clear()
                        yield FramingError(f"no header end within {MAX_HEADER} bytes; discarded")
                    return
                header = bytes(self._buffer[:end])
                del self._buffer[: end + len(HEADER_END)]
                length, problem = _content_length(header)
                if problem is not None:
                    yield FramingError(problem)
                    continue
                self._length = length
            assert self._length is not None
            if len(self._buffer) < self._length:
                return
            body = bytes(self._buffer[: self._length])
            del self._buffer[: self._length]
            self._length = None
            yield _decode(body, self.requests_only)

    @property
    def pending(self) -> int:
        """Bytes received that are not a whole message yet."""
        return len(self._buffer)


def _content_length(header: bytes) -> tuple[int, str | None]:
    try:
        text = header.decode("ascii")
    except UnicodeDecodeError:
        return 0, "the header is not ASCII"
    length: int | None = None
    for line in text.split("\r\n"):
        name, sep, value = line.partition(":")
        if not sep:
            return 0, f"bad header line {line!r} (expected 'Name: value')"
        if name.strip().lower() == "content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return 0, f"Content-Length is not a number: {value.strip()!r}"
    if length is None:
        return 0, "the header has no Content-Length"
    if length < 0 or length > MAX_BODY:
        return 0, f"Content-Length {length} is out of range (0..{MAX_BODY})"
    return length, None


def _decode(body: bytes, requests_only: bool) -> dict[str, Any] | FramingError:
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        return FramingError(f"the body is not valid JSON: {exc}")
    if not isinstance(message, dict):
        return FramingError(f"a message must be a JSON object, got {type(message).__name__}")
    if not requests_only:
        return message
    seq = message.get("seq")
    command = message.get("command")
    seq = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
    command = command if isinstance(command, str) else None
    if message.get("type") == "response":
        return message  # an answer to a reverse request; the adapter sends none, it drops it
    if message.get("type") != "request":
        return FramingError("only requests are accepted (type must be 'request')", seq, command)
    if seq is None:
        return FramingError("a request needs an integer seq", None, command)
    if command is None or not command:
        return FramingError("a request needs a command", seq, None)
    return message
