"""Memory bombs under ``[runtime] memory_limit``: the report says where the script allocated
(the memory watcher stops it near the limit, kernel_core/runtime/memory_watch.py), a single
huge allocation gets a clear error, and a kernel survives a bomb and serves its clients."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult
from tests.kernel_fixtures import client_thread, outputs, run_cell, start_kernel, stop_kernel

Cli = Callable[..., CliResult]

# the growing line is a whole loop: wherever in it the abort lands, it is this line
GROWS_IN_A_FUNCTION = """\
local function grow(t)
  local n = 0
  for i = 1, math.huge do t[i] = ("x"):rep(64) .. i; n = n + 1 end
  return n
end

local function main()
  local n = grow({}) return n
end

print(main())
"""


def _script(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return name


def test_a_memory_bomb_reports_the_line_that_allocated_and_the_traceback(
    cli: Cli, tmp_path: Path
) -> None:
    result = cli(
        "run", "--memory-limit", "32MiB", _script(tmp_path, "bomb.lua", GROWS_IN_A_FUNCTION)
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "limit exceeded: memory limit of 32 MiB exceeded"
    assert lines[1] == "  --> bomb.lua:3"
    assert "3 |   for i = 1, math.huge do t[i]" in result.stderr
    traceback = lines[lines.index("stack traceback:") + 1 :]
    assert traceback[:3] == [
        "  bomb.lua:3: in function 'grow'",
        "  bomb.lua:8: in function 'main'",
        "  bomb.lua:11: in main chunk",
    ]
    assert "--memory-limit 64MiB" in result.stderr
    assert result.stdout == ""


def test_a_memory_bomb_inside_a_coroutine_reports_the_coroutines_line(
    cli: Cli, tmp_path: Path
) -> None:
    script = _script(
        tmp_path,
        "co.lua",
        "local co = coroutine.wrap(function(t)\n"
        '  for i = 1, math.huge do t[i] = ("x"):rep(64) .. i end\n'
        "end)\n"
        "co({})\n",
    )
    result = cli("run", "--memory-limit", "32MiB", script)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[:2] == ["limit exceeded: memory limit of 32 MiB exceeded", "  --> co.lua:2"]
    assert "  co.lua:4: in main chunk" in lines


def test_a_single_huge_allocation_says_what_happened_and_how_to_allow_it(
    cli: Cli, tmp_path: Path
) -> None:
    script = _script(tmp_path, "rep.lua", 'local s = string.rep("x", 1e9)\nprint(#s)\n')
    result = cli("run", "--memory-limit", "32MiB", script)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("limit exceeded: memory limit of 32 MiB exceeded\n")
    assert "one allocation needed more than the" in result.stderr
    assert "MiB left" in result.stderr
    assert "raise [runtime] memory_limit" in result.stderr.lower()
    assert "--memory-limit 64MiB" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("written", ["32MiB", "32768KiB", "33554432", "3.3554432e7"])
def test_memory_limit_forms_are_one_limit(cli: Cli, tmp_path: Path, written: str) -> None:
    script = _script(tmp_path, "rep.lua", 'local s = string.rep("x", 1e9)\n')
    result = cli("run", "--memory-limit", written, script)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("limit exceeded: memory limit of 32 MiB exceeded\n")


def _plain(traceback: list[str]) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(traceback))


def _error(reply: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = reply["content"]
    assert content["status"] == "error", content
    assert (content["ename"], content["evalue"]) == (
        "LimitExceeded",
        "memory limit of 32 MiB exceeded",
    )
    return content


def test_a_kernel_survives_a_memory_bomb_and_serves_the_next_cell_and_other_clients(
    tmp_path: Path,
) -> None:
    km, client = start_kernel(
        {
            "LLMSPELL_RUNTIME__MEMORY_LIMIT": "32MiB",
            "LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3"),
        }
    )
    other = km.blocking_client()
    other.start_channels()
    try:
        answered: list[dict[str, Any]] = []
        bomb = (
            "local function grow(t)\n"
            '  for i = 1, math.huge do t[i] = ("x"):rep(64) .. i end\n'
            "end\n"
            "grow({})\n"
        )
        # a second client is answered while the bomb runs
        thread = client_thread(lambda: answered.append(other.kernel_info(reply=True, timeout=30)))
        reply, _ = run_cell(client, bomb, timeout=60)
        thread.join(timeout=60)
        content = _error(reply)
        traceback = _plain(content["traceback"])
        assert "--> Cell In[1]:2\n" in traceback, traceback
        assert "  Cell In[1]:2: in function 'grow'\n  Cell In[1]:4: in main chunk" in traceback
        assert [r["content"]["status"] for r in answered] == ["ok"]
        # the memory is back: the next cell can use most of the limit again
        follow = run_cell(client, "local s = ('y'):rep(10 * 1024 * 1024) return #s")[1]
        assert outputs(follow) == [("execute_result", {"text/plain": str(10 * 1024 * 1024)})]
        # a bomb inside a coroutine, resumed: the run ends, the coroutine's line reported
        # (growing slowly enough that a loaded machine's watcher still sees 90% before the
        # allocator refuses, which resume would return as false, "not enough memory")
        reply, _ = run_cell(
            client,
            "local co = coroutine.create(function(t)\n"
            '  for i = 1, math.huge do t[i] = ("x"):rep(64) .. i; for _ = 1, 50 do end end\n'
            "end)\n"
            "print(coroutine.resume(co, {}))\n",
            timeout=60,
        )
        traceback = _plain(_error(reply)["traceback"])
        assert "--> Cell In[3]:2\n" in traceback, traceback
        assert "  Cell In[3]:4: in main chunk" in traceback
        assert outputs(run_cell(other, "1 + 1")[1]) == [("execute_result", {"text/plain": "2"})]
    finally:
        other.stop_channels()
        stop_kernel(km, client, now=True)


def test_an_allocation_the_limit_refuses_names_where_the_heap_last_grew(
    cli: Cli, tmp_path: Path
) -> None:
    # a table of numbers doubles its array: at half the limit the next doubling cannot fit,
    # so the allocator refuses (no handler runs); the watcher saw the heap grow in fill()
    script = _script(
        tmp_path,
        "ints.lua",
        "local function fill(t)\n  for i = 1, math.huge do t[i] = i end\nend\nfill({})\n",
    )
    result = cli("run", "--memory-limit", "256MiB", script)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[:2] == ["limit exceeded: memory limit of 256 MiB exceeded", "  --> ints.lua:2"]
    assert "  ints.lua:2: in function 'fill'" in lines
    assert "one allocation needed more than the" in result.stderr
    assert "the location is where the heap was last seen growing" in result.stderr
