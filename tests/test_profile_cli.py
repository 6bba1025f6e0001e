"""`llmspell profile` as a user runs it: each format written and read back, `-o -`, exit codes,
script arguments, exact call counts, Ctrl+C, usage errors, and `--host` on a real kernel."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kernel_core.config.schema import SCHEMA
from kernel_core.kernel.registry import known_kernels
from kernel_core.profiler.export import parse_folded, parse_text_table
from kernel_core.profiler.export.describe import EXACT_CAVEAT
from kernel_core.profiler.profiler import EXACT_COST
from llmspell_tui.cli import build_parser
from llmspell_tui.commands.profile import tui_launch
from llmspell_tui.messages import Output, ProfileUpdated, ProfilingChanged, ScriptFinished
from tests.conftest import LUA_FIXTURES, CliResult
from tests.tui_fixtures import RecordingApp

Cli = Callable[..., CliResult]
ROOT = Path(__file__).resolve().parent.parent

WORK = LUA_FIXTURES / "profile_work.lua"
CALLS = LUA_FIXTURES / "profile_calls.lua"
FAILS = LUA_FIXTURES / "profile_fails.lua"
SPIN = LUA_FIXTURES / "profile_spin.lua"
SPEEDSCOPE_SCHEMA = Path(__file__).parent / "data" / "speedscope-file-format-schema.json"
WORK_FUNCTIONS = {"crunch_numbers", "parse_records", "spin_for"}


def speedscope_names(text: str) -> set[str]:
    """The frame names of a speedscope document, validated against speedscope's schema."""
    document = json.loads(text)
    jsonschema.validate(document, json.loads(SPEEDSCOPE_SCHEMA.read_text()))
    return {str(frame["name"]) for frame in document["shared"]["frames"]}


def svg_names(text: str) -> set[str]:
    """The frame names of the SVG flamegraph (its ``<g data-n=...>`` frames)."""
    root = ET.fromstring(text)
    return {
        g.attrib["data-n"]
        for g in root.iter("{http://www.w3.org/2000/svg}g")
        if "data-n" in g.attrib
    }


def folded_names(text: str) -> set[str]:
    """The function names in folded stacks ("name (file:line)" frames)."""
    return {frame.split(" (")[0] for stack in parse_folded(text) for frame in stack}


def text_names(text: str) -> set[str]:
    """The functions in the text report's Top functions table."""
    return {row.function for row in parse_text_table(text)}


READERS: dict[str, Callable[[str], set[str]]] = {
    "svg": svg_names,
    "speedscope": speedscope_names,
    "folded": folded_names,
    "text": text_names,
}


