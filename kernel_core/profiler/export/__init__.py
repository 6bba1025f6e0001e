"""Profile exports: folded stacks, speedscope JSON, an SVG flamegraph and a text report.

Each format is a module with a pure ``Profile -> str`` function; :func:`write` picks one by
name or by the output file's extension.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kernel_core.errors import UsageError
from kernel_core.profiler.export.folded import parse_folded, to_folded
from kernel_core.profiler.export.speedscope import to_speedscope
from kernel_core.profiler.export.svg import to_svg
from kernel_core.profiler.export.text import parse_text_table, to_text
from kernel_core.profiler.model import Profile

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "ExportFormatError",
    "format_for",
    "parse_folded",
    "parse_text_table",
    "render",
    "to_folded",
    "to_speedscope",
    "to_svg",
    "to_text",
    "write",
]

FORMATS: dict[str, Callable[[Profile], str]] = {
    "folded": to_folded,
    "speedscope": to_speedscope,
    "svg": to_svg,
    "text": to_text,
}
# Longest suffix first: "x.speedscope.json" is speedscope before it is ".json".
EXTENSIONS: dict[str, str] = {
    ".speedscope.json": "speedscope",
    ".json": "speedscope",
    ".folded": "folded",
    ".svg": "svg",
    ".txt": "text",
}


class ExportFormatError(UsageError):
    """The export format was not one we write, or cannot be told from the file name."""


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The format to write ``path`` in: ``fmt`` when given, else the one its extension names."""
    names = ", ".join(FORMATS)
    if fmt is not None:
        if fmt not in FORMATS:
            raise ExportFormatError(f"unknown profile format {fmt!r}: use one of {names}")
        return fmt
    name = Path(path).name.lower()
    for suffix, found in EXTENSIONS.items():
        if name.endswith(suffix):
            return found
    suffixes = ", ".join(EXTENSIONS)
    raise ExportFormatError(
        f"cannot tell the profile format of {str(path)!r} from its extension: name the file "
        f"with one of {suffixes}, or choose a format ({names})"
    )


def render(profile: Profile, fmt: str) -> str:
    """The profile in format ``fmt`` (one of :data:`FORMATS`)."""
    return FORMATS[format_for("", fmt)](profile)


def write(profile: Profile, path: str | Path, fmt: str | None = None) -> Path:
    """Write the profile to ``path`` in ``fmt`` (or the format its extension names)."""
    target = Path(path)
    text = render(profile, format_for(target, fmt))
    target.write_text(text, encoding="utf-8", newline="\n")
    return target
