"""Shared fixtures. Every test runs with llmspell's config, data and runtime directories
pointed at a temp dir, so nothing touches the user's real ones."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kernel_core.config import Config, load_config
from kernel_core.runtime.script_runtime import BufferSink, RunOutcome, ScriptContext, ScriptRuntime

# which external tools some tests need; with LLMSPELL_REQUIRE_ALL_TESTS=1 a skip fails
pytest_plugins = ["tests.required_tools"]

ROOT = Path(__file__).resolve().parent.parent
LUA_FIXTURES = Path(__file__).resolve().parent / "lua"


@pytest.fixture(autouse=True)
def isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Config/data/runtime dirs in a temp dir; no LLMSPELL_* overrides leak in."""
    base = tmp_path_factory.mktemp("llmspell-home")
    for name in list(os.environ):
        if name.startswith("LLMSPELL_"):
            monkeypatch.delenv(name)
    for kind in ("CONFIG", "DATA", "RUNTIME"):
        path = base / kind.lower()
        path.mkdir(mode=0o700)
        monkeypatch.setenv(f"LLMSPELL_{kind}_DIR", str(path))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(base / "jupyter-runtime"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(base / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(base / "jupyter-config"))
    monkeypatch.setenv("IPYTHONDIR", str(base / "ipython"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    return base


@pytest.fixture
def config_for(tmp_path: Path) -> Callable[..., Config]:
    """Build a Config from overrides: ``config_for(runtime={"sandbox": "restricted"})``."""

    def make(**sections: dict[str, Any]) -> Config:
        overrides = {"state": {"path": str(tmp_path / "state.sqlite3")}}
        for name, values in sections.items():
            overrides.setdefault(name, {}).update(values)
        return load_config(project_dir=tmp_path, overrides=overrides)

    return make


@dataclass
class LuaRun:
    """A finished run: its outcome and everything it printed."""

    outcome: RunOutcome
    sink: BufferSink
    runtime: ScriptRuntime

    @property
    def stdout(self) -> str:
        return self.sink.text("stdout")

    @property
    def stderr(self) -> str:
        return self.sink.text("stderr")

    @property
    def value(self) -> Any:
        """The first returned value as plain data."""
        assert self.outcome.status == "ok", self.outcome.failure
        return self.runtime.from_lua(self.outcome.values[0]) if self.outcome.values else None

    @property
    def error(self) -> str:
        assert self.outcome.failure is not None, "the run did not fail"
        return self.outcome.failure.bare_message


class LuaWorld:
    """A runtime the test drives directly (same thread, as the execution thread would)."""

    def __init__(self, config: Config, directory: Path) -> None:
        self.sink = BufferSink()
        self.directory = directory
        self.runtime = ScriptRuntime(
            config, self.sink, script=ScriptContext(directory / "test.lua")
        )

    def run(self, code: str, *, stdin: list[str] | None = None) -> LuaRun:
        """Run a snippet; output is reset for each run."""
        self.sink.chunks.clear()
        if stdin is not None:
            self.sink._stdin = list(stdin)
        outcome = self.runtime.run_code(code, "=(test)")
        return LuaRun(outcome, self.sink, self.runtime)

    def ok(self, code: str) -> LuaRun:
        """Run a snippet that must succeed."""
        result = self.run(code)
        assert result.outcome.status == "ok", (
            result.outcome.failure and result.outcome.failure.message
        )
        return result

    def fails(self, code: str) -> str:
        """Run a snippet that must fail; returns the error message."""
        result = self.run(code)
        assert result.outcome.status != "ok", f"expected a failure, got {result.stdout!r}"
        assert result.outcome.failure is not None
        return result.outcome.failure.bare_message


@pytest.fixture
def lua(config_for: Callable[..., Config], tmp_path: Path) -> Iterator[LuaWorld]:
    """A fresh trusted Lua world with State in a temp file."""
    world = LuaWorld(config_for(), tmp_path)
    yield world
    world.runtime.close()


@pytest.fixture
def make_lua(
    config_for: Callable[..., Config], tmp_path: Path
) -> Iterator[Callable[..., LuaWorld]]:
    """Factory for worlds with custom config: ``make_lua(runtime={"sandbox": "restricted"})``."""
    worlds: list[LuaWorld] = []

    def make(**sections: dict[str, Any]) -> LuaWorld:
        world = LuaWorld(config_for(**sections), tmp_path)
        worlds.append(world)
        return world

    yield make
    for world in worlds:
        world.runtime.close()


@dataclass
class CliResult:
    """A finished ``llmspell`` process."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., CliResult]:
    """Run ``llmspell ARGS`` as a user would, in a subprocess, with isolated dirs."""

    def run(
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> CliResult:
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env.setdefault("LLMSPELL_STATE__PATH", str(tmp_path / "cli-state.sqlite3"))
        proc = subprocess.run(
            [sys.executable, "-m", "llmspell_tui", *args],
            cwd=cwd or tmp_path,
            input=input,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run
