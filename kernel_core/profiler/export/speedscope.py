"""The speedscope file format (https://www.speedscope.app/file-format-schema.json).

One "sampled" profile whose samples are the profile's stacks (indexes into ``shared.frames``)
and whose weights are their times: milliseconds in sampling mode (samples x interval; plain
sample counts, unit "none", when the interval is unknown), microseconds in exact mode. When
the Lua heap grew, a second sampled profile in bytes attributes the growth to stacks.
"""

from __future__ import annotations

import json
from typing import Any

from kernel_core import __version__
from kernel_core.profiler.export.describe import script_name
from kernel_core.profiler.model import Profile, Stack

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"
EXPORTER = f"llmspell@{__version__}"


def _frame(name: str, file: str, line: int) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    if file:
        out["file"] = file
    if line > 0:
        out["line"] = line
    return out


def _sampled(name: str, unit: str, stacks: list[tuple[Stack, float]]) -> dict[str, Any]:
    weights = [weight for _, weight in stacks]
    return {
        "type": "sampled",
        "name": name,
        "unit": unit,
        "startValue": 0,
        # speedscope takes a sampled profile's length from endValue - startValue.
        "endValue": sum(weights),
        "samples": [list(stack) for stack, _ in stacks],
        "weights": weights,
    }


def _time_weights(profile: Profile) -> tuple[str, float]:
    """The speedscope unit for the profile's weights and the factor converting to it."""
    if profile.unit == "microseconds":
        return "microseconds", 1.0
    if profile.interval > 0:
        return "milliseconds", profile.interval * 1e3
    return "none", 1.0


def speedscope_document(profile: Profile) -> dict[str, Any]:
    """The profile as a speedscope file, JSON-ready."""
    script = script_name(profile)
    unit, factor = _time_weights(profile)

    def ordered(stacks: dict[Stack, float]) -> list[Stack]:
        # By call path, so speedscope's "Time Order" view groups related stacks side by side.
        return sorted(stacks, key=lambda s: [profile.frames[i].name for i in s] + [str(s)])

    what = "exact" if profile.mode == "exact" else "sampling"
    profiles = [
        _sampled(
            f"{script} ({what}{'' if profile.stacks else ', no samples'})",
            unit,
            # Rounded to a nanosecond: interval x 1000 is rarely exact in binary.
            [(s, round(profile.stacks[s] * factor, 6)) for s in ordered(profile.stacks)],
        )
    ]
    growth = {s: kib for s, kib in profile.heap_growth.items() if kib > 0}
    if growth:
        # speedscope sums weights, so only growth (not shrinkage) can be shown as bytes.
        profiles.append(
            _sampled(
                f"{script} (Lua heap growth)",
                "bytes",
                [(s, round(growth[s] * 1024)) for s in ordered(growth)],
            )
        )
    return {
        "$schema": SCHEMA_URL,
        "shared": {"frames": [_frame(f.name, f.file, f.line) for f in profile.frames]},
        "profiles": profiles,
        "name": f"llmspell profile: {script}",
        "activeProfileIndex": 0,
        "exporter": EXPORTER,
    }


def to_speedscope(profile: Profile) -> str:
    """The profile as speedscope JSON text (open it at https://www.speedscope.app)."""
    # ASCII with \u escapes: a name holding an undecodable byte (a lone surrogate) still writes.
    return json.dumps(speedscope_document(profile), separators=(",", ":"))
