"""`Store`: the one object the rest of the app uses to reach the data dir, and the crash-safe write order.

Each resource lives in its own module of this package (`paper_table`, `vectors`, `keywords`,
`cache`, `profiles`, `fetch_log`, `lock`); `Store` opens them and is the only place that combines them.

The write order, which keeps the three stores consistent after a crash at any point:

1. Writers hold the write lock (`writing`), so only one process writes a data dir at a time.
   Chroma is opened before the lock is taken, so a server that is down, another embedder's
   collection or a read-only dir stops a writer before it embeds anything.
2. Stale chunks of a changed paper are deleted, then its new chunks are upserted to Chroma under
   deterministic ids (`<paper_id>#<index>`) with the paper's new content hash: redoing this after
   a crash is harmless.
   A paper merged into another (a page-text record, id from its title, into the same paper's arXiv-id
   record) has its chunks deleted here too.
3. Only then does the paper row commit, with that content hash, in one transaction that also deletes
   the rows of papers merged into it and bumps the table's generation. A crash before the commit
   leaves the old rows, so the papers are redone (and merged again) on the next run.
4. Reads ignore chunks whose content hash is not the paper row's (`chunk_vectors`, `paper_vectors`).
5. The keyword index is derived: it is saved with the generation it was built from and rebuilt
   when the table's generation moved on (`keyword_index`).

Sentence vectors (`sentence_vectors`) are a cache keyed by their text, outside this order: never stale.
They are filled after an ingest by a separate reader (`assistant.reading`) and by questions.

`assistant reindex` repairs what a crash can leave behind (orphan chunks, a missing index)
without re-parsing sources.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from assistant.config import Settings
from assistant.errors import StoreError
from assistant.papers import Chunk, Paper, chunk_text
from assistant.store import cache, keywords, lock
from assistant.store.profiles import ProfileTable
from assistant.store.keywords import KeywordFiles, KeywordIndex
from assistant.store.paper_table import PaperTable
from assistant.store.sentence_vectors import SentenceVectors
from assistant.store.vectors import Vectors


class Store:
    """The one owner of the data dir. Open it once per process and share it (it is thread-safe)."""

    def __init__(self, settings: Settings, embedding_model: str, dim: int, check_model: bool = True) -> None:
        self.settings = settings
        self.dir = Path(settings.data_dir).expanduser()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the data dir {self.dir}: {exc.strerror}; set ASSISTANT_DATA_DIR") from exc
        self.embedding_model = embedding_model
        self.dim = dim
        self.table = PaperTable(self.dir, schemas=(keywords.TOKENS_SCHEMA, cache.SCHEMA))
        self.vectors = Vectors(settings, self.dir, embedding_model, dim, check_model, self.table.lock)
        self.keywords = KeywordFiles(self.dir, self.table)
        self.cache = cache.Cache(self.table)
        self.profiles = ProfileTable(self.table)  # named reader profiles (the personal feed)

    # --- writing ------------------------------------------------------------------------
    def write_lock(self, timeout: float | None = None) -> FileLock:
        """An exclusive lock for writers (ingest, reindex), shared across processes."""
        return lock.write_lock(self.dir, self.settings.write_lock_timeout if timeout is None else timeout)

    def read_lock(self) -> FileLock:
        """The lock of the one background reader of this data dir (`assistant.reading`)."""
        return lock.read_lock(self.dir)

    @contextlib.contextmanager
    def writing(self, timeout: float | None = None) -> Iterator[None]:
        """Hold the write lock (step 1 of the write order), waiting for another writer up to `timeout`
        seconds (default: the `write_lock_timeout` setting); Chroma is opened first."""
        self.vectors.collection  # noqa: B018
        with lock.holding_write_lock(self.dir, self.settings.write_lock_timeout if timeout is None else timeout):
            yield

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        self.vectors.delete(chunk_ids)

    def upsert_chunks(self, chunks: list[Chunk], vectors: np.ndarray, hashes: dict[str, str]) -> None:
        """Step 2: upsert chunk vectors under deterministic ids, each with its paper's content hash."""
        self.vectors.upsert(chunks, vectors, hashes)

    def save_papers(self, rows: list[tuple[Paper, int]], removed: Iterable[str] = ()) -> None:
        """Step 3: commit the paper rows (with their chunk counts), delete the rows of papers merged into
        them (`removed`, whose chunks step 2 deleted) and bump the generation."""
        self.table.save_papers(rows, removed)

    def reset_collection(self) -> None:
        """Drop and recreate the chunk collection (reindex with another embedder)."""
        self.vectors.reset()

    # --- paper table ---------------------------------------------------------------------
    @property
    def generation(self) -> int:
        return self.table.generation

    def stored_state(self, ids: Iterable[str]) -> dict[str, tuple[str, Paper]]:
        """Content hash and stored record of those of `ids` that are in the table."""
        return self.table.stored_state(ids)

    def get_papers(self, ids: Iterable[str]) -> dict[str, Paper]:
        return self.table.get_papers(ids)

    def paper_titles(self) -> dict[str, str]:
        """The title of every stored paper, by id (to find one paper stored under two ids)."""
        return self.table.titles()

    def iter_papers(self) -> Iterator[Paper]:
        """Every stored paper, in id order."""
        return self.table.iter_papers()

    def ids_newest_first(self) -> list[str]:
        """Every stored paper id, the latest listed first (what the background reader reads first)."""
        return self.table.ids_newest_first()

    def ids_between(self, since: str | None, until: str | None) -> set[str]:
        """Ids of papers listed on a date in [since, until] (ISO strings, inclusive)."""
        return self.table.ids_between(since, until)

    def chunk_counts(self, ids: Iterable[str]) -> dict[str, int]:
        return self.table.chunk_counts(ids)

    def paper_hashes(self) -> dict[str, tuple[str, int]]:
        """Content hash and chunk count of every stored paper."""
        return self.table.paper_hashes()

    # --- vectors -------------------------------------------------------------------------
    def nearest_chunk_ids(self, vector: np.ndarray, n: int) -> list[tuple[str, str, float]]:
        """Nearest chunks as (chunk_id, paper_id, cosine similarity); hashes are checked by `chunk_vectors`."""
        return self.vectors.nearest(vector, n)

    def chunk_total(self) -> int:
        return self.vectors.count()

    def chunk_hashes(self) -> dict[str, str]:
        """Every chunk id in the collection with the content hash it was embedded from."""
        return self.vectors.chunk_hashes()

    def paper_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """One vector per paper (mean of its current chunk vectors, re-normalised), for clustering and MMR."""
        if not ids:
            return {}
        res = self.vectors.of_papers(ids)
        current = self.table.current_hashes(ids)
        groups: dict[str, list[np.ndarray]] = {}
        for vec, meta in zip(res["embeddings"], res["metadatas"]):
            if current.get(meta["paper_id"]) == meta.get("content_hash"):
                groups.setdefault(meta["paper_id"], []).append(np.asarray(vec, dtype=np.float32))
        out = {}
        for pid, vecs in groups.items():
            v = np.mean(vecs, axis=0)
            out[pid] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out

    def chunk_vectors(
        self, paper_ids: Iterable[str], texts: bool = True, verify: bool = True
    ) -> dict[str, tuple[np.ndarray, list[str]]]:
        """(chunk vectors in chunk order, chunk texts) of current papers, read by their deterministic chunk ids.

        A lookup by id, not a `where` scan, so it stays fast on large collections; used for exact
        dense scoring of date-filtered searches, MMR paper vectors and passages. Chunks whose
        content hash is not the paper row's are left out (`verify=False` skips that check and
        reads vectors only, which is cheaper). `texts=False`: texts are "".
        """
        cols = "paper_id, content_hash, n_chunks" + (", title, abstract" if texts else "")
        with self.table.lock:
            rows: dict[str, tuple[str, int, str, str]] = {
                r[0]: (r[1], r[2], *((r[3], r[4]) if texts else ("", "")))
                for r in self.table.select_by_ids(cols, list(dict.fromkeys(paper_ids)))
            }
        chunk_ids = [f"{pid}#{i}" for pid, (_h, n, _t, _a) in rows.items() for i in range(n)]
        groups: dict[str, list[tuple[int, Any, str]]] = {}
        for res in self.vectors.by_ids(chunk_ids, metadatas=verify or texts):
            metas = res["metadatas"] if verify or texts else [None] * len(res["ids"])
            for cid, vec, meta in zip(res["ids"], res["embeddings"], metas):
                pid, _, index = cid.rpartition("#")
                row = rows.get(pid)
                if row is None or (verify and row[0] != (meta or {}).get("content_hash")):
                    continue
                doc = chunk_text(row[2], row[3], int(meta["start"]), int(meta["end"])) if texts and meta else ""
                groups.setdefault(pid, []).append((int(index), vec, doc))
        out: dict[str, tuple[np.ndarray, list[str]]] = {}
        for pid, items in groups.items():
            items.sort(key=lambda t: t[0])
            out[pid] = (np.asarray([v for _, v, _ in items], dtype=np.float32), [d for _, _, d in items])
        return out

    def sentence_vectors(self, space: str) -> SentenceVectors:
        """The kept sentence vectors of one vector space (`Embedder.vector_space`), filled after ingest
        (`assistant.reading`) and as questions come."""
        return SentenceVectors(self.table, space)

    # --- keyword index -------------------------------------------------------------------
    def keyword_index(self) -> KeywordIndex:
        """The BM25 index of the current paper table; loaded from disk or rebuilt when stale."""
        return self.keywords.current()

    def rebuild_keyword_index(self) -> KeywordIndex:
        return self.keywords.rebuild()

    # --- cache of model outputs ----------------------------------------------------------
    def cache_get(self, kind: str, key: str) -> object | None:
        """A cached JSON value, e.g. a per-paper extraction keyed by content hash + model."""
        return self.cache.get(kind, key)

    def cache_put(self, kind: str, key: str, value: object) -> None:
        self.cache.put(kind, key, value)

    # --- stats -------------------------------------------------------------------------
    def stats(self, vectors: bool = True) -> dict[str, object]:
        """Counts and date range; `vectors=False` counts chunks from the paper table without opening Chroma
        (the UI's first page: equal in a consistent store, and `reindex` makes it so)."""
        papers, chunks, first, last = self.table.counts()
        return {
            "papers": papers,
            "chunks": self.chunk_total() if vectors else chunks,
            "first_date": first,
            "last_date": last,
            "embedding_model": self.embedding_model,
            "store": self.settings.store_mode,
        }

    def close(self) -> None:
        self.table.close()
