"""The wheel, installed as a user installs it: built from this tree, installed into a fresh
virtual environment, and used from an empty directory, far from the checkout. Only what the
wheel holds can be found there (the Lua API docs for inspect, the TUI's stylesheets).

Slow (about a minute: the venv's dependencies come from the package index, pinned by
constraints.txt), and part of the README's test command on purpose: packaging breaks
silently otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from kernel_core.kernel.registry import known_kernels
from tests.required_tools import tmux_available

ROOT = Path(__file__).resolve().parent.parent
# what building the wheel reads (pyproject.toml names the readme; setup.py the folders)
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md", "kernel_core", "llmspell_tui")
DATA_FOLDERS = {"themes": "llmspell_tui/stylesheets", "docs/lua-api": "kernel_core/devex/lua_api"}

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@dataclass
class Installed:
    """llmspell installed from its wheel into a venv of its own."""

    wheel: Path
    venv: Path
    home: Path  # an empty directory to run commands from

    @property
    def llmspell(self) -> str:
        return str(self.venv / "bin" / "llmspell")

    def env(self) -> dict[str, str]:
        env = _clean_env()
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return env

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.llmspell, *args],
            cwd=self.home,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _clean_env() -> dict[str, str]:
    """This environment without what points Python at the checkout or at another venv (a
    PYTHONPATH holding the checkout's llmspell.egg-info makes pip skip the wheel)."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _run(command: list[str], cwd: Path, timeout: float = 600) -> None:
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert proc.returncode == 0, f"{' '.join(command)}:\n{proc.stdout[-3000:]}{proc.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    for folder in DATA_FOLDERS:
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    dist = base / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--no-deps", "-q", "-w", str(dist), "."], cwd=source)
    (wheel,) = dist.glob("llmspell-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    constraints = str(ROOT / "constraints.txt")
    _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", constraints, str(wheel)],
        cwd=base,
    )
    home = base / "empty"
    home.mkdir()
    return Installed(wheel, venv, home)


def test_the_wheel_installs_only_our_packages_and_ships_their_data(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    top = {name.split("/", 1)[0] for name in names if not name.startswith("llmspell-")}
    assert top == {"kernel_core", "llmspell_tui"}, "no generic top-level package (themes)"
    for folder, inside in DATA_FOLDERS.items():
        for path in sorted((ROOT / folder).iterdir()):
            if path.suffix in (".md", ".tcss"):
                assert f"{inside}/{path.name}" in names, f"{folder}/{path.name} is not shipped"


def test_run_works_from_an_empty_directory(installed: Installed, tmp_path: Path) -> None:
    script = tmp_path / "hello.lua"
    script.write_text('print("hello from the wheel", Tool.exists("calculator"))\n')
    result = installed.run("run", str(script))
    assert (result.returncode, result.stdout) == (0, "hello from the wheel\ttrue\n"), result.stderr
    assert installed.run("exec", "return 1 + 1").stdout == "2\n"


def test_kernel_start_inspect_and_stop(installed: Installed) -> None:
    from jupyter_client.blocking.client import BlockingKernelClient

    name = f"wheel-{uuid.uuid4().hex[:6]}"
    started = installed.run("kernel", "start", "--name", name)
    assert started.returncode == 0, started.stderr
    found = re.search(r"connection file: (\S+)", started.stdout)
    assert found, started.stdout
    try:
        client = BlockingKernelClient(connection_file=found.group(1))
        client.load_connection_file()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            msg_id = client.inspect("Tool.execute", len("Tool.execute"))
            reply = client.get_shell_msg(timeout=60)
            assert reply["parent_header"]["msg_id"] == msg_id
            text = reply["content"]["data"]["text/plain"]
            # the line from docs/lua-api/tool.md, not only where the function is defined
            assert "Tool.execute(name, params, options?)" in text, text
        finally:
            client.stop_channels()
    finally:
        stopped = installed.run("kernel", "stop", name)
    assert stopped.returncode == 0, stopped.stderr
    # the runtime dir is this test's own (conftest.py): only this kernel was in it
    assert known_kernels() == [], "the kernel left its connection file behind"


@pytest.mark.skipif(
    not tmux_available(), reason="tmux is not installed (Debian: apt-get install tmux)"
)
def test_tui_shows_the_source_with_the_shipped_stylesheets(
    installed: Installed, tmp_path: Path
) -> None:
    script = tmp_path / "shown.lua"
    script.write_text('local greeting = "shown by the wheel"\nprint(greeting)\n')
    socket = f"llmspell-wheel-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    env = {**installed.env(), "TERM": "xterm-256color"}
    command = f"{installed.llmspell} tui {script}; sleep 600"  # the screen stays after a crash
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", "100", "-y", "30", "-c", str(installed.home), command],
        env=env,
        check=True,
    )
    try:
        screen = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            screen = subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True, check=False
            ).stdout
            if "shown by the wheel" in screen and "paused" in screen:
                break
            time.sleep(0.2)
        assert "shown by the wheel" in screen, screen
        assert "paused" in screen, screen  # the kernel it started stopped on entry
        subprocess.run([*tmux, "send-keys", "C-q"], check=False)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and known_kernels():
            time.sleep(0.2)
        assert known_kernels() == [], "quitting the TUI left its kernel running"
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, check=False)
