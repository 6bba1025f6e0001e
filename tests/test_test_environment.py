"""The test environment is reproducible: README's test command is what CI runs, it installs
the pinned versions the snapshots were taken with, and CI cannot pass by skipping."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# the packages whose version changes what the tests see: the SVG snapshots (textual, rich,
# pygments, the snapshot plugin) and the static checks (ruff, mypy)
VERSION_SENSITIVE = (
    "textual",
    "rich",
    "pygments",
    "pytest-textual-snapshot",
    "syrupy",
    "ruff",
    "mypy",
)


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.DOTALL)


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            found[re.sub(r"[-_.]+", "-", name).lower()] = pinned.strip()
    return found


def test_readme_test_command_is_exactly_what_ci_runs() -> None:
    quick_start, tests = readme_commands()
    assert quick_start == "python3 -m pip install -e . && llmspell run examples/quickstart.lua"
    assert tests == "python3 -m pip install -c constraints.txt -e '.[test]' && python3 -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines(), ".ci/run must run README's test command as it is written"


@pytest.mark.parametrize("package", VERSION_SENSITIVE)
def test_the_installed_version_is_the_pinned_one(package: str) -> None:
    pinned = pins()
    assert package in pinned, f"constraints.txt pins no version of {package}"
    assert version(package) == pinned[package], (
        f"{package} {version(package)} is installed, constraints.txt pins {pinned[package]}: "
        "python3 -m pip install -c constraints.txt -e '.[test]'"
    )


def test_every_test_dependency_is_pinned() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    import tomllib

    project = tomllib.loads(pyproject)["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    names = {
        re.sub(r"[-_.]+", "-", re.split(r"[<>=!~;\[ ]", w, maxsplit=1)[0]).lower() for w in wanted
    }
    assert names - set(pins()) == set(), "regenerate constraints.txt (see its header)"


SKIPPING_TEST = """
import pytest

def test_needs_a_tool():
    pytest.skip("sometool is not installed")
"""


@pytest.mark.parametrize(("require_all", "exit_status"), [("", 0), ("1", 1)])
def test_a_skip_fails_only_when_every_test_is_required(
    tmp_path: Path, require_all: str, exit_status: int
) -> None:
    (tmp_path / "test_tool.py").write_text(SKIPPING_TEST, encoding="utf-8")
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name != "PYTEST_ADDOPTS"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.required_tools", "-rA", str(tmp_path)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT), "LLMSPELL_REQUIRE_ALL_TESTS": require_all},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == exit_status, proc.stdout + proc.stderr
    assert "sometool is not installed" in proc.stdout
    assert "external tools: tmux:" in proc.stdout
    if require_all:
        assert "LLMSPELL_REQUIRE_ALL_TESTS is set: every test must run" in proc.stdout
