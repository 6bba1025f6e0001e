"""State across processes: persistence between runs, nothing lost to kill -9, no lost
updates when two processes share the database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from kernel_core.runtime.database import Database
from kernel_core.runtime.state_store import GLOBAL_SCOPE, StateStore
from tests.conftest import ROOT, CliResult

# the package may not be installed where the tests run: find it from the source tree
SOURCE_ENV = {"PYTHONPATH": str(ROOT)}


def _llmspell(script: Path, state: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, LLMSPELL_STATE__PATH=str(state), PYTHONUNBUFFERED="1", **SOURCE_ENV)
    return subprocess.Popen(
        [sys.executable, "-m", "llmspell_tui", "run", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=script.parent,
    )


def test_state_set_by_one_run_is_read_by_the_next(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    env = {"LLMSPELL_STATE__PATH": str(tmp_path / "runs.sqlite3"), **SOURCE_ENV}
    first = cli("exec", "State.set('visits', 41) State.save('custom', 'who', {'Ada'})", env=env)
    assert first.returncode == 0, first.stderr
    second = cli(
        "exec", "print(State.increment('visits'), State.load('custom', 'who')[1])", env=env
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout == "42\tAda\n"


def test_kill_9_during_writes_loses_no_key_whose_set_returned(tmp_path: Path) -> None:
    script = tmp_path / "writer.lua"
    script.write_text(
        "for i = 1, 1000000 do\n"
        "  State.set('key' .. i, {i = i, text = 'value ' .. i})\n"
        "  print('key' .. i)\n"
        "end\n"
    )
    state = tmp_path / "killed.sqlite3"
    proc = _llmspell(script, state)
    assert proc.stdout is not None
    printed: list[str] = []
    try:
        while len(printed) < 200:
            line = proc.stdout.readline()
            assert line, f"writer ended early: {proc.stderr.read() if proc.stderr else ''}"
            printed.append(line.rstrip("\n"))
        proc.send_signal(signal.SIGKILL)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # a line cut by the kill may be incomplete: count only whole lines
    printed += list(rest.split("\n")[:-1])
    store = StateStore(Database(str(state)))
    try:
        for key in printed:
            number = int(key.removeprefix("key"))
            assert store.get(GLOBAL_SCOPE, key) == {"i": number, "text": f"value {number}"}
    finally:
        store.database.close()


def test_two_processes_incrementing_one_key_lose_no_update(tmp_path: Path) -> None:
    script = tmp_path / "counter.lua"
    script.write_text("for i = 1, 300 do State.increment('counter') end\nprint('done')\n")
    state = tmp_path / "shared.sqlite3"
    procs = [_llmspell(script, state) for _ in range(2)]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out == "done\n"
    store = StateStore(Database(str(state)))
    try:
        assert store.get(GLOBAL_SCOPE, "counter") == 600
    finally:
        store.database.close()


def test_opening_a_new_state_file_waits_while_another_process_creates_it(
    tmp_path: Path,
) -> None:
    # Two processes starting on a fresh file race to switch it to WAL; SQLite answers the
    # loser "database is locked" at once, without waiting out the busy timeout.
    path = tmp_path / "new.sqlite3"
    creator = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    creator.execute("BEGIN IMMEDIATE")  # still a rollback-journal file: it holds the lock
    creator.execute("CREATE TABLE creating (x)")
    release = threading.Timer(0.3, creator.execute, ("COMMIT",))
    release.start()
    store = StateStore(Database(str(path)))
    try:
        assert store.increment(GLOBAL_SCOPE, "n") == 1
    finally:
        release.join()
        store.database.close()
        creator.close()


def test_state_and_session_globals_do_not_import_sqlite3_until_used() -> None:
    code = (
        "import sys\n"
        "import kernel_core.runtime.globals.state, kernel_core.runtime.globals.session\n"
        "print(sorted(m for m in ('sqlite3', 'orjson') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, **SOURCE_ENV),
    )
    assert result.stdout == "[]\n"
