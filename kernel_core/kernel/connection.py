"""Connection files: the standard Jupyter JSON, mode 0600, in a 0700 runtime directory.

Beside each ``kernel-<id>.json`` the kernel writes ``kernel-<id>.info.json`` (pid, name,
start time) so ``llmspell kernel list`` can tell live kernels from stale files without
adding non-standard keys to the file Jupyter clients read.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kernel_core.errors import LlmspellError
from kernel_core.paths import ensure_runtime_dir

CHANNELS = ("shell", "iopub", "stdin", "control", "hb")


class ConnectionFileError(LlmspellError):
    """A connection file is missing or unreadable."""

    exit_status = 2


@dataclass
class ConnectionInfo:
    """What a client needs to reach a kernel."""

    transport: str
    ip: str
    shell_port: int
    iopub_port: int
    stdin_port: int
    control_port: int
    hb_port: int
    key: str
    signature_scheme: str = "hmac-sha256"
    kernel_name: str = "llmspell"

    def endpoint(self, channel: str) -> str:
        """The ZeroMQ endpoint of a channel."""
        port = getattr(self, f"{channel}_port")
        if self.transport == "ipc":
            return f"ipc://{self.ip}-{port}"
        return f"tcp://{self.ip}:{port}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectionInfo:
        try:
            return cls(
                transport=str(data.get("transport", "tcp")),
                ip=str(data["ip"]),
                shell_port=int(data["shell_port"]),
                iopub_port=int(data["iopub_port"]),
                stdin_port=int(data["stdin_port"]),
                control_port=int(data["control_port"]),
                hb_port=int(data["hb_port"]),
                key=str(data.get("key", "")),
                signature_scheme=str(data.get("signature_scheme", "hmac-sha256")),
                kernel_name=str(data.get("kernel_name", "llmspell")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConnectionFileError(f"connection file lacks a valid field: {exc}") from None

    def write(self, path: Path) -> None:
        """Write atomically with mode 0600."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(self.to_dict(), fh, indent=1)
        os.replace(tmp, path)


def read_connection_file(path: Path) -> ConnectionInfo:
    """Load a connection file; a clear error when it is missing or broken."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConnectionFileError(f"connection file not found: {path}") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConnectionFileError(f"cannot read connection file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConnectionFileError(f"connection file {path} is not a JSON object")
    return ConnectionInfo.from_dict(data)


def kernels_dir() -> Path:
    """The directory holding connection files (created 0700; an unsafe one is refused)."""
    return ensure_runtime_dir()


@dataclass
class KernelInfoFile:
    """The sidecar describing a kernel process."""

    kernel_id: str
    name: str
    pid: int
    started: float
    transport: str
    connection_file: str
    log_file: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def path_for(connection_file: Path) -> Path:
        return connection_file.with_name(connection_file.stem + ".info.json")

    def write(self) -> None:
        path = self.path_for(Path(self.connection_file))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(asdict(self), fh)

    @classmethod
    def read(cls, connection_file: Path) -> KernelInfoFile | None:
        try:
            data = json.loads(cls.path_for(connection_file).read_text())
            return cls(**data)
        except (OSError, json.JSONDecodeError, TypeError):
            return None


def new_kernel_id() -> str:
    """A fresh kernel id."""
    return str(uuid.uuid4())
