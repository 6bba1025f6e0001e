"""Which files a script's errors, stack traces, modules and displays may read or quote.

In the restricted sandbox a file is readable only inside the allowed directories, and that
holds for every way to reach one, not only ``io.open``: ``require`` (whatever
``package.path`` says), an error message naming ``/etc/passwd:2:`` (the report would quote
the line), a chunk named ``@/etc/shadow`` (``Debug.stackTrace`` would quote it),
``Display.image(path)``. Quotes come only from sources the runtime loaded itself. In the
trusted sandbox a script may open any file anyway, so nothing here refuses.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime


class SourceAccess:
    """The one policy for file reads made on a script's behalf by llmspell itself."""

    def __init__(self, runtime: ScriptRuntime) -> None:
        self.runtime = runtime
        self.loaded: set[str] = set()  # real paths of files the runtime loaded as code

    @property
    def restricted(self) -> bool:
        return self.runtime.sandbox_level == "restricted"

    def note_loaded(self, path: str) -> None:
        """Record that the runtime itself read ``path`` as code (script, module, dofile)."""
        self.loaded.add(os.path.realpath(path))

    def may_quote(self, path: str) -> bool:
        """Whether an excerpt of ``path`` may be shown (error reports, stack traces)."""
        return not self.restricted or os.path.realpath(path) in self.loaded

    def refusal(self, path: str, function: str) -> str | None:
        """Why ``function`` may not read ``path``, or None when it may."""
        if not self.restricted:
            return None
        return self.runtime._check_path(path, function, False)

    def read_module(self, path: str) -> tuple[bytes | None, str | None]:
        """The source of a module ``require`` found at ``path``, or (None, why not)."""
        problem = self.refusal(path, "require")
        if problem is not None:
            return None, problem
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as err:
            return None, f"cannot read {path}: {err.strerror}"
        if data.startswith(b"\x1bLua"):
            return None, (
                "binary chunks are not allowed in the restricted sandbox (set [runtime] "
                'sandbox = "trusted" in llmspell.toml or run with --sandbox trusted)'
            )
        self.note_loaded(path)
        return data, None
