"""What kernels leave on disk: a private, unpredictable cell directory removed when the
kernel ends (and by `kernel list` after a kill -9), and logs that do not pile up."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kernel_core.kernel.leftovers import KEEP_LOGS
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


@pytest.fixture
def tmpdir_env(tmp_path: Path) -> dict[str, str]:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return {"TMPDIR": str(tmp)}


def _start(cli: Cli, env: dict[str, str]) -> tuple[int, Path]:
    result = cli("kernel", "start", env=env)
    assert result.returncode == 0, result.stderr
    found = re.search(r"pid (\d+)\nconnection file: (\S+)", result.stdout)
    assert found, result.stdout
    return int(found.group(1)), Path(found.group(2))


def _cell_dir(cli: Cli, path: Path, env: dict[str, str]) -> Path:
    # running a cell writes its source into the cell directory
    ran = cli("exec", "return 1", "--connect", str(path), env=env)
    assert ran.returncode == 0, ran.stderr
    dirs = list(Path(env["TMPDIR"]).glob("llmspell_*"))
    assert len(dirs) == 1, dirs
    return dirs[0]


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still runs")


def test_the_cell_directory_is_private_unpredictable_and_removed_at_exit(
    cli: Cli, tmpdir_env: dict[str, str]
) -> None:
    pid, path = _start(cli, tmpdir_env)
    try:
        # a directory planted at the old predictable name is not used
        planted = Path(tmpdir_env["TMPDIR"]) / f"llmspell_{pid}"
        planted.mkdir()
        os.chmod(planted, 0o777)
        ran = cli("exec", "return 1", "--connect", str(path), env=tmpdir_env)
        assert ran.returncode == 0, ran.stderr
        assert list(planted.iterdir()) == []
        (cell_dir,) = [d for d in Path(tmpdir_env["TMPDIR"]).glob("llmspell_*") if d != planted]
        assert cell_dir.name.startswith(f"llmspell_{pid}_")
        st = cell_dir.lstat()
        assert stat.S_ISDIR(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o700
        assert st.st_uid == os.geteuid()
        assert list(cell_dir.glob("*.lua"))
        planted.rmdir()
    finally:
        assert cli("kernel", "stop", "--all", env=tmpdir_env).returncode == 0
    _wait_gone(pid)
    assert list(Path(tmpdir_env["TMPDIR"]).iterdir()) == []


def test_kernel_list_removes_the_cell_directory_of_a_killed_kernel_only(
    cli: Cli, tmpdir_env: dict[str, str]
) -> None:
    tmp = Path(tmpdir_env["TMPDIR"])
    pid, path = _start(cli, tmpdir_env)
    cell_dir = _cell_dir(cli, path, tmpdir_env)
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    target = tmp / "elsewhere"
    target.mkdir()
    (target / "keep.txt").write_text("not the kernel's")
    planted = tmp / f"llmspell_{pid}_link"
    planted.symlink_to(target)  # a symlink with a cell dir's name is never followed
    listing = cli("kernel", "list", env=tmpdir_env)
    assert listing.returncode == 0, listing.stderr
    assert not cell_dir.exists()
    assert (target / "keep.txt").exists()
    assert planted.is_symlink()


def test_logs_of_finished_kernels_are_pruned_to_the_most_recent(cli: Cli) -> None:
    runtime = Path(os.environ["LLMSPELL_RUNTIME_DIR"])
    for n in range(KEEP_LOGS + 7):
        log = runtime / f"kernel-old{n:02d}.log"
        log.write_text("an old kernel's log\n")
        os.utime(log, (1_000_000 + n, 1_000_000 + n))
    pid, path = _start(cli, {})
    try:
        listing = cli("kernel", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        assert len(json.loads(listing.stdout)) == 1
        kept = sorted(p.name for p in runtime.glob("kernel-*.log"))
        # the live kernel's log, and the KEEP_LOGS newest of the finished ones
        newest = [f"kernel-old{n:02d}.log" for n in range(7, KEEP_LOGS + 7)]
        assert kept == sorted([*newest, f"{path.stem}.log"])
    finally:
        assert cli("kernel", "stop", "--all").returncode == 0
    _wait_gone(pid)
