"""The ``State`` global: a scoped key/value store in SQLite (see docs/lua-api/state.md).

``state.lua`` holds the Lua-facing names and argument checks; this module converts values
at the edge and drives :class:`~kernel_core.runtime.state_store.StateStore`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.database import StateError, database_for
from kernel_core.runtime.errors import ScriptError
from kernel_core.runtime.state_store import STATE_SCHEMA, StateStore

if TYPE_CHECKING:
    from kernel_core.runtime.database import Database
    from kernel_core.runtime.script_runtime import ScriptRuntime

log = logging.getLogger(__name__)

DEFAULT_BACKUPS_KEPT = 5


def install(runtime: ScriptRuntime) -> None:
    """Define the ``State`` global (the database opens on the first State call)."""
    database = database_for(runtime)
    store = StateStore(database)

    def data(fname: str, key: str, value: Any) -> Any:
        try:
            return runtime.from_lua(value, what="value")
        except ScriptError as exc:
            raise ScriptError(f"{fname}: cannot store '{key}': {exc}") from None
        except UnicodeDecodeError:
            raise ScriptError(
                f"{fname}: cannot store '{key}': a string in it is not valid UTF-8 text; "
                "State holds JSON, so encode binary data first (for example as hex)"
            ) from None

    def named(fn: Callable[..., Any]) -> Callable[..., Any]:
        # the Lua side passes the public name first, so errors name what the script called
        def call(fname: str, *args: Any) -> Any:
            try:
                return fn(fname, *args)
            except StateError as exc:
                raise ScriptError(f"{fname}: {exc}") from None

        return call

    def get(fname: str, scope: str, key: str) -> Any:
        return store.get(scope, key)

    def set_(fname: str, scope: str, key: str, value: Any) -> None:
        store.set(scope, key, data(fname, key, value))

    def delete(fname: str, scope: str, key: str) -> bool:
        return store.delete(scope, key)

    def exists(fname: str, scope: str, key: str) -> bool:
        return store.exists(scope, key)

    def keys(fname: str, scope: str) -> list[str]:
        return store.keys(scope)

    def keys_with_prefix(fname: str, scope: str, prefix: str) -> list[str]:
        return store.keys_with_prefix(scope, prefix)

    def clear(fname: str, scope: str) -> int:
        return store.clear(scope)

    def increment(fname: str, scope: str, key: str, amount: float) -> int | float:
        return store.increment(scope, key, amount)

    def append(fname: str, scope: str, key: str, value: Any) -> int:
        return store.append(scope, key, data(fname, key, value))

    def compare_and_swap(fname: str, scope: str, key: str, old: Any, new: Any) -> bool:
        return store.compare_and_swap(scope, key, data(fname, key, old), data(fname, key, new))

    operations: dict[str, Callable[..., Any]] = {
        "get": get,
        "set": set_,
        "delete": delete,
        "exists": exists,
        "keys": keys,
        "keys_with_prefix": keys_with_prefix,
        "clear": clear,
        "increment": increment,
        "append": append,
        "compare_and_swap": compare_and_swap,
    }
    host = runtime.lua.table()
    for name, fn in operations.items():
        host[name] = runtime.host_function(f"State.{name}", named(fn))
    for name, fn in _admin_functions(database, store).items():
        host[name] = runtime.host_function(f"State.{name}", fn)
    state = runtime.load_lua("kernel_core.runtime.globals", "state.lua", host, runtime.api)
    runtime.set_global("State", state)


def _admin_functions(database: Database, store: StateStore) -> dict[str, Callable[..., Any]]:
    """Schema and backup calls; they report ``{success = false, error = ...}`` instead of
    raising, the shape scripts written for LLMSpell check."""

    def reported(fname: str, fn: Callable[..., dict[str, Any]]) -> Callable[..., Any]:
        def call(*args: Any) -> dict[str, Any]:
            try:
                return {"success": True, **fn(*args)}
            except (StateError, OSError) as exc:
                log.info("%s failed: %s", fname, exc)
                return {"success": False, "error": f"{fname}: {exc}"}

        return call

    def versions() -> dict[str, int]:
        store.count()  # makes sure the state tables exist before reporting their version
        return database.schema_versions()

    def migrate(version: float | None = None) -> dict[str, Any]:
        current = versions()["state"]
        if version is not None and version != current:
            raise StateError(
                f"there is no state schema version {version:g}; this llmspell uses version "
                f"{current}, and its schema migrates itself when the database is opened"
            )
        return {"from_version": current, "to_version": current, "migrations_applied": 0}

    def migration_status() -> dict[str, Any]:
        current = versions()["state"]
        return {
            "current_version": current,
            "latest_version": STATE_SCHEMA.version,
            "pending_migrations": STATE_SCHEMA.version - current,
            "is_migrating": False,
        }

    def schema_versions() -> dict[str, Any]:
        found = versions()
        return {"current_version": found["state"], "versions": found}

    def create_backup() -> dict[str, Any]:
        return database.create_backup().to_dict()

    def list_backups() -> dict[str, Any]:
        return {"backups": [b.to_dict() for b in database.list_backups()]}

    def restore_backup(backup_id: str) -> dict[str, Any]:
        database.restore_backup(backup_id)
        return {"backup_id": backup_id}

    def validate_backup(backup_id: str) -> dict[str, Any]:
        problems = database.validate_backup(backup_id)
        return {"backup_id": backup_id, "valid": not problems, "errors": problems}

    def cleanup_backups(keep: float | None = None) -> dict[str, Any]:
        backups = database.list_backups()
        keep = DEFAULT_BACKUPS_KEPT if keep is None else int(keep)
        doomed = backups[: max(len(backups) - keep, 0)]
        for backup in doomed:
            database.delete_backup(backup.backup_id)
        return {
            "removed": len(doomed),
            "removed_ids": [b.backup_id for b in doomed],
            "kept": len(backups) - len(doomed),
        }

    def storage_usage() -> dict[str, Any]:
        keys, value_bytes = store.count()
        return {
            "path": database.path,
            "total_bytes": database.storage_bytes(),
            "total_keys": keys,
            "value_bytes": value_bytes,
            "scopes": store.scopes(),
        }

    return {
        "migrate": reported("State.migrate", migrate),
        "migration_status": reported("State.get_migration_status", migration_status),
        "schema_versions": reported("State.get_schema_versions", schema_versions),
        "create_backup": reported("State.create_backup", create_backup),
        "list_backups": reported("State.list_backups", list_backups),
        "restore_backup": reported("State.restore_backup", restore_backup),
        "validate_backup": reported("State.validate_backup", validate_backup),
        "cleanup_backups": reported("State.cleanup_backups", cleanup_backups),
        "storage_usage": reported("State.get_storage_usage", storage_usage),
    }
