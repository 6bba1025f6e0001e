"""Where file tools may reach, and the per-call context every tool receives."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from kernel_core.runtime.tools.errors import SecurityViolation, ToolCancelledError


class PathSandbox:
    """Allows a path when, after resolving symlinks, it lies inside an allowed directory.

    LLMSpell compares plain string prefixes without resolving symlinks, so ``/tmpfoo`` passes
    an allowed ``/tmp`` and a symlink in ``/tmp`` leads anywhere; here containment is checked
    on real paths, component by component.
    """

    def __init__(self, allowed: list[str]) -> None:
        self.allow_all = "*" in allowed
        self.allowed = [Path(os.path.realpath(os.path.expanduser(p))) for p in allowed if p != "*"]

    def resolve(self, path: str, access: str = "access") -> Path:
        """The real absolute path of ``path``, or raise a Security violation."""
        absolute = Path(os.path.abspath(os.path.expanduser(path)))
        real = Path(os.path.realpath(absolute))
        if self.allow_all or any(real == a or a in real.parents for a in self.allowed):
            return real
        raise SecurityViolation(
            f"File access violation: {access} on '{absolute}' - Path not in allowed list "
            f"(allowed: {', '.join(str(a) for a in self.allowed) or 'none'}; "
            "add the directory to [tools] allowed_paths)"
        )


@dataclass
class ToolContext:
    """What a tool may use during one call: the sandbox, limits, and a cancel flag."""

    sandbox: PathSandbox
    max_file_size: int = 50_000_000
    allow_process_execution: bool = True
    sandbox_level: str = "trusted"  # the runtime's [runtime] sandbox
    cancelled: threading.Event = field(default_factory=threading.Event)

    def check_cancelled(self) -> None:
        """Raise if the caller stopped waiting (timeout); long loops call this."""
        if self.cancelled.is_set():
            raise ToolCancelledError("the tool was stopped because it ran out of time")
