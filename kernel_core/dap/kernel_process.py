"""A kernel process the DAP adapter starts for ``launch`` and stops when it is done."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from kernel_core.errors import LlmspellError

log = logging.getLogger(__name__)

START_TIMEOUT = 30.0


class KernelStartError(LlmspellError):
    """The kernel process did not come up."""


@dataclass
class KernelProcess:
    """A kernel the adapter started: its process and connection file."""

    process: asyncio.subprocess.Process
    connection_file: Path
    log_file: Path

    @property
    def running(self) -> bool:
        """Whether the process has not exited yet."""
        return self.process.returncode is None

    async def stop(self, shutdown_sent: bool = False) -> None:
        """Wait for the process to end (it was asked to shut down), escalating to signals.

        SIGTERM lets the kernel remove its connection file; SIGKILL is the last resort and
        then the files are removed here.
        """
        proc = self.process
        if not shutdown_sent and proc.returncode is None:
            proc.terminate()
        if not await _exited(proc, 5):
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            if not await _exited(proc, 5):
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        self._remove_files()
        if proc.returncode == 0:  # a clean stop: its own log file has it all
            self.log_file.unlink(missing_ok=True)

    def _remove_files(self) -> None:
        from kernel_core.kernel.registry import KnownKernel, remove_stale

        if self.connection_file.exists():
            remove_stale(KnownKernel(self.connection_file, None))


async def start_kernel(
    *,
    cwd: str | None,
    env: dict[str, str | None],
    config_file: str | None = None,
    profile: str | None = None,
) -> KernelProcess:
    """Start ``llmspell kernel start --foreground`` in ``cwd`` with ``env`` applied.

    JPY_PARENT_PID makes the kernel exit when this process does, however it ends.
    """
    from kernel_core.kernel.connection import kernels_dir
    from kernel_core.kernel.registry import known_kernels

    environment = dict(os.environ)
    for name, value in env.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    environment["JPY_PARENT_PID"] = str(os.getpid())
    command = [sys.executable, "-m", "llmspell_tui", "kernel", "start", "--foreground"]
    if config_file:
        command += ["--config", config_file]
    if profile:
        command += ["--profile", profile]
    directory = kernels_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    log_file = directory / f"dap-kernel-{os.getpid()}.out"
    before = {k.connection_file for k in known_kernels()}
    with log_file.open("ab") as out:  # the child keeps its own descriptor
        proc = await asyncio.create_subprocess_exec(
            *command,
            cwd=cwd or None,
            env=environment,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while loop.time() < deadline:
        for kernel in known_kernels():
            if kernel.connection_file in before or kernel.info is None:
                continue
            if kernel.info.pid == proc.pid:
                return KernelProcess(proc, kernel.connection_file, log_file)
        if proc.returncode is not None:
            break
        await asyncio.sleep(0.05)
    if proc.returncode is None:
        proc.kill()
    await proc.wait()
    tail = _tail(log_file)
    raise KernelStartError(
        f"the kernel did not start (status {proc.returncode}); see {log_file}"
        + (f": {tail}" if tail else "")
    )


async def _exited(proc: asyncio.subprocess.Process, timeout: float) -> bool:
    try:
        await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        return False
    return True


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])
