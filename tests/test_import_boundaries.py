"""The headless half never pulls in the UI, and ``llmspell run`` stays lean.

Each import happens in a fresh interpreter, so what one module drags in cannot hide behind
what an earlier test already imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UI_MODULES = ("textual", "prompt_toolkit", "llmspell_tui.app")
# What `llmspell run` must not import: the UI, and the kernel's protocol machinery.
NOT_IN_RUN = (*UI_MODULES, "zmq", "asyncio")


def _python_dirs(package: str) -> list[Path]:
    return sorted(
        path.parent for path in (ROOT / package).rglob("*.py") if "__pycache__" not in path.parts
    )


def _headless_modules() -> list[str]:
    modules = []
    for path in sorted((ROOT / "kernel_core").rglob("*.py")):
        if "__pycache__" in path.parts or path.name == "__main__.py":
            continue
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules.append(".".join(parts))
    return [*modules, "llmspell_tui.cli", "llmspell_tui.commands.run"]


def _loaded_after(code: str, cwd: Path = ROOT) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)"
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr
    loaded: list[str] = json.loads(proc.stderr.strip().splitlines()[-1])
    return set(loaded)


def _offenders(loaded: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        name for name in loaded if any(name == f or name.startswith(f + ".") for f in forbidden)
    )


def test_every_python_directory_is_a_regular_package() -> None:
    # import-linter (and grimp) silently skip namespace packages: a missing __init__.py
    # would let a forbidden import slip past the contracts.
    missing = [
        str(directory.relative_to(ROOT))
        for package in ("kernel_core", "llmspell_tui")
        for directory in _python_dirs(package)
        if not (directory / "__init__.py").is_file()
    ]
    assert missing == [], f"add an __init__.py to: {', '.join(missing)}"


@pytest.mark.parametrize("module", _headless_modules())
def test_headless_module_imports_no_ui(module: str) -> None:
    loaded = _loaded_after(f"import {module}")
    assert module in loaded
    assert _offenders(loaded, UI_MODULES) == []


def test_kernel_core_never_imports_llmspell_tui() -> None:
    modules = [m for m in _headless_modules() if m.startswith("kernel_core")]
    loaded = _loaded_after("\n".join(f"import {m}" for m in modules))
    assert _offenders(loaded, ("llmspell_tui",)) == []


def test_llmspell_run_imports_no_ui_no_zmq_and_no_asyncio(tmp_path: Path) -> None:
    (tmp_path / "hello.lua").write_text("print('hello')\n", encoding="utf-8")
    code = (
        "import sys\n"
        "from llmspell_tui.cli import main\n"
        "status = main(['run', 'hello.lua'])\n"
        "assert status == 0, status\n"
    )
    loaded = _loaded_after(code, cwd=tmp_path)
    assert "kernel_core.runtime.script_runtime" in loaded
    assert _offenders(loaded, NOT_IN_RUN) == []


# What `llmspell kernel ...` and `llmspell profile ...` must not pay for before they act:
# asyncio, the async client, and the modules of commands other than their own.
OTHER_COMMANDS = {
    "kernel": (
        "llmspell_tui.commands.dap",
        "llmspell_tui.commands.profile",
        "llmspell_tui.commands.repl",
        "llmspell_tui.commands.tui",
    ),
    "profile": (
        "llmspell_tui.commands.dap",
        "llmspell_tui.commands.kernel",
        "llmspell_tui.commands.repl",
        "llmspell_tui.commands.tui",
    ),
}


@pytest.mark.parametrize(
    ("argv", "command", "also_absent"),
    [
        # with no kernel to talk to, listing or stopping needs neither zmq nor the config
        (["kernel", "list"], "kernel", ("zmq", "kernel_core.config")),
        (["kernel", "list", "--json"], "kernel", ("zmq", "kernel_core.config")),
        (["-p", "minimal", "kernel", "stop", "--all"], "kernel", ("zmq", "kernel_core.config")),
        (["profile", "--help"], "profile", ()),
    ],
)
def test_kernel_and_profile_commands_import_only_what_they_use(
    argv: list[str], command: str, also_absent: tuple[str, ...], tmp_path: Path
) -> None:
    code = (
        "from llmspell_tui.cli import main\n"
        "try:\n"
        f"    status = main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    status = exc.code\n"
        "assert status == 0, status\n"
    )
    loaded = _loaded_after(code, cwd=tmp_path)
    assert f"llmspell_tui.commands.{command}" in loaded
    forbidden = (*UI_MODULES, "asyncio", "kernel_core.client", *OTHER_COMMANDS[command])
    assert _offenders(loaded, (*forbidden, *also_absent)) == []


def test_kernel_start_returns_without_importing_asyncio_or_a_client(tmp_path: Path) -> None:
    # the kernel reports its readiness on a pipe: the starting process never probes it
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "llmspell_tui", "kernel", "start"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.returncode == 0, proc.stderr
        assert "connection file: " in proc.stdout
    finally:
        subprocess.run(
            [sys.executable, "-m", "llmspell_tui", "kernel", "stop", "--all"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    loaded = {
        line.rsplit("|", 1)[1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    # (modules loaded by importlib.import_module, as the commands are, are not timed)
    assert "kernel_core.kernel.registry" in loaded
    assert _offenders(loaded, ("asyncio", "kernel_core.client", *UI_MODULES)) == []
