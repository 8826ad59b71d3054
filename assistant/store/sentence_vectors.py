"""Sentence vectors kept in the paper table's database, so a sentence is embedded once per store, not once per process.

The QA judge, the support check, comparisons and takeaways embed the titles and abstract sentences
of the papers they read (`embeddings.SentenceCache` asks here before embedding). A row is keyed by a
hash of the vector space's label (embedder, engine, version) and the exact text, so it can never be
stale: a re-ingested paper with a changed abstract has new sentences, hence new keys, and nothing
is deleted or rewritten. It is a cache, outside the store's write order: rows are written in one
transaction per batch (a crash keeps whole rows or none), and losing the table costs only
recomputation. A store written by an older version has an empty table and fills it as questions come.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3

import numpy as np

from assistant.store.paper_table import ID_BATCH, PaperTable

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sentence_vectors (
    key BLOB PRIMARY KEY,
    vector BLOB NOT NULL
) WITHOUT ROWID;
"""


class SentenceVectors:
    """Float32 vectors by (vector space, text), sharing the paper table's connection and lock."""

    def __init__(self, table: PaperTable, space: str) -> None:
        """`space` names what a vector depends on besides its text (`Embedder.vector_space`)."""
        self.table = table
        self.space = space
        with table.lock:
            try:
                with table.db:
                    table.db.executescript(SCHEMA)
            except sqlite3.OperationalError:  # a read-only data dir: vectors are then computed, not kept
                log.debug("sentence vectors cannot be kept in %s (read-only)", table.dir)

    def _key(self, text: str) -> bytes:
        return hashlib.blake2b(f"{self.space}\0{text}".encode(), digest_size=16).digest()

    def get(self, texts: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of `texts` that have one."""
        keys = {self._key(t): t for t in dict.fromkeys(texts)}
        out: dict[str, np.ndarray] = {}
        parts = list(keys)
        with self.table.lock:
            try:
                for start in range(0, len(parts), ID_BATCH):
                    part = parts[start : start + ID_BATCH]
                    rows = self.table.db.execute(
                        f"SELECT key, vector FROM sentence_vectors WHERE key IN ({','.join('?' * len(part))})", part
                    )
                    out.update((keys[bytes(k)], np.frombuffer(v, dtype=np.float32)) for k, v in rows)
            except sqlite3.OperationalError:  # no table (read-only old store): nothing kept
                return {}
        return out

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        """Keep `vectors` (text -> vector); best effort: an answer never fails because they cannot be written."""
        if not vectors:
            return
        rows = [(self._key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in vectors.items()]
        with self.table.lock:
            try:
                with self.table.db:
                    self.table.db.executemany("INSERT OR IGNORE INTO sentence_vectors (key, vector) VALUES (?, ?)", rows)
            except sqlite3.Error as exc:
                log.debug("sentence vectors not kept in %s: %s", self.table.dir, exc)

    def prune(self, texts: list[str]) -> int:
        """Forget every kept vector except those of `texts` in this vector space; returns how many went.

        Rows are never rewritten, so a changed abstract or another embedder leaves its old rows behind:
        `assistant reindex` passes the current papers' texts and drops the rest (run it under the store's
        write lock, so no paper is added meanwhile). An answering process may re-add a row at any time;
        that is harmless, as rows are keyed by exact text.
        """
        keep = [(self._key(t),) for t in dict.fromkeys(texts)]
        with self.table.lock:
            try:
                with self.table.db:
                    self.table.db.execute("CREATE TEMP TABLE IF NOT EXISTS keep_vectors (key BLOB PRIMARY KEY) WITHOUT ROWID")
                    self.table.db.execute("DELETE FROM keep_vectors")
                    self.table.db.executemany("INSERT OR IGNORE INTO keep_vectors (key) VALUES (?)", keep)
                    gone = self.table.db.execute(
                        "DELETE FROM sentence_vectors WHERE key NOT IN (SELECT key FROM keep_vectors)"
                    ).rowcount
                    self.table.db.execute("DELETE FROM keep_vectors")
            except sqlite3.OperationalError:  # no table (read-only old store): nothing kept, nothing to prune
                return 0
        return int(gone)

    def count(self) -> int:
        with self.table.lock:
            try:
                return int(self.table.db.execute("SELECT COUNT(*) FROM sentence_vectors").fetchone()[0])
            except sqlite3.OperationalError:
                return 0

    def clear(self) -> None:
        """Forget every kept vector (all vector spaces): benchmarks time a cold store with it."""
        with self.table.lock, self.table.db:
            self.table.db.execute("DELETE FROM sentence_vectors")
