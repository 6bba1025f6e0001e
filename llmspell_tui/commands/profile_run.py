"""Running a script under the profiler, as ``llmspell run`` runs it, and writing its profile.

The script runs on an execution thread that owns its LuaRuntime and the
:class:`~kernel_core.profiler.profiler.Profiler` on it; the main thread waits and turns
Ctrl+C into an asynchronous interrupt, after which the profile so far is still written.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from kernel_core.config import Config
from kernel_core.profiler.export import render, write
from kernel_core.profiler.export.text import to_text
from kernel_core.profiler.model import Profile
from kernel_core.profiler.profiler import Profiler
from kernel_core.runtime.failure import format_failure
from kernel_core.runtime.script_runtime import RunOutcome, ScriptContext, ScriptRuntime
from llmspell_tui.commands.common import config_from_args
from llmspell_tui.commands.output import use_colour
from llmspell_tui.commands.run import TerminalSink


class _ScriptOutputToStderr(TerminalSink):
    """With ``-o -`` stdout carries the profile, so the script's stdout goes to stderr."""

    native_streams: frozenset[str] = frozenset({"stderr", "stdin"})

    def write(self, stream: str, text: str) -> None:
        super().write("stderr", text)


class _ProfiledRun:
    """The script on its own thread under a profiler; everything Lua happens there."""

    def __init__(
        self,
        args: argparse.Namespace,
        script: Path,
        config: Config,
        sink: TerminalSink,
    ) -> None:
        self.args = args
        self.script = script
        self.config = config
        self.sink = sink
        self.runtime: ScriptRuntime | None = None
        self.outcome: RunOutcome | None = None
        self.profile: Profile | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.interrupt_requested = False  # Ctrl+C before the runtime existed

    def run(self) -> None:
        try:
            self.runtime = ScriptRuntime(self.config, self.sink, script=ScriptContext(self.script))
            profiler = Profiler(
                self.runtime,
                mode=self.args.mode or str(self.config.get("profiler", "mode")),
                rate=self.args.rate or float(self.config.get("profiler", "rate")),
                meta={"script": str(self.script), "args": list(self.args.script_args)},
            )
            if self.interrupt_requested:
                self.interrupt()
            try:
                self.outcome = self.runtime.run_file(self.script, self.args.script_args)
            finally:
                self.profile = profiler.stop()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread
            self.error = exc
        finally:
            if self.runtime is not None:
                self.runtime.close()
            self.done.set()

    def interrupt(self) -> None:
        """Stop the script at its next instruction (any thread)."""
        self.interrupt_requested = True
        if self.runtime is not None:
            self.runtime.request_abort("interrupt", "interrupted by user (Ctrl+C)")

    def wait(self) -> None:
        """Run the script to its end; the first Ctrl+C interrupts it, a second exits at once."""
        interrupts = 0

        def on_sigint(signum: int, frame: Any) -> None:
            nonlocal interrupts
            interrupts += 1
            if interrupts > 1:
                os._exit(130)
            self.interrupt()

        # installed before the thread starts, so no Ctrl+C falls through the gap
        previous = signal.signal(signal.SIGINT, on_sigint)
        thread = threading.Thread(target=self.run, name="llmspell-execution", daemon=True)
        try:
            thread.start()
            while not self.done.wait(0.25):
                pass
        finally:
            signal.signal(signal.SIGINT, previous)
        thread.join()


def profile_script(args: argparse.Namespace, script: Path, fmt: str, target: Path | None) -> int:
    """Run the script under the profiler, write the profile to ``target`` (None = stdout) and
    print a summary to stderr; returns the script's exit status."""
    config = config_from_args(args, project_dir=script.parent)
    sink = _ScriptOutputToStderr() if target is None else TerminalSink()
    execution = _ProfiledRun(args, script, config, sink)
    execution.wait()
    try:
        sys.stdout.flush()  # the script's output before the summary
    except BrokenPipeError:
        sink.broken_pipe = True
    profile, outcome = execution.profile, execution.outcome
    if profile is None:  # the runtime or the profiler could not start: nothing ran
        assert execution.error is not None
        raise execution.error
    if outcome is not None and outcome.failure is not None and outcome.status != "exit":
        color = use_colour(sys.stderr)
        print(format_failure(outcome.failure, color=color), file=sys.stderr)
    written = _write(profile, fmt, target)
    if execution.error is not None:  # llmspell's own failure: the partial profile is saved
        raise execution.error
    print("\n" + summary(profile, args.top), file=sys.stderr)
    status = 141 if sink.broken_pipe else outcome.exit_code if outcome is not None else 1
    if not written:
        return status or 1
    where = "stdout" if target is None else str(target)
    print(f"profile written to {where} ({fmt})", file=sys.stderr)
    return status


def _write(profile: Profile, fmt: str, target: Path | None) -> bool:
    """Write the profile; False (the reason printed) when the file cannot be written."""
    if target is None:
        sys.stdout.write(render(profile, fmt))
        sys.stdout.flush()
        return True
    try:
        write(profile, target, fmt)
    except OSError as exc:
        print(
            f"llmspell: cannot write the profile to {target}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return False
    return True


def summary(profile: Profile, top: int) -> str:
    """What the run measured and its ``top`` heaviest functions, as the text report has them."""
    # the heap section belongs in the written profile; after a run, the table is what counts
    return to_text(replace(profile, heap=[], heap_growth={}), top)
