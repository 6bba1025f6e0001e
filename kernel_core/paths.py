"""Where llmspell keeps its files: config, data (State), runtime (kernels), logs.

Each directory comes from platformdirs and can be redirected with an environment variable
(``LLMSPELL_CONFIG_DIR``, ``LLMSPELL_DATA_DIR``, ``LLMSPELL_RUNTIME_DIR``), which is how the
tests keep the user's real directories untouched.

The runtime directory holds connection files (keys) and sockets, so it must be private. It
is chosen here rather than by platformdirs, whose Linux lookup warns on stderr
(``RuntimeDirWarning``) whenever ``XDG_RUNTIME_DIR`` is unset, as it is in most containers
and SSH sessions, and then falls back to a predictable name in /tmp.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from kernel_core.errors import LlmspellError

APP_NAME = "llmspell"


class UnsafeDirectoryError(LlmspellError):
    """A directory that would hold kernel keys is not private to the user."""

    exit_status = 2


def _platform_dir(kind: str) -> Path:
    import platformdirs

    if kind == "config":
        return Path(platformdirs.user_config_dir(APP_NAME))
    return Path(platformdirs.user_data_dir(APP_NAME))


def config_dir() -> Path:
    """The user configuration directory (holds ``config.toml``)."""
    env = os.environ.get("LLMSPELL_CONFIG_DIR")
    return Path(env) if env else _platform_dir("config")


def data_dir() -> Path:
    """The user data directory (holds the State database by default)."""
    env = os.environ.get("LLMSPELL_DATA_DIR")
    return Path(env) if env else _platform_dir("data")


def runtime_dir() -> Path:
    """The runtime directory for connection files and sockets (not created here).

    ``LLMSPELL_RUNTIME_DIR`` if set; else ``$XDG_RUNTIME_DIR/llmspell`` when that directory
    is the user's own and private, else ``/run/user/<uid>/llmspell`` likewise; else
    ``<data dir>/runtime`` (inside the user's home, as Jupyter's own fallback is).
    """
    env = os.environ.get("LLMSPELL_RUNTIME_DIR")
    if env:
        return Path(env)
    if sys.platform == "darwin" or os.name == "nt":
        import platformdirs  # no warning on these platforms

        return Path(platformdirs.user_runtime_dir(APP_NAME))
    candidates = [os.environ.get("XDG_RUNTIME_DIR", ""), f"/run/user/{os.geteuid()}"]
    for base in candidates:
        if base and _private_problem(Path(base), strict=True) is None:
            return Path(base) / APP_NAME
    return data_dir() / "runtime"


def _private_problem(path: Path, *, strict: bool) -> str | None:
    """Why ``path`` is not a private directory of this user (None: it is).

    ``strict`` also refuses a directory others can read (what XDG asks of its runtime dir).
    """
    try:
        st = path.stat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if st.st_uid != os.geteuid():
        return f"is owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
    mode = stat.S_IMODE(st.st_mode)
    if mode & (0o077 if strict else 0o022):
        return f"has mode {mode:o} (others may {'read or ' if strict else ''}write it)"
    return None


def ensure_runtime_dir() -> Path:
    """The runtime directory, created 0700 when missing; an unsafe one is an error.

    A directory the user named (``LLMSPELL_RUNTIME_DIR``) is never changed: one owned by
    someone else, or writable by group or others (a shared 1777 dir), is refused, since
    another user could replace the connection files or sockets in it. Our default one is
    made private if a former version left it looser.
    """
    directory = runtime_dir()
    named = bool(os.environ.get("LLMSPELL_RUNTIME_DIR"))
    try:
        directory.mkdir(parents=True, mode=0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise UnsafeDirectoryError(
            f"cannot create the runtime directory {directory}: {exc.strerror}"
        ) from None
    problem = _private_problem(directory, strict=False)
    if problem is None and not named and _private_problem(directory, strict=True) is not None:
        os.chmod(directory, 0o700)
    if problem is not None:
        origin = "LLMSPELL_RUNTIME_DIR" if named else "the runtime directory"
        raise UnsafeDirectoryError(
            f"{origin} {directory} {problem}: kernels keep their keys and sockets there; "
            "point LLMSPELL_RUNTIME_DIR at a directory of your own with mode 0700"
        )
    return directory


def user_config_file() -> Path:
    """The user-wide config file."""
    return config_dir() / "config.toml"
