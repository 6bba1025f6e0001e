"""Lua behaves as Lua: the same snippet gives the same output in a bare
``lupa.lua54.LuaRuntime()``, under ``llmspell run --sandbox trusted``, in a runtime whose
coroutines are hooked (as a kernel's are), and in a kernel with the debugger attached (a
breakpoint set) and the profiler on.

A differential harness: each snippet prints what it observes; the outputs are compared.
The snippets stay away from what LLMSpell adds on purpose (its globals, ``arg``,
``package.path``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.conftest import LuaWorld
from tests.debug_fixtures import Debugger, dbg, debug_kernel
from tests.kernel_fixtures import client_thread, collect, kernel, outputs, run_cell

__all__ = ["dbg", "debug_kernel", "kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]

BARE = """
import sys
import lupa.lua54 as lupa
lua = lupa.LuaRuntime()
run = lua.eval("function(path) return assert(loadfile(path))() end")
run(sys.argv[1])
"""

# A ScriptRuntime as a kernel makes it (coroutine.create/wrap/resume hooked), its output on
# the process's own descriptors.
HOOKED = """
import sys
from pathlib import Path
from kernel_core.config import load_config
from kernel_core.runtime.script_runtime import ScriptContext, ScriptRuntime

class Native:
    native_streams = frozenset({"stdout", "stderr", "stdin"})
    def write(self, stream, text):
        raise AssertionError("native streams are written by Lua itself")
    def read_line(self, prompt):
        raise AssertionError("native streams are read by Lua itself")

path = Path(sys.argv[1])
config = load_config(project_dir=path.parent, overrides={"runtime": {"sandbox": "trusted"},
                     "state": {"path": sys.argv[2]}})
runtime = ScriptRuntime(config, Native(), script=ScriptContext(path))
outcome = runtime.run_file(path)
runtime.close()
if outcome.failure is not None:
    sys.stderr.write("FAILED " + outcome.failure.message + "\\n")
    sys.exit(1)
