"""Sessions and their artifacts, in the state database (tables ``sessions`` and ``artifacts``).

Pure Python, no Lua: the ``Session`` and ``Artifact`` globals (globals/session.py) sit on top.
A session is a named, tagged record with a status (active, suspended, completed); an
artifact is a piece of content (text or bytes, kept in the database) stored in a session,
identified by ``(session_id, sequence, content_hash)`` with ``content_hash`` its SHA-256.
Every change is one committed transaction, like State's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.database import (
    Component,
    Database,
    StateError,
    now_rfc3339,
)
from kernel_core.runtime.state_store import decode, encode

if TYPE_CHECKING:
    import sqlite3

log = logging.getLogger(__name__)

ACTIVE, SUSPENDED, COMPLETED = "active", "suspended", "completed"
ARTIFACT_TYPES = ("agent_output", "tool_result", "user_input", "system_generated")

SESSION_SCHEMA = Component(
    "sessions",
    (
        """
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            tags TEXT NOT NULL,                 -- JSON array of strings
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,           -- RFC 3339, UTC
            updated_at TEXT NOT NULL,
            parent_session_id TEXT,
            custom_metadata TEXT NOT NULL,      -- JSON object
            next_sequence INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE artifacts (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            sequence INTEGER NOT NULL,
            content_hash TEXT NOT NULL,         -- SHA-256, hex
            artifact_type TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            mime_type TEXT NOT NULL,
            size INTEGER NOT NULL,
            tags TEXT NOT NULL,                 -- JSON array of strings
            custom TEXT NOT NULL,               -- JSON object
            version INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT,
            parent_artifact TEXT,               -- JSON artifact id
            content BLOB NOT NULL,
            PRIMARY KEY (session_id, sequence)
        );
        CREATE INDEX artifacts_by_name ON artifacts (session_id, name)
        """,
    ),
)


class SessionError(StateError):
    """A session or artifact operation cannot be done (unknown id, wrong status...)."""


def check_session_id(session_id: str) -> str:
    """The canonical form of a session id (a UUID); SessionError for anything else."""
    import uuid

    try:
        return str(uuid.UUID(session_id))
    except (ValueError, AttributeError, TypeError):
        raise SessionError(f"Invalid session ID: {session_id}") from None


def utc_rfc3339(text: str) -> str:
    """An RFC 3339 timestamp in the form stored in the database (UTC, microseconds, Z)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SessionError(
            f"'{text}' is not an RFC 3339 timestamp (for example 2025-01-31T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp = moment.astimezone(UTC).isoformat(timespec="microseconds")
    return stamp.replace("+00:00", "Z")


@dataclass
class SessionRecord:
    """One session."""

    id: str
    name: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    status: str = ACTIVE
    created_at: str = ""
    updated_at: str = ""
    parent_session_id: str | None = None
    custom_metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The table ``Session.get`` returns."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tags": list(self.tags),
            "status": self.status,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "parent_session_id": self.parent_session_id,
            "custom_metadata": dict(self.custom_metadata),
        }


@dataclass(frozen=True)
class ArtifactId:
    """Where an artifact lives: its session, its sequence number there, its content hash."""

    session_id: str
    sequence: int
    content_hash: str

    def to_dict(self) -> dict[str, Any]:
        """The id table scripts pass back to ``Artifact.get``/``delete``."""
        return {
            "content_hash": self.content_hash,
            "session_id": self.session_id,
            "sequence": self.sequence,
        }


@dataclass
class ArtifactRecord:
    """An artifact's metadata (its content is read separately)."""

    id: ArtifactId
    artifact_type: str
    name: str
    description: str
    mime_type: str
    size: int
    tags: list[str]
    custom: dict[str, Any]
    version: int
    created_at: str
    created_by: str | None
    parent_artifact: dict[str, Any] | None

    def metadata(self) -> dict[str, Any]:
        """The metadata table of ``Artifact.get``/``list``/``query``."""
        return {
            "name": self.name,
            "description": self.description,
            "artifact_type": self.artifact_type,
            "mime_type": self.mime_type,
            "size": self.size,
            "tags": list(self.tags),
            "custom": dict(self.custom),
            "version": self.version,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "parent_artifact": self.parent_artifact,
            "is_compressed": False,
            "original_size": self.size,
            "session_id": self.id.session_id,
            "sequence": self.id.sequence,
            "content_hash": self.id.content_hash,
        }


