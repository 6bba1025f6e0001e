"""A circuit breaker guarding one registered hook.

States: **closed** (the hook runs), **open** (the hook is skipped until the cooldown has
passed), **half_open** (the next call is a probe: success closes the breaker, failure opens
it again). Consecutive errors or consecutive slow calls open a closed breaker. A threshold
of 0 disables that criterion.

Pure Python with injectable clocks, so the state machine is tested without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class Transition:
    """One state change: ``at`` is wall-clock time (seconds since the epoch)."""

    from_state: BreakerState
    to_state: BreakerState
    at: float
    reason: str


@dataclass
class BreakerSettings:
    """Thresholds from ``[hooks]``."""

    failure_threshold: int = 5
    slow_call_ms: float = 100.0
    slow_threshold: int = 3
    cooldown_ms: float = 30000.0


@dataclass
class CircuitBreaker:
    """The breaker of one hook. ``clock`` measures cooldowns (monotonic seconds); ``wall``
    timestamps transitions; ``on_transition`` is told of every state change."""

    settings: BreakerSettings = field(default_factory=BreakerSettings)
    clock: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    on_transition: Callable[[Transition], None] | None = None
    state: BreakerState = "closed"
    consecutive_errors: int = 0
    consecutive_slow: int = 0
    transitions: list[Transition] = field(default_factory=list)
    _opened_at: float = 0.0

    def allow(self) -> bool:
        """Whether the hook may run now; an open breaker past its cooldown goes half-open and
        lets this one call through as the probe."""
        if self.state != "open":
            return True
        if self.retry_in_ms() > 0:
            return False
        self._move("half_open", "cooldown elapsed; probing")
        return True

    def record_success(self, elapsed_ms: float) -> None:
        """A call returned normally after ``elapsed_ms``."""
        slow = self.settings.slow_threshold > 0 and elapsed_ms > self.settings.slow_call_ms
        self.consecutive_errors = 0
        if not slow:
            self.consecutive_slow = 0
            if self.state == "half_open":
                self._move("closed", "probe call succeeded")
            return
        self.consecutive_slow += 1
        reason = f"call took {elapsed_ms:.1f} ms (slow_call_ms = {self.settings.slow_call_ms:g})"
        if self.state == "half_open":
            self._open(f"probe was slow: {reason}")
        elif self.consecutive_slow >= self.settings.slow_threshold:
            self._open(f"{self.consecutive_slow} slow calls in a row; last {reason}")

    def record_failure(self, message: str) -> None:
        """A call raised an error."""
        self.consecutive_errors += 1
        self.consecutive_slow = 0
        if self.state == "half_open":
            self._open(f"probe call failed: {message}")
        elif 0 < self.settings.failure_threshold <= self.consecutive_errors:
            self._open(f"{self.consecutive_errors} errors in a row; last: {message}")

    def retry_in_ms(self) -> float:
        """Milliseconds until an open breaker lets a probe through (0 when not open)."""
        if self.state != "open":
            return 0.0
        waited = (self.clock() - self._opened_at) * 1000.0
        return max(0.0, self.settings.cooldown_ms - waited)

    def reset(self) -> None:
        """Close the breaker by hand (a user re-enabling a hook)."""
        self.consecutive_errors = self.consecutive_slow = 0
        if self.state != "closed":
            self._move("closed", "reset")

    def _open(self, reason: str) -> None:
        self._opened_at = self.clock()
        self.consecutive_errors = self.consecutive_slow = 0
        self._move("open", reason)

    def _move(self, to_state: BreakerState, reason: str) -> None:
        transition = Transition(self.state, to_state, self.wall(), reason)
        self.state = to_state
        self.transitions.append(transition)
        if self.on_transition is not None:
            self.on_transition(transition)
