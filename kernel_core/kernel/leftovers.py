"""A kernel's private scratch files, and cleaning up what dead kernels left behind.

Two kinds of file outlive a kernel that is killed (``kill -9``, a crash, a reboot of its
container) or accumulate over time:

- its **cell directory**, where cell sources are written so tracebacks and the Jupyter
  debugger can name them. It is made with ``mkdtemp`` (a random name, mode 0700, owned by
  the user), never at a predictable path another user could create first or plant a
  symlink at, and named ``llmspell_<pid>_<random>`` so a cleaner can tell whose it was;
- its **log** (``kernel-<id>.log`` in the runtime dir). A kernel holds a shared ``flock``
  on its log for as long as it runs (the lock goes with the process, however it ends), so
  a cleaner tells a finished kernel's log from a live one's, including kernels started by
  a Jupyter manager, which have no sidecar.

``llmspell kernel list`` and ``kernel start`` call :func:`clean_leftovers`: cell dirs of
dead pids are removed, and of the logs of finished kernels the ``KEEP_LOGS`` most recent
stay (so "why did my kernel stop?" can still be answered) and the rest are deleted.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

KEEP_LOGS = 5
CELL_DIR_PATTERN = re.compile(r"llmspell_(\d+)(?:_[A-Za-z0-9_]+)?")

try:
    import fcntl
except ImportError:  # Windows: no flock; logs are then only pruned by count
    fcntl = None  # type: ignore[assignment]


def private_cell_dir() -> Path:
    """A new directory for this process's cell files: random name, 0700, ours."""
    return Path(tempfile.mkdtemp(prefix=f"llmspell_{os.getpid()}_"))


def hold_log(fd: int) -> None:
    """Mark the log open on ``fd`` as in use by this (live) kernel."""
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)


def _log_in_use(path: Path) -> bool:
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return True  # cannot tell: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also drops our probe lock
    return False


def prune_logs(directory: Path, keep: int = KEEP_LOGS) -> list[Path]:
    """Delete the logs of finished kernels but the ``keep`` most recent; returns them."""
    finished = []
    for path in directory.glob("kernel-*.log"):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink() and not _log_in_use(path):
                finished.append((path.stat().st_mtime, path))
    finished.sort(reverse=True)
    removed = []
    for _, path in finished[keep:]:
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
        for backup in directory.glob(path.name + ".[0-9]"):  # its rotated parts
            with contextlib.suppress(OSError):
                backup.unlink()
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_cell_dirs(tmp: Path | None = None) -> list[Path]:
    """Remove cell directories of dead kernels: ours (owner checked), real directories
    (a symlink is never followed), whose pid no longer runs; returns them."""
    base = tmp or Path(tempfile.gettempdir())
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(base):
            match = CELL_DIR_PATTERN.fullmatch(entry.name)
            if match is None or int(match.group(1)) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
                    continue
                if _pid_alive(int(match.group(1))):
                    continue
                shutil.rmtree(entry.path)
                removed.append(Path(entry.path))
    return removed


def clean_leftovers(runtime: Path) -> None:
    """What ``kernel list``/``start`` tidy: old logs, cell dirs of dead kernels."""
    for path in prune_logs(runtime):
        log.debug("removed the old log %s", path)
    for path in remove_stale_cell_dirs():
        log.debug("removed the cell directory %s of a dead kernel", path)
