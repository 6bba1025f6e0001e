"""Every example runs offline, as a user runs it, and does what its comments say."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, CliResult

EXAMPLES = ROOT / "examples"
Cli = Callable[..., CliResult]


def test_every_example_is_covered() -> None:
    covered = {
        "quickstart",
        "agent_with_tools_and_hooks",
        "state_counter",
        "research_workflow",
        "coroutine_pipeline",
        "helpful_error",
        "rank_documents",
    }
    assert {p.stem for p in EXAMPLES.glob("*.lua")} == covered


def test_quickstart(cli: Cli) -> None:
    result = cli("run", str(EXAMPLES / "quickstart.lua"), "--", "--name", "Ada")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:5] == [
        "Hello, Ada!",
        "6 * 7 =\t42.0",
        "a fresh id:\tyes",
        "tags:\tlua, llm\tstars:\t5",
        "agent replied:\tyes",
    ]
    assert "this quickstart has run 1 time(s)" in result.stdout


def test_agent_with_tools_and_hooks(cli: Cli) -> None:
    result = cli("run", str(EXAMPLES / "agent_with_tools_and_hooks.lua"))
    assert result.returncode == 0, result.stderr
    assert "answer:\tThe calculator tool returned 70." in result.stdout
    assert "tools called:\tcalculator" in result.stdout
    assert "delete refused:\ttrue\ttrue" in result.stdout


def test_state_counter_survives_runs(cli: Cli, tmp_path: Path) -> None:
    env = {"LLMSPELL_STATE__PATH": str(tmp_path / "counter.sqlite3")}
    first = cli("run", str(EXAMPLES / "state_counter.lua"), "--", "--user", "ada", env=env)
    second = cli("run", str(EXAMPLES / "state_counter.lua"), "--", "--user", "ada", env=env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "ada has visited 1 time(s)" in first.stdout
    assert "first visitor: ada (that's you)" in first.stdout
    assert "ada has visited 2 time(s)" in second.stdout
    assert "(that's you)" not in second.stdout


def test_research_workflow(cli: Cli) -> None:
    result = cli("run", str(EXAMPLES / "research_workflow.lua"))
    assert result.returncode == 0, result.stderr
    assert "success:\ttrue\tstatus:\tcompleted" in result.stdout
    assert "steps:\t3\tok:\t3" in result.stdout
    assert "completed successfully" in result.stdout


def test_coroutine_pipeline(cli: Cli) -> None:
    result = cli("run", str(EXAMPLES / "coroutine_pipeline.lua"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "even ids:\t2 4 6 8 10\nstreamed:\ttokens arrive one by one\tdone:\ttrue\n"
    )


@pytest.mark.parametrize("color", [False])
def test_helpful_error_explains_itself(cli: Cli, color: bool) -> None:
    result = cli("run", str(EXAMPLES / "helpful_error.lua"), cwd=ROOT)
    assert result.returncode == 1
    assert "a caught error:\tTool 'calculater' not found" in result.stdout
    err = result.stderr
    assert "error: attempt to call a nil value (field 'stringfy')" in err
    assert "--> examples/helpful_error.lua:6" in err
    assert "return JSON.stringfy(report)" in err
    assert "^^^^^^^^" in err
    assert "examples/helpful_error.lua:12: in main chunk" in err
    assert "hint: JSON has no 'stringfy'; did you mean JSON.stringify?" in err


def test_rank_documents_profiles_where_its_comments_say(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "rank.folded"
    script = str(EXAMPLES / "rank_documents.lua")
    result = cli("profile", script, "-o", str(out), "--", "--rounds", "30")
    assert result.returncode == 0, result.stderr
    assert 'top documents:\t[{"id":75,"score":19}' in result.stdout
    folded = out.read_text()
    assert "rank (" in folded
    assert "tokenize (" in folded  # the hot spot the example is there to show
