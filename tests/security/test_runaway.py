"""Every runaway shape is stopped by interrupt and the limits, however the coroutine running it
was made, and a script cannot catch the stop and carry on as if it had finished."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, LuaWorld

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
    script.write_text('for i = 1, 10 do pcall(os.exit, 3) end\nwhile true do end\n')
    result = cli("run", str(script))
    assert result.returncode == 3
