"""Starting real kernel processes for tests, through jupyter_client as any Jupyter client does."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager
from jupyter_core.utils import ensure_event_loop


def install_kernelspec() -> None:
    """Install our kernelspec into the (temp) JUPYTER_DATA_DIR with the real CLI."""
    subprocess.run(
        [sys.executable, "-m", "llmspell_tui", "kernel", "install", "--user"],
        check=True,
        capture_output=True,
    )


def start_kernel(
    extra_env: dict[str, str] | None = None,
) -> tuple[KernelManager, BlockingKernelClient]:
    """A kernel started by jupyter_client's KernelManager from our kernelspec."""
    install_kernelspec()
    km = KernelManager(kernel_name="llmspell")
    env = dict(os.environ)
    env.update(extra_env or {})
    km.start_kernel(env=env)
    client = km.blocking_client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=30)
    except RuntimeError:
        stop_kernel(km, client, now=True)
        raise
    settle_shell(client)
    return km, client


def settle_shell(client: BlockingKernelClient) -> None:
    """Read away the kernel_info replies wait_for_ready leaves on shell.

    wait_for_ready sends kernel_info again when iopub was not live yet (a loaded machine),
    and returns at the first reply: the others would be taken for the next request's.
    A kernel_info of our own, read up to its reply, leaves shell empty.
    """
    msg_id = client.kernel_info()
    while client.get_shell_msg(timeout=30)["parent_header"].get("msg_id") != msg_id:
        pass


def stop_kernel(km: KernelManager, client: BlockingKernelClient, *, now: bool = False) -> None:
    """Close the client and shut the kernel down, leaving nothing for the GC to warn about."""
    client.stop_channels()
    km.shutdown_kernel(now=now)
    km.cleanup_resources()


@pytest.fixture
def kernel(tmp_path: Path) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    """One kernel and one client; shut down afterwards."""
    km, client = start_kernel({"LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3")})
    yield km, client
    stop_kernel(km, client)


def client_thread(work: Callable[[], None]) -> threading.Thread:
    """A started thread running ``work`` (blocking client calls from a second thread).

    jupyter_client's blocking calls run on an event loop it creates for each thread and
    never closes; closing it here keeps its sockets from reaching the GC in a later test.
    """

    def run() -> None:
        try:
            work()
        finally:
            ensure_event_loop().close()
            asyncio.set_event_loop(None)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def collect(client: BlockingKernelClient, msg_id: str, timeout: float = 20) -> list[dict[str, Any]]:
    """Every iopub message with parent ``msg_id`` up to and including its idle status."""
    messages = []
    while True:
        msg = client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages


def run_cell(
    client: BlockingKernelClient, code: str, timeout: float = 20, **kwargs: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Execute and return (reply, iopub messages of this request)."""
    msg_id = client.execute(code, **kwargs)
    reply = client.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=timeout)
    return reply, collect(client, msg_id, timeout)


def outputs(messages: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """The messages that carry output, as (type, interesting content)."""
    out: list[tuple[str, Any]] = []
    for m in messages:
        kind = m["msg_type"]
        if kind == "stream":
            out.append((kind, (m["content"]["name"], m["content"]["text"])))
        elif kind in ("execute_result", "display_data"):
            out.append((kind, m["content"]["data"]))
        elif kind == "error":
            out.append((kind, m["content"]["evalue"]))
    return out


def jupyter_console(*args: str) -> tuple[pexpect.spawn, io.StringIO]:
    """`jupyter console ARGS` under pexpect, with what it printed kept in the StringIO."""
    transcript = io.StringIO()
    child = pexpect.spawn(
        sys.executable,
        ["-m", "jupyter_console", *args, "--simple-prompt"],
        env=dict(os.environ),
        encoding="utf-8",
        timeout=30,
    )
    child.logfile_read = transcript
    return child, transcript


def talk_and_quit(child: pexpect.spawn) -> None:
    """One cell (`return 6 * 7` shows 42), then quit the way a user does (EOF, confirm)."""
    try:
        child.expect(r"In \[\d+\]: ")
        child.sendline("return 6 * 7")
        child.expect("42")
        child.expect(r"In \[\d+\]: ")
        child.sendeof()
        child.expect(r"exit \(\[y\]/n\)\?")
        child.sendline("y")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
