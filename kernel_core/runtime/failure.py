"""A failed run as data, and its rendering: message, file:line, the source line with a marker,
a traceback with script-relative paths, and a suggestion from the error-pattern database."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

INTERNAL_PREFIX = "=[llmspell]"
_LOCATION = re.compile(r"^(?P<src>[^\n]*?):(?P<line>\d+): (?P<msg>.*)$", re.DOTALL)


@dataclass
class Frame:
    """One stack frame of a failure, innermost first."""

    source: str  # chunk name: "@/abs/file.lua", "=[C]", "=(exec)" ...
    line: int
    name: str | None
    what: str  # "Lua", "C", "main"

    @property
    def path(self) -> str | None:
        """The file path, for file chunks."""
        return self.source[1:] if self.source.startswith("@") else None

    @property
    def internal(self) -> bool:
        return self.source.startswith(INTERNAL_PREFIX)


@dataclass
class ScriptFailure:
    """Why a run failed."""

    message: str
    frames: list[Frame] = field(default_factory=list)
    abort: str | None = None  # "interrupt", "time", "instructions", "memory", "exit"
    exit_code: int = 1
    syntax: bool = False
    suggestion: str | None = None
    location: tuple[str, int] | None = None  # (path or chunk name, line)
    line_text: str | None = None  # the source line at ``location``, read when it failed

    @property
    def bare_message(self) -> str:
        """The message without its ``file:line:`` prefix."""
        m = _LOCATION.match(self.message)
        return m.group("msg") if m else self.message

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for --output json and protocol error replies)."""
        return {
            "message": self.bare_message,
            "location": list(self.location) if self.location else None,
            "abort": self.abort,
            "syntax": self.syntax,
            "suggestion": self.suggestion,
            "traceback": [
                {"source": f.source, "line": f.line, "name": f.name, "what": f.what}
                for f in self.frames
            ],
        }


def _chunk_to_path(src: str) -> str:
    """Turn the short_src-ish prefix of an error message back into a path or chunk name."""
    if src.startswith('[string "'):
        return src
    return src


def _location_from_message(message: str) -> tuple[str, int] | None:
    m = _LOCATION.match(message)
    if not m:
        return None
    return _chunk_to_path(m.group("src")), int(m.group("line"))


def syntax_failure(message: str, chunkname: str, source: str) -> ScriptFailure:
    """A failure for a chunk that did not compile."""
    failure = ScriptFailure(message=message, syntax=True)
    failure.location = _location_from_message(message)
    if failure.location is not None:
        failure.location = (_path_of(chunkname), failure.location[1])
        failure.line_text = _nth_line(source, failure.location[1])
    from kernel_core.devex.error_patterns import suggest

    failure.suggestion = suggest(failure.bare_message, source_line=failure.line_text, names=None)
    return failure


def _path_of(chunkname: str) -> str:
    return chunkname[1:] if chunkname[:1] in "@=" else chunkname


def _nth_line(text: str, number: int) -> str | None:
    lines = text.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else None


def _trim(frames: list[Frame], abort: bool) -> list[Frame]:
    """Drop the runner's frames below the script and, for aborts, the hook's C frame."""
    last_user = max(
        (i for i, f in enumerate(frames) if f.what != "C" and not f.internal), default=-1
    )
    frames = frames[: last_user + 1]
    if abort:
        while frames and (frames[0].what == "C" or frames[0].internal):
            frames = frames[1:]
    # A C function called by llmspell's own Lua (the sandbox's `error` refusing os.execute)
    # is an implementation detail the user never wrote: hide it with its caller.
    return [
        f
        for i, f in enumerate(frames)
        if not (f.what == "C" and i + 1 < len(frames) and frames[i + 1].internal)
    ]


def _frames_from(data: Any) -> list[Frame]:
    frames: list[Frame] = []
    if not isinstance(data, list):
        return frames
    for item in data:
        if not isinstance(item, dict):
            continue
        frames.append(
            Frame(
                source=str(item.get("source") or "=?"),
                line=int(item.get("line") or -1),
                name=item.get("name"),
                what=str(item.get("what") or "Lua"),
            )
        )
    return frames


def _exit_code(data: dict[str, Any]) -> int:
    code = data.get("exit_code")
    if code is not None:
        return int(code)  # os.exit(0) is a success: never mistake 0 for "no code"
    return 130 if data.get("abort") == "interrupt" else 1


def failure_from_lua(runtime: ScriptRuntime, payload: Any) -> ScriptFailure:
    """Build a ScriptFailure from the table runner.lua's handler produced."""
    data = runtime.convert.from_lua(payload, lenient=True)
    if not isinstance(data, dict):
        data = {"message": str(data)}
    frames = _frames_from(data.get("coroutine_frames")) + _frames_from(data.get("frames"))
    frames = _trim(frames, data.get("abort") is not None)
    failure = ScriptFailure(
        message=str(data.get("message", "error")),
        frames=frames,
        abort=data.get("abort"),
        exit_code=_exit_code(data),
    )
    failure.location = _location_from_message(failure.message)
    if failure.location is None:
        for frame in frames:
            if frame.what != "C" and not frame.internal and frame.line > 0:
                failure.location = (_path_of(frame.source), frame.line)
                break
    else:
        # messages carry short_src, which may be shortened: prefer the frame's full chunk name
        short, number = failure.location
        for frame in frames:
            if frame.line == number and (
                (frame.path and frame.path.endswith(short.lstrip("."))) or frame.source[1:] == short
            ):
                failure.location = (_path_of(frame.source), number)
                break
    if failure.location is not None:
        text = runtime.chunk_sources.get(failure.location[0])
        failure.line_text = (
            _nth_line(text, failure.location[1])
            if text is not None
            else _quotable_line(runtime, failure.location)
        )
    if failure.abort is None:
        from kernel_core.devex.error_patterns import suggest

        try:
            failure.suggestion = suggest(
                failure.bare_message, source_line=failure.line_text, names=runtime.api_names
            )
        except Exception:
            # a hint is a nicety: never let it hide the error itself
            log.exception("the error-pattern database failed on %r", failure.bare_message)
    return failure


