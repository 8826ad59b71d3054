"""Named reader profiles, one JSON document per row in the paper table's SQLite DB.

The table carries a schema version in `meta` (`profiles_schema`); documents carry their own
version and are migrated when read (`assistant.foryou.profile.migrate`), so an older profile is
upgraded the next time it is saved.
"""

from __future__ import annotations

import sqlite3

from assistant.errors import InputError, StoreError
from assistant.foryou.profile import Profile, check_name, now, profile_from_json, profile_to_json
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
    """Read and write profiles; a missing profile reads as an empty one of that name."""

    def __init__(self, table: PaperTable) -> None:
        self._db, self._lock, self._where = table.db, table.lock, table.dir
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

    def get(self, name: str) -> Profile:
        check_name(name)
        with self._lock:
            try:
                row = self._db.execute("SELECT data FROM profiles WHERE name=?", (name,)).fetchone()
            except sqlite3.OperationalError:
                row = None
        if row is None:
            return Profile(name=name)
        profile = profile_from_json(row[0], source=f"stored profile {name!r} in {self._where}")
        profile.name = name
        return profile

    def put(self, profile: Profile) -> None:
        check_name(profile.name)
        with self._lock:
            try:
                with self._db:
                    self._db.execute(
                        "INSERT OR REPLACE INTO profiles (name, data, updated) VALUES (?, ?, ?)",
                        (profile.name, profile_to_json(profile), now()),
                    )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot save profile {profile.name!r} in {self._where}: {exc}") from exc

    def delete(self, name: str) -> None:
        if name not in self.names():
            raise InputError(f"no profile named {name!r} (profiles: {', '.join(self.names()) or 'none'})")
        with self._lock:
            try:
                with self._db:
                    self._db.execute("DELETE FROM profiles WHERE name=?", (name,))
            except sqlite3.Error as exc:
                raise StoreError(f"cannot delete profile {name!r} in {self._where}: {exc}") from exc
