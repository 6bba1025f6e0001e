"""The runtime directory (connection files, keys, sockets): chosen quietly, kept private,
and never loosened or tightened behind the user's back."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def _env_without_runtime_dirs(home: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("LLMSPELL_RUNTIME_DIR", "XDG_RUNTIME_DIR")
    }
    env["HOME"] = str(home)
    return env


def test_kernel_list_without_xdg_runtime_dir_warns_nothing(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "llmspell_tui", "kernel", "list"],
        env=_env_without_runtime_dirs(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    if not Path(f"/run/user/{os.geteuid()}").is_dir():
        runtime = Path(os.environ["LLMSPELL_DATA_DIR"]) / "runtime"
        assert stat.S_IMODE(runtime.stat().st_mode) == 0o700


def test_a_private_xdg_runtime_dir_is_used(cli: Cli, tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    env = _env_without_runtime_dirs(tmp_path)
    env["XDG_RUNTIME_DIR"] = str(xdg)
    proc = subprocess.run(
        [sys.executable, "-m", "llmspell_tui", "kernel", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE((xdg / "llmspell").stat().st_mode) == 0o700


def test_a_shared_runtime_dir_is_refused_and_left_as_it_was(cli: Cli, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    result = cli("kernel", "list", env={"LLMSPELL_RUNTIME_DIR": str(shared)})
    assert result.returncode == 2
    assert f"LLMSPELL_RUNTIME_DIR {shared} has mode 1777" in result.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    started = cli("kernel", "start", env={"LLMSPELL_RUNTIME_DIR": str(shared)})
    assert started.returncode == 2
    assert list(shared.iterdir()) == []


def test_a_readable_runtime_dir_of_the_user_is_used_unchanged(cli: Cli, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    os.chmod(mine, 0o755)
    result = cli("kernel", "list", env={"LLMSPELL_RUNTIME_DIR": str(mine)})
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(mine.stat().st_mode) == 0o755


def test_a_missing_runtime_dir_is_created_private(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "new" / "runtime"
    result = cli("kernel", "list", env={"LLMSPELL_RUNTIME_DIR": str(missing)})
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(missing.stat().st_mode) == 0o700
