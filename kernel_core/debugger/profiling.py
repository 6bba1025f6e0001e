"""The profiler as debugging clients drive it: DAP ``llmspell/profileStart``,
``llmspell/profileStop``, ``llmspell/profileSnapshot`` and the ``llmspell/profile`` event.

Requests are served on the execution thread like every DAP request (channel.py). While a run is
in progress with profiling on, a ticker thread queues a snapshot about once a second
(``[profiler] event_interval``); its answer goes out as an ``llmspell/profile`` event to every
client, as does the profile at the end of each run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel_core.debugger.channel import DebugChannel
    from kernel_core.profiler.model import Profile
    from kernel_core.profiler.profiler import Profiler
    from kernel_core.runtime.script_runtime import ScriptRuntime

EVENT = "llmspell/profile"
TICK_COMMAND = "llmspell/profileSnapshot"


class ProfileRequestError(Exception):
    """A profile request that cannot be served; the message says what to do."""


class ProfileControl:
    """Profiling of one kernel's runtime, on behalf of its debugging clients."""

    def __init__(
        self,
        runtime: ScriptRuntime,
        channel: DebugChannel,
        emit: Callable[[str, dict[str, Any]], None],
        is_stopped: Callable[[], bool],
    ) -> None:
        self.runtime = runtime
        self.channel = channel
        self.emit = emit
        self.is_stopped = is_stopped
        self.last: Profile | None = None  # the profile the last profileStop returned
        self._ticker: threading.Thread | None = None
        self._ticking = threading.Event()

    @property
    def profiler(self) -> Profiler | None:
        """The profiler recording now, if any."""
        profiler = self.runtime.profiler
        if profiler is None:
            return None
        # the profiler and its sampler are imported by the first profile request, not by
        # every kernel start
        from kernel_core.profiler.profiler import Profiler

        return profiler if isinstance(profiler, Profiler) else None

    # ------------------------------------------------------------------ requests

    def start(self, args: dict[str, Any]) -> dict[str, Any]:
        """``llmspell/profileStart {mode?, rate?}``: start recording (idempotent)."""
        section = self.runtime.config.section("profiler")
        mode = str(args.get("mode") or section["mode"])
        rate_arg = args.get("rate")
        rate = section["rate"] if rate_arg is None else rate_arg
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 1 <= rate <= 20000:
            raise ProfileRequestError(
                f"rate must be a number of samples per second from 1 to 20000, got {rate!r}"
            )
        current = self.profiler
        if current is not None:
            if current.mode != mode:
                raise ProfileRequestError(
                    f"profiling is already on in {current.mode} mode; send "
                    f"llmspell/profileStop before starting it in {mode} mode"
                )
            return self._state(current, already=True)
        meta: dict[str, Any] = {}
        if self.runtime.script.path is not None:
            meta["script"] = str(self.runtime.script.path)
        from kernel_core.profiler.profiler import Profiler, ProfilerError

        try:
            profiler = Profiler(self.runtime, mode=mode, rate=float(rate), meta=meta)
        except (ProfilerError, ValueError) as exc:
            raise ProfileRequestError(str(exc)) from exc
        profiler.on_run_ended = self._run_ended
        if self.is_stopped():
            profiler.stopped()  # started at a stop: count from the resume on
        self._start_ticker()
        return self._state(profiler, already=False)

    def stop(self, args: dict[str, Any]) -> dict[str, Any]:
        """``llmspell/profileStop``: stop recording; the body carries the profile."""
        profiler = self.profiler
        if profiler is None:
            raise ProfileRequestError(
                "profiling is not on: send llmspell/profileStart first "
                "(llmspell/profileSnapshot returns the last profile)"
            )
        self._ticking.clear()
        self.last = profiler.stop()
        return {"profile": self.last.to_json(), "running": False}

    def snapshot(self, args: dict[str, Any]) -> dict[str, Any]:
        """``llmspell/profileSnapshot``: the profile so far (or the last one stopped)."""
        profiler = self.profiler
        if profiler is not None:
            return {"profile": profiler.snapshot().to_json(), "running": True}
        if self.last is not None:
            return {"profile": self.last.to_json(), "running": False}
        raise ProfileRequestError("no profile yet: send llmspell/profileStart first")

    def abandon(self) -> None:
        """The last client left: stop profiling (nobody gets its events, and it costs the
        script), keeping the profile for llmspell/profileSnapshot."""
        profiler = self.profiler
        if profiler is not None:
            self._ticking.clear()
            self.last = profiler.stop()

    def close(self) -> None:
        """Stop the ticker thread (the kernel is shutting down)."""
        self._ticking.clear()

    # ------------------------------------------------------------------ events

    @staticmethod
    def _state(profiler: Profiler, already: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"mode": profiler.mode, "running": True}
        if profiler.sampler is not None:
            body["rate"] = profiler.rate
        if already:
            body["alreadyRunning"] = True
        return body

    def _run_ended(self, profile: Profile) -> None:
        self.emit(EVENT, {"profile": profile.to_json(), "running": True, "runEnded": True})

    def _start_ticker(self) -> None:
        interval = float(self.runtime.config.get("profiler", "event_interval"))
        self._ticking.set()
        if interval <= 0 or (self._ticker is not None and self._ticker.is_alive()):
            return
        self._ticker = threading.Thread(
            target=self._tick_loop, args=(interval,), name="llmspell-profile-events", daemon=True
        )
        self._ticker.start()

    def _tick_loop(self, interval: float) -> None:
        stop = threading.Event()
        while self._ticking.is_set():
            stop.wait(interval)
            # a run in progress, not stopped at a breakpoint: its profile moved on
            if self._ticking.is_set() and self.runtime.running and not self.is_stopped():
                self.channel.submit(
                    {"command": TICK_COMMAND, "seq": 0, "type": "request"},
                    on_response=self._tick_answered,
                )

    def _tick_answered(self, response: dict[str, Any]) -> None:
        body = response.get("body") or {}
        if response.get("success") and body.get("running"):
            self.emit(EVENT, {"profile": body["profile"], "running": True})
