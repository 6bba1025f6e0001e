"""Signatures and one-line docs of the LLMSpell globals, for inspect and hover.

Read from the API reference tables in ``docs/lua-api/*.md`` (rows starting with a backticked
call such as ``| `Tool.execute(name, params)` | ... |``): the one copy, which the wheel
installs as ``kernel_core/devex/lua_api/`` (setup.py).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_ROW = re.compile(r"^\|\s*`(?P<call>[A-Za-z_][\w.:]*\s*(?:\([^`]*\))?)`\s*\|\s*(?P<doc>[^|]*)\|")


def _docs_dir() -> Path:
    installed = Path(__file__).resolve().parent / "lua_api"  # from the wheel
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "docs" / "lua-api"  # a checkout


@cache
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    directory = _docs_dir()
    if not directory.is_dir():
        return index
    for path in sorted(directory.glob("*.md")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = _ROW.match(line.strip())
            if not m:
                continue
            call = m.group("call").strip()
            name = call.split("(", 1)[0].strip()
            index.setdefault(name, f"{call}\n{m.group('doc').strip()}")
    return index


def lookup(name: str) -> str | None:
    """The signature and doc line for ``Tool.execute``-style names, if documented."""
    index = _index()
    if name in index:
        return index[name]
    alternative = name.replace(":", ".")
    return index.get(alternative)
