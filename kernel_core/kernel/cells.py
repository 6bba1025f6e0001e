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
    """A cell ready to run: its statements, the top-level locals it declares (kept for later
    cells) and the names it mentions (the REPL locals among them are joined in)."""

    statements: str
    names: list[str] = field(default_factory=list)
    mentions: list[str] = field(default_factory=list)


def _mentions(tokens: list[Token]) -> list[str]:
    seen: dict[str, None] = {}
    previous = ""
    for token in tokens:
        if token.kind == "name" and previous not in (".", ":", "goto", "::"):
            seen.setdefault(token.text, None)
        previous = token.text
    return list(seen)


def plan_cell(code: str) -> CellPlan:
    """The cell as it runs: top-level locals stay real locals, and the cell ends by handing
    back a closure over them (``function() return x, f end``), whose upvalues are their boxes
    (repl.lua files them). ``<const>`` attributes are removed, so a later cell may assign
    the name; ``<close>`` locals are closed at the end of their cell and not kept.

    The closure goes after the last token (so a trailing comment stays a comment) or, in a
    cell that ends with a top-level ``return``, first among the returned values. Offsets
    change, lines do not. A cell that does not tokenize is returned unchanged; Lua reports it.
    """
    try:
        tokens = [t for t in tokenize(code) if t.kind != "comment"]
    except UnfinishedToken:
        return CellPlan(code)
    depths = block_depths(tokens)
    edits: list[tuple[int, int, str]] = []
    names: dict[str, None] = {}
    top_return: int | None = None
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "keyword" and depths[i] == 0:
            if token.text == "return":
                top_return = i
            elif token.text == "local":
                nxt = tokens[i + 1] if i + 1 < len(tokens) else None
                if nxt is not None and nxt.kind == "keyword" and nxt.text == "function":
                    if i + 2 < len(tokens) and tokens[i + 2].kind == "name":
                        names.setdefault(tokens[i + 2].text, None)
                    i += 2
                    continue
                declared, j, attrib_edits, closes = _declared_names(tokens, i + 1)
                edits.extend(attrib_edits)
                if not closes:
                    for name in declared:
                        names.setdefault(name, None)
                i = j
                continue
        i += 1
    if names:
        capture = f"(function() return {', '.join(names)} end)"
        if top_return is not None:
            after = tokens[top_return + 1]
            bare = after.kind == "eof" or after.text == ";"
            edits.append(
                (tokens[top_return].end, tokens[top_return].end, f" {capture}{'' if bare else ','}")
            )
        else:
            last = [t for t in tokens if t.kind != "eof"][-1]
            edits.append((last.end, last.end, f" ; return {capture}"))
    out = code
    for start, end, text in sorted(edits, reverse=True):
        out = out[:start] + text + out[end:]
    return CellPlan(out, list(names), _mentions(tokens))


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
            else:
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
