"""Input history shared by every client of every kernel (what Ctrl+R searches).

SQLite in the user data directory, one row per executed cell: (session, line, source).
Each kernel start opens a new session number, as IPython's history does.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

Entry = tuple[int, int, str]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    session INTEGER PRIMARY KEY AUTOINCREMENT,
    kernel_id TEXT NOT NULL,
    started REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    session INTEGER NOT NULL,
    line INTEGER NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (session, line)
);
"""


class HistoryStore:
    """Thread-safe access to the history database."""

    def __init__(self, path: Path | str, kernel_id: str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=5)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Every cell commits a row; with WAL, NORMAL skips the fsync per commit (a row
        # survives a kernel crash, only a power cut can lose the last ones). An fsync per
        # cell made the history write the largest share of an execute round trip.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with self._db:
            cursor = self._db.execute(
                "INSERT INTO sessions (kernel_id, started) VALUES (?, ?)", (kernel_id, time.time())
            )
        self.session = int(cursor.lastrowid or 0)

    def store(self, line: int, source: str) -> None:
        """Record that cell ``line`` of this session ran ``source``."""
        if not source.strip():
            return
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO history (session, line, source) VALUES (?, ?, ?)",
                (self.session, line, source),
            )

    def tail(self, n: int) -> list[Entry]:
        """The last ``n`` entries, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT session, line, source FROM history ORDER BY session DESC, line DESC "
                "LIMIT ?",
                (max(n, 0),),
            ).fetchall()
        return [(int(s), int(li), str(src)) for s, li, src in reversed(rows)]

    def range(self, session: int, start: int, stop: int | None) -> list[Entry]:
        """Entries of one session from ``start`` up to ``stop`` (exclusive); session 0 or a
        negative number counts back from the current session."""
        if session <= 0:
            session = self.session + session
        query = "SELECT session, line, source FROM history WHERE session = ? AND line >= ?"
        args: list[object] = [session, start]
        if stop is not None:
            query += " AND line < ?"
            args.append(stop)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY line", args).fetchall()
        return [(int(s), int(li), str(src)) for s, li, src in rows]

    def search(self, pattern: str, n: int | None, unique: bool) -> list[Entry]:
        """Entries whose source matches a glob (``*`` and ``?``), newest ``n``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT session, line, source FROM history WHERE source GLOB ? "
                "ORDER BY session DESC, line DESC",
                (pattern or "*",),
            ).fetchall()
        seen: set[str] = set()
        out: list[Entry] = []
        for s, li, src in rows:
            if unique:
                if src in seen:
                    continue
                seen.add(src)
            out.append((int(s), int(li), str(src)))
            if n and len(out) >= n:
                break
        return list(reversed(out))

    def close(self) -> None:
        with self._lock:
            self._db.close()
