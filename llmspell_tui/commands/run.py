"""``llmspell run SCRIPT`` and ``llmspell exec CODE``: run Lua in-process, no UI.

The script runs on an execution thread; the main thread waits and turns Ctrl+C into an
asynchronous interrupt (a second Ctrl+C exits at once), so even ``while true do end``
stops with a traceback and exit status 130.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kernel_core.runtime.convert import ConversionError
from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.failure import format_failure
from kernel_core.runtime.native_streams import FdCapture
from kernel_core.runtime.script_runtime import RunOutcome, ScriptContext, ScriptRuntime
from llmspell_tui.commands.common import config_from_args
from llmspell_tui.commands.output import use_colour
from llmspell_tui.commands.scripts import script_path


class TerminalSink:
    """Script output straight to this process's stdout/stderr; input from stdin.

    The descriptors are the script's own: Lua's print, io.write and io handles stay as
    they are (``native_streams``); ``write`` and ``read_line`` serve only what is not.
    """

    broken_pipe = False
    native_streams: frozenset[str] = frozenset({"stdout", "stderr", "stdin"})

    def write(self, stream: str, text: str) -> None:
        target = sys.stderr if stream == "stderr" else sys.stdout
        try:
            target.write(text)
            if stream == "stderr" or target.isatty():
                target.flush()
        except BrokenPipeError:
            # the reader went away (`llmspell run x.lua | head`): stop the script quietly
            self.broken_pipe = True
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, target.fileno())
            raise ScriptError("output closed (broken pipe)") from None

    def read_line(self, prompt: str) -> str | None:
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            return None
        return line.rstrip("\n")


class CaptureSink(TerminalSink):
    """Keeps output for the ``--output json`` object (captured from fd 1 and 2 while the
    script runs, so Lua's own print and io.write stay)."""

    def __init__(self) -> None:
        self.parts: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def write(self, stream: str, text: str) -> None:
        self.parts.setdefault(stream, []).append(text)


class _Execution:
    """Runs the script on its own thread; everything Lua happens there."""

    def __init__(self, args: argparse.Namespace, sink: TerminalSink) -> None:
        self.args = args
        self.sink = sink
        self.outcome: RunOutcome | None = None
        self.result_data: Any = None
        self.result_error: str | None = None
        self.result_text: str | None = None  # what ``exec`` shows of the values returned
        self.error: BaseException | None = None
        self.runtime: ScriptRuntime | None = None
        self.ready = threading.Event()
        self.done = threading.Event()
        self.interrupt_requested = False  # Ctrl+C before the runtime existed

    def run(self) -> None:
        try:
            script = Path(self.args.script) if self.args.command == "run" else None
            config = config_from_args(
                self.args, project_dir=script.parent if script else Path.cwd()
            )
            # no debugger or profiler attaches to `llmspell run`: Lua's own coroutine library
            self.runtime = ScriptRuntime(
                config, self.sink, script=ScriptContext(script), hook_coroutines=False
            )
            self.ready.set()
            if self.interrupt_requested:
                self.runtime.request_abort("interrupt", "interrupted by user (Ctrl+C)")
            if script is not None:
                self.outcome = self.runtime.run_file(script, self.args.script_args)
            else:
                self.outcome = self.runtime.run_code(self.args.code, "=(exec)")
            if self.outcome.status == "ok" and self.args.output in ("json", "pretty"):
                self._convert_result()
            elif self.outcome.status == "ok" and script is None and self.outcome.values:
                self.result_text = self._render_values()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread by main()
            self.error = exc
        finally:
            if self.runtime is not None:
                self.runtime.close()
            self.ready.set()
            self.done.set()

    def _render_values(self) -> str:
        """The snippet's returned values as the REPL shows them (strings quoted, tables
        pretty-printed, several values tab-separated)."""
        assert self.outcome is not None
        assert self.runtime is not None
        values = self.runtime.load_lua("kernel_core.runtime.lua", "values.lua")
        options = self.runtime.lua.table_from({"max_depth": 4})
        return "\t".join(str(values.render(value, options)) for value in self.outcome.values)

    def _convert_result(self) -> None:
        assert self.outcome is not None
        assert self.runtime is not None
        values = self.outcome.values
        try:
            if len(values) == 0:
                self.result_data = None
            elif len(values) == 1:
                self.result_data = self.runtime.from_lua(values[0], what="result")
            else:
                self.result_data = [self.runtime.from_lua(v, what="result") for v in values]
        except ConversionError as exc:
            self.result_error = f"the script's return value cannot be converted: {exc}"


def _install_sigint(execution: _Execution) -> Any:
    """Ctrl+C interrupts the script (even before it started); a second Ctrl+C exits.
    Installed before the execution thread starts, so no Ctrl+C falls through the gap."""
    interrupts = 0

    def on_sigint(signum: int, frame: Any) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1:
            os._exit(130)
        execution.interrupt_requested = True
        if execution.runtime is not None:
            execution.runtime.request_abort("interrupt", "interrupted by user (Ctrl+C)")

    from kernel_core.runtime import blocked_read

    blocked_read.install()  # an abort also ends a read of stdin (Lua's io.read)
    return signal.signal(signal.SIGINT, on_sigint)


STILL_RUNNING_HINT = (
    "llmspell: the script is still running a second after Ctrl+C: a loop inside a coroutine of "
    "Lua's own library is out of its reach, as in lua (with --time-limit or "
    "--instruction-limit set, coroutines are tracked and stop too); press Ctrl+C again to exit\n"
)


def _wait(execution: _Execution, previous: Any) -> None:
    """Wait for the run to finish, then restore the previous SIGINT handler."""
    waited_after_interrupt = 0
    try:
        while not execution.done.wait(0.25):
            if execution.interrupt_requested:
                waited_after_interrupt += 1
                if waited_after_interrupt == 4:  # a second: say why nothing happened
                    sys.stderr.write(STILL_RUNNING_HINT)
                    sys.stderr.flush()
    finally:
        signal.signal(signal.SIGINT, previous)


def main(args: argparse.Namespace) -> int:
    """Run the script or snippet; returns the exit status."""
    if args.command == "run":
        script_path(args.script)  # a clear error before anything starts (commands/scripts.py)
    if getattr(args, "connect", None):
        from llmspell_tui.commands.remote_run import run_on_kernel

        status: int = run_on_kernel(args)
        return status
    json_mode = args.output in ("json", "pretty")
    sink: TerminalSink = CaptureSink() if json_mode else TerminalSink()
    execution = _Execution(args, sink)
    started = time.perf_counter()
    thread = threading.Thread(target=execution.run, name="llmspell-execution", daemon=True)
    previous = _install_sigint(execution)
    capture = None
    if isinstance(sink, CaptureSink):
        capture = FdCapture(lambda stream, text: sink.parts[stream].append(text))
        capture.start()
    else:
        # Lua's print writes to the descriptor itself: a reader that went away
        # (`llmspell run x.lua | head`) ends the script by SIGPIPE, as it ends lua
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        thread.start()
        _wait(execution, previous)
        thread.join()
    finally:
        if capture is not None:
            capture.stop()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        sink.broken_pipe = True
    if sink.broken_pipe:
        return 141  # as a shell reports a process ended by SIGPIPE
    if execution.error is not None:
        raise execution.error
    outcome = execution.outcome
    assert outcome is not None
    if json_mode:
        assert isinstance(sink, CaptureSink)
        return _print_json(args, outcome, execution, sink, time.perf_counter() - started)
    if execution.result_text is not None:
        print(execution.result_text)
    if outcome.failure is not None and outcome.status != "exit":
        color = use_colour(sys.stderr)
        print(format_failure(outcome.failure, color=color), file=sys.stderr)
    return outcome.exit_code


def _print_json(
    args: argparse.Namespace,
    outcome: RunOutcome,
    execution: _Execution,
    sink: CaptureSink,
    elapsed: float,
) -> int:
    import orjson

    exit_code = outcome.exit_code
    error = outcome.failure.to_dict() if outcome.failure and outcome.status != "exit" else None
    if execution.result_error:
        error = {"message": execution.result_error}
        exit_code = 1
    document = {
        "status": outcome.status if not execution.result_error else "error",
        "exit_code": exit_code,
        "result": execution.result_data,
        "stdout": "".join(sink.parts.get("stdout", [])),
        "stderr": "".join(sink.parts.get("stderr", [])),
        "error": error,
        "elapsed_ms": round(elapsed * 1000, 3),
    }
    option = orjson.OPT_INDENT_2 if args.output == "pretty" else 0
    sys.stdout.write(orjson.dumps(document, option=option).decode() + "\n")
    return exit_code
