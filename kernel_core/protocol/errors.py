"""Protocol errors; each carries the reply ``ename`` a client sees."""

from __future__ import annotations

from kernel_core.errors import LlmspellError


class ProtocolError(LlmspellError):
    """A message that cannot be served as sent."""

    ENAME = "ProtocolError"


class MalformedMessage(ProtocolError):
    """Frames that do not form a Jupyter message (missing delimiter, bad JSON, ...)."""

    ENAME = "MalformedMessage"


class BadSignature(ProtocolError):
    """The HMAC signature does not match: the message is dropped, never executed."""

    ENAME = "BadSignature"


class MessageTooLarge(ProtocolError):
    """A message larger than ``[kernel] max_message_size``."""

    ENAME = "MessageTooLarge"


class InvalidContent(ProtocolError):
    """A request whose content lacks a field or has one of the wrong type."""

    ENAME = "InvalidContent"


class QueueFull(ProtocolError):
    """A client has as many requests waiting as the kernel holds for one client."""

    ENAME = "QueueFull"
