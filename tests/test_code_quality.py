"""Every static check runs with the tests, so `python3 -m pytest` is the one command that
says whether the tree is good: ruff lint, ruff format, mypy and the import-linter contracts,
each configured in pyproject.toml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _script(name: str) -> str:
    """A console script installed with the test extras, next to this interpreter first."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"'{name}' is not installed: python3 -m pip install -e '.[test]'")
    return found


CHECKS = {
    "ruff-lint": [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
    "ruff-format": [sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."],
    "mypy": [sys.executable, "-m", "mypy"],
    "import-contracts": ["lint-imports"],
}


@pytest.mark.timeout(600)  # a cold mypy run over the whole tree takes a while
@pytest.mark.parametrize("check", list(CHECKS))
def test_static_check_passes(check: str) -> None:
    command = list(CHECKS[check])
    if command[0] == "lint-imports":
        command[0] = _script("lint-imports")
    # import-linter reads the packages from the source tree, like the other tools
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False, env=env
    )
    assert proc.returncode == 0, (
        f"{' '.join(command)} failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