def suggestion_for(runtime: ScriptRuntime, message: str) -> str | None:
    """The error-pattern database's hint for an error raised in ``runtime`` (None if unknown)."""
    failure = ScriptFailure(message=message)
    location = _location_from_message(message)
    text = runtime.chunk_sources.get(location[0]) if location is not None else None
    line_text = (
        _nth_line(text, location[1])
        if text is not None and location
        else _quotable_line(runtime, location)
    )
    from kernel_core.devex.error_patterns import suggest

    try:
        return suggest(failure.bare_message, source_line=line_text, names=runtime.api_names)
    except Exception:
        # a hint is a nicety: never let it hide the error itself
        log.exception("the error-pattern database failed on %r", failure.bare_message)
        return None


def _quotable_line(runtime: ScriptRuntime, location: tuple[str, int] | None) -> str | None:
    # an error message can name any file ("/etc/passwd:2: boom"): quote only what may be read
    if location is None or not runtime.sources.may_quote(location[0]):
        return None
    return source_line(location)


def source_line(location: tuple[str, int] | None) -> str | None:
    """The text of the line a location points at, if it is a readable file."""
    if location is None:
        return None
    path, line = location
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, text in enumerate(fh, 1):
                if number == line:
                    return text.rstrip("\n")
    except OSError:
        return None
    return None


def display_path(source: str, base: Path | None = None) -> str:
    """A chunk name as a user reads it: file paths relative to ``base`` (default: cwd)."""
    if source.startswith("@"):
        source = source[1:]
    elif source.startswith("="):
        return source[1:]
    if source.startswith("/"):
        try:
            rel = os.path.relpath(source, base or Path.cwd())
        except ValueError:
            return source
        return source if rel.startswith("../../") else rel
    return source


def _marker(line_text: str, message: str) -> tuple[int, int]:
    """Columns to underline: the name the message mentions, else the whole statement."""
    names = re.findall(r"'([A-Za-z_][\w.:]*)'", message)
    for name in names:
        short = re.split(r"[.:]", name)[-1]
        for candidate, before in ((name, r"(?<![\w.:])"), (short, r"(?<!\w)")):
            m = re.search(rf"{before}{re.escape(candidate)}(?!\w)", line_text)
            if m:
                return m.start(), m.end()
    stripped = len(line_text) - len(line_text.lstrip())
    return stripped, max(len(line_text.rstrip()), stripped + 1)


def format_failure(failure: ScriptFailure, *, base: Path | None = None, color: bool = False) -> str:
    """The multi-line report a user reads in the terminal."""
    red, bold, dim, cyan, reset = (
        ("\x1b[31m", "\x1b[1m", "\x1b[2m", "\x1b[36m", "\x1b[0m") if color else ("",) * 5
    )
    kind = "syntax error" if failure.syntax else "error"
    if failure.abort == "interrupt":
        kind = "interrupted"
    elif failure.abort in ("time", "instructions", "memory"):
        kind = "limit exceeded"
    lines = [f"{red}{bold}{kind}{reset}{bold}: {failure.bare_message}{reset}"]
    if failure.location:
        path, number = failure.location
        lines.append(f"  {cyan}-->{reset} {display_path(path, base)}:{number}")
        text = failure.line_text
        if text is not None:
            gutter = str(number)
            start, end = _marker(text, failure.bare_message)
            expanded = text.replace("\t", "    ")
            offset = len(text[:start].replace("\t", "    "))
            width = max(1, len(text[start:end].replace("\t", "    ")))
            lines.append(f"{dim}{' ' * len(gutter)} |{reset}")
            lines.append(f"{dim}{gutter} |{reset} {expanded}")
            lines.append(
                f"{dim}{' ' * len(gutter)} |{reset} {' ' * offset}{red}{'^' * width}{reset}"
            )
    visible = [f for f in failure.frames if not f.internal]
    if visible:
        lines.append("stack traceback:")
        for frame in visible:
            if frame.what == "C":
                where = "[C]"
            else:
                where = f"{display_path(frame.source, base)}:{frame.line}"
            if frame.what == "main":
                label = "in main chunk"
            elif frame.name:
                label = f"in function '{frame.name}'"
            elif frame.what == "C":
                label = "in ?"
            else:
                label = "in function <anonymous>"
            lines.append(f"  {where}: {label}")
    if failure.suggestion:
        lines.append(f"{cyan}hint{reset}: {failure.suggestion}")
    return "\n".join(lines)
