"""The SQLite file behind State, Session and Artifact: one lazily opened connection per Lua
world, WAL journal, a schema-version table, single-transaction writes and backups.

Each store (``state_store.StateStore``, ``session_store.SessionStore``) declares its tables
as a *component* with a version; the database creates them the first time the component is
used. ``sqlite3`` is imported on first use: ``llmspell run`` should not pay for it when a
script never touches State.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from kernel_core.errors import LlmspellError

if TYPE_CHECKING:
    import sqlite3

    from kernel_core.config import Config
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

MEMORY = ":memory:"
DEFAULT_FILE_NAME = "state.sqlite3"
BUSY_TIMEOUT_SECONDS = 30.0
_BACKUP_ID = re.compile(r"^backup-\d{8}T\d{6}\.\d{6}Z$")


class StateError(LlmspellError):
    """The state database cannot do what was asked; the message says why and what to do."""


class StateValueError(StateError):
    """A stored value has the wrong shape for the operation (increment on a string...)."""


class StateSchemaError(StateError):
    """The database was written by a newer llmspell (its schema is ahead of ours)."""


@dataclass(frozen=True)
class Component:
    """A set of tables with a version, created or upgraded on first use.

    ``migrations[i]`` upgrades from version ``i`` to ``i + 1``; version 0 means absent.
    """

    name: str
    migrations: tuple[str, ...]

    @property
    def version(self) -> int:
        return len(self.migrations)


@dataclass(frozen=True)
class BackupInfo:
    """A backup file of the state database."""

    backup_id: str
    path: Path
    size: int
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for scripts."""
        return {
            "backup_id": self.backup_id,
            "id": self.backup_id,
            "path": str(self.path),
            "size": self.size,
            "created_at": self.created_at,
        }


