"""A cache of model outputs (per-paper extractions, topic summaries) in the paper table's database.

Keys carry what the value depends on (content hash, model, prompt), so entries never go stale;
losing the table only costs recomputation.
"""

from __future__ import annotations

import json
import sqlite3

from assistant.errors import StoreError
from assistant.store.paper_table import PaperTable

SCHEMA = """
CREATE TABLE IF NOT EXISTS cache (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""


class Cache:
    """JSON values by (kind, key), sharing the paper table's connection and lock."""

    def __init__(self, table: PaperTable) -> None:
        self.table = table

    def get(self, kind: str, key: str) -> object | None:
        """A cached JSON value, e.g. a per-paper extraction keyed by content hash + model."""
        with self.table.lock:
            row = self.table.db.execute("SELECT value FROM cache WHERE kind=? AND key=?", (kind, key)).fetchone()
        return json.loads(row["value"]) if row else None

    def put(self, kind: str, key: str, value: object) -> None:
        with self.table.lock:
            try:
                with self.table.db:
                    self.table.db.execute(
                        "INSERT OR REPLACE INTO cache (kind, key, value) VALUES (?, ?, ?)",
                        (kind, key, json.dumps(value, default=str)),
                    )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write the cache in {self.table.dir}: {exc}") from exc
