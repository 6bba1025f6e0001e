"""Shared pieces of the kernel benchmarks: an isolated environment, the two kernels under
test, a lean protocol probe, statistics and JSON-line output.

Both kernels are driven by the same client code in the same run, so the client's own cost
is the same on both sides of every ratio.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq

from kernel_core.protocol.wire import Message, Session

ROOT = Path(__file__).resolve().parents[2]
PYCACHE = str(Path(tempfile.gettempdir()) / "kbench-pycache")

# The cells each kernel runs for the same work.
TRIVIAL_CELL = {"llmspell": "1", "ipykernel": "1"}
PRINT_CELL = {
    "llmspell": 'for i = 1, {n} do print("line " .. i) end',
    "ipykernel": 'for i in range(1, {n} + 1): print(f"line {{i}}")',
}
KERNELSPECS = {"llmspell": "llmspell", "ipykernel": "python3"}


def emit(record: dict[str, Any]) -> None:
    """Print one result as a JSON line."""
    print(json.dumps(record), flush=True)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    from importlib.metadata import version

    load = os.getloadavg()
    return {
        "bench": "machine",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_1m": round(load[0], 2),
        "pyzmq": zmq.__version__,
        "libzmq": zmq.zmq_version(),
        "ipykernel": version("ipykernel"),
        "jupyter_client": version("jupyter_client"),
    }


def median(values: list[float]) -> float:
    """The median, rounded for display."""
    return round(statistics.median(values), 3)


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of already sorted values."""
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


@contextmanager
def isolated_env() -> Iterator[Path]:
    """Point llmspell's and Jupyter's dirs at a temp dir and install our kernelspec there."""
    base = Path(tempfile.mkdtemp(prefix="kbench-"))
    saved = dict(os.environ)
    try:
        for kind in ("CONFIG", "DATA", "RUNTIME"):
            path = base / kind.lower()
            path.mkdir(mode=0o700)
            os.environ[f"LLMSPELL_{kind}_DIR"] = str(path)
        for name in ("RUNTIME", "DATA", "CONFIG"):
            os.environ[f"JUPYTER_{name}_DIR"] = str(base / f"jupyter-{name.lower()}")
        os.environ["IPYTHONDIR"] = str(base / "ipython")
        os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
        # Installed packages have their bytecode compiled; a dev shell may forbid writing it
        # (PYTHONDONTWRITEBYTECODE), which would make every spawn recompile every module.
        # A cache prefix outside the source trees gives both kernels the installed state.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = PYCACHE
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), saved.get("PYTHONPATH", "")) if p
        )
        subprocess.run(
            [sys.executable, "-m", "llmspell_tui", "kernel", "install", "--user"],
            check=True,
            capture_output=True,
        )
        yield base
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(base, ignore_errors=True)


