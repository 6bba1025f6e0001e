"""The execution thread: the one thread that owns the kernel's Lua world.

The protocol loop submits jobs (callables taking the :class:`CellExecutor`) and awaits their
futures; nothing else touches Lua. Interrupts are the only cross-thread call, and they go
through :meth:`ScriptRuntime.request_abort`, which is thread-safe.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from kernel_core.kernel.cells import CellFiles
from kernel_core.kernel.executor import CellExecutor

if TYPE_CHECKING:  # imported by the execution thread as it builds the world (executor.py)
    from kernel_core.config import Config
    from kernel_core.debugger.channel import DebugChannel
    from kernel_core.debugger.session import Emit
    from kernel_core.runtime.script_runtime import OutputSink

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = Callable[[CellExecutor], Any]


class ExecutionThread:
    """Runs jobs one at a time on a dedicated thread that owns the ScriptRuntime."""

    def __init__(
        self,
        config: Config,
        sink: OutputSink,
        cell_files: CellFiles,
        debug: tuple[DebugChannel, Emit] | None = None,
    ) -> None:
        self._debug = debug
        self._config = config
        self._sink = sink
        self._cell_files = cell_files
        self._jobs: queue.Queue[tuple[Job, concurrent.futures.Future[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._main, name="llmspell-execution", daemon=True)
        # Resolves once the Lua world exists (or with what prevented it). Jobs submitted
        # before then wait in the queue, so the protocol can be served while Lua starts.
        self.ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.executor: CellExecutor | None = None
        self._interrupt_lock = threading.Lock()
        self._interrupt_at_start = False  # an interrupt for a cell waiting for the world
        self.busy = False

    def start(self, *, wait: bool = True) -> None:
        """Start the thread; with ``wait``, return once the Lua world is ready."""
        self._thread.start()
        if wait:
            self.ready.result()

    def submit(self, job: Callable[[CellExecutor], T]) -> concurrent.futures.Future[T]:
        """Queue a job; its future resolves with the job's result or exception."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._jobs.put((job, future))
        return future

    def interrupt(self, *, starting: bool = False) -> None:
        """Stop the running cell or script, at its next instruction (any thread).

        Like Jupyter's interrupt: it applies to what runs now (``starting``: or to the cell
        about to run, whose request is being served); an idle kernel ignores it.
        """
        with self._interrupt_lock:
            executor = self.executor
            if executor is None:  # the world is still being built: the cell waits for it
                self._interrupt_at_start = self._interrupt_at_start or starting
                return
        executor.interrupt(starting=starting)

    def stop(self, timeout: float = 5.0) -> None:
        """Finish queued work, close the runtime and end the thread."""
        self._jobs.put(None)
        self._thread.join(timeout)

    def _main(self) -> None:
        try:
            executor = CellExecutor(self._config, self._sink, self._cell_files, debug=self._debug)
            with self._interrupt_lock:
                self.executor = executor
                if self._interrupt_at_start:
                    executor.interrupt(starting=True)
        except BaseException as exc:
            log.exception("could not create the Lua runtime")
            self.ready.set_exception(exc)
        else:
            self.ready.set_result(None)
        while True:
            item = self._jobs.get()
            if item is None:
                break
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            if self.executor is None:  # the world never started: every job fails with why
                startup_error = self.ready.exception()
                assert startup_error is not None
                future.set_exception(startup_error)
                continue
            self.busy = True
            try:
                future.set_result(job(self.executor))
            except BaseException as exc:
                log.exception("job failed on the execution thread")
                future.set_exception(exc)
            finally:
                self.busy = False
        if self.executor is not None:
            self.executor.close()
