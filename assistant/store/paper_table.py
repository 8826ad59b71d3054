"""The paper table: one SQLite database in the data dir holding papers, their dates and the generation.

The generation counts committed writes; derived indexes (the keyword index) record the generation
they were built from. Other resources that live in the same database (keyword tokens, the model
cache, the fetch log) declare their own tables; the connection and its lock are shared.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from assistant.errors import StoreError
from assistant.papers import Paper
from assistant.store.diagnostics import disk_hint, read_only

SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    paper_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    abstract TEXT NOT NULL,
    authors TEXT NOT NULL DEFAULT '[]',
    published TEXT,
    url TEXT,
    upvotes INTEGER,
    github TEXT,
    source TEXT NOT NULL DEFAULT '',
    extra TEXT NOT NULL DEFAULT '{}',
    content_hash TEXT NOT NULL,
    n_chunks INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS paper_dates (
    paper_id TEXT NOT NULL REFERENCES papers(paper_id) ON DELETE CASCADE,
    date TEXT NOT NULL,
    PRIMARY KEY (paper_id, date)
);
CREATE INDEX IF NOT EXISTS paper_dates_date ON paper_dates(date);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

DB_NAME = "papers.sqlite"
PAPER_COLS = "paper_id, title, abstract, authors, published, url, upvotes, github, source, extra"
# SQLite limits the number of `?` in one statement; id lookups go in parts of this size.
ID_BATCH = 500


def row_to_paper(row: sqlite3.Row, dates: list[str]) -> Paper:
    """A stored row (selected with `PAPER_COLS`) and its dates as a `Paper`."""
    return Paper(
        paper_id=row["paper_id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=json.loads(row["authors"]),
        dates=dates,
        published=row["published"],
        url=row["url"],
        upvotes=row["upvotes"],
        github=row["github"],
        source=row["source"],
        extra=json.loads(row["extra"]),
    )


class PaperTable:
    """The paper rows; thread-safe (one connection guarded by `lock`)."""

    def __init__(self, data_dir: Path, schemas: Iterable[str] = ()) -> None:
        self.dir = data_dir
        self.lock = threading.RLock()
        self.db = self._open(SCHEMA + "".join(schemas))

    def _open(self, schema: str) -> sqlite3.Connection:
        path = self.dir / DB_NAME
        try:
            db = sqlite3.connect(path, check_same_thread=False, timeout=30)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            with contextlib.suppress(sqlite3.OperationalError):  # read-only dirs keep their journal mode
                db.execute("PRAGMA journal_mode=WAL")
            db.executescript(schema)
        except sqlite3.Error as exc:
            if read_only(self.dir):
                raise StoreError(
                    f"the data dir {self.dir} is read-only, so the paper table {path.name} cannot be opened: "
                    "make it writable or set ASSISTANT_DATA_DIR to a writable directory; nothing was changed"
                ) from exc
            raise StoreError(
                f"cannot open the paper table {path}: {exc}{disk_hint(self.dir)}; check ASSISTANT_DATA_DIR permissions"
            ) from exc
        return db

    def select_by_ids(self, columns: str, ids: list[str]) -> Iterator[sqlite3.Row]:
        """`SELECT columns FROM papers` for the given ids, in parts (caller holds `lock`)."""
        for start in range(0, len(ids), ID_BATCH):
            part = ids[start : start + ID_BATCH]
            yield from self.db.execute(
                f"SELECT {columns} FROM papers WHERE paper_id IN ({','.join('?' * len(part))})", part
            )

    @property
    def generation(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row["value"]) if row else 0

    def stored_state(self, ids: Iterable[str]) -> dict[str, tuple[str, Paper]]:
        """Content hash and stored record of those of `ids` that are in the table."""
        ids = list(ids)
        papers = self.get_papers(ids)
        with self.lock:
            return {r["paper_id"]: (r["content_hash"], papers[r["paper_id"]]) for r in self.select_by_ids("paper_id, content_hash", ids)}

    def get_papers(self, ids: Iterable[str]) -> dict[str, Paper]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, Paper] = {}
        with self.lock:
            for start in range(0, len(ids), ID_BATCH):
                part = ids[start : start + ID_BATCH]
                marks = ",".join("?" * len(part))
                dates: dict[str, list[str]] = {}
                for row in self.db.execute(
                    f"SELECT paper_id, date FROM paper_dates WHERE paper_id IN ({marks}) ORDER BY date", part
                ):
                    dates.setdefault(row["paper_id"], []).append(row["date"])
                for row in self.db.execute(f"SELECT {PAPER_COLS} FROM papers WHERE paper_id IN ({marks})", part):
                    out[row["paper_id"]] = row_to_paper(row, dates.get(row["paper_id"], []))
        return out

    def iter_papers(self) -> Iterator[Paper]:
        """Every stored paper, in id order."""
        with self.lock:
            ids = [r[0] for r in self.db.execute("SELECT paper_id FROM papers ORDER BY paper_id")]
        for start in range(0, len(ids), 1000):
            batch = self.get_papers(ids[start : start + 1000])
            yield from (batch[i] for i in ids[start : start + 1000])

    def ids_newest_first(self) -> list[str]:
        """Every stored paper id, the latest listed first (undated last), ties in id order."""
        with self.lock:
            rows = self.db.execute(
                "SELECT p.paper_id FROM papers p LEFT JOIN paper_dates d ON d.paper_id = p.paper_id "
                "GROUP BY p.paper_id ORDER BY MAX(d.date) IS NULL, MAX(d.date) DESC, p.paper_id"
            )
            return [r[0] for r in rows]

    def ids_between(self, since: str | None, until: str | None) -> set[str]:
        """Ids of papers listed on a date in [since, until] (ISO strings, inclusive)."""
        q, args = "SELECT DISTINCT paper_id FROM paper_dates WHERE 1=1", []
        if since:
            q, args = q + " AND date >= ?", [*args, since]
        if until:
            q, args = q + " AND date <= ?", [*args, until]
        with self.lock:
            return {r[0] for r in self.db.execute(q, args)}

    def titles(self) -> dict[str, str]:
        """The title of every stored paper, by id."""
        with self.lock:
            return {r[0]: r[1] for r in self.db.execute("SELECT paper_id, title FROM papers")}

    def save_papers(self, rows: list[tuple[Paper, int]], removed: Iterable[str] = ()) -> None:
        """Write papers (with their chunk counts) and delete the `removed` rows (papers merged into one of
        `rows`) in one transaction, and bump the generation."""
        removed = list(removed)
        if not rows and not removed:
            return
        with self.lock:
            try:
                with self.db:
                    for start in range(0, len(removed), ID_BATCH):
                        part = removed[start : start + ID_BATCH]
                        self.db.execute(f"DELETE FROM papers WHERE paper_id IN ({','.join('?' * len(part))})", part)
                    for paper, n_chunks in rows:
                        self.db.execute(
                            f"INSERT INTO papers ({PAPER_COLS}, content_hash, n_chunks) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(paper_id) DO UPDATE SET "
                            "title=excluded.title, abstract=excluded.abstract, authors=excluded.authors, "
                            "published=excluded.published, url=excluded.url, upvotes=excluded.upvotes, "
                            "github=excluded.github, source=excluded.source, extra=excluded.extra, "
                            "content_hash=excluded.content_hash, n_chunks=excluded.n_chunks",
                            (
                                paper.paper_id, paper.title, paper.abstract, json.dumps(paper.authors),
                                paper.published, paper.url, paper.upvotes, paper.github, paper.source,
                                json.dumps(paper.extra, default=str), paper.content_hash, n_chunks,
                            ),
                        )
                        self.db.executemany(
                            "INSERT OR IGNORE INTO paper_dates (paper_id, date) VALUES (?, ?)",
                            [(paper.paper_id, d) for d in paper.dates],
                        )
                    self.db.execute(
                        "INSERT INTO meta (key, value) VALUES ('generation', '1') ON CONFLICT(key) "
                        "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
                    )
            except sqlite3.Error as exc:
                raise StoreError(
                    f"cannot write the paper table in {self.dir}: {exc}{disk_hint(self.dir)}; nothing was changed"
                ) from exc

    def chunk_counts(self, ids: Iterable[str]) -> dict[str, int]:
        with self.lock:
            return {r[0]: r[1] for r in self.select_by_ids("paper_id, n_chunks", list(ids))}

    def current_hashes(self, ids: Iterable[str]) -> dict[str, str]:
        """The content hash of each of `ids` that is stored."""
        with self.lock:
            return {r[0]: r[1] for r in self.select_by_ids("paper_id, content_hash", list(ids))}

    def paper_hashes(self) -> dict[str, tuple[str, int]]:
        """Content hash and chunk count of every stored paper."""
        with self.lock:
            return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT paper_id, content_hash, n_chunks FROM papers")}

    def counts(self) -> tuple[int, int, str | None, str | None]:
        """(papers, chunks recorded in the rows, first date, last date)."""
        with self.lock:
            papers, chunks = self.db.execute("SELECT COUNT(*), COALESCE(SUM(n_chunks), 0) FROM papers").fetchone()
            first, last = self.db.execute("SELECT MIN(date), MAX(date) FROM paper_dates").fetchone()
        return papers, chunks, first, last

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.db.close()