def rss_kib(pid: int) -> int:
    """Resident set size of a process, KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def endpoint(info: dict[str, Any], channel: str) -> str:
    """The ZeroMQ endpoint of a channel in a connection-file dict."""
    port = info[f"{channel}_port"]
    if info.get("transport", "tcp") == "ipc":
        return f"ipc://{info['ip']}-{port}"
    return f"tcp://{info['ip']}:{port}"


@dataclass
class Probe:
    """A minimal Jupyter client: one shell DEALER and optionally one iopub SUB."""

    ctx: zmq.Context[zmq.Socket[bytes]]
    session: Session
    shell: zmq.Socket[bytes]
    iopub: zmq.Socket[bytes] | None

    @classmethod
    def connect(cls, info: dict[str, Any], *, iopub: bool = True) -> Probe:
        """Connect to the kernel described by a connection-file dict.

        Sockets retry a refused connection every millisecond (ZeroMQ's default is 100 ms),
        so a kernel that is still binding is seen as soon as it is there.
        """
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        ctx.setsockopt(zmq.RECONNECT_IVL, 1)
        session = Session(str(info["key"]).encode(), username="bench")
        shell = ctx.socket(zmq.DEALER)
        shell.linger = 0
        shell.connect(endpoint(info, "shell"))
        sub = None
        if iopub:
            sub = ctx.socket(zmq.SUB)
            sub.linger = 0
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            sub.connect(endpoint(info, "iopub"))
        return cls(ctx, session, shell, sub)

    def send(self, msg_type: str, content: dict[str, Any]) -> Message:
        """Send a shell request; returns it (its msg_id names the reply)."""
        msg = self.session.message(msg_type, content)
        self.shell.send_multipart(self.session.serialize(msg, []))
        return msg

    def reply_to(self, msg: Message, timeout: float = 60.0) -> Message:
        """Wait for the shell reply to ``msg``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.shell.poll(int(left * 1000)):
                raise TimeoutError(f"no reply to {msg.msg_type} within {timeout}s")
            reply = self.session.deserialize(self.shell.recv_multipart())
            if reply.parent_header.get("msg_id") == msg.msg_id:
                return reply

    def wait_idle(self, msg: Message, timeout: float = 60.0) -> list[Message]:
        """Every iopub message caused by ``msg``, up to its idle status."""
        assert self.iopub is not None
        seen: list[Message] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.iopub.poll(int(left * 1000)):
                raise TimeoutError(f"no idle status for {msg.msg_type} within {timeout}s")
            m = self.session.deserialize(self.iopub.recv_multipart())
            if m.parent_header.get("msg_id") != msg.msg_id:
                continue
            seen.append(m)
            if m.msg_type == "status" and m.content.get("execution_state") == "idle":
                return seen

    def execute(self, code: str) -> dict[str, Any]:
        """The content of an execute_request for ``code``, as Jupyter clients send it."""
        del self
        return {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        }

    def close(self) -> None:
        """Close the sockets."""
        self.ctx.destroy(linger=0)


class Spawned:
    """A kernel process started the way a user would (KernelManager or the CLI)."""

    def __init__(self, kind: str, how: str, transport: str = "tcp") -> None:
        self.kind, self.how, self.transport = kind, how, transport
        self.km: Any = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}
        self.conn_file: Path | None = None

    def start(self) -> None:
        """Spawn the process and learn its connection info (returns as soon as it is known)."""
        if self.how == "km":
            from jupyter_client.manager import KernelManager

            self.km = KernelManager(kernel_name=KERNELSPECS[self.kind], transport=self.transport)
            self.km.start_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.info = dict(self.km.get_connection_info(session=False))
            self.info["key"] = (
                self.info["key"].decode()
                if isinstance(self.info["key"], bytes)
                else self.info["key"]
            )
            return
        if self.kind == "llmspell":
            command = [sys.executable, "-m", "llmspell_tui", "kernel", "start", "--foreground"]
            before = set(Path(os.environ["LLMSPELL_RUNTIME_DIR"]).glob("kernel-*.json"))
        else:
            runtime = Path(os.environ["JUPYTER_RUNTIME_DIR"])
            runtime.mkdir(parents=True, exist_ok=True)
            self.conn_file = runtime / f"kernel-bench-{time.monotonic_ns()}.json"
            command = [
                sys.executable,
                "-m",
                "ipykernel_launcher",
                "-f",
                str(self.conn_file),
                f"--transport={self.transport}",
            ]
            before = set()
        self.proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.info = self._poll_connection_file(before)

    def _poll_connection_file(self, before: set[Path]) -> dict[str, Any]:
        """Poll every millisecond for the connection file the kernel writes."""
        assert self.proc is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.kind == "llmspell":
                runtime = Path(os.environ["LLMSPELL_RUNTIME_DIR"])
                fresh = [
                    p
                    for p in runtime.glob("kernel-*.json")
                    if p not in before and not p.name.endswith(".info.json")
                ]
                candidate = fresh[0] if fresh else None
            else:
                candidate = self.conn_file
            if candidate is not None and candidate.exists():
                try:
                    data: dict[str, Any] = json.loads(candidate.read_text())
                except (json.JSONDecodeError, OSError):
                    data = {}
                if "shell_port" in data:
                    self.conn_file = candidate
                    return data
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode} at start")
            time.sleep(0.001)
        raise TimeoutError(f"{self.kind} wrote no connection file within 30 s")

    @property
    def pid(self) -> int:
        """The kernel's process id."""
        if self.km is not None:
            return int(self.km.provisioner.pid)
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        """Shut the kernel down (politely, then firmly)."""
        if self.km is not None:
            self.km.shutdown_kernel(now=False)
            self.km.cleanup_resources()
            return
        assert self.proc is not None
        probe = Probe.connect(self.info, iopub=False)
        control = probe.ctx.socket(zmq.DEALER)
        control.linger = 0
        control.connect(endpoint(self.info, "control"))
        msg = probe.session.message("shutdown_request", {"restart": False})
        control.send_multipart(probe.session.serialize(msg, []))
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        finally:
            probe.close()
        if self.conn_file is not None and self.kind == "ipykernel":
            self.conn_file.unlink(missing_ok=True)
