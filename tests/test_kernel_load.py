"""The kernel under load: one client's flood of requests, subscribers that read late, and
unauthenticated traffic. A raw ZeroMQ socket plays the misbehaving peer; jupyter_client the
ordinary client."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session

from kernel_core.kernel.connection import kernels_dir
from tests.kernel_fixtures import kernel, run_cell, start_kernel, stop_kernel

__all__ = ["kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]


def _endpoint(km: KernelManager, channel: str) -> str:
    info: dict[str, Any] = dict(km.get_connection_info())
    if info["transport"] == "ipc":
        return f"ipc://{info['ip']}-{info[f'{channel}_port']}"
    return f"tcp://{info['ip']}:{info[f'{channel}_port']}"


def _session(km: KernelManager) -> Session:
    key = km.get_connection_info()["key"]
    return Session(key=key if isinstance(key, bytes) else key.encode())


def _dealer(km: KernelManager) -> zmq.Socket[bytes]:
    sock: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(_endpoint(km, "shell"))
    return sock


def _replies(sock: zmq.Socket[bytes], session: Session, count: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while len(out) < count:
        assert sock.poll(30000), f"only {len(out)} of {count} replies"
        _, frames = session.feed_identities(sock.recv_multipart())
        out.append(session.deserialize(frames))
    return out


def test_a_flooding_client_does_not_hold_up_another_and_its_queue_is_bounded(
    kernel: Kernel,
) -> None:
    km, client = kernel
    flood, session = _dealer(km), _session(km)
    try:
        sent = 3000
        for _ in range(sent):
            session.send(flood, "execute_request", {"code": "1", "silent": False})
        reply, _ = run_cell(client, "'mine'", timeout=60)
        mine = reply["content"]["execution_count"]
        replies = _replies(flood, session, sent)
        ok = [r["content"]["execution_count"] for r in replies if r["content"]["status"] == "ok"]
        refused = [r for r in replies if r["content"]["status"] == "error"]
        # round-robin: served before the flood's last request, not after all of them
        assert mine < max(ok)
        # bounded: what did not fit was refused at once, with a reason
        assert refused
        assert {r["content"]["ename"] for r in refused} == {"QueueFull"}
        assert len(ok) + len(refused) == sent
    finally:
        flood.close()


def test_a_subscriber_that_reads_late_gets_every_message(kernel: Kernel) -> None:
    km, client = kernel
    late: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    late.linger = 0
    late.setsockopt(zmq.SUBSCRIBE, b"")
    late.connect(_endpoint(km, "iopub"))
    session = _session(km)
    try:
        assert late.poll(10000)  # its welcome: the subscription is live
        while late.poll(200):
            late.recv_multipart()
        cells = 800  # four iopub messages each, more than a default high-water mark holds
        ids = [client.execute("1", silent=False) for _ in range(cells)]
        for _ in ids:
            client.get_shell_msg(timeout=60)
        results = set()
        while late.poll(2000):
            _, frames = session.feed_identities(late.recv_multipart())
            msg = session.deserialize(frames)
            if msg["msg_type"] == "execute_result":
                results.add(msg["parent_header"]["msg_id"])
        assert results == set(ids)
    finally:
        late.close()


def _log(km: KernelManager) -> str:
    return _log_path(km).read_text()


def test_a_flood_of_bad_signatures_is_summarised_in_the_log_with_its_peer(kernel: Kernel) -> None:
    km, client = kernel
    sock = _dealer(km)
    forged = Session(key=b"not-the-key")
    try:
        bad = 5000
        for _ in range(bad):
            forged.send(sock, "execute_request", {"code": "os.exit(1)"})
        # the kernel counts them all (and is still serving)
        deadline = time.monotonic() + 60
        while True:
            details = client.kernel_info(reply=True, timeout=10)["content"]["llmspell"]
            if details["bad_signatures"] >= bad or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert details["bad_signatures"] == bad
        assert run_cell(client, "1")[0]["content"]["status"] == "ok"
    finally:
        sock.close()
    lines = [line for line in _log(km).splitlines() if "bad signature" in line]
    assert 0 < len(lines) < 50  # not one line per message
    assert all("peer" in line for line in lines)


def test_the_kernel_log_is_rotated_by_size(tmp_path: Path) -> None:
    km, client = start_kernel(
        {
            "LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3"),
            "LLMSPELL_KERNEL__LOG_MAX_SIZE": "4KiB",
        }
    )
    try:
        for i in range(150):  # each is answered, and logged as a warning
            msg = client.session.msg(f"frobnicate{i}_request", {})
            client.shell_channel.send(msg)
            assert client.get_shell_msg(timeout=10)["content"]["ename"] == "UnknownMessageType"
        log = _log_path(km)
        parts = sorted(log.parent.glob(log.name + "*"))
        assert [p.name for p in parts] == [log.name, log.name + ".1", log.name + ".2"]
        assert all(p.stat().st_size <= 4096 for p in parts)
        assert "frobnicate149_request" in log.read_text()
    finally:
        stop_kernel(km, client)


def _log_path(km: KernelManager) -> Path:
    kernel_id = Path(km.connection_file).stem.removeprefix("kernel-")
    return kernels_dir() / f"kernel-{kernel_id}.log"
