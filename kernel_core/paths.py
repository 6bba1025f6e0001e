"""Where llmspell keeps its files: config, data (State), runtime (kernels), logs.

Each directory comes from platformdirs and can be redirected with an environment variable
(``LLMSPELL_CONFIG_DIR``, ``LLMSPELL_DATA_DIR``, ``LLMSPELL_RUNTIME_DIR``), which is how the
tests keep the user's real directories untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "llmspell"


def _platform_dir(kind: str) -> Path:
    import platformdirs

    if kind == "config":
        return Path(platformdirs.user_config_dir(APP_NAME))
    if kind == "data":
        return Path(platformdirs.user_data_dir(APP_NAME))
    return Path(platformdirs.user_runtime_dir(APP_NAME))


def config_dir() -> Path:
    """The user configuration directory (holds ``config.toml``)."""
    env = os.environ.get("LLMSPELL_CONFIG_DIR")
    return Path(env) if env else _platform_dir("config")


def data_dir() -> Path:
    """The user data directory (holds the State database by default)."""
    env = os.environ.get("LLMSPELL_DATA_DIR")
    return Path(env) if env else _platform_dir("data")


def runtime_dir() -> Path:
    """The runtime directory for connection files and sockets (created 0700 by the kernel)."""
    env = os.environ.get("LLMSPELL_RUNTIME_DIR")
    return Path(env) if env else _platform_dir("runtime")


def user_config_file() -> Path:
    """The user-wide config file."""
    return config_dir() / "config.toml"
