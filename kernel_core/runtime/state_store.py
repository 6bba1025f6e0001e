"""The State key/value store: values of any JSON shape under (scope, key), in SQLite.

Pure Python, no Lua: the ``State`` global converts Lua values at its edge
(``runtime.from_lua`` / ``runtime.to_lua``) and the kernel can use the same store directly.

Every call is one transaction that has committed when it returns (WAL journal: a killed
process loses nothing that was set; ``[state] synchronous = "full"`` also survives a power
cut). Read-modify-write operations (increment, append, compare_and_swap) take SQLite's write
lock first (``BEGIN IMMEDIATE``), so two processes sharing the file never lose an update.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from kernel_core.runtime.database import Component, Database, StateError, StateValueError

if TYPE_CHECKING:
    import sqlite3

log = logging.getLogger(__name__)

GLOBAL_SCOPE = "global"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

STATE_SCHEMA = Component(
    "state",
    (
        """
        CREATE TABLE state (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,          -- JSON
            created_at REAL NOT NULL,     -- unix seconds
            updated_at REAL NOT NULL,
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID
        """,
    ),
)

_MISSING: Any = object()


def encode(value: Any) -> str:
    """JSON text for a value (integers stay integers, floats stay floats)."""
    import orjson

    try:
        return orjson.dumps(value).decode()
    except TypeError as exc:
        raise StateValueError(f"cannot store this value as JSON: {exc}") from None


def decode(text: str) -> Any:
    """The value stored as JSON ``text``."""
    import orjson

    return orjson.loads(text)


def describe(value: Any) -> str:
    """A stored value's kind as a Lua script would name it ("a string", "a table")."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "a table (not an array)"


def same_value(a: Any, b: Any) -> bool:
    """Equality as a script means it: 1 == 1.0, booleans are not numbers, tables compare by
    contents, and an empty array equals an empty table (both are ``{}`` in Lua)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list | dict) and isinstance(b, list | dict) and not a and not b:
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(v, b[k]) for k, v in a.items())
    return type(a) is type(b) and bool(a == b)


class StateStore:
    """Scoped key/value storage on a :class:`Database`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # ------------------------------------------------------------------ reads

    def get(self, scope: str, key: str, default: Any = None) -> Any:
        """The value under (scope, key), or ``default``."""
        rows = self.database.read(
            STATE_SCHEMA, "SELECT value FROM state WHERE scope = ? AND key = ?", (scope, key)
        )
        return decode(rows[0][0]) if rows else default

    def exists(self, scope: str, key: str) -> bool:
        """Whether (scope, key) holds a value."""
        rows = self.database.read(
            STATE_SCHEMA, "SELECT 1 FROM state WHERE scope = ? AND key = ?", (scope, key)
        )
        return bool(rows)

    def keys(self, scope: str) -> list[str]:
        """The keys of ``scope``, sorted."""
        rows = self.database.read(
            STATE_SCHEMA, "SELECT key FROM state WHERE scope = ? ORDER BY key", (scope,)
        )
        return [str(r[0]) for r in rows]

    def keys_with_prefix(self, scope: str, prefix: str) -> list[str]:
        """Keys of ``scope`` that start with ``prefix``, the prefix removed, sorted."""
        # compare with substr rather than LIKE: keys may contain % and _
        rows = self.database.read(
            STATE_SCHEMA,
            "SELECT key FROM state WHERE scope = ? AND substr(key, 1, ?) = ? ORDER BY key",
            (scope, len(prefix), prefix),
        )
        return [str(r[0])[len(prefix) :] for r in rows]

    def scopes(self) -> list[str]:
        """Every scope holding at least one key, sorted."""
        rows = self.database.read(STATE_SCHEMA, "SELECT DISTINCT scope FROM state ORDER BY scope")
        return [str(r[0]) for r in rows]

    def count(self) -> tuple[int, int]:
        """(number of keys, bytes of JSON values) over every scope."""
        rows = self.database.read(
            STATE_SCHEMA, "SELECT count(*), coalesce(sum(length(value)), 0) FROM state"
        )
        return int(rows[0][0]), int(rows[0][1])

    # ------------------------------------------------------------------ writes

    def set(self, scope: str, key: str, value: Any) -> None:
        """Store ``value`` (JSON-shaped data) under (scope, key); None deletes the key."""
        if value is None:
            self.delete(scope, key)
            return
        text = encode(value)
        self.database.run(STATE_SCHEMA, lambda conn: _put(conn, scope, key, text))

    def delete(self, scope: str, key: str) -> bool:
        """Remove (scope, key); True if it existed."""
        cursor = self.database.run(
            STATE_SCHEMA,
            lambda conn: conn.execute(
                "DELETE FROM state WHERE scope = ? AND key = ?", (scope, key)
            ),
        )
        return bool(cursor.rowcount)

    def clear(self, scope: str) -> int:
        """Remove every key of ``scope``; returns how many there were."""
        cursor = self.database.run(
            STATE_SCHEMA, lambda conn: conn.execute("DELETE FROM state WHERE scope = ?", (scope,))
        )
        return int(cursor.rowcount)

    def increment(self, scope: str, key: str, amount: float = 1) -> int | float:
        """Add ``amount`` to the number under (scope, key) (absent = 0); the new value."""

        def work(conn: sqlite3.Connection) -> int | float:
            current = _load(conn, scope, key, 0)
            if isinstance(current, bool) or not isinstance(current, int | float):
                raise StateValueError(f"value at '{key}' is {describe(current)}, not a number")
            result = current + amount
            if isinstance(result, int) and not INT64_MIN <= result <= INT64_MAX:
                raise StateValueError(
                    f"value at '{key}' would overflow a 64-bit integer ({current} + {amount})"
                )
            _put(conn, scope, key, encode(result))
            return result

        result: int | float = self.database.run(STATE_SCHEMA, work)
        return result

    def append(self, scope: str, key: str, value: Any) -> int:
        """Append ``value`` to the array under (scope, key) (absent = empty); the new length.

        An empty table counts as an empty array: in Lua ``{}`` is both.
        """
        item = decode(encode(value))  # fail on unstorable values before taking the lock

        def work(conn: sqlite3.Connection) -> int:
            current = _load(conn, scope, key, [])
            if current == {}:
                current = []
            if not isinstance(current, list):
                raise StateValueError(f"value at '{key}' is {describe(current)}, not an array")
            current.append(item)
            _put(conn, scope, key, encode(current))
            return len(current)

        length: int = self.database.run(STATE_SCHEMA, work)
        return length

    def compare_and_swap(self, scope: str, key: str, expected: Any, new: Any) -> bool:
        """Set (scope, key) to ``new`` only if it holds ``expected`` (None = absent).

        ``new`` None deletes the key. Returns whether the swap happened.
        """
        text = None if new is None else encode(new)

        def work(conn: sqlite3.Connection) -> bool:
            current = _load(conn, scope, key, None)
            if current is None or expected is None:
                if current is not expected:
                    return False
            elif not same_value(current, expected):
                return False
            if text is None:
                conn.execute("DELETE FROM state WHERE scope = ? AND key = ?", (scope, key))
            else:
                _put(conn, scope, key, text)
            return True

        swapped: bool = self.database.run(STATE_SCHEMA, work)
        return swapped


def _load(conn: sqlite3.Connection, scope: str, key: str, default: Any) -> Any:
    row = conn.execute(
        "SELECT value FROM state WHERE scope = ? AND key = ?", (scope, key)
    ).fetchone()
    return decode(row[0]) if row else default


def _put(conn: sqlite3.Connection, scope: str, key: str, text: str) -> None:
    now = time.time()
    conn.execute(
        "INSERT INTO state (scope, key, value, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT(scope, key) DO UPDATE SET value = excluded.value,"
        " updated_at = excluded.updated_at",
        (scope, key, text, now, now),
    )


__all__ = ["GLOBAL_SCOPE", "StateError", "StateStore", "StateValueError"]