def now_rfc3339() -> str:
    """The current UTC time as RFC 3339 with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def resolve_path(configured: str) -> str:
    """The database path for a ``[state] path`` setting (empty = the user data dir)."""
    if configured == MEMORY:
        return MEMORY
    if not configured:
        from kernel_core.paths import data_dir

        return str(data_dir() / DEFAULT_FILE_NAME)
    return str(Path(configured).expanduser().absolute())


class Database:
    """One SQLite connection, opened on first use, for one thread (the execution thread)."""

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "normal",
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        backup_dir: Path | None = None,
    ) -> None:
        self.path = path
        self.synchronous = synchronous.upper()
        self.busy_timeout = busy_timeout
        self._backup_dir = backup_dir
        self._conn: sqlite3.Connection | None = None
        self._ready: set[str] = set()

    @classmethod
    def from_config(cls, config: Config) -> Database:
        """The database ``[state] path`` and ``[state] synchronous`` describe."""
        return cls(
            resolve_path(str(config.get("state", "path"))),
            synchronous=str(config.get("state", "synchronous")),
        )

    @property
    def in_memory(self) -> bool:
        return self.path == MEMORY

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    # ------------------------------------------------------------------ connection

    def connection(self, component: Component) -> sqlite3.Connection:
        """The open connection, with ``component``'s tables created or upgraded."""
        conn = self._conn or self._open()
        if component.name not in self._ready:
            self._ensure(conn, component)
            self._ready.add(component.name)
        return conn

    def _open(self) -> sqlite3.Connection:
        import sqlite3

        if not self.in_memory:
            _prepare_file(Path(self.path))
        try:
            # isolation_level=None: autocommit; multi-statement work uses explicit BEGIN so
            # every call is its own transaction, durable when it returns.
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=True,
            )
            self._enable_wal(conn)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " component TEXT PRIMARY KEY, version INTEGER NOT NULL, updated_at TEXT NOT NULL)"
            )
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"cannot open the state database {self.path}: {exc} (set [state] path, or "
                "LLMSPELL_STATE__PATH, to another file, or move this one away)"
            ) from None
        log.debug("opened state database %s", self.path)
        self._conn = conn
        return conn

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to the WAL journal, waiting out other processes doing the same.

        Switching needs an exclusive lock, and SQLite answers "database is locked" at once,
        without calling the busy handler, when several connections race to switch a new file
        (waiting could deadlock). Retry until the busy timeout: once one of them has switched,
        the mode is stored in the file and the others' switch is a no-op.
        """
        import sqlite3

        deadline = time.monotonic() + self.busy_timeout
        pause = 0.001
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _ensure(self, conn: sqlite3.Connection, component: Component) -> None:
        with self.transaction(conn):
            row = conn.execute(
                "SELECT version FROM schema_version WHERE component = ?", (component.name,)
            ).fetchone()
            current = int(row[0]) if row else 0
            if current > component.version:
                raise StateSchemaError(
                    f"the state database {self.path} holds {component.name} schema version "
                    f"{current}, newer than this llmspell understands ({component.version}); "
                    "upgrade llmspell or point [state] path at another file"
                )
            for step in component.migrations[current:]:
                for statement in _statements(step):
                    conn.execute(statement)
            if current != component.version:
                conn.execute(
                    "INSERT INTO schema_version (component, version, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(component) DO UPDATE SET version = excluded.version,"
                    " updated_at = excluded.updated_at",
                    (component.name, component.version, now_rfc3339()),
                )
                log.debug("%s schema %d -> %d", component.name, current, component.version)

    @contextmanager
    def transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``: takes the write lock up front, so a
        read-modify-write in another process waits instead of losing an update."""
        import sqlite3

        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise _busy_error(self.path, exc) from None
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            raise _busy_error(self.path, exc) from None

    def run(self, component: Component, work: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``work`` in one write transaction; sqlite errors become StateErrors."""
        import sqlite3

        conn = self.connection(component)
        try:
            with self.transaction(conn):
                return work(conn)
        except sqlite3.DatabaseError as exc:
            raise StateError(f"state database {self.path}: {exc}") from None

    def read(self, component: Component, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of one query (autocommit: a read never blocks a writer under WAL)."""
        import sqlite3

        conn = self.connection(component)
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise StateError(f"state database {self.path}: {exc}") from None

    def schema_versions(self) -> dict[str, int]:
        """Component name -> schema version, for what has been created so far."""
        conn = self._conn or self._open()
        return {
            str(n): int(v) for n, v in conn.execute("SELECT component, version FROM schema_version")
        }

    def close(self) -> None:
        """Close the connection (a later use opens it again)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._ready.clear()

    # ------------------------------------------------------------------ backups

    @property
    def backup_dir(self) -> Path:
        """Where backups go: ``[state] path``'s directory + ``state-backups``."""
        if self._backup_dir is not None:
            return self._backup_dir
        if self.in_memory:
            from kernel_core.paths import data_dir

            return data_dir() / "state-backups"
        return Path(self.path).parent / "state-backups"

    def create_backup(self) -> BackupInfo:
        """Copy the whole database to a new backup file (SQLite's online backup API)."""
        import sqlite3

        source = self._conn or self._open()
        directory = self.backup_dir
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = datetime.now(UTC)
        backup_id = "backup-" + stamp.strftime("%Y%m%dT%H%M%S.%fZ")
        path = directory / f"{backup_id}.sqlite3"
        while path.exists():  # two backups within one microsecond
            time.sleep(0.000_01)
            stamp = datetime.now(UTC)
            backup_id = "backup-" + stamp.strftime("%Y%m%dT%H%M%S.%fZ")
            path = directory / f"{backup_id}.sqlite3"
        _create_private_file(path)
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        finally:
            target.close()
        return self._backup_info(path)

    def list_backups(self) -> list[BackupInfo]:
        """Every backup in the backup directory, oldest first."""
        directory = self.backup_dir
        if not directory.is_dir():
            return []
        paths = [p for p in directory.glob("backup-*.sqlite3") if _BACKUP_ID.match(p.stem)]
        return [self._backup_info(p) for p in sorted(paths)]

    def backup_path(self, backup_id: str) -> Path:
        """The file of backup ``backup_id`` (raises StateError if there is none)."""
        path = self.backup_dir / f"{backup_id}.sqlite3"
        if not _BACKUP_ID.match(backup_id) or not path.is_file():
            known = ", ".join(b.backup_id for b in self.list_backups()) or "none"
            raise StateError(f"no backup named '{backup_id}' (backups: {known})")
        return path

    def validate_backup(self, backup_id: str) -> list[str]:
        """Problems ``PRAGMA integrity_check`` finds in a backup (empty = sound)."""
        import sqlite3

        path = self.backup_path(backup_id)
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                rows = conn.execute("PRAGMA integrity_check").fetchall()
                conn.execute("SELECT component, version FROM schema_version").fetchall()
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        return [str(r[0]) for r in rows if r[0] != "ok"]

    def restore_backup(self, backup_id: str) -> None:
        """Replace the database's contents with a backup's (one atomic copy)."""
        import sqlite3

        path = self.backup_path(backup_id)
        problems = self.validate_backup(backup_id)
        if problems:
            raise StateError(f"backup '{backup_id}' is damaged: {'; '.join(problems)}")
        target = self._conn or self._open()
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.backup(target)
        finally:
            source.close()
        self._ready.clear()  # the restored file may hold older schemas: check again

    def delete_backup(self, backup_id: str) -> None:
        """Remove one backup file."""
        self.backup_path(backup_id).unlink()

    def _backup_info(self, path: Path) -> BackupInfo:
        stem = path.stem
        stamp = datetime.strptime(stem[len("backup-") :], "%Y%m%dT%H%M%S.%fZ")
        created = stamp.replace(tzinfo=UTC).isoformat(timespec="microseconds")
        return BackupInfo(stem, path, path.stat().st_size, created.replace("+00:00", "Z"))

    def storage_bytes(self) -> int:
        """Bytes the database uses on disk (main file and WAL), or in memory."""
        if self.in_memory:
            conn = self._conn or self._open()
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            size = conn.execute("PRAGMA page_size").fetchone()[0]
            return int(pages) * int(size)
        return sum(
            p.stat().st_size for p in (Path(self.path), Path(self.path + "-wal")) if p.exists()
        )


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _busy_error(path: str, exc: Exception) -> StateError:
    return StateError(
        f"state database {path} is busy ({exc}); another process held its write lock for "
        f"more than {BUSY_TIMEOUT_SECONDS:g}s"
    )


def _prepare_file(path: Path) -> None:
    # the state may hold secrets a script saved: a private directory and file
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    _create_private_file(path)


def _create_private_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StateError(f"cannot create the state database {path}: {exc.strerror}") from None
    os.close(fd)


_DATABASES: WeakKeyDictionary[ScriptRuntime, Database] = WeakKeyDictionary()


def database_for(runtime: ScriptRuntime) -> Database:
    """The runtime's state database (State, Session and Artifact share it), closed with it."""
    database = _DATABASES.get(runtime)
    if database is None:
        database = Database.from_config(runtime.config)
        _DATABASES[runtime] = database
        runtime.add_closer(database.close)
    return database
