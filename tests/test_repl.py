"""`llmspell repl` in a pseudo-terminal, driven as a person types it."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from jupyter_client.blocking.client import BlockingKernelClient

from kernel_core.kernel.registry import known_kernels

PROMPT = r"lua \[{}\]>"
CONTINUATION = r"\.\.\.>"


LEFT_PROMPT = r"\x1b\[\?2004l"  # prompt_toolkit turns bracketed paste off as it returns


def output(text: str) -> str:
    """A regex for output lines printed after the prompt returned."""
    return f"(?:\\n|{LEFT_PROMPT})" + text + r"\r\n"


@pytest.fixture
def repl() -> Iterator[pexpect.spawn]:
    """`llmspell repl` with the kernel it starts; force-closed if a test leaves it open."""
    env = dict(os.environ)
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"  # pexpect does not answer cursor position requests
    child = pexpect.spawn(
        sys.executable,
        ["-m", "llmspell_tui", "repl"],
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(30, 100),
    )
    try:
        yield child
    finally:
        child.close(force=True)


def the_repl_kernel() -> tuple[Path, int]:
    """The connection file and pid of the kernel the REPL started."""
    kernels = known_kernels()
    assert len(kernels) == 1
    assert kernels[0].info is not None
    return kernels[0].connection_file, kernels[0].info.pid


def run_from_another_client(connection_file: Path, code: str) -> None:
    """Execute a cell through jupyter_client, as a second client of the same kernel."""
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=10)
        reply = client.execute(code, reply=True, timeout=10)
        assert reply["content"]["status"] == "ok"
    finally:
        client.stop_channels()


def test_a_session_typed_at_the_repl_ends_with_its_kernel_gone(repl: pexpect.spawn) -> None:
    repl.expect(r"llmspell \S+ — LLMSpell Lua 5\.4 kernel")
    repl.expect(r"Type \.help for commands; Ctrl\+D exits\.")
    repl.expect(PROMPT.format(1))
    connection_file, pid = the_repl_kernel()
    run_from_another_client(connection_file, '"typed " .. "elsewhere"')

    repl.send("1 + 1\r")
    repl.expect(output("2"))
    repl.expect(PROMPT.format(3))

    # Enter on an unfinished statement continues it (the kernel's is_complete says so)
    repl.send("for i = 1, 3 do\r")
    repl.expect(CONTINUATION)
    repl.send("print(i * 10)\r")
    repl.expect(CONTINUATION)
    repl.send("end\r")
    repl.expect(output(r"10\r\n20\r\n30"))
    repl.expect(PROMPT.format(4))

    repl.send("JSON.str")
    repl.send("\t")
    repl.expect("ingify")  # the kernel's only match, completed in place
    repl.send("({1, 2})\r")
    repl.expect(output(r'"\[1,2\]"'))
    repl.expect(PROMPT.format(5))

    repl.send(".help\r")
    repl.expect(r"\.kernels\s+list running kernels")
    repl.expect(r"\.exit\s+leave \(Ctrl\+D\)")

    # Ctrl+R searches the history every client shares: the other client's cell is there
    repl.send("\x12")
    repl.expect("I-search backward")
    repl.send("typed ")
    repl.expect('"elsewhere"')  # the rest of the entry found, never typed here
    repl.send("\r")  # accept the search
    repl.send("\r")  # run what it found
    repl.expect(output('"typed elsewhere"'))
    repl.expect(PROMPT.format(6))

    repl.sendeof()
    repl.expect(pexpect.EOF)
    repl.wait()
    assert repl.exitstatus == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    runtime = Path(os.environ["LLMSPELL_RUNTIME_DIR"])
    assert not connection_file.exists()
    assert sorted(p.name for p in runtime.glob("k*") if not p.name.endswith(".log")) == []


def interrupt_the_loop(repl: pexpect.spawn) -> None:
    """Run a loop that never ends and press Ctrl+C until the REPL reports the interrupt."""
    repl.send("while true do end\r")
    repl.expect(LEFT_PROMPT)  # the line is submitted: Ctrl+C is now a signal, not a key
    for _ in range(20):  # a press that comes before the cell has started is ignored
        repl.sendintr()
        if repl.expect(["interrupted by user", pexpect.TIMEOUT], timeout=1) == 0:
            return
    pytest.fail("Ctrl+C did not interrupt the running cell")


def test_ctrl_c_interrupts_a_running_cell_every_time(repl: pexpect.spawn) -> None:
    repl.expect(PROMPT.format(1))
    interrupt_the_loop(repl)
    repl.expect(PROMPT.format(2))
    interrupt_the_loop(repl)
    repl.expect(PROMPT.format(3))
    repl.send("40 + 2\r")
    repl.expect(output("42"))
    repl.expect(PROMPT.format(4))
    repl.sendeof()
    repl.expect(pexpect.EOF)


def test_a_killed_repl_takes_its_kernel_with_it(repl: pexpect.spawn) -> None:
    repl.expect(PROMPT.format(1))
    connection_file, pid = the_repl_kernel()
    repl.kill(9)  # no chance to clean up: the kernel notices its parent is gone
    deadline = time.monotonic() + 10
    while connection_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not connection_file.exists()
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"the kernel (pid {pid}) outlived the REPL")


def test_a_kernel_gone_under_a_running_cell_ends_the_repl(repl: pexpect.spawn) -> None:
    # `kernel stop` (or a crash) while a cell runs: the REPL said nothing and waited for a
    # reply forever, and Ctrl+C then printed asyncio's "Task exception was never retrieved"
    repl.expect(PROMPT.format(1))
    _, pid = the_repl_kernel()
    repl.send("while true do end\r")
    time.sleep(1.0)
    os.kill(pid, 9)
    repl.expect(r"the kernel stopped while the cell ran", timeout=30)
    repl.expect(pexpect.EOF, timeout=20)
    assert "Traceback" not in (repl.before or "")
    repl.close()
    assert repl.exitstatus == 1
