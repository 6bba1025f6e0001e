"""Finding kernels: connection files in the runtime dir, their sidecars, liveness."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from kernel_core.errors import LlmspellError
from kernel_core.kernel.connection import KernelInfoFile, kernels_dir


class KernelNotFound(LlmspellError):
    """No kernel matches what the user named."""

    exit_status = 2


@dataclass
class KnownKernel:
    """A connection file and what its sidecar says."""

    connection_file: Path
    info: KernelInfoFile | None

    @property
    def kernel_id(self) -> str:
        if self.info:
            return self.info.kernel_id
        return self.connection_file.stem.removeprefix("kernel-")

    @property
    def name(self) -> str:
        return self.info.name if self.info else ""

    def pid_alive(self) -> bool:
        """Whether the kernel's process exists (no sidecar: unknown, assume alive)."""
        if self.info is None:
            return True
        try:
            os.kill(self.info.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def known_kernels() -> list[KnownKernel]:
    """Every connection file in the runtime dir, newest first."""
    files = [p for p in kernels_dir().glob("kernel-*.json") if not p.name.endswith(".info.json")]
    kernels = [KnownKernel(p, KernelInfoFile.read(p)) for p in files]
    kernels.sort(
        key=lambda k: k.info.started if k.info else k.connection_file.stat().st_mtime, reverse=True
    )
    return kernels


def stale_reason(kernel: KnownKernel) -> str | None:
    """Why a kernel's files are stale (None: the kernel lives).

    Only a gone process or a silent heartbeat make a kernel stale. A kernel that is busy
    (a long cell) or paused (a breakpoint) still answers its heartbeat, from a thread of
    its own; the ping is retried once with a longer wait, so a loaded machine does not
    cost a user their kernel.
    """
    from kernel_core.kernel.connection import ConnectionFileError, read_connection_file
    from kernel_core.kernel.probe import heartbeat

    if not kernel.pid_alive():
        return "process gone"
    try:
        connection = read_connection_file(kernel.connection_file)
    except ConnectionFileError:
        return "unreadable connection file"
    if heartbeat(connection, 1.0) or heartbeat(connection, 2.0):
        return None
    return "no heartbeat"


def remove_stale(kernel: KnownKernel) -> None:
    """Delete a dead kernel's files (connection file, sidecar, ipc sockets)."""
    from kernel_core.kernel.connection import read_connection_file

    with contextlib.suppress(Exception):
        connection = read_connection_file(kernel.connection_file)
        if connection.transport == "ipc":
            for channel in ("shell", "iopub", "stdin", "control", "hb"):
                with contextlib.suppress(OSError):
                    os.unlink(f"{connection.ip}-{getattr(connection, f'{channel}_port')}")
    link = kernel.info.extra.get("jupyter_link") if kernel.info else None
    if isinstance(link, str):
        from kernel_core.kernel.jupyter_link import remove_link

        remove_link(Path(link), kernel.connection_file)
    for path in (kernel.connection_file, KernelInfoFile.path_for(kernel.connection_file)):
        with contextlib.suppress(OSError):
            path.unlink()


def resolve_kernel(spec: str | None) -> Path:
    """A connection file from an id (or its prefix), a name, or a path; None = newest live."""
    if spec and (spec.endswith(".json") or "/" in spec):
        path = Path(spec).expanduser()
        if path.is_file():
            return path
        candidate = kernels_dir() / spec
        if candidate.is_file():
            return candidate
        raise KernelNotFound(f"no connection file at {spec}")
    live = [k for k in known_kernels() if k.pid_alive()]
    if not live:
        raise KernelNotFound("no running kernel; start one with 'llmspell kernel start'")
    if spec is None:
        return live[0].connection_file
    matches = [k for k in live if spec in (k.kernel_id, k.name)]
    if not matches:
        matches = [k for k in live if k.kernel_id.startswith(spec)]
    if len(matches) == 1:
        return matches[0].connection_file
    if not matches:
        names = ", ".join(f"{k.name} ({k.kernel_id[:8]})" for k in live)
        raise KernelNotFound(f"no kernel named or with id '{spec}'; running: {names}")
    raise KernelNotFound(f"'{spec}' matches several kernels; use more of the id")
