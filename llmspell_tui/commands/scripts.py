"""The script a command was given, checked the same way by run, profile and tui, so each
says the same thing about a script that is not there."""

from __future__ import annotations

from pathlib import Path

from kernel_core.errors import ScriptNotFoundError


def script_path(text: str) -> Path:
    """``text`` as a script file; a clear error (with a ``.lua`` hint) when it is not one."""
    script = Path(text)
    if script.is_file():
        return script
    if script.is_dir():
        raise ScriptNotFoundError(f"{script} is a directory, not a script")
    hint = ""
    if not script.suffix and script.with_suffix(".lua").is_file():
        hint = f"; did you mean {script.with_suffix('.lua')}?"
    raise ScriptNotFoundError(f"script not found: {script}{hint}")
