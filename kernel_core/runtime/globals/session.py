"""The ``Session`` and ``Artifact`` globals (see docs/lua-api/session.md), on the state
database through :class:`~kernel_core.runtime.session_store.SessionStore`.

``session.lua`` holds the Lua-facing names, argument checks and the builder; this module
checks table shapes, resolves the current session and drives the store.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.database import StateError, database_for
from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.session_store import (
    ACTIVE,
    COMPLETED,
    SUSPENDED,
    ArtifactQuery,
    SessionStore,
    check_session_id,
)

if TYPE_CHECKING:
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

_ARTIFACT_FIELDS = ("description", "mime_type", "tags", "created_by", "parent_artifact", "custom")
_QUERY_FIELDS = (
    "session_id",
    "type",
    "artifact_type",
    "name_pattern",
    "tags",
    "created_after",
    "created_before",
    "min_size",
    "max_size",
    "limit",
)


class _Fields:
    """Typed reads of one option table, with errors naming the function and the field."""

    def __init__(self, fname: str, data: Any, what: str = "options") -> None:
        if data is None:
            data = {}
        if isinstance(data, list) and not data:
            data = {}  # an empty Lua table
        if not isinstance(data, dict):
            raise ScriptError(f"{fname}: {what} must be a table with named fields")
        self.fname, self.data = fname, data

    def text(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise ScriptError(f"{self.fname}: '{name}' must be a string, got {_kind(value)}")

    def whole(self, name: str) -> int | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise ScriptError(f"{self.fname}: '{name}' must be a whole number, got {value!r}")
        if value < 0:
            raise ScriptError(f"{self.fname}: '{name}' must be 0 or more, got {value}")
        return int(value)

    def strings(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None or value == {}:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ScriptError(f"{self.fname}: '{name}' must be an array of strings")
        return value

    def table(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None or value == []:
            return {}
        if not isinstance(value, dict):
            raise ScriptError(f"{self.fname}: '{name}' must be a table with named fields")
        return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list | dict):
        return "a table"
    return f"a {type(value).__name__}"


class _SessionApi:
    """The host functions behind ``Session`` and ``Artifact`` for one runtime."""

    def __init__(self, runtime: ScriptRuntime) -> None:
        self.runtime = runtime
        self.store = SessionStore(database_for(runtime))
        self.current: str | None = None  # per runtime, as LLMSpell's is per thread

    # ---- sessions

    def create(self, fname: str, opts: Any) -> str:
        fields = _Fields(fname, self.runtime.from_lua(opts, what="options"))
        custom = fields.table("metadata") or fields.table("custom_metadata")
        record = self.store.create(
            name=fields.text("name") or "",
            description=fields.text("description") or "",
            tags=fields.strings("tags"),
            parent_session_id=fields.text("parent_session_id"),
            custom_metadata=custom,
        )
        return record.id

    def get(self, fname: str, session_id: str) -> dict[str, Any]:
        return self.store.get(session_id).to_dict()

    def list_sessions(self, fname: str, query: Any) -> list[dict[str, Any]]:
        fields = _Fields(fname, self.runtime.from_lua(query, what="query"), "the query")
        status = fields.text("status")
        if status is not None and status not in (ACTIVE, SUSPENDED, COMPLETED):
            raise ScriptError(
                f"{fname}: 'status' must be one of active, suspended, completed, got '{status}'"
            )
        found = self.store.list_sessions(
            tags=fields.strings("tags"), status=status, limit=fields.whole("limit")
        )
        return [s.to_dict() for s in found]

    def save(self, fname: str, session_id: str) -> None:
        self.store.touch(session_id)

    def load(self, fname: str, session_id: str) -> str:
        return self.store.get(session_id).id

    def set_status(self, fname: str, session_id: str, status: str) -> None:
        self.store.set_status(session_id, status)

    def delete(self, fname: str, session_id: str) -> None:
        record = self.store.get(session_id)
        self.store.delete(record.id)
        if self.current == record.id:
            self.current = None

    def get_current(self) -> str | None:
        return self.current

    def set_current(self, fname: str, session_id: str | None) -> None:
        self.current = None if session_id is None else self.store.get(session_id).id

    def can_replay(self, fname: str, session_id: str) -> bool:
        check_session_id(session_id)
        return False  # no session records the hook events a replay needs

    def list_replayable(self) -> list[str]:
        return []

    def replay_unsupported(self, fname: str, session_id: str) -> None:
        check_session_id(session_id)
        raise ScriptError(
            f"{fname} is not supported: llmspell sessions do not record hook events to replay "
            "(Session.can_replay(id) is always false; record a run with `llmspell record` "
            "and step through it with `llmspell replay` instead)"
        )

    # ---- artifacts

    def _session(self, fname: str, session_id: str) -> str:
        if session_id:
            return session_id
        if self.current is None:
            raise ScriptError(
                f"{fname}: no current session; pass a session id or call "
                "Session.set_current(id) first"
            )
        return self.current

    def store_artifact(  # noqa: PLR0917 - called from Lua, where arguments are positional
        self,
        fname: str,
        session_id: str,
        artifact_type: str,
        name: str,
        content: str,
        is_hex: bool,
        metadata: Any,
    ) -> dict[str, Any]:
        data = bytes.fromhex(content) if is_hex else content.encode("utf-8")
        return self._store(
            fname,
            session_id=session_id,
            artifact_type=artifact_type,
            name=name,
            data=data,
            metadata=metadata,
        )

    def store_file(
        self, fname: str, session_id: str, path: str, artifact_type: str, metadata: Any
    ) -> dict[str, Any]:
        file = Path(path).expanduser()
        self._check_readable(fname, file)
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ScriptError(f"{fname}: cannot read '{path}': {exc.strerror}") from None
        return self._store(
            fname,
            session_id=session_id,
            artifact_type=artifact_type,
            name=file.name,
            data=data,
            metadata=metadata,
        )

    def _check_readable(self, fname: str, file: Path) -> None:
        if self.runtime.sandbox_level != "restricted":
            return
        real = Path(os.path.realpath(file))
        if any(real == d or d in real.parents for d in self.runtime.allowed_directories()):
            return
        raise ScriptError(
            f"{fname}: access to '{file}' is denied in the restricted sandbox; allowed are the "
            "script's directory, the temp directory and [runtime] allowed_paths"
        )

    def _store(
        self,
        fname: str,
        *,
        session_id: str,
        artifact_type: str,
        name: str,
        data: bytes,
        metadata: Any,
    ) -> dict[str, Any]:
        fields = _Fields(fname, self.runtime.from_lua(metadata, what="metadata"), "metadata")
        custom = {k: v for k, v in fields.data.items() if k not in _ARTIFACT_FIELDS}
        custom.update(fields.table("custom"))
        parent = fields.data.get("parent_artifact")
        if parent is not None:
            parent = self._artifact_id(fname, "metadata.parent_artifact", parent)
            parent = {"session_id": parent[0], "sequence": parent[1], "content_hash": parent[2]}
        record = self.store.store_artifact(
            self._session(fname, session_id),
            artifact_type,
            name,
            data,
            description=fields.text("description") or "",
            mime_type=fields.text("mime_type"),
            tags=fields.strings("tags"),
            custom=custom,
            created_by=fields.text("created_by"),
            parent_artifact=parent,
        )
        return record.id.to_dict()

    def _artifact_id(self, fname: str, what: str, value: Any) -> tuple[str, int, str]:
        data = value if isinstance(value, dict) else self.runtime.from_lua(value, what=what)
        if isinstance(data, dict):
            session_id, sequence, digest = (
                data.get("session_id"),
                data.get("sequence"),
                data.get("content_hash"),
            )
            if (
                isinstance(session_id, str)
                and isinstance(digest, str)
                and isinstance(sequence, int | float)
                and not isinstance(sequence, bool)
                and sequence == int(sequence)
            ):
                return session_id, int(sequence), digest
        raise ScriptError(
            f"{fname}: {what} must be an artifact id as Artifact.store returns it: "
            "{content_hash = string, session_id = string, sequence = integer}"
        )

    def _locate(self, fname: str, session_id: str, id_value: Any) -> tuple[str, int, str]:
        id_session, sequence, digest = self._artifact_id(fname, "argument #2", id_value)
        return session_id or id_session, sequence, digest

    def get_artifact(self, fname: str, session_id: str, id_value: Any) -> dict[str, Any]:
        record, content = self.store.get_artifact(*self._locate(fname, session_id, id_value))
        return {"content": content, "metadata": record.metadata()}

    def list_artifacts(self, fname: str, session_id: str) -> list[dict[str, Any]]:
        found = self.store.list_artifacts(self._session(fname, session_id))
        return [a.metadata() for a in found]

    def query(self, fname: str, query: Any) -> list[dict[str, Any]]:
        fields = _Fields(fname, self.runtime.from_lua(query, what="query"), "the query")
        unknown = sorted(set(fields.data) - set(_QUERY_FIELDS))
        if unknown:
            raise ScriptError(
                f"{fname}: unknown query field '{unknown[0]}' (known: {', '.join(_QUERY_FIELDS)})"
            )
        session_id = fields.text("session_id")
        found = self.store.query_artifacts(
            ArtifactQuery(
                session_id=None if session_id is None else check_session_id(session_id),
                artifact_type=fields.text("type") or fields.text("artifact_type"),
                name_pattern=fields.text("name_pattern"),
                tags=fields.strings("tags"),
                created_after=fields.text("created_after"),
                created_before=fields.text("created_before"),
                min_size=fields.whole("min_size"),
                max_size=fields.whole("max_size"),
                limit=fields.whole("limit"),
            )
        )
        return [a.metadata() for a in found]

    def delete_artifact(self, fname: str, session_id: str, id_value: Any) -> None:
        self.store.delete_artifact(*self._locate(fname, session_id, id_value))


def install(runtime: ScriptRuntime) -> None:
    """Define the ``Session`` and ``Artifact`` globals."""
    impl = _SessionApi(runtime)

    def named(fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(fname: str, *args: Any) -> Any:
            try:
                return fn(fname, *args)
            except StateError as exc:
                raise ScriptError(f"{fname}: {exc}") from None

        return call

    host = runtime.lua.table()
    operations: dict[str, Callable[..., Any]] = {
        "create": impl.create,
        "get": impl.get,
        "list": impl.list_sessions,
        "save": impl.save,
        "load": impl.load,
        "set_status": impl.set_status,
        "delete": impl.delete,
        "set_current": impl.set_current,
        "can_replay": impl.can_replay,
        "replay_unsupported": impl.replay_unsupported,
        "store": impl.store_artifact,
        "store_file": impl.store_file,
        "get_artifact": impl.get_artifact,
        "list_artifacts": impl.list_artifacts,
        "query": impl.query,
        "delete_artifact": impl.delete_artifact,
    }
    for name, fn in operations.items():
        host[name] = runtime.host_function(f"Session.{name}", named(fn))
    host.get_current = runtime.host_function("Session.get_current", impl.get_current)
    host.list_replayable = runtime.host_function("Session.list_replayable", impl.list_replayable)
    session, artifact = runtime.load_lua(
        "kernel_core.runtime.globals", "session.lua", host, runtime.api
    )
    runtime.set_global("Session", session)
    runtime.set_global("Artifact", artifact)
