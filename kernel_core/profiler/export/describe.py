"""How a profile is put into words: one-line names, times, weights and the header facts.

Shared by the text report and the SVG flamegraph so both say the same thing the same way.
"""

from __future__ import annotations

import re

from kernel_core.profiler.model import Profile
from kernel_core.profiler.profiler import EXACT_COST

EXACT_CAVEAT = (
    f"exact mode: call/return hooks cost {EXACT_COST}; compare functions, not absolute times"
)

# Control characters break line-oriented formats and are not allowed in XML 1.0; lone
# surrogates (undecodable bytes) and U+FFFE/U+FFFF cannot be encoded or are not XML either.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPECIAL_SPACES = re.compile("[\t\r\n]+")


def one_line(text: str) -> str:
    """``text`` on one printable line: newlines and tabs become spaces, other control
    characters and unencodable code points become U+FFFD."""
    return _UNPRINTABLE.sub("\ufffd", _SPECIAL_SPACES.sub(" ", text))


def format_seconds(seconds: float) -> str:
    """A duration the way people read it: ``850 µs``, ``12.3 ms``, ``2.47 s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"


def format_weight(profile: Profile, weight: float) -> str:
    """A stack or frame weight in the profile's unit, with its time when samples are timed."""
    if profile.unit == "samples":
        count = round(weight)
        text = f"{count} sample{'' if count == 1 else 's'}"
        return f"{text} ({format_seconds(profile.seconds(weight))})" if profile.interval else text
    return format_seconds(profile.seconds(weight))


def rate_hz(profile: Profile) -> float | None:
    """The sampling rate in Hz (from ``meta["rate"]`` or the interval), None when unknown."""
    rate = profile.meta.get("rate")
    if isinstance(rate, int | float) and rate > 0:
        return float(rate)
    return 1.0 / profile.interval if profile.interval > 0 else None


def script_name(profile: Profile) -> str:
    """The profiled script as ``meta["script"]`` names it, or a generic title."""
    script = profile.meta.get("script")
    return one_line(str(script)) if script else "(unnamed script)"


def summary(profile: Profile) -> list[str]:
    """The header facts: mode, how much was measured, over how long, at what rate."""
    duration = f" over {format_seconds(profile.duration)}" if profile.duration > 0 else ""
    if profile.mode == "exact":
        calls = sum(profile.calls.values())
        time = format_seconds(profile.seconds(profile.total))
        plural = "" if calls == 1 else "s"
        caveat = profile.meta.get("note") or EXACT_CAVEAT  # the profiler's own words first
        lines = [f"mode: exact, {time} of Lua time in {calls} call{plural}{duration}"]
        lines.append(one_line(str(caveat)))
    else:
        rate = rate_hz(profile)
        at = f" at {rate:g} Hz" if rate else ""
        lines = [f"mode: sampling{at}, {profile.samples} samples{duration} (wall clock)"]
    note = profile.meta.get("overhead")
    if note:
        lines.append(f"overhead: {one_line(str(note))}")
    return lines


def no_samples_message(profile: Profile) -> str:
    """What an empty profile says instead of a table or a flamegraph."""
    if profile.mode == "exact":
        return "No samples: no Lua function call was recorded."
    return (
        "No samples: the run ended before the first sample "
        "(profile a longer run or raise the rate)."
    )


def display_name(name: str) -> str:
    """A frame name as tables and flamegraphs show it: one line, never blank."""
    return one_line(name).strip() or "?"
