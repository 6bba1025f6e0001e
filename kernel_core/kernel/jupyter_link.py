"""Making a kernel of ours findable by Jupyter's own lookup.

``jupyter console --existing kernel-<id>.json`` (and jupyter_client's
``find_connection_file``) search the current directory and ``jupyter_runtime_dir()`` only.
Our kernels live in llmspell's runtime dir (private, short socket paths), so each one also
puts a symlink to its connection file there, and removes it when it ends; ``kernel list``
removes the links of kernels that died without doing so.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def jupyter_runtime_dir() -> Path | None:
    """Where Jupyter looks for connection files (None without jupyter_core installed)."""
    try:
        from jupyter_core.paths import jupyter_runtime_dir as runtime
    except ImportError:
        return None
    return Path(runtime())


def link_path_for(connection_file: Path) -> Path | None:
    """The link's path in Jupyter's runtime dir (None: no Jupyter, or the same dir)."""
    directory = jupyter_runtime_dir()
    if directory is None:
        return None
    with contextlib.suppress(OSError):
        if directory.resolve() == connection_file.parent.resolve():
            return None
    return directory / connection_file.name


def make_link(connection_file: Path, link: Path) -> bool:
    """Link ``link`` to ``connection_file`` (Jupyter's runtime dir created 0700 if need be).

    Best effort: a kernel works without it; why it is missing goes to the log.
    """
    try:
        link.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with contextlib.suppress(FileNotFoundError):
            if link.is_symlink():
                link.unlink()  # a dangling link of an earlier kernel with this id
        os.symlink(connection_file.absolute(), link)
    except OSError as exc:
        log.warning("could not link %s into Jupyter's runtime dir: %s", connection_file, exc)
        return False
    return True


def remove_link(link: Path, connection_file: Path) -> None:
    """Remove ``link`` if it is still ours (a symlink to ``connection_file``)."""
    with contextlib.suppress(OSError):
        if link.is_symlink() and Path(os.readlink(link)) == connection_file.absolute():
            link.unlink()