@dataclass
class ArtifactQuery:
    """Filters of ``Artifact.query``; None means no filter."""

    session_id: str | None = None
    artifact_type: str | None = None
    name_pattern: str | None = None
    tags: list[str] = field(default_factory=list)
    created_after: str | None = None
    created_before: str | None = None
    min_size: int | None = None
    max_size: int | None = None
    limit: int | None = None


_ARTIFACT_COLUMNS = (
    "session_id, sequence, content_hash, artifact_type, name, description, mime_type, size, "
    "tags, custom, version, created_at, created_by, parent_artifact"
)
_SESSION_COLUMNS = (
    "id, name, description, tags, status, created_at, updated_at, parent_session_id, "
    "custom_metadata"
)


class SessionStore:
    """Sessions and artifacts on a :class:`Database`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # ------------------------------------------------------------------ sessions

    def create(
        self,
        *,
        name: str = "",
        description: str = "",
        tags: list[str] | None = None,
        parent_session_id: str | None = None,
        custom_metadata: dict[str, Any] | None = None,
    ) -> SessionRecord:
        """A new active session."""
        import uuid

        if parent_session_id is not None:
            parent_session_id = self.get(parent_session_id).id
        now = now_rfc3339()
        record = SessionRecord(
            id=str(uuid.uuid4()),
            name=name,
            description=description,
            tags=list(tags or []),
            created_at=now,
            updated_at=now,
            parent_session_id=parent_session_id,
            custom_metadata=dict(custom_metadata or {}),
        )
        self.database.run(
            SESSION_SCHEMA,
            lambda conn: conn.execute(
                f"INSERT INTO sessions ({_SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.name,
                    record.description,
                    encode(record.tags),
                    record.status,
                    record.created_at,
                    record.updated_at,
                    record.parent_session_id,
                    encode(record.custom_metadata),
                ),
            ),
        )
        return record

    def get(self, session_id: str) -> SessionRecord:
        """The session ``session_id`` (SessionError if it is not a UUID or does not exist)."""
        canonical = check_session_id(session_id)
        rows = self.database.read(
            SESSION_SCHEMA, f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (canonical,)
        )
        if not rows:
            raise SessionError(f"Session not found: {canonical}")
        return _session(rows[0])

    def list_sessions(
        self, *, tags: list[str] | None = None, status: str | None = None, limit: int | None = None
    ) -> list[SessionRecord]:
        """Sessions in creation order, those carrying every tag in ``tags`` and ``status``."""
        sql = f"SELECT {_SESSION_COLUMNS} FROM sessions"
        params: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            params = (status,)
        rows = self.database.read(SESSION_SCHEMA, sql + " ORDER BY created_at, id", params)
        found = [_session(r) for r in rows]
        if tags:
            found = [s for s in found if set(tags) <= set(s.tags)]
        return found[:limit] if limit is not None else found

    def set_status(self, session_id: str, status: str) -> SessionRecord:
        """Move a session to ``status`` (suspend an active one, resume a suspended one,
        complete either); SessionError for any other transition."""
        allowed = {SUSPENDED: (ACTIVE,), ACTIVE: (SUSPENDED,), COMPLETED: (ACTIVE, SUSPENDED)}
        verb = {SUSPENDED: "suspended", ACTIVE: "resumed", COMPLETED: "completed"}[status]

        def work(conn: sqlite3.Connection) -> SessionRecord:
            record = self._get_in(conn, session_id)
            if record.status not in allowed[status]:
                need = " or ".join(allowed[status])
                raise SessionError(
                    f"session {record.id} is {record.status}; only a session that is {need} "
                    f"can be {verb}"
                )
            record.status, record.updated_at = status, now_rfc3339()
            conn.execute(
                "UPDATE sessions SET status = ?, updated_at = ? WHERE id = ?",
                (record.status, record.updated_at, record.id),
            )
            return record

        result: SessionRecord = self.database.run(SESSION_SCHEMA, work)
        return result

    def touch(self, session_id: str) -> SessionRecord:
        """Record that the session was saved now (everything else is saved already)."""

        def work(conn: sqlite3.Connection) -> SessionRecord:
            record = self._get_in(conn, session_id)
            record.updated_at = now_rfc3339()
            conn.execute(
                "UPDATE sessions SET updated_at = ? WHERE id = ?", (record.updated_at, record.id)
            )
            return record

        result: SessionRecord = self.database.run(SESSION_SCHEMA, work)
        return result

    def delete(self, session_id: str) -> None:
        """Remove a session and all its artifacts."""

        def work(conn: sqlite3.Connection) -> None:
            record = self._get_in(conn, session_id)
            conn.execute("DELETE FROM sessions WHERE id = ?", (record.id,))

        self.database.run(SESSION_SCHEMA, work)

    def _get_in(self, conn: sqlite3.Connection, session_id: str) -> SessionRecord:
        canonical = check_session_id(session_id)
        row = conn.execute(
            f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (canonical,)
        ).fetchone()
        if row is None:
            raise SessionError(f"Session not found: {canonical}")
        return _session(row)

    # ------------------------------------------------------------------ artifacts

    def store_artifact(
        self,
        session_id: str,
        artifact_type: str,
        name: str,
        content: bytes,
        *,
        description: str = "",
        mime_type: str | None = None,
        tags: list[str] | None = None,
        custom: dict[str, Any] | None = None,
        created_by: str | None = None,
        parent_artifact: dict[str, Any] | None = None,
    ) -> ArtifactRecord:
        """Store ``content`` in the session; a name stored before gets a new version."""
        import hashlib

        if not artifact_type:
            raise SessionError("the artifact type must be a non-empty string")
        digest = hashlib.sha256(content).hexdigest()
        mime = mime_type or guess_mime_type(name, content)

        def work(conn: sqlite3.Connection) -> ArtifactRecord:
            session = self._get_in(conn, session_id)
            sequence = conn.execute(
                "UPDATE sessions SET next_sequence = next_sequence + 1, updated_at = ?"
                " WHERE id = ? RETURNING next_sequence - 1",
                (now_rfc3339(), session.id),
            ).fetchone()[0]
            previous = conn.execute(
                "SELECT sequence, content_hash, version FROM artifacts"
                " WHERE session_id = ? AND name = ? ORDER BY version DESC LIMIT 1",
                (session.id, name),
            ).fetchone()
            parent = parent_artifact
            if parent is None and previous is not None:
                parent = ArtifactId(session.id, int(previous[0]), str(previous[1])).to_dict()
            record = ArtifactRecord(
                id=ArtifactId(session.id, int(sequence), digest),
                artifact_type=artifact_type,
                name=name,
                description=description,
                mime_type=mime,
                size=len(content),
                tags=list(tags or []),
                custom=dict(custom or {}),
                version=int(previous[2]) + 1 if previous else 1,
                created_at=now_rfc3339(),
                created_by=created_by,
                parent_artifact=parent,
            )
            conn.execute(
                f"INSERT INTO artifacts ({_ARTIFACT_COLUMNS}, content)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session.id,
                    record.id.sequence,
                    digest,
                    artifact_type,
                    name,
                    description,
                    mime,
                    record.size,
                    encode(record.tags),
                    encode(record.custom),
                    record.version,
                    record.created_at,
                    created_by,
                    None if parent is None else encode(parent),
                    content,
                ),
            )
            return record

        result: ArtifactRecord = self.database.run(SESSION_SCHEMA, work)
        return result

    def get_artifact(
        self, session_id: str, sequence: int, content_hash: str
    ) -> tuple[ArtifactRecord, bytes]:
        """An artifact's metadata and content (SessionError if there is no such artifact)."""
        canonical = self.get(session_id).id
        rows = self.database.read(
            SESSION_SCHEMA,
            f"SELECT {_ARTIFACT_COLUMNS}, content FROM artifacts"
            " WHERE session_id = ? AND sequence = ? AND content_hash = ?",
            (canonical, sequence, content_hash),
        )
        if not rows:
            raise SessionError(_missing(canonical, sequence, content_hash))
        return _artifact(rows[0]), bytes(rows[0][-1])

    def list_artifacts(self, session_id: str) -> list[ArtifactRecord]:
        """The session's artifacts in the order they were stored."""
        return self.query_artifacts(ArtifactQuery(session_id=self.get(session_id).id))

    def query_artifacts(self, query: ArtifactQuery) -> list[ArtifactRecord]:
        """Artifacts matching every filter of ``query``, oldest first."""
        import fnmatch

        clauses: list[str] = []
        params: list[Any] = []
        for column, op, value in (
            ("session_id", "=", query.session_id),
            ("artifact_type", "=", query.artifact_type),
            ("created_at", ">", query.created_after and utc_rfc3339(query.created_after)),
            ("created_at", "<", query.created_before and utc_rfc3339(query.created_before)),
            ("size", ">=", query.min_size),
            ("size", "<=", query.max_size),
        ):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self.database.read(
            SESSION_SCHEMA,
            f"SELECT {_ARTIFACT_COLUMNS} FROM artifacts{where}"
            " ORDER BY created_at, session_id, sequence",
            tuple(params),
        )
        found = [_artifact(r) for r in rows]
        pattern = query.name_pattern
        if pattern:
            if not any(c in pattern for c in "*?["):
                pattern = f"*{pattern}*"  # no wildcard: a substring match
            found = [a for a in found if fnmatch.fnmatchcase(a.name, pattern)]
        if query.tags:
            found = [a for a in found if set(query.tags) <= set(a.tags)]
        return found[: query.limit] if query.limit is not None else found

    def delete_artifact(self, session_id: str, sequence: int, content_hash: str) -> None:
        """Remove one artifact (SessionError if there is no such artifact)."""

        def work(conn: sqlite3.Connection) -> None:
            session = self._get_in(conn, session_id)
            cursor = conn.execute(
                "DELETE FROM artifacts WHERE session_id = ? AND sequence = ? AND content_hash = ?",
                (session.id, sequence, content_hash),
            )
            if not cursor.rowcount:
                raise SessionError(_missing(session.id, sequence, content_hash))

        self.database.run(SESSION_SCHEMA, work)


