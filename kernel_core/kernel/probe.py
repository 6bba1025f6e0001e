"""Quick blocking checks of a kernel for ``kernel list``/``start``/``stop``: heartbeat and
kernel_info on the control channel, with plain ZeroMQ sockets (no asyncio, no client).

Liveness is the heartbeat's to tell: the kernel answers it from its own thread (a ZeroMQ
proxy that holds no lock Lua needs), so it answers while a cell runs for hours or a script
sits at a breakpoint. kernel_info only adds details; a kernel that does not send it in time
is still alive.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import zmq

from kernel_core.kernel.connection import ConnectionInfo
from kernel_core.protocol.errors import ProtocolError
from kernel_core.protocol.wire import Session


def heartbeat(connection: ConnectionInfo, timeout: float = 1.0) -> bool:
    """Whether the kernel echoes a heartbeat ping within ``timeout`` seconds."""
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.linger = 0
    try:
        sock.connect(connection.endpoint("hb"))
        sock.send(b"ping")
        if sock.poll(int(timeout * 1000), zmq.POLLIN):
            return bool(sock.recv() == b"ping")
        return False
    except zmq.ZMQError:
        return False
    finally:
        sock.close(linger=0)


def control_request(
    connection: ConnectionInfo, msg_type: str, content: dict[str, Any], timeout: float = 1.0
) -> dict[str, Any] | None:
    """Send one request on the control channel (served at once even while the shell is
    busy) and return its reply's content; None when no valid reply came in time."""
    session = Session(connection.key.encode(), username="llmspell-probe")
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    sock = ctx.socket(zmq.DEALER)
    sock.linger = 0
    sock.setsockopt(zmq.IDENTITY, session.session_id.encode())
    try:
        sock.connect(connection.endpoint("control"))
        request = session.message(msg_type, content)
        sock.send_multipart(session.serialize(request, []))
        deadline = time.monotonic() + timeout
        while sock.poll(max(int((deadline - time.monotonic()) * 1000), 0), zmq.POLLIN):
            with contextlib.suppress(ProtocolError):
                reply = session.deserialize(sock.recv_multipart())
                if reply.parent_header.get("msg_id") == request.msg_id:
                    return reply.content
        return None
    except zmq.ZMQError:
        return None
    finally:
        sock.close(linger=0)


def control_kernel_info(connection: ConnectionInfo, timeout: float = 1.0) -> dict[str, Any] | None:
    """The kernel_info_reply content, or None."""
    return control_request(connection, "kernel_info_request", {}, timeout)
