"""Frame colours for flamegraphs: a stable warm colour per file, fixed colours for the rest.

crc32 of the file name, so a file keeps its colour from run to run and machine to machine.
"""

from __future__ import annotations

import zlib

from kernel_core.profiler.model import Frame

# Wall time in a host call (Agent, Tool, io.read): grey, because no Lua runs there.
WAIT_COLOR = "#a8a8a8"
# No Lua instruction and no host call (a long C function, a GC step): blue.
NATIVE_COLOR = "#6f9fd8"
# C functions of the standard library have no file to hash: a fixed green.
C_COLOR = "#8fbc8f"
# Search matches: magenta, outside the warm range so a match never looks like a file.
MATCH_COLOR = "#e040e0"

KIND_COLORS = {"wait": WAIT_COLOR, "native": NATIVE_COLOR, "C": C_COLOR}


def file_color(file: str) -> str:
    """A warm colour (red to yellow) that depends only on ``file``."""
    # crc32, not hash(): Python's string hash changes from process to process.
    digest = zlib.crc32(file.encode("utf-8", "replace"))
    red = 205 + (digest & 0xFF) * 50 // 255
    green = 70 + ((digest >> 8) & 0xFF) * 150 // 255
    blue = 20 + ((digest >> 16) & 0xFF) * 50 // 255
    return f"#{red:02x}{green:02x}{blue:02x}"


def frame_color(frame: Frame) -> str:
    """The colour a flamegraph gives ``frame``: by kind for C and synthetic frames, else by file."""
    fixed = KIND_COLORS.get(frame.kind)
    if fixed is not None:
        return fixed
    return file_color(frame.file or frame.location)
