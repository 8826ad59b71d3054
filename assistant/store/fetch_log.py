"""The fetch log: which days `assistant fetch` fetched from which source, and the raw responses.

Rows live in the paper table's database; raw responses under data_dir/raw/<source>/ so the store
can be rebuilt offline.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from assistant.errors import StoreError
from assistant.store.paper_table import DB_NAME


class FetchLog:
    """What `assistant fetch` fetched: one row per (source, day) in the paper table's database, and
    the raw responses under data_dir/raw/<source>/ (so the store can be rebuilt offline).

    Light on purpose (SQLite only, no Chroma, no embedder): fetch reads it first, so a re-run with
    nothing new never opens the vector store. Sources are `hf` and `arxiv:<category>`.
    """

    DDL = (
        "CREATE TABLE IF NOT EXISTS fetch_log (source TEXT NOT NULL, day TEXT NOT NULL, "
        "fetched_at TEXT NOT NULL, papers INTEGER NOT NULL, complete INTEGER NOT NULL, PRIMARY KEY (source, day))"
    )

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir).expanduser()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.dir / DB_NAME, timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def days(self, source: str) -> dict[str, dict[str, object]]:
        """Recorded days of `source`: ISO day -> {"fetched_at", "papers", "complete"}; {} before any fetch."""
        if not (self.dir / DB_NAME).exists():
            return {}
        try:
            db = self._connect()
            try:
                rows = db.execute(
                    "SELECT day, fetched_at, papers, complete FROM fetch_log WHERE source=?", (source,)
                ).fetchall()
            finally:
                db.close()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return {}
            raise StoreError(f"cannot read the fetch log in {self.dir}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the fetch log in {self.dir}: {exc}") from exc
        return {
            r["day"]: {"fetched_at": r["fetched_at"], "papers": r["papers"], "complete": bool(r["complete"])}
            for r in rows
        }

    def record(self, source: str, days: list[tuple[str, int, bool]], fetched_at: str) -> None:
        """Record (day, papers, complete) rows of `source` in one transaction; later records win."""
        if not days:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            db = self._connect()
            try:
                with db:
                    db.execute(self.DDL)
                    db.executemany(
                        "INSERT OR REPLACE INTO fetch_log (source, day, fetched_at, papers, complete) VALUES (?,?,?,?,?)",
                        [(source, day, fetched_at, papers, int(complete)) for day, papers, complete in days],
                    )
            finally:
                db.close()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot record fetched days in {self.dir}: {exc}") from exc

    def raw_path(self, source: str, name: str) -> Path:
        return self.dir / "raw" / source.replace(":", "-") / name

    def save_raw(self, source: str, name: str, body: bytes) -> Path:
        """Write a response verbatim, atomically (a crash leaves the old file or the new one, never half)."""
        path = self.raw_path(source, name)
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreError(f"cannot save {path}: {exc.strerror or exc}; check the data dir's free space") from exc
        return path
