"""Starting and stopping the kernel a client command owns (``llmspell tui``, ``llmspell repl``).

The kernel gets ``JPY_PARENT_PID``, so it leaves when this process does, however that ends
(even SIGKILL); stopping it explicitly is the polite path that also removes its files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from pathlib import Path

from kernel_core.errors import LlmspellError

log = logging.getLogger(__name__)


class KernelStartError(LlmspellError):
    """The kernel process did not come up."""


async def start_kernel(
    *,
    config: str | None = None,
    profile: str | None = None,
    name: str | None = None,
    owner: str = "tui",
) -> tuple[Path, asyncio.subprocess.Process]:
    """Start a kernel owned by this process; returns its connection file and process.

    Its output goes to ``<owner>-kernel.out`` in the kernels directory.
    """
    from kernel_core.kernel.connection import kernels_dir

    # the kernel says it serves on a pipe (``--ready-fd``, as ``llmspell kernel start``
    # does): no polling of the kernels directory while the TUI draws its first frames
    read_fd, ready_fd = os.pipe()
    command = [sys.executable, "-m", "llmspell_tui", "kernel", "start", "--foreground"]
    command += ["--ready-fd", str(ready_fd)]
    for flag, value in (("--config", config), ("--profile", profile), ("--name", name)):
        if value:
            command += [flag, value]
    out = kernels_dir() / f"{owner}-kernel.out"
    env = {**os.environ, "JPY_PARENT_PID": str(os.getpid())}
    try:
        with out.open("ab") as output:  # the child keeps its own descriptor
            proc = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=output,
                start_new_session=True,
                env=env,
                pass_fds=(ready_fd,),
            )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(ready_fd)  # ours: the pipe ends (EOF) when the kernel closes or dies
    try:
        line = await asyncio.wait_for(_read_line(read_fd), 15)
    except TimeoutError:
        line = b""
    finally:
        os.close(read_fd)
    with contextlib.suppress(ValueError):
        ready = json.loads(line)
        if isinstance(ready, dict) and ready.get("connection_file"):
            return Path(ready["connection_file"]), proc
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    raise KernelStartError(f"the kernel did not start; its output is in {out}")


async def _read_line(fd: int) -> bytes:
    """The first line written to the pipe ``fd`` (b"" if it closed without one)."""
    loop = asyncio.get_running_loop()
    data = b""
    arrived = asyncio.Event()
    loop.add_reader(fd, arrived.set)
    try:
        while b"\n" not in data:
            await arrived.wait()
            arrived.clear()
            chunk = os.read(fd, 4096)
            if not chunk:
                return b""
            data += chunk
    finally:
        loop.remove_reader(fd)
    return data.split(b"\n", 1)[0]


async def stop_kernel(proc: asyncio.subprocess.Process, connection_file: Path) -> None:
    """Shut down a kernel started by :func:`start_kernel`; it must not outlive us."""
    if proc.returncode is None:
        from kernel_core.client import KernelClient

        client = KernelClient.from_file(connection_file)
        try:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.shutdown(), 5)
        finally:
            await client.close()
    try:
        await asyncio.wait_for(proc.wait(), 5)
    except TimeoutError:
        log.warning("kernel %s ignored shutdown; terminating it", proc.pid)
        proc.terminate()  # the kernel removes its files on SIGTERM
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
    if connection_file.exists():
        # it ended without removing its files (killed, or crashed): they are ours to remove
        from kernel_core.kernel.connection import KernelInfoFile
        from kernel_core.kernel.registry import KnownKernel, remove_stale

        remove_stale(KnownKernel(connection_file, KernelInfoFile.read(connection_file)))
