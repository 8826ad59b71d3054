"""Named reader profiles, one JSON document per row in the paper table's SQLite DB.

The table carries a schema version in `meta` (`profiles_schema`). The documents are the personal
feed's (`assistant.foryou.profile`): they carry their own version and are parsed, checked and
migrated there (`ForYou.profile`), so this table only keeps text and knows no profile fields.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from assistant.errors import InputError, StoreError
from assistant.store.paper_table import PaperTable

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    updated TEXT NOT NULL
);
"""


class ProfileTable:
    """Read and write profile documents by name."""

    def __init__(self, table: PaperTable) -> None:
        self._db, self._lock = table.db, table.lock
        self.where = table.dir
        """The data dir, for messages about a stored profile."""
        with self._lock:
            try:
                with self._db:
                    self._db.executescript(SCHEMA)
                    self._db.execute(
                        "INSERT OR IGNORE INTO meta (key, value) VALUES ('profiles_schema', ?)", (str(SCHEMA_VERSION),)
                    )
            except sqlite3.OperationalError:  # a read-only data dir: reading still works if the table exists
                pass

    def names(self) -> list[str]:
        with self._lock:
            try:
                return [r[0] for r in self._db.execute("SELECT name FROM profiles ORDER BY name")]
            except sqlite3.OperationalError:
                return []

    def get(self, name: str) -> str | None:
        """The stored document of profile `name`, or None when there is none."""
        with self._lock:
            try:
                row = self._db.execute("SELECT data FROM profiles WHERE name=?", (name,)).fetchone()
            except sqlite3.OperationalError:
                row = None
        return None if row is None else str(row[0])

    def put(self, name: str, document: str) -> None:
        """Store (or replace) the document of profile `name`."""
        updated = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        with self._lock:
            try:
                with self._db:
                    self._db.execute(
                        "INSERT OR REPLACE INTO profiles (name, data, updated) VALUES (?, ?, ?)", (name, document, updated)
                    )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot save profile {name!r} in {self.where}: {exc}") from exc

    def delete(self, name: str) -> None:
        if name not in self.names():
            raise InputError(f"no profile named {name!r} (profiles: {', '.join(self.names()) or 'none'})")
        with self._lock:
            try:
                with self._db:
                    self._db.execute("DELETE FROM profiles WHERE name=?", (name,))
            except sqlite3.Error as exc:
                raise StoreError(f"cannot delete profile {name!r} in {self.where}: {exc}") from exc
