"""Running a kernel process: connection file, log file, signals, restart loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from kernel_core.config import Config
from kernel_core.kernel.connection import (
    ConnectionInfo,
    KernelInfoFile,
    kernels_dir,
    new_kernel_id,
    read_connection_file,
)
from kernel_core.kernel.jupyter_link import link_path_for, make_link, remove_link
from kernel_core.kernel.service import KernelService
from kernel_core.protocol.wire import new_key

log = logging.getLogger(__name__)


def _free_tcp_ports(ip: str, count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((ip, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def new_connection(
    config: Config, kernel_id: str, transport: str | None, ip: str | None
) -> ConnectionInfo:
    """Connection details for a new kernel (ipc sockets in the runtime dir, or tcp ports)."""
    transport = transport or config.get("kernel", "transport")
    if transport == "ipc":
        base = str(kernels_dir() / f"k-{kernel_id[:8]}")
        ports = [1, 2, 3, 4, 5]
    else:
        base = ip or config.get("kernel", "ip")
        ports = _free_tcp_ports(base, 5)
    return ConnectionInfo(
        transport=transport,
        ip=base,
        shell_port=ports[0],
        iopub_port=ports[1],
        stdin_port=ports[2],
        control_port=ports[3],
        hb_port=ports[4],
        key=new_key().decode(),
    )


def _setup_logging(log_file: Path, foreground: bool, max_bytes: int) -> None:
    from kernel_core.kernel.log_file import KernelLogHandler

    root = logging.getLogger()
    handler = KernelLogHandler(log_file, max_bytes)  # in use while we live (leftovers.py)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)
    if not foreground:
        for h in list(root.handlers):
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
                root.removeHandler(h)


def report_ready(fd: int, info: KernelInfoFile) -> None:
    """Tell the starting process that we serve (it may be gone: then nobody listens)."""
    line = json.dumps(
        {
            "kernel_id": info.kernel_id,
            "name": info.name,
            "pid": info.pid,
            "connection_file": info.connection_file,
        }
    )
    with contextlib.suppress(OSError):
        os.write(fd, line.encode() + b"\n")
    with contextlib.suppress(OSError):
        os.close(fd)


def run_kernel(
    config: Config,
    *,
    connection_file: Path | None = None,
    name: str | None = None,
    transport: str | None = None,
    ip: str | None = None,
    foreground: bool = True,
    ready_fd: int | None = None,
) -> int:
    """Serve a kernel until it is shut down; returns the exit status.

    ``ready_fd``: a pipe to the process that started us (``llmspell kernel start``), told
    once the sockets are bound and the files written: one JSON line with the kernel's id,
    name, pid and connection file. Then the pipe is closed.
    """
    managed = connection_file is not None and connection_file.exists()
    kernel_id = new_kernel_id()
    if managed:
        assert connection_file is not None
        connection = read_connection_file(connection_file)
        stem = connection_file.stem
        kernel_id = stem.removeprefix("kernel-")
    else:
        connection = new_connection(config, kernel_id, transport, ip)
        connection_file = connection_file or kernels_dir() / f"kernel-{kernel_id}.json"
    name = name or f"lua-{kernel_id[:4]}"
    log_file = kernels_dir() / f"kernel-{kernel_id}.log"
    _setup_logging(log_file, foreground, int(config.get("kernel", "log_max_size")))
    info = KernelInfoFile(
        kernel_id=kernel_id,
        name=name,
        pid=os.getpid(),
        started=time.time(),
        transport=connection.transport,
        connection_file=str(connection_file),
        log_file=str(log_file),
    )
    published = connection_file
    jupyter_link = None if managed else link_path_for(connection_file)
    if jupyter_link is not None:
        info.extra["jupyter_link"] = str(jupyter_link)

    def publish_files() -> None:
        # Written once the sockets are bound, sidecar first: whoever finds the connection
        # file can connect at once and learn the pid.
        if not managed:
            published.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            info.write()
            connection.write(published)
            if jupyter_link is not None:
                make_link(published, jupyter_link)
        if ready_fd is not None:
            report_ready(ready_fd, info)

    log.info("kernel %s (%s) starting, connection file %s", kernel_id, name, connection_file)
    service = KernelService(config, connection, kernel_id=kernel_id, name=name, managed=managed)
    try:
        if asyncio.run(_serve(service, publish_files)):
            log.info("restart requested: exiting so the manager can start a new process")
    finally:
        if not managed:
            if jupyter_link is not None:
                remove_link(jupyter_link, connection_file)
            with contextlib.suppress(OSError):
                connection_file.unlink()
            with contextlib.suppress(OSError):
                KernelInfoFile.path_for(connection_file).unlink()
        if connection.transport == "ipc":
            for channel in ("shell", "iopub", "stdin", "control", "hb"):
                port = getattr(connection, f"{channel}_port")
                with contextlib.suppress(OSError):
                    os.unlink(f"{connection.ip}-{port}")
        with contextlib.suppress(OSError):
            import shutil

            shutil.rmtree(service.cell_files.directory, ignore_errors=True)
        log.info("kernel %s stopped", kernel_id)
    return 0


async def _serve(service: KernelService, on_bound: Callable[[], None]) -> bool:
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, service.request_shutdown)
    loop.add_signal_handler(
        signal.SIGINT, lambda: service.engine.interrupt() if service.engine else None
    )
    watcher = None
    parent = _parent_pid()
    if parent is not None:
        watcher = asyncio.create_task(_exit_with_parent(service, parent))
    try:
        return await service.serve(on_bound)
    finally:
        if watcher is not None:
            watcher.cancel()


def _parent_pid() -> int | None:
    """The pid of the process this kernel must not outlive, if any.

    Jupyter managers and ``llmspell repl`` set JPY_PARENT_PID to their own pid. It is only
    honoured when that process is our parent: a kernel started from inside another
    kernel's cell inherits the variable from an ancestor.
    """
    try:
        pid = int(os.environ.get("JPY_PARENT_PID", ""))
    except ValueError:
        return None
    return pid if pid == os.getppid() else None


async def _exit_with_parent(service: KernelService, parent: int) -> None:
    """Shut down (removing the kernel's files) once the parent process is gone."""
    while os.getppid() == parent:
        await asyncio.sleep(1.0)
    log.warning("parent process %d is gone: shutting down", parent)
    service.request_shutdown()