def guess_mime_type(name: str, content: bytes) -> str:
    """A MIME type from the name's extension, else text/plain for UTF-8 text."""
    import mimetypes

    guessed, _ = mimetypes.guess_type(name, strict=False)
    if guessed:
        return guessed
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


def _missing(session_id: str, sequence: int, content_hash: str) -> str:
    return (
        f"Artifact not found: sequence {sequence} with hash {content_hash[:12]}... in session "
        f"{session_id} (Artifact.list(session_id) shows what is stored)"
    )


def _session(row: tuple[Any, ...]) -> SessionRecord:
    return SessionRecord(
        id=row[0],
        name=row[1],
        description=row[2],
        tags=decode(row[3]),
        status=row[4],
        created_at=row[5],
        updated_at=row[6],
        parent_session_id=row[7],
        custom_metadata=decode(row[8]),
    )


def _artifact(row: tuple[Any, ...]) -> ArtifactRecord:
    return ArtifactRecord(
        id=ArtifactId(row[0], int(row[1]), row[2]),
        artifact_type=row[3],
        name=row[4],
        description=row[5],
        mime_type=row[6],
        size=int(row[7]),
        tags=decode(row[8]),
        custom=decode(row[9]),
        version=int(row[10]),
        created_at=row[11],
        created_by=row[12],
        parent_artifact=None if row[13] is None else decode(row[13]),
    )
