"""`llmspell kernel start/list/stop/install`, `llmspell run --connect`, nbclient and
`jupyter console --existing`, as a user runs them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.kernel_fixtures import jupyter_console, talk_and_quit

Cli = Callable[..., CliResult]


@pytest.fixture
def started_kernel(cli: Cli) -> Iterator[tuple[str, Path]]:
    """A kernel started with `llmspell kernel start --name ...`, stopped afterwards."""
    result = cli("kernel", "start", "--name", "work")
    assert result.returncode == 0, result.stderr
    kernel_id = re.search(r"kernel (\S+) \(work\)", result.stdout)
    path = re.search(r"connection file: (\S+)", result.stdout)
    assert kernel_id
    assert path
    yield kernel_id.group(1), Path(path.group(1))
    cli("kernel", "stop", "--all")


def test_kernel_start_writes_a_private_connection_file(started_kernel: tuple[str, Path]) -> None:
    _, path = started_kernel
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    info = json.loads(path.read_text())
    assert info["transport"] == "ipc"
    assert info["signature_scheme"] == "hmac-sha256"
    assert len(info["key"]) >= 32


def test_kernel_list_shows_live_kernels_and_stop_removes_them(
    cli: Cli, started_kernel: tuple[str, Path]
) -> None:
    kernel_id, path = started_kernel
    # `kernel start` returns once the kernel answers; its Lua world may still be loading
    # (state "starting", on a loaded machine), and is "idle" once it is
    deadline = time.monotonic() + 20
    while True:
        rows = json.loads(cli("kernel", "list", "--output", "json").stdout)
        if (rows and rows[0]["state"] != "starting") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [(r["id"], r["name"], r["state"], r["transport"]) for r in rows] == [
        (kernel_id, "work", "idle", "ipc")
    ]
    text = cli("kernel", "list").stdout
    assert "work" in text
    assert "idle" in text
    stopped = cli("kernel", "stop", "work")
    assert stopped.returncode == 0, stopped.stderr
    assert not path.exists()
    assert "no running kernels" in cli("kernel", "list").stdout


def test_kernel_list_removes_stale_connection_files(cli: Cli) -> None:
    runtime = Path(os.environ["LLMSPELL_RUNTIME_DIR"])
    stale = runtime / "kernel-dead.json"
    stale.write_text(
        json.dumps(
            {
                "transport": "ipc",
                "ip": str(runtime / "k-dead"),
                "shell_port": 1,
                "iopub_port": 2,
                "stdin_port": 3,
                "control_port": 4,
                "hb_port": 5,
                "key": "x",
            }
        )
    )
    (runtime / "kernel-dead.info.json").write_text(
        json.dumps(
            {
                "kernel_id": "dead",
                "name": "gone",
                "pid": 2**22 + 12345,
                "started": 0,
                "transport": "ipc",
                "connection_file": str(stale),
            }
        )
    )
    result = cli("kernel", "list")
    assert "removed stale connection file" in result.stderr
    assert not stale.exists()


def test_run_connect_runs_a_script_on_the_kernel(
    cli: Cli, started_kernel: tuple[str, Path], tmp_path: Path
) -> None:
    script = tmp_path / "remote.lua"
    script.write_text("print('on the kernel', ARGS.who)\nshared_value = 7\n")
    result = cli("run", str(script), "--connect", "work", "--", "--who", "me")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "on the kernel\tme\n"
    again = cli("exec", "print(shared_value)", "--connect", "work")
    assert again.stdout == "7\n"


def test_a_connect_run_follows_the_output_rules_of_a_local_run(
    cli: Cli, started_kernel: tuple[str, Path], tmp_path: Path
) -> None:
    script = tmp_path / "fails.lua"
    script.write_text("print('before')\nerror('boom')\n")
    local = json.loads(cli("run", str(script), "--output", "json").stdout)
    remote_run = cli("run", str(script), "--connect", "work", "--output", "json")
    assert remote_run.returncode == 1
    remote = json.loads(remote_run.stdout)  # one object, the script's output inside it
    assert set(remote) == set(local)
    for doc in (local, remote):
        assert (doc["status"], doc["exit_code"], doc["stdout"]) == ("error", 1, "before\n")
        assert "boom" in doc["error"]["message"]
    assert set(remote["error"]) == set(local["error"])  # the same report, wherever it ran
    assert remote["error"]["location"] == local["error"]["location"]
    assert remote_run.stderr == ""
    # a script's value is data, locally and on a kernel
    returns = tmp_path / "returns.lua"
    returns.write_text("return {greeted = 'Ada', n = 2}\n")
    local = json.loads(cli("run", str(returns), "--output", "json").stdout)
    remote = json.loads(cli("run", str(returns), "--connect", "work", "--output", "json").stdout)
    assert local["result"] == remote["result"] == {"greeted": "Ada", "n": 2}
    shown = json.loads(cli("exec", "return 6 * 7", "--connect", "work", "--output", "json").stdout)
    assert (shown["status"], shown["result"]) == ("ok", "42")
    # an error report is coloured on a terminal or with FORCE_COLOR, never in a file or with
    # NO_COLOR: for a run on a kernel as for a local one
    for where in ([], ["--connect", "work"]):
        plain = cli("run", str(script), *where)
        assert "boom" in plain.stderr
        assert "\x1b[" not in plain.stderr
        forced = cli("run", str(script), *where, env={"FORCE_COLOR": "1"})
        assert "\x1b[" in forced.stderr
        refused = cli("run", str(script), *where, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
        assert "\x1b[" not in refused.stderr
        assert "boom" in refused.stderr


def test_stop_unknown_kernel_is_a_clear_error(cli: Cli) -> None:
    result = cli("kernel", "stop", "nope")
    assert result.returncode == 2
    assert "no running kernel" in result.stderr


def test_stopping_a_silent_kernel_says_how_to_clear_it(cli: Cli) -> None:
    # a connection file with no info file (no pid to signal) and nobody on its sockets
    runtime = Path(os.environ["LLMSPELL_RUNTIME_DIR"])
    silent = runtime / "kernel-silent.json"
    silent.write_text(
        json.dumps(
            {
                "transport": "ipc",
                "ip": str(runtime / "k-silent"),
                "shell_port": 1,
                "iopub_port": 2,
                "stdin_port": 3,
                "control_port": 4,
                "hb_port": 5,
                "key": "x",
            }
        )
    )
    result = cli("kernel", "stop", str(silent))
    assert result.returncode == 1
    assert "no answer in 10 s" in result.stderr
    assert "llmspell kernel list" in result.stderr, result.stderr  # what to do about it
    assert str(silent) in result.stderr
    cli("kernel", "list")  # the advice holds: its heartbeat is silent too
    assert not silent.exists()


def test_notebook_runs_through_nbclient(cli: Cli, tmp_path: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    assert cli("kernel", "install", "--user").returncode == 0
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [
        nbformat.v4.new_code_cell("local items = {'a', 'b'}"),  # type: ignore[no-untyped-call]
        nbformat.v4.new_code_cell("print(#items)\nreturn items[2]"),  # type: ignore[no-untyped-call]
    ]
    NotebookClient(nb, kernel_name="llmspell", timeout=60).execute()
    outputs = nb.cells[1].outputs
    assert outputs[0]["output_type"] == "stream"
    assert outputs[0]["text"] == "2\n"
    assert outputs[1]["output_type"] == "execute_result"
    assert outputs[1]["data"]["text/plain"] == '"b"'


def test_jupyter_console_existing_talks_to_the_kernel(
    started_kernel: tuple[str, Path],
) -> None:
    _, path = started_kernel
    child, _ = jupyter_console("--existing", str(path))
    talk_and_quit(child)
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0