@pytest.mark.parametrize(
    ("fmt", "default_name"),
    [
        ("svg", "profile_work.profile.svg"),
        ("speedscope", "profile_work.profile.speedscope.json"),
        ("folded", "profile_work.profile.folded"),
        ("text", "profile_work.profile.txt"),
    ],
)
def test_each_format_writes_a_file_that_reads_back_with_the_scripts_functions(
    cli: Cli, tmp_path: Path, fmt: str, default_name: str
) -> None:
    result = cli("profile", str(WORK), "--format", fmt, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    written = tmp_path / default_name
    assert READERS[fmt](written.read_text(encoding="utf-8")) >= WORK_FUNCTIONS
    assert f"profile written to {default_name} ({fmt})" in result.stderr


def test_profile_runs_like_run_and_writes_an_svg_with_a_summary_by_default(
    cli: Cli, tmp_path: Path
) -> None:
    result = cli("profile", str(WORK), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # the script's own output passes through unchanged
    assert result.stdout == "work done\t-\t-\n"
    assert svg_names((tmp_path / "profile_work.profile.svg").read_text()) >= WORK_FUNCTIONS
    summary = result.stderr
    assert re.search(r"mode: sampling at 1000 Hz, \d+ samples over [\d.]+ ms", summary)
    rows = parse_text_table(summary)
    assert {r.function for r in rows} >= WORK_FUNCTIONS
    # crunch_numbers burns twice the time parse_records does
    total = {r.function: r.total_weight for r in rows}
    assert total["crunch_numbers"] > total["parse_records"]
    assert summary.rstrip().endswith("profile written to profile_work.profile.svg (svg)")


def test_the_output_files_extension_chooses_the_format(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "out" / "run.speedscope.json"
    target.parent.mkdir()
    result = cli("profile", str(WORK), "-o", str(target), "--rate", "500")
    assert result.returncode == 0, result.stderr
    assert speedscope_names(target.read_text()) >= WORK_FUNCTIONS
    assert "at 500 Hz" in result.stderr
    assert f"profile written to {target} (speedscope)" in result.stderr


def test_top_limits_the_summary_table(cli: Cli, tmp_path: Path) -> None:
    result = cli("profile", str(WORK), "--top", "1", "--format", "folded")
    assert result.returncode == 0, result.stderr
    assert [r.function for r in parse_text_table(result.stderr)] == ["spin_for"]


def test_dash_writes_the_profile_to_stdout_and_the_scripts_output_to_stderr(cli: Cli) -> None:
    result = cli("profile", str(WORK), "-o", "-", "--format", "folded")
    assert result.returncode == 0, result.stderr
    assert folded_names(result.stdout) >= WORK_FUNCTIONS
    assert "work done" not in result.stdout
    assert "work done\t-\t-\n" in result.stderr
    assert "profile written to stdout (folded)" in result.stderr


def test_script_arguments_after_double_dash_reach_the_script(cli: Cli) -> None:
    result = cli("profile", str(WORK), "--format", "text", "--", "first", "--label", "weekly")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "work done\tfirst\tweekly\n"


@pytest.mark.parametrize(
    ("how", "status", "message"),
    [("error", 1, "the data was not what we expected"), ("exit", 3, "")],
)
def test_a_failing_script_still_writes_its_profile_and_exits_with_its_status(
    cli: Cli, tmp_path: Path, how: str, status: int, message: str
) -> None:
    result = cli("profile", str(FAILS), "--format", "folded", "--", "--how", how, cwd=tmp_path)
    assert result.returncode == status
    assert result.stdout == "loaded\n"
    assert message in result.stderr
    assert "load_everything" in folded_names(
        (tmp_path / "profile_fails.profile.folded").read_text()
    )
    assert "profile written to profile_fails.profile.folded (folded)" in result.stderr


def test_exact_mode_counts_every_call_and_states_its_overhead(cli: Cli) -> None:
    result = cli("profile", str(CALLS), "--mode", "exact", "-o", "-", "--format", "text")
    assert result.returncode == 0, result.stderr
    calls = {row.function: row.calls for row in parse_text_table(result.stdout)}
    assert calls["tick"] == 37
    assert calls["main chunk"] == 1
    assert EXACT_COST in result.stderr
    assert "ticked\t1406\n" in result.stderr


def test_ctrl_c_stops_the_script_and_still_writes_the_profile(tmp_path: Path) -> None:
    target = tmp_path / "spin.folded"
    with subprocess.Popen(
        [sys.executable, "-m", "llmspell_tui", "profile", str(SPIN), "-o", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline() == "spinning\n"
            proc.send_signal(signal.SIGINT)
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130
    assert "interrupted by user" in stderr
    # the profile holds the run up to the interrupt
    assert "warm_up" in folded_names(target.read_text())
    assert f"profile written to {target} (folded)" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "pdf"], "unknown profile format 'pdf': use one of folded, speedscope, svg"),
        (["-o", "run.html"], "name the file with one of .speedscope.json"),
        (["-o", "missing/run.svg"], "the directory missing does not exist"),
        (["-o", "."], "it is a directory"),
        (["--rate", "0"], "expected a sampling rate from 1 to 20000 Hz, got 0"),
        (["--rate", "fast"], "argument --rate"),
        (["--duration", "3"], "--duration is for --host"),
        (["--tui", "-o", "x.svg"], "drop -o/--format"),
        (["--tui", "--sandbox", "restricted"], "set them in llmspell.toml ([runtime])"),
    ],
)
def test_usage_errors_exit_2_and_say_what_to_do(cli: Cli, args: list[str], message: str) -> None:
    result = cli("profile", str(WORK), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "work done" not in result.stdout  # nothing ran


def test_a_missing_script_is_named_with_the_likely_one(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "job.lua").write_text("print(1)\n")
    result = cli("profile", "job", cwd=tmp_path)
    assert result.returncode == 2
    assert "script not found: job; did you mean job.lua?" in result.stderr
    none = cli("profile")
    assert none.returncode == 2
    assert "name the script to profile" in none.stderr


# ---------------------------------------------------------------------------- --host


@pytest.fixture
def work_kernel(cli: Cli) -> Iterator[str]:
    """A kernel started with `llmspell kernel start --name work`; its pid."""
    result = cli("kernel", "start", "--name", "work")
    assert result.returncode == 0, result.stderr
    pid = re.search(r"pid (\d+)", result.stdout)
    assert pid
    yield pid.group(1)
    cli("kernel", "stop", "--all")


def test_host_profiles_the_kernels_python_side_into_speedscope(
    cli: Cli, work_kernel: str, tmp_path: Path
) -> None:
    busy = tmp_path / "busy.lua"
    busy.write_text("local t = os.clock()\nwhile os.clock() - t < 3 do end\nprint('busy done')\n")
    # keep the kernel's execution thread working while py-spy watches
    with subprocess.Popen(
        [sys.executable, "-m", "llmspell_tui", "run", str(busy), "--connect", "work"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as running:
        try:
            result = cli("profile", "--host", "work", "--duration", "2", cwd=tmp_path)
            out, err = running.communicate(timeout=30)
        finally:
            if running.poll() is None:
                running.kill()
    assert result.returncode == 0, result.stderr
    assert out == "busy done\n", err
    target = tmp_path / f"kernel-{work_kernel}.speedscope.json"
    # py-spy's own speedscope (its "activeProfileIndex" is null, which the schema does not allow)
    document: dict[str, Any] = json.loads(target.read_text())
    assert document["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert {p["type"] for p in document["profiles"]} == {"sampled"}
    files = {str(frame.get("file", "")) for frame in document["shared"]["frames"]}
    assert any(f"kernel_core{os.sep}" in f for f in files), files
    assert f"profile of kernel work (pid {work_kernel}) written to {target.name}" in result.stderr


def test_host_names_the_running_kernels_when_the_kernel_is_unknown(
    cli: Cli, work_kernel: str
) -> None:
    result = cli("profile", "--host", "nope")
    assert result.returncode == 2
    assert "no kernel named or with id 'nope'; running: work" in result.stderr


def test_host_with_a_pid_that_is_not_running_fails_clearly(cli: Cli) -> None:
    result = cli("profile", "--host", "999999", "--duration", "1")
    assert result.returncode == 2
    assert "no process 999999 is running" in result.stderr
    assert "llmspell kernel list" in result.stderr


def test_host_on_a_process_that_is_not_python_says_so(cli: Cli) -> None:
    with subprocess.Popen(["sleep", "30"]) as sleeper:
        try:
            result = cli("profile", "--host", str(sleeper.pid), "--duration", "1")
        finally:
            sleeper.kill()
    assert result.returncode == 1
    assert f"pid {sleeper.pid} does not look like a Python process" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([str(WORK)], "takes no script"),
        (["--mode", "exact"], "takes no --mode"),
        (["-o", "kernel.svg"], "--host writes speedscope JSON"),
    ],
)
def test_host_rejects_what_only_a_script_profile_takes(
    cli: Cli, args: list[str], message: str
) -> None:
    result = cli("profile", "--host", "1", *args)
    assert result.returncode == 2
    assert message in result.stderr


# ---------------------------------------------------------------------------- --tui


def parsed(*argv: str) -> argparse.Namespace:
    """The arguments ``llmspell ARGV`` hands its command (words the CLI does not know are the
    script's, as after ``--``)."""
    args, extra = build_parser(list(argv)).parse_known_args(list(argv))
    args.script_args = extra
    return args


async def test_profile_tui_profiles_the_script_from_its_first_line() -> None:
    args = parsed("profile", str(WORK), "--tui", "--mode", "exact", "first")
    app = RecordingApp(tui_launch(args))
    async with app.run_test(size=(120, 40)):
        started = await app.waiter.wait_for(ProfilingChanged)
        assert started.on
        assert started.mode == "exact"
        assert app.flamegraph_shown
        finished = await app.waiter.wait_for(ScriptFinished)
        assert finished.exit_code == 0
        final = await app.waiter.wait_for(
            ProfileUpdated, lambda u: "crunch_numbers" in {f.name for f in u.profile.frames}
        )
        rows = {row.frame.name: row for row in final.profile.top_functions()}
        # exact mode from the first line: every call counted, the main chunk's too
        assert rows["main chunk"].calls == 1
        assert rows["spin_for"].calls == 2
        printed = "".join(m.text for m in app.waiter.handled if isinstance(m, Output))
        assert "work done\tfirst\t-\n" in printed  # the script's arguments arrived
    assert known_kernels() == []


def test_exact_modes_cost_is_one_figure_wherever_it_is_told(cli: Cli) -> None:
    # the measured figure (docs/benchmarks.md), in --help, the config reference and reports
    help_text = " ".join(cli("profile", "--help").stdout.split())
    assert EXACT_COST in help_text
    assert EXACT_COST in EXACT_CAVEAT
    assert EXACT_COST in " ".join(SCHEMA["profiler"].settings["mode"].doc.split())
    for page in ("README.md", "docs/profiler.md", "docs/profiler-formats.md", "docs/tutorial.md"):
        text = (ROOT / page).read_text(encoding="utf-8")
        assert "5 to 50" not in text, page
        assert "5-200" not in text, page
