"""Starting and stopping the kernel a client command owns (``llmspell tui``, ``llmspell repl``).

The kernel gets ``JPY_PARENT_PID``, so it leaves when this process does, however that ends
(even SIGKILL); stopping it explicitly is the polite path that also removes its files.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from pathlib import Path

from kernel_core.client import KernelClient
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
    from kernel_core.kernel.registry import known_kernels

    before = {k.connection_file for k in known_kernels()}
    command = [sys.executable, "-m", "llmspell_tui", "kernel", "start", "--foreground"]
    for flag, value in (("--config", config), ("--profile", profile), ("--name", name)):
        if value:
            command += [flag, value]
    out = kernels_dir() / f"{owner}-kernel.out"
    env = {**os.environ, "JPY_PARENT_PID": str(os.getpid())}
    with out.open("ab") as output:  # the child keeps its own descriptor
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
            env=env,
        )
    for _ in range(300):
        for kernel in known_kernels():
            if kernel.connection_file not in before and kernel.info and kernel.info.pid == proc.pid:
                return kernel.connection_file, proc
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    if proc.returncode is None:
        proc.kill()
        await proc.wait()
    raise KernelStartError(f"the kernel did not start; its output is in {out}")


async def stop_kernel(proc: asyncio.subprocess.Process, connection_file: Path) -> None:
    """Shut down a kernel started by :func:`start_kernel`; it must not outlive us."""
    if proc.returncode is None:
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
