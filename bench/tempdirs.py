"""Temporary directories a benchmark removes when it exits (a bench leaves nothing behind)."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path


def bench_dir(prefix: str = "llmspell-bench-") -> Path:
    """A new private directory, removed with everything in it when the process exits."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
