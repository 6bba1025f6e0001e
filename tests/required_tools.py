"""The programs outside Python that some tests drive, and what a missing one means.

``python3 -m pytest`` on a machine without tmux or node-jsdom skips the tests that need them
and says so twice: in the header (which Debian packages to install) and in each skip's
reason. With ``LLMSPELL_REQUIRE_ALL_TESTS=1`` (set by ``.ci/run``) a skip is a failure, so a
green CI cannot hide a missing install step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Generator
from functools import cache

import pytest

# read once at import: the autouse fixture in conftest.py clears LLMSPELL_* for each test
REQUIRE_ALL = os.environ.get("LLMSPELL_REQUIRE_ALL_TESTS", "") not in ("", "0")

# Debian's node-jsdom installs here, outside node's default search path
JSDOM_PATH = "/usr/share/nodejs"


@cache
def tmux_available() -> bool:
    """Whether tmux runs here (the TUI end-to-end tests use a real terminal)."""
    return shutil.which("tmux") is not None


@cache
def jsdom_available() -> bool:
    """Whether node can load jsdom (the SVG flamegraph's own script runs in a DOM)."""
    if shutil.which("node") is None:
        return False
    probe = subprocess.run(
        ["node", "-e", "require('jsdom')"],
        env={**os.environ, "NODE_PATH": JSDOM_PATH},
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


TOOLS = {
    "tmux": (tmux_available, "tmux"),
    "node with jsdom": (jsdom_available, "nodejs node-jsdom"),
}


def pytest_report_header() -> list[str]:
    lines = []
    missing = []
    for name, (available, packages) in TOOLS.items():
        found = available()
        lines.append(f"{name}: {'yes' if found else 'missing'}")
        if not found:
            missing.append(packages)
    header = "external tools: " + ", ".join(lines)
    if not missing:
        return [header]
    what = "fail (LLMSPELL_REQUIRE_ALL_TESTS is set)" if REQUIRE_ALL else "be skipped"
    return [
        header,
        f"the tests that need them will {what}: apt-get install {' '.join(missing)}",
    ]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if REQUIRE_ALL and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"skipped ({reason}), but LLMSPELL_REQUIRE_ALL_TESTS is set: every test must run"
        )
    return report
