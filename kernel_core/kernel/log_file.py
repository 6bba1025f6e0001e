"""The kernel's log file: rotated by size (``[kernel] log_max_size``), so no traffic, however
much a kernel logs, fills the disk: ``kernel-ID.log`` and at most ``LOG_BACKUPS`` older
parts ``kernel-ID.log.1``, ``.2``."""

from __future__ import annotations

import logging.handlers
from pathlib import Path

from kernel_core.kernel.leftovers import hold_log

LOG_BACKUPS = 2


class KernelLogHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose open file is marked in use by this kernel (see
    leftovers.py: logs of finished kernels are pruned), also after each rollover."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=LOG_BACKUPS)
        self._hold()

    def doRollover(self) -> None:
        super().doRollover()
        self._hold()

    def _hold(self) -> None:
        if self.stream is not None:
            hold_log(self.stream.fileno())
