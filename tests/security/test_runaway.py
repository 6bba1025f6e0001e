"""Every runaway shape is stopped by interrupt and the limits, however the coroutine running it
was made, and a script cannot catch the stop and carry on as if it had finished."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.conftest import CliResult, LuaWorld
from tests.kernel_fixtures import collect, kernel, outputs, run_cell

__all__ = ["kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]

SHAPES = {
    "plain loop": "while true do end",
    "hooked coroutine.resume": (
        "coroutine.resume(coroutine.create(function() while true do end end))"
    ),
    "hooked coroutine.wrap": "coroutine.wrap(function() while true do end end)()",
    "package.loaded.coroutine": (
        "local c = package.loaded.coroutine\nc.resume(c.create(function() while true do end end))"
    ),
    "require('coroutine').wrap": "require('coroutine').wrap(function() while true do end end)()",
    "registry _LOADED": (
        "local c = debug.getregistry()._LOADED.coroutine\n"
        "c.resume(c.create(function() while true do end end))"
    ),
    "loop inside pcall": "pcall(function() while true do end end)",
    # a callback llmspell calls from a host function (Tool.execute fires the hook)
    "Hook callback": (
        'Hook.register("BeforeToolExecution", function() while true do end end)\n'
        'Tool.execute("calculator", {input = "1 + 1"})'
    ),
    "Workflow function step": (
        'Workflow.builder():name("w"):sequential():add_step({name = "s", type = "function", '
        "fn = function() while true do end end}):build():execute({})"
    ),
    "nested coroutines": (
        "coroutine.wrap(function()\n"
        "  coroutine.resume(coroutine.create(function() while true do end end))\n"
        "end)()"
    ),
}


CASES = [
    (shape, level)
    for shape in sorted(SHAPES)
    for level in ("trusted", "restricted")
    # the restricted sandbox has no debug.getregistry
    if not (level == "restricted" and "getregistry" in SHAPES[shape])
]


@pytest.mark.parametrize(("shape", "level"), CASES)
def test_the_instruction_limit_stops_every_shape(
    make_lua: Callable[..., LuaWorld], shape: str, level: str
) -> None:
    code = SHAPES[shape]
    lua = make_lua(runtime={"sandbox": level, "instruction_limit": 200_000})
    run = lua.run(code + '\nprint("carried on")')
    assert run.outcome.status != "ok", shape
    assert run.outcome.failure is not None
    assert run.outcome.failure.abort == "instructions", run.outcome.failure.message
    assert "carried on" not in run.stdout


@pytest.mark.parametrize("shape", ["hooked coroutine.resume", "package.loaded.coroutine"])
def test_the_time_limit_stops_a_loop_in_a_coroutine(
    cli: Callable[..., CliResult], tmp_path: Path, shape: str
) -> None:
    script = tmp_path / "spin.lua"
    script.write_text(SHAPES[shape] + "\n")  # the script ends right after the resume
    result = cli("run", "--time-limit", "1", str(script))
    assert result.returncode == 1, result.stderr
    assert "time limit of 1s exceeded" in result.stderr


def test_os_exit_inside_pcall_still_exits_with_its_status(
    cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    script = tmp_path / "exit.lua"
    script.write_text("for i = 1, 10 do pcall(os.exit, 3) end\nwhile true do end\n")
    result = cli("run", str(script))
    assert result.returncode == 3


def _interrupt_and_reply(kernel: Kernel, code: str, **kwargs: Any) -> dict[str, Any]:
    km, client = kernel
    msg_id = client.execute(code, **kwargs)
    time.sleep(0.3)  # let it reach the loop
    km.interrupt_kernel()
    reply = client.get_shell_msg(timeout=20)
    assert reply["parent_header"]["msg_id"] == msg_id
    collect(client, msg_id)
    return dict(reply["content"])


def test_interrupt_stops_a_result_whose_tostring_loops(kernel: Kernel) -> None:
    content = _interrupt_and_reply(
        kernel, "setmetatable({}, {__tostring = function() while true do end end})"
    )
    assert content["status"] == "error"
    assert content["ename"] == "Interrupted"
    assert outputs(run_cell(kernel[1], "40 + 2")[1]) == [("execute_result", {"text/plain": "42"})]


def test_interrupt_stops_a_user_expression_that_loops(kernel: Kernel) -> None:
    content = _interrupt_and_reply(
        kernel, "1", user_expressions={"x": "(function() while true do end end)()"}
    )
    assert content["status"] == "ok"
    assert content["user_expressions"]["x"]["status"] == "error"
    assert "interrupted" in content["user_expressions"]["x"]["evalue"]
    assert outputs(run_cell(kernel[1], "40 + 2")[1]) == [("execute_result", {"text/plain": "42"})]


@pytest.mark.parametrize("shape", ["Hook callback", "Workflow function step"])
def test_interrupt_stops_a_loop_in_a_callback_llmspell_calls(kernel: Kernel, shape: str) -> None:
    content = _interrupt_and_reply(kernel, SHAPES[shape])
    assert content["status"] == "error"
    assert content["ename"] == "Interrupted", content
    assert outputs(run_cell(kernel[1], "40 + 2")[1]) == [("execute_result", {"text/plain": "42"})]


def test_ctrl_c_that_cannot_reach_a_coroutine_loop_says_so_and_a_second_exits(
    tmp_path: Path,
) -> None:
    script = tmp_path / "spin.lua"
    script.write_text("coroutine.wrap(function() while true do end end)()\n")
    env = dict(os.environ, LLMSPELL_STATE__PATH=str(tmp_path / "state.sqlite3"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmspell_tui", "run", str(script)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    time.sleep(1.0)  # the loop is running
    proc.send_signal(signal.SIGINT)
    line = proc.stderr.readline()  # blocks until the hint (the process would else spin on)
    assert "still running a second after Ctrl+C" in line
    assert "press Ctrl+C again to exit" in line
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 130
    proc.stderr.close()


def test_an_interrupt_right_after_the_cell_starts_is_never_lost(kernel: Kernel) -> None:
    km, client = kernel
    # (an interrupt sent before the kernel has the cell finds it idle and is dropped, as in
    # ipykernel; from its execute_input on, the cell is the one interrupted)
    for attempt in range(30):
        msg_id = client.execute("while true do end")
        while True:  # the moment the cell starts: its execute_input
            msg = client.get_iopub_msg(timeout=20)
            parent = msg["parent_header"].get("msg_id")
            if parent == msg_id and msg["msg_type"] == "execute_input":
                break
        time.sleep((attempt % 7) * 0.0015)  # sweep the start of the run
        km.interrupt_kernel()
        reply = client.get_shell_msg(timeout=20)
        assert reply["parent_header"]["msg_id"] == msg_id, attempt
        assert reply["content"]["ename"] == "Interrupted", (attempt, reply["content"])
        collect(client, msg_id)
