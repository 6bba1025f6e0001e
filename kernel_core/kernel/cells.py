"""REPL semantics for cells: a top-level ``local`` stays visible in later cells, an expression
cell shows its value, and every cell has a source file (named as the Jupyter debugger
protocol expects: murmur2 hash of the code) so tracebacks and breakpoints can point at it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kernel_core.runtime.lua_tokens import Token, UnfinishedToken, block_depths, tokenize

HASH_SEED = 0xC70F6907


def murmur2(data: bytes, seed: int = HASH_SEED) -> int:
    """MurmurHash2 (32-bit), the hash JupyterLab's debugger uses to name cell files."""
    m, r = 0x5BD1E995, 24
    length = len(data)
    h = (seed ^ length) & 0xFFFFFFFF
    i = 0
    while length - i >= 4:
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
        i += 4
    rest = length - i
    if rest == 3:
        h ^= data[i + 2] << 16
    if rest >= 2:
        h ^= data[i + 1] << 8
    if rest >= 1:
        h ^= data[i]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h


@dataclass
class CellFiles:
    """Where cell sources are written: ``<prefix><murmur2(code)><suffix>``."""

    directory: Path
    suffix: str = ".lua"

    @property
    def prefix(self) -> str:
        return str(self.directory) + "/"

    def path_for(self, code: str) -> Path:
        return self.directory / f"{murmur2(code.encode())}{self.suffix}"

    def write(self, code: str) -> Path:
        """Write the cell's code (once per distinct code) and return its path."""
        path = self.path_for(code)
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.write_text(code, encoding="utf-8")
        return path


@dataclass
class CellPlan:
    """A cell ready to run: rewritten statements and the top-level locals it declares."""

    statements: str
    names: list[str] = field(default_factory=list)


def plan_cell(code: str) -> CellPlan:
    """Rewrite top-level ``local`` declarations into assignments to the REPL scope.

    ``local x, y = 1, 2`` becomes ``x, y = 1, 2`` with x and y declared REPL locals;
    ``local function f`` becomes ``function f``. Offsets change but lines do not. A cell
    that does not tokenize (unfinished string) is returned unchanged; Lua reports it.
    """
    try:
        tokens = [t for t in tokenize(code) if t.kind != "comment"]
    except UnfinishedToken:
        return CellPlan(code)
    depths = block_depths(tokens)
    edits: list[tuple[int, int, str]] = []
    names: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "keyword" and token.text == "local" and depths[i] == 0:
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if nxt is not None and nxt.kind == "keyword" and nxt.text == "function":
                if i + 2 < len(tokens) and tokens[i + 2].kind == "name":
                    names.append(tokens[i + 2].text)
                    edits.append((token.start, token.end, ""))
                i += 2
                continue
            declared, j, attrib_edits, closes = _declared_names(tokens, i + 1)
            if declared and not closes:
                names.extend(declared)
                edits.append((token.start, token.end, ""))
                edits.extend(attrib_edits)
                if j >= len(tokens) or tokens[j].text != "=":
                    last = tokens[j - 1]
                    edits.append((last.end, last.end, " = nil"))
            i = j
            continue
        i += 1
    out = code
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    return CellPlan(out, names)


def _declared_names(
    tokens: list[Token], i: int
) -> tuple[list[str], int, list[tuple[int, int, str]], bool]:
    """Names after ``local`` (with ``<const>`` attributes removed); flags ``<close>``."""
    names: list[str] = []
    edits: list[tuple[int, int, str]] = []
    closes = False
    while i < len(tokens) and tokens[i].kind == "name":
        names.append(tokens[i].text)
        i += 1
        if i + 2 < len(tokens) and tokens[i].text == "<" and tokens[i + 2].text == ">":
            if tokens[i + 1].text == "close":
                closes = True
            edits.append((tokens[i].start, tokens[i + 2].end, ""))
            i += 3
        if i < len(tokens) and tokens[i].text == ",":
            i += 1
            continue
        break
    return names, i, edits, closes


def is_complete(code: str, compile_error: str | None) -> tuple[str, str]:
    """Jupyter's is_complete status and indent for code and its compile error (None = ok)."""
    if compile_error is None:
        return "complete", ""
    try:
        tokens = [t for t in tokenize(code) if t.kind != "comment"]
    except UnfinishedToken:
        return "incomplete", ""
    if "<eof>" in compile_error:
        depth = block_depths(tokens)[-1] if tokens else 0
        brackets = sum(
            1 if t.text in "({[" else -1 if t.text in ")}]" else 0
            for t in tokens
            if t.kind == "symbol" and len(t.text) == 1
        )
        return "incomplete", "  " * max(depth + max(brackets, 0), 1)
    return "invalid", ""
