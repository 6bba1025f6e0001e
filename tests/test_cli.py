"""The ``llmspell`` command as a user runs it: a real process, real files, real exit statuses."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from llmspell_tui.cli import build_parser
from tests.conftest import CliResult

Cli = Callable[..., CliResult]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _commands() -> list[str]:
    parser = build_parser()
    for action in parser._actions:  # argparse keeps subparsers only here
        choices = getattr(action, "choices", None)
        if isinstance(choices, dict):
            return sorted(choices)
    raise AssertionError("llmspell has no subcommands")


# ---------------------------------------------------------------- help and version


def test_version_prints_the_package_version(cli: Cli) -> None:
    from kernel_core import __version__

    result = cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"llmspell {__version__}"


def test_help_lists_every_command_with_examples(cli: Cli) -> None:
    result = cli("--help")
    assert result.returncode == 0
    assert "examples:" in result.stdout
    for name in _commands():
        assert name in result.stdout


def test_no_command_prints_the_help_instead_of_failing(cli: Cli) -> None:
    result = cli()
    assert result.returncode == 0
    assert "usage: llmspell" in result.stdout


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_with_examples(cli: Cli, command: str) -> None:
    result = cli(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: llmspell {command}")
    examples = result.stdout.split("examples:", 1)
    assert len(examples) == 2, f"'llmspell {command} --help' has no examples: section"
    assert f"llmspell {command}" in examples[1]


# ---------------------------------------------------------------- running scripts


def test_run_passes_named_and_positional_arguments(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "args.lua", "print(ARGS.name, ARGS[1], arg[1], arg[0], ARGS[0])\n")
    result = cli("run", "args.lua", "--", "--name", "x", "pos")
    assert result.returncode == 0, result.stderr
    name, first, arg1, arg0, args0 = result.stdout.rstrip("\n").split("\t")
    assert (name, first, arg1) == ("x", "pos", "pos")
    assert Path(arg0).name == "args.lua"
    assert args0 == "args.lua"


def test_run_accepts_script_words_without_a_double_dash(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "pos.lua", "print(#arg, arg[1], arg[2])\n")
    result = cli("run", "pos.lua", "one", "two")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2\tone\ttwo\n"


def test_exec_runs_a_snippet(cli: Cli) -> None:
    result = cli("exec", "print(1 + 1, JSON.stringify({a = 1}))")
    assert result.returncode == 0, result.stderr
    assert result.stdout == '2\t{"a":1}\n'


def test_exec_shows_the_values_the_snippet_returns_as_the_repl_does(cli: Cli) -> None:
    assert cli("exec", "return 1+1").stdout == "2\n"
    shown = cli("exec", "print('first') return 'a', 2.0, nil, {1, x = true}")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == 'first\n"a"\t2.0\tnil\t{\n  1,\n  x = true\n}\n'
    assert cli("exec", "print(1)").stdout == "1\n"  # nothing returned: nothing more shown
    document = json.loads(cli("exec", "return 7", "--output", "json").stdout)
    assert document["result"] == 7  # the value is in the object, not printed before it


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("print('fine')", 0),
        ("error('boom')", 1),
        ("os.exit(7)", 7),
        ("os.exit(0)", 0),
        ("os.exit(true)", 0),
        ("os.exit(false)", 1),
    ],
)
def test_exit_status_follows_how_the_script_ended(cli: Cli, code: str, status: int) -> None:
    assert cli("exec", code).returncode == status


def test_os_exit_keeps_output_printed_before_it(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "bye.lua", "print('before')\nos.exit(3)\nprint('after')\n")
    result = cli("run", "bye.lua")
    assert result.returncode == 3
    assert result.stdout == "before\n"
    assert result.stderr == ""


def test_output_json_is_one_object_with_result_and_streams(cli: Cli, tmp_path: Path) -> None:
    _write(
        tmp_path / "j.lua", "print('out')\nio.stderr:write('err')\nreturn {n = 1, list = {1, 2}}\n"
    )
    result = cli("run", "j.lua", "--output", "json")
    assert result.returncode == 0
    document = json.loads(result.stdout)
    assert result.stdout.count("\n") == 1
    assert document["status"] == "ok"
    assert document["exit_code"] == 0
    assert document["result"] == {"n": 1, "list": [1, 2]}
    assert document["stdout"] == "out\n"
    assert document["stderr"] == "err"
    assert document["error"] is None


def test_output_json_reports_a_failure_as_data(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "bad.lua", "local t = nil\nreturn t.x\n")
    result = cli("--output", "json", "run", "bad.lua")
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["status"] == "error"
    assert document["exit_code"] == 1
    assert document["result"] is None
    error = document["error"]
    assert error["message"] == "attempt to index a nil value (local 't')"
    assert Path(error["location"][0]).name == "bad.lua"
    assert error["location"][1] == 2
    assert "'t' is nil" in error["suggestion"]


def test_lua_error_shows_location_source_marker_traceback_and_hint(
    cli: Cli, tmp_path: Path
) -> None:
    _write(
        tmp_path / "scripts" / "err.lua",
        "local function load_config(cfg)\n  return cfg.name\nend\n\nload_config(nil)\n",
    )
    result = cli("run", "scripts/err.lua")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "error: attempt to index a nil value (local 'cfg')"
    assert lines[1] == "  --> scripts/err.lua:2"
    assert "2 |   return cfg.name" in lines
    marker = next(line for line in lines if "^" in line)
    assert marker.index("^") == lines[lines.index("2 |   return cfg.name")].index("cfg")
    assert marker.count("^") == len("cfg")
    assert "stack traceback:" in lines
    assert "  scripts/err.lua:2: in function 'load_config'" in lines
    assert "  scripts/err.lua:5: in main chunk" in lines
    assert lines[-1].startswith("hint: 'cfg' is nil")
    assert str(tmp_path) not in result.stderr


def test_syntax_error_names_the_line_and_gives_a_hint(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "syn.lua", "local x = 1\nif x = 1 then\nend\n")
    result = cli("run", "syn.lua")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0] == "syntax error: 'then' expected near '='"
    assert lines[1] == "  --> syn.lua:2"
    assert "2 | if x = 1 then" in lines
    assert lines[-1] == "hint: use '==' to compare; a single '=' only assigns."


def test_missing_script_is_a_clear_usage_error(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "present.lua", "print(1)\n")
    result = cli("run", "absent.lua")
    assert result.returncode == 2
    assert result.stderr.strip() == "llmspell: script not found: absent.lua"
    assert result.stdout == ""
    nearly = cli("run", "present")
    assert nearly.returncode == 2
    assert "did you mean present.lua?" in nearly.stderr


@pytest.mark.parametrize("command", ["run", "profile", "tui"])
def test_every_command_says_the_same_of_a_missing_script_or_a_directory(
    cli: Cli, tmp_path: Path, command: str
) -> None:
    _write(tmp_path / "present.lua", "print(1)\n")
    missing = cli(command, "absent.lua")
    assert (missing.returncode, missing.stderr) == (2, "llmspell: script not found: absent.lua\n")
    nearly = cli(command, "present")
    assert nearly.stderr == "llmspell: script not found: present; did you mean present.lua?\n"
    folder = cli(command, str(tmp_path))
    assert folder.returncode == 2
    assert folder.stderr == f"llmspell: {tmp_path} is a directory, not a script\n"


# ---------------------------------------------------------------- sandbox and limits


def test_restricted_sandbox_refuses_os_execute(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "shell.lua", "print('start')\nos.execute('echo pwned')\n")
    result = cli("run", "shell.lua", "--sandbox", "restricted")
    assert result.returncode == 1
    assert "pwned" not in result.stdout
    assert result.stdout == "start\n"
    assert "os.execute is not allowed in the restricted sandbox" in result.stderr
    assert "  --> shell.lua:2" in result.stderr
    assert "[C]: in function 'error'" not in result.stderr


def test_trusted_sandbox_allows_os_execute(cli: Cli) -> None:
    result = cli("exec", "print(os.execute('true'))")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "true\texit\t0\n"


def test_memory_limit_ends_a_greedy_script_with_a_clear_error(cli: Cli) -> None:
    code = "local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(64) .. i end"
    result = cli("exec", code, "--memory-limit", "16MiB")
    assert result.returncode == 1
    # in the voice of the other limits (time, instructions)
    assert result.stderr.startswith("limit exceeded: memory limit of 16 MiB exceeded\n")
    assert "--memory-limit" in result.stderr


def test_time_limit_stops_an_endless_loop(cli: Cli) -> None:
    started = time.perf_counter()
    result = cli("exec", "while true do end", "--time-limit", "0.3")
    assert time.perf_counter() - started < 20
    assert result.returncode == 1
    assert result.stderr.startswith("limit exceeded: time limit of 0.3s exceeded")


def test_instruction_limit_stops_an_endless_loop(cli: Cli) -> None:
    result = cli("exec", "local n = 0 while true do n = n + 1 end", "--instruction-limit", "100000")
    assert result.returncode == 1
    assert result.stderr.startswith("limit exceeded: instruction limit of 100000 exceeded")


@pytest.mark.parametrize("written", ["1e5", "100_000", "1E5", "100000"])
def test_count_flags_take_numbers_as_the_docs_write_them(cli: Cli, written: str) -> None:
    # the tutorial writes --instruction-limit 1e8
    loop = "local n = 0 while true do n = n + 1 end"
    result = cli("exec", loop, "--instruction-limit", written)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("limit exceeded: instruction limit of 100000 exceeded")
    sized = cli("exec", "print('fits')", "--memory-limit", written.replace("5", "8"))
    assert (sized.returncode, sized.stdout) == (0, "fits\n"), sized.stderr


def test_count_flags_refuse_what_is_not_a_whole_number(cli: Cli, tmp_path: Path) -> None:
    result = cli("exec", "print(1)", "--instruction-limit", "1.5e0")
    assert result.returncode == 2
    assert "bad value for 'runtime.instruction_limit'" in result.stderr
    assert "expected a whole number such as 1000 or 1e8, got '1.5e0'" in result.stderr
    _write(tmp_path / "quick.lua", "print(1)\n")
    top = cli("profile", "quick.lua", "--top", "1e1", "-o", "quick.txt")
    assert top.returncode == 0, top.stderr
    bad = cli("profile", "quick.lua", "--top", "ten", "-o", "quick.txt")
    assert bad.returncode == 2
    assert "argument --top: expected a whole number" in bad.stderr


def test_bad_limit_value_is_a_config_error_naming_the_key(cli: Cli) -> None:
    result = cli("exec", "print(1)", "--memory-limit", "lots")
    assert result.returncode == 2
    assert "command line: bad value for 'runtime.memory_limit'" in result.stderr
    assert "512MiB" in result.stderr


# ---------------------------------------------------------------- profiles, engine, flags


def test_minimal_profile_runs_scripts(cli: Cli) -> None:
    result = cli("-p", "minimal", "exec", "print('ok')")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


def test_unsupported_profile_is_an_error_naming_the_available_ones(cli: Cli) -> None:
    result = cli("-p", "rag-prod", "exec", "print('ok')")
    assert result.returncode == 2
    assert result.stdout == ""
    message = result.stderr.strip()
    assert message.startswith("llmspell: profile 'rag-prod' needs RAG")
    assert "available profiles: minimal, default," in message


def test_unknown_profile_suggests_the_nearest(cli: Cli) -> None:
    result = cli("-p", "minimall", "exec", "print('ok')")
    assert result.returncode == 2
    assert "unknown profile 'minimall'; did you mean 'minimal'?" in result.stderr


def test_engine_other_than_lua_is_a_clear_error(cli: Cli) -> None:
    result = cli("exec", "--engine", "js", "print(1)")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "llmspell: engine 'js' is not supported: only Lua is (--engine lua)"
    )


def test_global_flags_work_before_or_after_the_command(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "r.lua", "return 42\n")
    before = cli("--output", "json", "-p", "minimal", "run", "r.lua")
    after = cli("run", "r.lua", "--output", "json", "-p", "minimal")
    assert json.loads(before.stdout)["result"] == 42
    assert json.loads(after.stdout)["result"] == 42


def test_unknown_flag_is_a_usage_error(cli: Cli) -> None:
    result = cli("exec", "print(1)", "--no-such-flag")
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-flag" in result.stderr


# ---------------------------------------------------------------- require


def test_require_finds_a_module_next_to_the_script(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "app" / "helper.lua", "return {greet = function(n) return 'hi ' .. n end}\n")
    _write(tmp_path / "app" / "main.lua", "print(require('helper').greet('lua'))\n")
    result = cli("run", "app/main.lua")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hi lua\n"


def test_require_searches_module_paths_from_the_project_file(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "shared" / "lib" / "util.lua", "return {answer = 42}\n")
    _write(tmp_path / "proj" / "llmspell.toml", '[runtime]\nmodule_paths = ["../shared/lib"]\n')
    _write(tmp_path / "proj" / "main.lua", "print(require('util').answer)\n")
    result = cli("run", "main.lua", cwd=tmp_path / "proj")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "42\n"


def test_require_of_a_missing_module_lists_where_it_looked(cli: Cli, tmp_path: Path) -> None:
    _write(tmp_path / "m.lua", "require('nowhere')\n")
    result = cli("run", "m.lua")
    assert result.returncode == 1
    assert "module 'nowhere' not found" in result.stderr
    assert "nowhere.lua" in result.stderr
    assert (
        "hint: require looks for nowhere.lua next to the script and in [runtime] module_paths"
        in (result.stderr)
    )


# ---------------------------------------------------------------- Ctrl+C


def test_ctrl_c_stops_an_endless_loop_with_a_traceback_and_status_130(tmp_path: Path) -> None:
    _write(
        tmp_path / "loop.lua",
        "local n = 0\nwhile true do\n  if n == 0 then print('started') end\n"
        "  n = n + 1 -- spin\nend\n",
    )
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmspell_tui", "run", "loop.lua"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "started\n"
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert time.perf_counter() - sent < 5
    assert proc.returncode == 130
    assert stderr.startswith("interrupted: interrupted by user (Ctrl+C)")
    # the interrupt lands somewhere in the loop (lines 2-4), never before it
    assert re.search(r"  --> loop\.lua:[234]\n", stderr), stderr
    assert re.search(r"  loop\.lua:[234]: in main chunk", stderr), stderr
