"""The Lua world's core: output, arguments, errors, limits, sandbox."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tests.conftest import LuaWorld


def test_print_joins_with_tabs_and_keeps_lua_number_formatting(lua: LuaWorld) -> None:
    run = lua.ok('print("a", 1, 2.0, nil, true) io.write(1.0, " ", 7, "\\n")')
    assert run.stdout == "a\t1\t2.0\tnil\ttrue\n1 7\n"


def test_io_stderr_goes_to_the_stderr_stream(lua: LuaWorld) -> None:
    run = lua.ok('io.stderr:write("warn\\n") io.stdout:write("out")')
    assert run.stderr == "warn\n"
    assert run.stdout == "out"


def test_io_read_reads_from_the_sink(lua: LuaWorld) -> None:
    run = lua.run("local a = io.read() local n = io.read('n') print(a, n + 1)", stdin=["hi", "41"])
    assert run.stdout == "hi\t42\n"


def test_runtime_error_reports_location_traceback_and_hint(lua: LuaWorld) -> None:
    run = lua.run("local function f(cfg)\n  return cfg.name\nend\nf(nil)")
    failure = run.outcome.failure
    assert failure is not None
    assert failure.bare_message == "attempt to index a nil value (local 'cfg')"
    assert failure.location == ("(test)", 2)
    assert failure.line_text == "  return cfg.name"
    assert [f.line for f in failure.frames if f.what != "C"] == [2, 4]
    assert failure.suggestion is not None
    assert "'cfg' is nil" in failure.suggestion


def test_syntax_error_is_reported_with_its_line(lua: LuaWorld) -> None:
    run = lua.run("local x = 1\nx = = 2")
    failure = run.outcome.failure
    assert failure is not None
    assert failure.syntax
    assert failure.location == ("(test)", 2)


def test_os_exit_ends_the_script_not_the_host(lua: LuaWorld) -> None:
    run = lua.run("print('before') os.exit(3) print('after')")
    assert run.outcome.status == "exit"
    assert run.outcome.exit_code == 3
    assert run.stdout == "before\n"
    assert lua.ok("return 1 + 1").value == 2


def test_interrupt_stops_a_tight_loop_even_inside_pcall(lua: LuaWorld) -> None:
    timer = threading.Timer(0.2, lua.runtime.request_abort, ("interrupt", "stop!"))
    timer.start()
    started = time.perf_counter()
    run = lua.run("while true do pcall(function() local x = 1 end) end")
    assert time.perf_counter() - started < 5
    assert run.outcome.status == "interrupted"
    assert run.outcome.exit_code == 130
    assert lua.ok("return 'still usable'").value == "still usable"


def test_interrupt_reaches_a_loop_inside_a_coroutine(lua: LuaWorld) -> None:
    timer = threading.Timer(0.2, lua.runtime.request_abort)
    timer.start()
    run = lua.run("local co = coroutine.wrap(function() while true do end end) co()")
    assert run.outcome.status == "interrupted"


def test_time_limit_ends_a_runaway_script(make_lua: Callable[..., LuaWorld]) -> None:
    world = make_lua(runtime={"time_limit": 0.3})
    run = world.run("while true do end")
    assert run.outcome.status == "limit"
    assert "time limit of 0.3s exceeded" in run.error


def test_instruction_limit_ends_a_runaway_script(make_lua: Callable[..., LuaWorld]) -> None:
    world = make_lua(runtime={"instruction_limit": 100000})
    run = world.run("local i = 0 while true do i = i + 1 end")
    assert run.outcome.status == "limit"
    assert "instruction limit of 100000 exceeded" in run.error
    assert world.ok("local s = 0 for i = 1, 100 do s = s + i end return s").value == 5050


def test_memory_limit_ends_the_script_and_the_runtime_recovers(
    make_lua: Callable[..., LuaWorld],
) -> None:
    world = make_lua(runtime={"memory_limit": "20MiB"})
    run = world.run("local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(64) .. i end")
    assert run.outcome.status == "limit"
    assert "memory limit of 20 MiB exceeded" in run.error
    assert world.ok("return #('ok'):rep(10)").value == 20


def test_os_execute_returns_what_lua_returns_not_a_raw_wait_status(lua: LuaWorld) -> None:
    assert lua.ok("return {os.execute('exit 3')}").value == [None, "exit", 3]
    assert lua.ok("return {os.execute('true')}").value == [True, "exit", 0]
    assert lua.ok("return {os.execute('exit 255')}").value == [None, "exit", 255]
    assert lua.ok("return {os.execute('kill -9 $$')}").value == [None, "signal", 9]
    assert lua.ok("return os.execute()").value is True  # a shell is available
    message = lua.fails("os.execute({})")
    assert "bad argument #1 to 'execute' (string expected, got table)" in message


def test_restricted_sandbox_refuses_processes_and_names_the_setting(
    make_lua: Callable[..., LuaWorld],
) -> None:
    world = make_lua(runtime={"sandbox": "restricted"})
    for call in ("os.execute('true')", "io.popen('ls')", "package.loadlib('x', 'y')"):
        message = world.fails(call)
        assert "not allowed in the restricted sandbox" in message
        assert "sandbox" in message
        assert "trusted" in message


def test_restricted_sandbox_limits_files_to_allowed_directories(
    make_lua: Callable[..., LuaWorld],
) -> None:
    world = make_lua(runtime={"sandbox": "restricted"})
    message = world.fails("io.open('/etc/passwd')")
    assert "access to '/etc/passwd' is denied" in message
    assert "allowed_paths" in message
    target = world.directory / "notes.txt"
    run = world.ok(
        f"local f = assert(io.open('{target}', 'w')) f:write('x') f:close() "
        f"return io.open('{target}'):read('a')"
    )
    assert run.value == "x"
    escape = world.fails(f"io.open('{world.directory}/../../../../../../../etc/passwd')")
    assert "denied" in escape


def test_restricted_sandbox_rejects_binary_chunks(make_lua: Callable[..., LuaWorld]) -> None:
    world = make_lua(runtime={"sandbox": "restricted"})
    message = world.fails("local f = load(string.dump(function() return 1 end), 'x', 'b')")
    assert "binary chunks are not allowed" in message
    run = world.ok("local fn, err = load(string.dump(function() return 1 end)) return err")
    assert "attempt to load a binary chunk" in run.value


def test_restricted_sandbox_hides_python_and_the_debug_internals(
    make_lua: Callable[..., LuaWorld],
) -> None:
    world = make_lua(runtime={"sandbox": "restricted"})
    assert world.ok("return python == nil and debug.getupvalue == nil").value is True
    assert world.ok("return debug.getregistry == nil and debug.sethook == nil").value is True
    assert world.ok("return require('debug').sethook == nil").value is True


def test_python_objects_expose_no_attributes(lua: LuaWorld) -> None:
    message = lua.fails("local f = JSON.parse return f.__globals__")
    assert "attempt to index" in message or "not accessible" in message


def test_args_follow_llmspell_rules(lua: LuaWorld) -> None:
    from kernel_core.runtime.globals.args import parse_args

    assert parse_args(["--name", "bob", "pos", "--verbose", "--x", "1", "last"]) == (
        ["pos", "last"],
        {"name": "bob", "verbose": "true", "x": "1"},
    )
    assert lua.ok("return ARGS ~= nil and arg ~= nil").value is True
