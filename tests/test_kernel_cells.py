"""What a cell keeps for later cells, and that a cell runs as the same code in a script does
(kernel/repl.lua): real kernels, driven through jupyter_client."""

from __future__ import annotations

import time
from pathlib import Path

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.debug_fixtures import Debugger, dbg, debug_kernel, marker_in_code
from tests.kernel_fixtures import kernel, outputs, run_cell, start_kernel, stop_kernel

__all__ = ["dbg", "debug_kernel", "kernel"]

Kernel = tuple[KernelManager, BlockingKernelClient]


def value_of(client: BlockingKernelClient, code: str) -> str:
    """The text/plain result of an expression cell."""
    reply, messages = run_cell(client, code)
    assert reply["content"]["status"] == "ok", reply["content"]
    results = [o[1] for o in outputs(messages) if o[0] == "execute_result"]
    assert len(results) == 1, outputs(messages)
    return str(results[0]["text/plain"])


def test_a_function_from_one_cell_shares_its_local_with_later_cells(kernel: Kernel) -> None:
    _, client = kernel
    run_cell(client, "local n = 0\nlocal function bump() n = n + 1 return n end")
    run_cell(client, "n = 10")  # a later cell assigns the same variable...
    assert value_of(client, "bump()") == "11"  # ...which the function sees
    assert value_of(client, "n") == "11"  # and what the function did, later cells see
    run_cell(client, "local step = 5\nfunction add() n = n + step return n end")
    assert value_of(client, "add()") == "16"


def test_a_cell_runs_with_the_globals_as_its_environment_and_real_locals(
    kernel: Kernel,
) -> None:
    _, client = kernel
    assert value_of(client, "_ENV == _G") == "true"
    run_cell(client, "local kept = 1\ng = 2")
    assert value_of(client, "rawget(_G, 'g'), rawget(_G, 'kept')") == "2\tnil"
    # the cell's own top-level locals are locals of its main chunk, as in a script
    cell = (
        "local a, b = 'x', kept\n"
        "local name, value = debug.getlocal(1, 1)\n"
        "return name, value, debug.getinfo(1, 'S').what"
    )
    assert value_of(client, cell) == '"a"\t"x"\t"main"'


def test_redeclaring_a_local_makes_a_new_variable_as_in_lua(kernel: Kernel) -> None:
    _, client = kernel
    run_cell(client, "local x = 1\nlocal function old() return x end")
    run_cell(client, "local x = x + 1")  # the right side reads the earlier x
    assert value_of(client, "x, old()") == "2\t1"


def test_const_and_close_locals(kernel: Kernel) -> None:
    _, client = kernel
    run_cell(client, "local limit <const> = 3")
    run_cell(client, "limit = limit + 1")  # a kept const is an ordinary variable later
    assert value_of(client, "limit") == "4"
    cell = (
        "local log = {}\n"
        "local h <close> = setmetatable({}, {__close = function() log[1] = 'closed' end})"
    )
    run_cell(client, cell)
    assert value_of(client, "log[1], h") == '"closed"\tnil'


def test_a_cell_ending_in_a_label_jumped_to_past_a_local_still_runs(kernel: Kernel) -> None:
    _, client = kernel
    reply, _ = run_cell(client, "local n = 1\ngoto done\nlocal x = 2\n::done::")
    assert reply["content"]["status"] == "ok", reply["content"]
    assert value_of(client, "n") == "nil"  # as written, its locals end with the cell


def test_an_unfinished_local_is_incomplete_not_invalid(kernel: Kernel) -> None:
    _, client = kernel
    for code in ("local t = {", "local x =", "local function f()"):
        msg_id = client.is_complete(code)
        reply = client.get_shell_msg(timeout=20)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "incomplete", code


def test_errors_in_a_cell_that_uses_earlier_locals_point_at_its_lines(kernel: Kernel) -> None:
    _, client = kernel
    run_cell(client, "local t = nil")
    reply, _ = run_cell(client, "local u = 1\nprint(t.name)")
    content = reply["content"]
    assert content["evalue"] == "attempt to index a nil value (local 't')"
    text = "\n".join(content["traceback"])
    count = content["execution_count"]
    assert f"Cell In[{count}]:2: in main chunk" in text
    assert "print(t.name)" in text


def test_a_cell_that_fails_keeps_its_assignments_but_not_its_new_locals(
    kernel: Kernel,
) -> None:
    km, client = kernel
    run_cell(client, "local n = 0")
    msg_id = client.execute("n = 5\ng = 6\nlocal lost = 1\nwhile true do end")
    time.sleep(0.5)
    km.interrupt_kernel()
    reply = client.get_shell_msg(timeout=20)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["ename"] == "Interrupted"
    assert value_of(client, "n, g, lost") == "5\t6\tnil"


def test_earlier_locals_are_shared_in_the_restricted_sandbox(tmp_path: Path) -> None:
    km, client = start_kernel(
        {
            "LLMSPELL_STATE__PATH": str(tmp_path / "state.sqlite3"),
            "LLMSPELL_RUNTIME__SANDBOX": "restricted",
        }
    )
    try:
        run_cell(client, "local n = 1\nlocal function get() return n end")
        run_cell(client, "n = n + 1")
        assert value_of(client, "get(), n") == "2\t2"
    finally:
        stop_kernel(km, client)


def test_the_debugger_shows_and_sets_earlier_cells_locals(dbg: Debugger) -> None:
    first = dbg.execute("local total = 40\nlocal other = 2")
    dbg.shell_reply(first)
    code = "local here = 1 -- @bp stop\ntotal = total + here\nprint(total)\n"
    path = dbg.ok("dumpCell", code=code)["sourcePath"]
    dbg.set_breakpoints(path, {"line": marker_in_code(code, "stop")})
    msg_id = dbg.execute(code)
    dbg.stopped()
    frame = int(dbg.top()["id"])
    scopes = dbg.scopes(frame)
    assert dbg.variables(scopes["REPL"])["total"]["value"] == "40"
    dbg.ok("setVariable", variablesReference=scopes["REPL"], name="total", value="100")
    assert dbg.evaluate("total", frame) == "100"
    assert dbg.evaluate("other + total", frame) == "102"  # this cell never names other
    dbg.ok("continue", threadId=1)
    dbg.shell_reply(msg_id)
    assert "101" in dbg.stream_text(msg_id)
