"""Jupyter wire format: ``[ids..., <IDS|MSG>, signature, header, parent, metadata, content,
buffers...]``, signed with HMAC-SHA256 over the four JSON frames."""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from kernel_core.protocol.errors import BadSignature, MalformedMessage

DELIMITER = b"<IDS|MSG>"
PROTOCOL_VERSION = "5.3"


def new_id() -> str:
    """A fresh message or session id."""
    return uuid.uuid4().hex


def now_iso() -> str:
    """The current time as the ISO 8601 string Jupyter headers carry."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Message:
    """One Jupyter message, decoded."""

    header: dict[str, Any]
    parent_header: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    content: dict[str, Any] = field(default_factory=dict)
    buffers: list[bytes] = field(default_factory=list)
    identities: list[bytes] = field(default_factory=list)

    @property
    def msg_type(self) -> str:
        return str(self.header.get("msg_type", ""))

    @property
    def msg_id(self) -> str:
        return str(self.header.get("msg_id", ""))

    @property
    def session(self) -> str:
        return str(self.header.get("session", ""))


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


class Session:
    """Signs, serializes and parses messages for one side of a connection."""

    def __init__(self, key: bytes, *, username: str = "llmspell", session_id: str | None = None):
        self.key = key
        self.username = username
        self.session_id = session_id or new_id()
        self._auth = hmac.new(key, digestmod=hashlib.sha256) if key else None

    def sign(self, frames: list[bytes]) -> bytes:
        """The hex HMAC of the four JSON frames (empty when there is no key)."""
        if self._auth is None:
            return b""
        mac = self._auth.copy()
        for frame in frames:
            mac.update(frame)
        return mac.hexdigest().encode()

    def header(self, msg_type: str) -> dict[str, Any]:
        """A new header for ``msg_type``."""
        return {
            "msg_id": new_id(),
            "msg_type": msg_type,
            "username": self.username,
            "session": self.session_id,
            "date": now_iso(),
            "version": PROTOCOL_VERSION,
        }

    def message(
        self,
        msg_type: str,
        content: dict[str, Any],
        parent: Message | dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """Build a message replying to (or caused by) ``parent``."""
        parent_header = parent.header if isinstance(parent, Message) else (parent or {})
        return Message(
            header=self.header(msg_type),
            parent_header=dict(parent_header),
            metadata=metadata or {},
            content=content,
        )

    def serialize(self, msg: Message, identities: list[bytes] | None = None) -> list[bytes]:
        """Frames for a message, signed."""
        frames = [
            _dumps(msg.header),
            _dumps(msg.parent_header),
            _dumps(msg.metadata),
            _dumps(msg.content),
        ]
        ids = identities if identities is not None else msg.identities
        return [*ids, DELIMITER, self.sign(frames), *frames, *msg.buffers]

    def deserialize(self, frames: list[bytes]) -> Message:
        """Parse and verify frames; raises MalformedMessage or BadSignature."""
        try:
            split = frames.index(DELIMITER)
        except ValueError:
            raise MalformedMessage("no <IDS|MSG> delimiter in the message frames") from None
        identities = frames[:split]
        rest = frames[split + 1 :]
        if len(rest) < 5:
            raise MalformedMessage(
                f"a message needs signature + 4 JSON frames after the delimiter, got {len(rest)}"
            )
        signature, json_frames, buffers = rest[0], rest[1:5], rest[5:]
        if self._auth is not None:
            expected = self.sign(json_frames)
            if not hmac.compare_digest(signature, expected):
                raise BadSignature("message signature does not match the connection key")
        try:
            header, parent, metadata, content = (orjson.loads(f) for f in json_frames)
        except orjson.JSONDecodeError as exc:
            raise MalformedMessage(f"a JSON frame is not valid JSON: {exc}") from None
        for name, value in (
            ("header", header),
            ("parent_header", parent),
            ("metadata", metadata),
            ("content", content),
        ):
            if not isinstance(value, dict):
                raise MalformedMessage(f"{name} must be a JSON object")
        if not isinstance(header.get("msg_type"), str) or not header.get("msg_type"):
            raise MalformedMessage("header.msg_type is missing")
        return Message(header, parent, metadata, content, list(buffers), list(identities))


def new_key() -> bytes:
    """A random connection key."""
    return uuid.UUID(bytes=os.urandom(16)).hex.encode()