"""

SNIPPETS: dict[str, str] = {
    "print_is_lua_s_own": """
        local info = debug.getinfo(print)
        print(info.what, info.source, info.short_src, info.nups, info.linedefined)
        print(pcall(string.dump, print))
        print(pcall(debug.upvaluejoin, print, 1, print, 1))
        print(debug.getupvalue(print, 1))
        print(select("#", print()))
        print(pcall(print, setmetatable({}, {__tostring = function() return 1 end})))
        print(1, 2.0, -0.0, 1e100, 2^63, math.mininteger, nil, true, "s\\0z")
        print(debug.getinfo(io.write).what, debug.getinfo(io.stdout.write).what)
        """,
    "io_handles_are_real_files": """
        print(io.input(io.stdin) == io.stdin, io.input() == io.stdin, io.output() == io.stdout)
        print(pcall(rawlen, io.stdin))
        print(type(getmetatable(io.stdin).__gc), getmetatable(io.stdout).__name)
        print(getmetatable(io.stdout) == getmetatable(io.open(os.tmpname())))
        print(io.type(io.stdin), io.type(io.stdout), io.type(io.stderr), io.type(42))
        print((tostring(io.stdout):gsub("0x%x+", "ADDR")))
        print(io.close(io.stdout))
        print(io.write("x", 1, 2.5, "\\n") == io.stdout)
        print(pcall(io.write, {}))
        print(pcall(io.stdout.write, 1))
        print(pcall(io.close, {}))
        print(io.stdout:setvbuf("full"), io.stdout:flush() == io.stdout)
        print(io.stdout:seek())
        io.stderr:write("to stderr\\n")
        io.stdout:write("chained "):write("writes\\n")
        io.write("no newline at the end")
        """,
    "require_gives_the_libraries": """
        for _, name in ipairs({"io", "os", "string", "table", "math", "coroutine", "debug",
                               "utf8", "package"}) do
          print(name, require(name) == _G[name], package.loaded[name] == _G[name])
        end
        print(package.loaded._G == _G, require("_G") == _G)
        """,
    "coroutine_wrap_closes_on_error": """
        local log = {}
        local f = coroutine.wrap(function()
          local x <close> = setmetatable({}, {__close = function(_, e)
            log[#log + 1] = "closed " .. tostring(e) end})
          coroutine.yield(1)
          error("boom")
        end)
        print(f())
        print(pcall(f))
        print(#log, log[1])
        print(pcall(f))
        local g = coroutine.wrap(function()
          local y <close> = setmetatable({}, {__close = function() error("in close") end})
          error("first")
        end)
        print(pcall(g))
        local t = {}
        print(select(2, pcall(coroutine.wrap(function() error(t) end))) == t)
        print(pcall(coroutine.wrap(function() error("lvl0", 0) end)))
        print(pcall(function() local w = coroutine.wrap(function() error("x", 2) end); w() end))
        """,
    "coroutine_errors_read_as_lua_s": """
        print(pcall(coroutine.wrap, 1))
        print(pcall(function() coroutine.wrap(1) end))
        print(pcall(function() coroutine.create() end))
        print(pcall(function() local r = coroutine.resume; r(nil) end))
        print(pcall(function() coroutine.resume() end))
        print(pcall(function() coroutine.resume(io.stdout) end))
        local co = coroutine.create(function(...) return select("#", ...) end)
        print(coroutine.resume(co, nil, nil))
        print(coroutine.resume(co))
        print(select("#", coroutine.wrap(function() end)()))
        local inner = coroutine.create(function()
          return coroutine.resume(coroutine.running())
        end)
        print(coroutine.resume(inner))
        """,
    "setmetatable_errors_read_as_lua_s": """
        print(pcall(function() setmetatable(1, {}) end))
        print(pcall(function() setmetatable({}) end))
        print(pcall(function() setmetatable({}, 5) end))
        local locked = setmetatable({}, {__metatable = 1})
        print(pcall(function() local s = setmetatable; s(locked, {}) end))
        print(pcall(setmetatable, 1))
        print(pcall(function() setmetatable(setmetatable({}, {__name = "Thing"}), 1) end))
        print(select("#", setmetatable({}, nil)), getmetatable(setmetatable({}, nil)))
        local t = {}
        print(setmetatable(t, {}) == t, getmetatable(setmetatable(t, nil)))
        """,
    "os_exit_argument_errors_read_as_lua_s": """
        print(pcall(function() os.exit({}) end))
        print(pcall(function() os.exit(2.5) end))
        print(pcall(function() local e = os.exit; e("x") end))
        """,
}


def _write_snippet(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.lua"
    path.write_text(textwrap.dedent(SNIPPETS[name]).lstrip())
    return path


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LLMSPELL_STATE__PATH"] = str(tmp_path / "state.sqlite3")
    return env


def _run(argv: list[str], tmp_path: Path) -> tuple[str, str]:
    proc = subprocess.run(
        argv,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, proc.stderr


def bare(path: Path, tmp_path: Path) -> tuple[str, str]:
    """stdout and stderr of the snippet in a bare lupa.lua54.LuaRuntime()."""
    return _run([sys.executable, "-c", BARE, str(path)], tmp_path)


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_llmspell_run_trusted_is_plain_lua(name: str, tmp_path: Path) -> None:
    path = _write_snippet(tmp_path, name)
    ours = _run(
        [sys.executable, "-m", "llmspell_tui", "run", "--sandbox", "trusted", str(path)],
        tmp_path,
    )
    assert ours == bare(path, tmp_path)


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_llmspell_run_output_json_captures_plain_lua_output(name: str, tmp_path: Path) -> None:
    path = _write_snippet(tmp_path, name)
    stdout, _ = _run(
        [sys.executable, "-m", "llmspell_tui", "run", "--output", "json", str(path)], tmp_path
    )
    document = json.loads(stdout)
    assert document["status"] == "ok", document
    assert (document["stdout"], document["stderr"]) == bare(path, tmp_path)


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_a_runtime_with_hooked_coroutines_is_plain_lua(name: str, tmp_path: Path) -> None:
    path = _write_snippet(tmp_path, name)
    ours = _run([sys.executable, "-c", HOOKED, str(path), str(tmp_path / "s.db")], tmp_path)
    assert ours == bare(path, tmp_path)


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_a_kernel_with_debugger_and_profiler_is_plain_lua(
    name: str, tmp_path: Path, dbg: Debugger
) -> None:
    path = _write_snippet(tmp_path, name)
    other = tmp_path / "elsewhere.lua"
    other.write_text("local x = 1\nreturn x\n")
    dbg.ok("setBreakpoints", source={"path": str(other)}, breakpoints=[{"line": 2}])
    # breakpoints in the snippet itself that never stop: its code is instrumented
    lines = [{"line": n, "condition": "false"} for n in (1, 2, 3)]
    dbg.ok("setBreakpoints", source={"path": str(path)}, breakpoints=lines)
    dbg.ok("configurationDone")
    dbg.ok("llmspell/profileStart")
    msg_id = dbg.run_file(path)
    reply = dbg.shell_reply(msg_id, timeout=30)
    assert reply["status"] == "ok", reply
    streams = {"stdout": "", "stderr": ""}
    for m in dbg.iopub:
        if m.msg_type == "stream" and m.parent_id == msg_id:
            streams[m.content["name"]] += m.content["text"]
    dbg.ok("llmspell/profileStop")
    assert (streams["stdout"], streams["stderr"]) == bare(path, tmp_path)


def _chunk_names_out(text: str) -> str:
    """Output with every chunk name (a file or a cell) as CHUNK: cells have their own."""
    return re.sub(r"(?:\.\.\.)?[\w./-]*\.lua:(\d+):", r"CHUNK:\1:", text)


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_a_kernel_cell_with_debugger_and_profiler_is_plain_lua(
    name: str, tmp_path: Path, dbg: Debugger
) -> None:
    path = _write_snippet(tmp_path, name)
    dbg.ok("setBreakpoints", source={"path": str(tmp_path / "x.lua")}, breakpoints=[{"line": 1}])
    dbg.ok("configurationDone")
    dbg.ok("llmspell/profileStart")
    msg_id = dbg.execute(path.read_text())
    reply = dbg.shell_reply(msg_id, timeout=30)
    assert reply["status"] == "ok", reply
    streams = {"stdout": "", "stderr": ""}
    for m in dbg.iopub:
        if m.msg_type == "stream" and m.parent_id == msg_id:
            streams[m.content["name"]] += m.content["text"]
    dbg.ok("llmspell/profileStop")
    expected = bare(path, tmp_path)
    assert _chunk_names_out(streams["stdout"]) == _chunk_names_out(expected[0])
    assert streams["stderr"] == expected[1]


def test_a_kernel_answers_lua_s_own_stdin_reads_with_the_client_s_input(kernel: Kernel) -> None:
    _, client = kernel
    answers = iter(["Ada", "41", "one", "two"])
    asked: list[str] = []

    def answer() -> None:
        for _ in range(4):
            msg = client.get_stdin_msg(timeout=20)
            asked.append(msg["content"]["prompt"])
            client.input(next(answers))

    helper = client_thread(answer)
    code = (
        "io.write('name? ') local name = io.stdin:read('l')\n"
        "local n = io.read('n') io.read('l')\n"  # the rest of the number's line
        "local lines = {} for line in io.lines() do lines[#lines + 1] = line\n"
        "  if #lines == 2 then break end end\n"
        "print(name, n + 1, math.type(n), table.concat(lines, ','), io.type(io.stdin))"
    )
    reply, messages = run_cell(client, code, allow_stdin=True)
    helper.join()
    assert reply["content"]["status"] == "ok", reply["content"]
    stdout = "".join(v[1] for k, v in outputs(messages) if k == "stream" and v[0] == "stdout")
    assert stdout == "name? Ada\t42\tinteger\tone,two\tfile\n"
    assert len(asked) == 4


def test_an_interrupt_reaches_a_script_waiting_on_stdin(kernel: Kernel) -> None:
    km, client = kernel
    msg_id = client.execute("local line = io.read() print('read', line)", allow_stdin=True)
    request = client.get_stdin_msg(timeout=20)  # asked, never answered
    assert request["msg_type"] == "input_request"
    km.interrupt_kernel()
    reply = client.get_shell_msg(timeout=20)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = client.get_shell_msg(timeout=20)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Interrupted"
    collect(client, msg_id)

    # fd 0 is usable again: the next read asks again
    def answer_again() -> None:
        client.get_stdin_msg(timeout=20)
        client.input("again")

    helper = client_thread(answer_again)
    _, messages = run_cell(client, "print(io.read())", allow_stdin=True)
    helper.join()
    assert ("stream", ("stdout", "again\n")) in outputs(messages)


def test_a_python_sink_s_stand_in_files_act_as_the_standard_files(lua: LuaWorld) -> None:
    # an embedding sink (no native_streams) replaces the handles: they still act as files
    path = lua.directory / "out.txt"
    run = lua.run(
        f"""
        print(io.type(io.stdout), io.type(io.stdin), io.type(io.stderr))
        print(io.output(io.stdout) == io.stdout, io.input(io.stdin) == io.stdin)
        print(io.close(io.stdout))
        local f = io.output({str(path)!r})
        io.write("to the file")
        print(io.output() == f, io.close())
        io.output(io.stdout)
        io.write("back\\n")
        local r = io.input({str(path)!r})
        print(io.read("a"), io.input() == r)
        io.input(io.stdin)
        print(io.read())
        """,
        stdin=["typed"],
    )
    assert run.outcome.status == "ok", run.outcome.failure
    assert run.stdout == (
        "file\tfile\tfile\ntrue\ttrue\nnil\tcannot close standard file\n"
        "true\ttrue\nback\nto the file\ttrue\ntyped\n"
    )


def test_a_shell_run_by_a_kernel_cell_does_not_wait_on_the_kernel_s_stdin(kernel: Kernel) -> None:
    _, client = kernel
    reply, messages = run_cell(client, "print(os.execute('cat; echo done'))", timeout=30)
    assert reply["content"]["status"] == "ok", reply["content"]
    stdout = "".join(v[1] for k, v in outputs(messages) if k == "stream" and v[0] == "stdout")
    assert stdout == "done\ntrue\texit\t0\n"  # the shell's output is the cell's, too


def test_a_strict_mode_script_still_finds_llmspell_s_globals(lua: LuaWorld) -> None:
    run = lua.run(
        """
        setmetatable(_G, {__index = function(_, k) error("undeclared " .. k, 2) end,
                          __newindex = function(_, k) error("assignment to " .. k, 2) end})
        print(type(Tool), type(Agent), type(JSON), pcall(function() return nope end))
        """
    )
    assert run.outcome.status == "ok", run.outcome.failure
    assert run.stdout == "table\ttable\ttable\tfalse\t(test):4: undeclared nope\n"
