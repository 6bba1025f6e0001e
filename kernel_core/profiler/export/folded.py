"""Brendan Gregg's folded stacks: one line per stack, ``root;child;leaf WEIGHT``.

The format flamegraph.pl, inferno, speedscope and most profilers read and write. Weights are
integers: samples in sampling mode, microseconds of self time in exact mode.
"""

from __future__ import annotations

from kernel_core.profiler.export.describe import one_line
from kernel_core.profiler.model import Frame, Profile

# Readers split a line at ";" and take the weight after the last space, so a frame may hold
# spaces but never ";" or a line break. Replacing (rather than backslash-escaping) keeps the
# file readable by every tool, none of which knows an escape syntax.
SEPARATOR_REPLACEMENT = ","
EMPTY_NAME = "?"


def frame_text(frame: Frame) -> str:
    """``frame.label`` made safe for a folded line."""
    text = one_line(frame.label).replace(";", SEPARATOR_REPLACEMENT).strip()
    return text or EMPTY_NAME


def folded_weights(profile: Profile) -> dict[tuple[str, ...], int]:
    """The profile's stacks as frame texts with integer weights, as :func:`to_folded` writes."""
    merged: dict[tuple[str, ...], float] = {}
    texts = [frame_text(frame) for frame in profile.frames]
    for stack, weight in profile.stacks.items():
        # An empty stack (a sample with no frame) has no line to go on.
        if stack:
            key = tuple(texts[i] for i in stack)
            merged[key] = merged.get(key, 0.0) + weight
    # Round after merging, so frames whose texts coincide lose nothing to rounding twice.
    rounded = {key: round(weight) for key, weight in merged.items()}
    return {key: weight for key, weight in rounded.items() if weight > 0}


def to_folded(profile: Profile) -> str:
    """The profile as folded stacks, sorted by stack (an empty profile is an empty file)."""
    lines = [
        f"{';'.join(key)} {weight}\n" for key, weight in sorted(folded_weights(profile).items())
    ]
    return "".join(lines)


def parse_folded(text: str) -> dict[tuple[str, ...], int]:
    """Folded stacks back into ``{(root, ..., leaf): weight}``; repeated stacks add up.

    Raises ValueError naming the line when one is not ``frames WEIGHT``.
    """
    stacks: dict[tuple[str, ...], int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        frames, _, weight_text = line.rstrip().rpartition(" ")
        try:
            weight = int(weight_text)
        except ValueError:
            raise ValueError(
                f"folded stacks line {number}: expected 'frame;frame;... WEIGHT' with an "
                f"integer weight, got {line[:80]!r}"
            ) from None
        if not frames:
            raise ValueError(f"folded stacks line {number}: a weight without a stack")
        key = tuple(frames.split(";"))
        stacks[key] = stacks.get(key, 0) + weight
    return stacks
