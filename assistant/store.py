"""All persistence: the paper table (SQLite), the chunk vectors (Chroma) and the keyword index (bm25s).

Nothing else touches the data dir or imports chromadb. Write order keeps the three consistent
after a crash: chunks are upserted to Chroma first (deterministic ids, so a redo is harmless),
then the paper row commits with its content hash; derived indexes carry the generation of the
paper table they were built from and are rebuilt when it moved on.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from assistant.config import Settings
from assistant.errors import StoreError
from assistant.papers import Chunk, Paper, chunk_text
from assistant.profiles_table import ProfileTable

log = logging.getLogger(__name__)

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
CREATE TABLE IF NOT EXISTS keyword_tokens (
    paper_id TEXT PRIMARY KEY REFERENCES papers(paper_id) ON DELETE CASCADE,
    content_hash TEXT NOT NULL,
    analyzer TEXT NOT NULL,
    tokens TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cache (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
"""

_PAPER_COLS = "paper_id, title, abstract, authors, published, url, upvotes, github, source, extra"


def _row_to_paper(row: sqlite3.Row, dates: list[str]) -> Paper:
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


LOW_DISK_BYTES = 64 * 1024 * 1024


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line (Chroma's messages can span lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read_only(path: Path) -> bool:
    """True when `path` is on a read-only mount or not writable by this process."""
    import os

    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY) or not os.access(path, os.W_OK)
    except OSError:
        return False


def _disk_hint(path: Path) -> str:
    """A hint for the error message when the disk holding `path` is (nearly) full, else ""."""
    import shutil

    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return ""
    if free >= LOW_DISK_BYTES:
        return ""
    return (
        f" (the disk holding {path} has only {free // 1024} KB free: free some space and re-run; "
        "papers already stored are kept)"
    )


def _bm25s():  # type: ignore[no-untyped-def]
    """Import bm25s lazily (it is slow to import) and undo the DEBUG level it sets on import."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


_COMPOUND = re.compile(r"\w+(?:[-/]\w+)+")
# Bump when the analysis below changes: an index saved by another version is rebuilt on load.
KEYWORD_ANALYZER = "en-stem-stop+compounds-1"


def keyword_text(text: str) -> str:
    """What BM25 indexes and queries: the text plus each hyphenated name joined into one token.

    The tokenizer splits `LiDAR-PTQ` into `lidar` + `ptq`; the joined `lidarptq` (and
    `mobileagentv2` for `Mobile-Agent-v2`) also matches, so an exact name outranks papers that
    merely mention both halves.
    """
    joined = [m.replace("-", "").replace("/", "") for m in _COMPOUND.findall(text)]
    return f"{text} {' '.join(joined)}" if joined else text


class KeywordIndex:
    """BM25 over whole papers (title + abstract), English stemming and stop words."""

    def __init__(self, retriever: object, ids: list[str]) -> None:
        self.retriever = retriever
        self.ids = ids
        self._pos = {pid: i for i, pid in enumerate(ids)}

    @staticmethod
    def _stemmer() -> object:
        import Stemmer

        return Stemmer.Stemmer("english")

    @classmethod
    def tokenize(cls, texts: list[str]) -> list[list[str]]:
        """The analysed tokens of each text (stemmed, stop words removed, compounds joined)."""
        if not texts:
            return []
        return _bm25s().tokenize(
            [keyword_text(t) for t in texts], stopwords="en", stemmer=cls._stemmer(), show_progress=False, return_ids=False
        )

    @classmethod
    def build(cls, ids: list[str], texts: list[str] | None = None, tokens: list[list[str]] | None = None) -> KeywordIndex:
        """An index over `texts`, or over already analysed `tokens` (the store caches them per paper)."""
        bm25s = _bm25s()

        retriever = bm25s.BM25()
        corpus = tokens if tokens is not None else cls.tokenize(texts or [])
        if corpus:
            retriever.index(corpus, show_progress=False)
        return cls(retriever, ids)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self.retriever.save(str(path))  # type: ignore[attr-defined]
        (path / "ids.json").write_text(json.dumps(self.ids))
        (path / "analyzer").write_text(KEYWORD_ANALYZER)

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        bm25s = _bm25s()

        analyzer = path / "analyzer"
        if not analyzer.exists() or analyzer.read_text().strip() != KEYWORD_ANALYZER:
            raise ValueError("keyword index built with another analyzer")
        ids = json.loads((path / "ids.json").read_text())
        retriever = bm25s.BM25.load(str(path)) if ids else bm25s.BM25()
        return cls(retriever, ids)

    def search(self, query: str, n: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Best `n` papers for `query` as (paper_id, score), restricted to `allowed` ids if given."""
        bm25s = _bm25s()

        if not self.ids:
            return []
        tokens = bm25s.tokenize([keyword_text(query)], stopwords="en", stemmer=self._stemmer(), show_progress=False)
        if not tokens.vocab or all(len(t) == 0 for t in tokens.ids):
            return []
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=np.float32)
            idx = [self._pos[p] for p in allowed if p in self._pos]
            if not idx:
                return []
            mask[idx] = 1.0
        k = min(n, len(self.ids) if allowed is None else int(mask.sum()))  # type: ignore[union-attr]
        docs, scores = self.retriever.retrieve(  # type: ignore[attr-defined]
            tokens, k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def scores_for(self, query: str, ids: Iterable[str]) -> dict[str, float]:
        """BM25 scores of the given papers for `query` (0.0 when no query term occurs; unknown ids left out).

        Hybrid search uses it to score dense-only candidates exactly instead of guessing.
        """
        bm25s = _bm25s()

        wanted = [p for p in ids if p in self._pos]
        if not wanted:
            return {}
        words = bm25s.tokenize(
            [keyword_text(query)], stopwords="en", stemmer=self._stemmer(), show_progress=False, return_ids=False
        )[0]
        vocab = getattr(self.retriever, "vocab_dict", None) or {}
        words = [w for w in words if w in vocab]
        if not words:
            return {p: 0.0 for p in wanted}
        scores = self.retriever.get_scores(words)  # type: ignore[attr-defined]
        return {p: float(scores[self._pos[p]]) for p in wanted}


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
        self._check_model = check_model
        self._lock = threading.RLock()
        self._db = self._open_db()
        self._coll: object | None = None  # Chroma opens on first use (see `_collection`)
        self._kw: KeywordIndex | None = None
        self._kw_generation = -1

    # --- opening -----------------------------------------------------------------------
    def _open_db(self) -> sqlite3.Connection:
        path = self.dir / "papers.sqlite"
        try:
            db = sqlite3.connect(path, check_same_thread=False, timeout=30)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys=ON")
            with contextlib.suppress(sqlite3.OperationalError):  # read-only dirs keep their journal mode
                db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            if _read_only(self.dir):
                raise StoreError(
                    f"the data dir {self.dir} is read-only, so the paper table {path.name} cannot be opened: "
                    "make it writable or set ASSISTANT_DATA_DIR to a writable directory; nothing was changed"
                ) from exc
            raise StoreError(
                f"cannot open the paper table {path}: {exc}{_disk_hint(self.dir)}; check ASSISTANT_DATA_DIR permissions"
            ) from exc
        return db

    @property
    def _collection(self) -> object:
        """The chunk collection, opened on first use: the UI's first page needs only the paper table,
        so it does not wait ~0.5 s for Chroma (a model mismatch or a server that is down is
        reported by the first call that needs the vectors: search, ingest, `stats`)."""
        if self._coll is None:
            with self._lock:
                if self._coll is None:
                    self._coll = self._open_collection()
        return self._coll

    @_collection.setter
    def _collection(self, value: object) -> None:
        self._coll = value

    def _open_collection(self) -> object:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if self.settings.chroma_host:
                client = chromadb.HttpClient(
                    host=self.settings.chroma_host, port=self.settings.chroma_port, settings=chroma_settings
                )
            else:
                client = chromadb.PersistentClient(path=str(self.dir / "chroma"), settings=chroma_settings)
            self._client = client
            collection = client.get_or_create_collection(
                self.settings.collection,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedding_model": self.embedding_model, "dim": self.dim},
            )
        except Exception as exc:  # chromadb raises many types; all mean "store unusable"
            if not self.settings.chroma_host and _read_only(self.dir):
                raise StoreError(
                    f"the data dir {self.dir} is read-only, so the embedded Chroma store cannot be opened: "
                    "make it writable or set ASSISTANT_DATA_DIR to a writable directory; nothing was changed"
                ) from exc
            where = (
                f"the Chroma server at {self.settings.chroma_host}:{self.settings.chroma_port} "
                "(ASSISTANT_CHROMA_HOST/PORT; is `chroma run` up?)"
                if self.settings.chroma_host
                else f"the embedded Chroma store in {self.dir / 'chroma'}"
            )
            hint = "" if self.settings.chroma_host else _disk_hint(self.dir)
            raise StoreError(f"cannot open {where}: {_one_line(exc)}{hint}") from exc
        meta = collection.metadata or {}
        stored_model, stored_dim = meta.get("embedding_model"), meta.get("dim")
        if self._check_model and stored_model and (stored_model != self.embedding_model or (stored_dim and stored_dim != self.dim and self.dim)):
            raise StoreError(
                f"collection {self.settings.collection!r} was built with embedding model {stored_model} "
                f"(dim {stored_dim}) but {self.embedding_model} (dim {self.dim}) is configured: run "
                "`assistant reindex --embeddings` to re-embed, or point ASSISTANT_DATA_DIR/ASSISTANT_COLLECTION elsewhere"
            )
        return collection

    def _chroma(self, what: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        """Run one Chroma call; a server that went away gives a clear error, and a reconnect next time."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            if self.settings.chroma_host:
                with contextlib.suppress(Exception):
                    self._collection = self._open_collection()
                    return getattr(self._collection, fn.__name__)(*args, **kwargs)
                raise StoreError(
                    f"the Chroma server at {self.settings.chroma_host}:{self.settings.chroma_port} failed to {what}: "
                    f"{_one_line(exc)}. Check that `chroma run` is up; nothing was changed"
                ) from exc
            raise StoreError(f"the Chroma store in {self.dir} failed to {what}: {_one_line(exc)}{_disk_hint(self.dir)}") from exc

    def write_lock(self, timeout: float = 600) -> FileLock:
        """An exclusive lock for writers (ingest, reindex), shared across processes."""
        return FileLock(str(self.dir / ".write.lock"), timeout=timeout)

    @contextlib.contextmanager
    def writing(self, timeout: float = 600) -> Iterator[None]:
        """Hold the write lock; Chroma is opened first, so that a server that is down, another
        embedder's collection or a read-only dir stops a writer before it embeds anything."""
        self._collection  # noqa: B018
        lock = self.write_lock(timeout)
        try:
            lock.acquire(timeout=0)
        except OSError as exc:
            raise StoreError(
                f"cannot take the write lock {lock.lock_file}: {exc.strerror}{_disk_hint(self.dir)}; "
                "check ASSISTANT_DATA_DIR permissions; nothing was changed"
            ) from exc
        except Timeout:
            log.warning("another ingest is writing to %s; waiting for it to finish", self.dir)
            try:
                lock.acquire()
            except Timeout as exc:
                raise StoreError(
                    f"another process has held the write lock {lock.lock_file} for {timeout:.0f}s; try again later"
                ) from exc
        try:
            yield
        finally:
            lock.release()

    # --- paper table ---------------------------------------------------------------------
    @property
    def generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row["value"]) if row else 0

    def stored_state(self, ids: Iterable[str]) -> dict[str, tuple[str, Paper]]:
        """Content hash and stored record of those of `ids` that are in the table."""
        ids = list(ids)
        papers = self.get_papers(ids)
        with self._lock:
            out: dict[str, tuple[str, Paper]] = {}
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                q = f"SELECT paper_id, content_hash FROM papers WHERE paper_id IN ({','.join('?' * len(part))})"
                for row in self._db.execute(q, part):
                    out[row["paper_id"]] = (row["content_hash"], papers[row["paper_id"]])
        return out

    def get_papers(self, ids: Iterable[str]) -> dict[str, Paper]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, Paper] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                marks = ",".join("?" * len(part))
                dates: dict[str, list[str]] = {}
                for row in self._db.execute(
                    f"SELECT paper_id, date FROM paper_dates WHERE paper_id IN ({marks}) ORDER BY date", part
                ):
                    dates.setdefault(row["paper_id"], []).append(row["date"])
                for row in self._db.execute(f"SELECT {_PAPER_COLS} FROM papers WHERE paper_id IN ({marks})", part):
                    out[row["paper_id"]] = _row_to_paper(row, dates.get(row["paper_id"], []))
        return out

    def iter_papers(self) -> Iterator[Paper]:
        """Every stored paper, in id order."""
        with self._lock:
            ids = [r[0] for r in self._db.execute("SELECT paper_id FROM papers ORDER BY paper_id")]
        for start in range(0, len(ids), 1000):
            batch = self.get_papers(ids[start : start + 1000])
            yield from (batch[i] for i in ids[start : start + 1000])

    def ids_between(self, since: str | None, until: str | None) -> set[str]:
        """Ids of papers listed on a date in [since, until] (ISO strings, inclusive)."""
        q, args = "SELECT DISTINCT paper_id FROM paper_dates WHERE 1=1", []
        if since:
            q, args = q + " AND date >= ?", [*args, since]
        if until:
            q, args = q + " AND date <= ?", [*args, until]
        with self._lock:
            return {r[0] for r in self._db.execute(q, args)}

    def save_papers(self, rows: list[tuple[Paper, int]]) -> None:
        """Write papers (with their chunk counts) in one transaction and bump the generation."""
        if not rows:
            return
        with self._lock:
            try:
                with self._db:
                    for paper, n_chunks in rows:
                        self._db.execute(
                            f"INSERT INTO papers ({_PAPER_COLS}, content_hash, n_chunks) "
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
                        self._db.executemany(
                            "INSERT OR IGNORE INTO paper_dates (paper_id, date) VALUES (?, ?)",
                            [(paper.paper_id, d) for d in paper.dates],
                        )
                    self._db.execute(
                        "INSERT INTO meta (key, value) VALUES ('generation', '1') ON CONFLICT(key) "
                        "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
                    )
            except sqlite3.Error as exc:
                raise StoreError(
                    f"cannot write the paper table in {self.dir}: {exc}{_disk_hint(self.dir)}; nothing was changed"
                ) from exc

    def chunk_counts(self, ids: Iterable[str]) -> dict[str, int]:
        ids = list(ids)
        out: dict[str, int] = {}
        with self._lock:
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                q = f"SELECT paper_id, n_chunks FROM papers WHERE paper_id IN ({','.join('?' * len(part))})"
                out.update({r[0]: r[1] for r in self._db.execute(q, part)})
        return out

    # --- chunks (Chroma) -------------------------------------------------------------------
    def upsert_chunks(self, chunks: list[Chunk], vectors: np.ndarray, hashes: dict[str, str]) -> None:
        """Upsert chunk vectors; ids are deterministic so repeating this after a crash is harmless.

        No texts: they are rebuilt from the paper rows and the chunk offsets (`chunk_vectors`),
        which spares Chroma a copy of every abstract and its full-text index (~35% of an upsert).
        """
        if not chunks:
            return
        self._chroma(
            "store chunks",
            self._collection.upsert,  # type: ignore[attr-defined]
            ids=[c.chunk_id for c in chunks],
            embeddings=vectors,
            metadatas=[
                {"paper_id": c.paper_id, "start": c.start, "end": c.end, "content_hash": hashes[c.paper_id]}
                for c in chunks
            ],
        )

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        if chunk_ids:
            self._chroma("delete stale chunks", self._collection.delete, ids=chunk_ids)  # type: ignore[attr-defined]

    def nearest_chunk_ids(self, vector: np.ndarray, n: int) -> list[tuple[str, str, float]]:
        """Nearest chunks as (chunk_id, paper_id, cosine similarity), ids and distances only.

        Chroma materialises no metadata (300 results in ~2 ms instead of ~13 ms with metadata at
        100k chunks). Content hashes are not checked here:
        the retriever checks the papers it returns with `chunk_vectors`.
        """
        if n <= 0:
            return []
        res = self._chroma(  # n may exceed the collection size (fewer results); no count() round trip (~6 ms)
            "search",
            self._collection.query,  # type: ignore[attr-defined]
            query_embeddings=[vector],
            n_results=n,
            include=["distances"],
        )
        return [(cid, cid.rsplit("#", 1)[0], 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]

    def _current_hashes(self, ids: set[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        ids_l = list(ids)
        with self._lock:
            for start in range(0, len(ids_l), 500):
                part = ids_l[start : start + 500]
                q = f"SELECT paper_id, content_hash FROM papers WHERE paper_id IN ({','.join('?' * len(part))})"
                out.update({r[0]: r[1] for r in self._db.execute(q, part)})
        return out

    def chunk_total(self) -> int:
        return int(self._chroma("count chunks", self._collection.count))  # type: ignore[attr-defined]

    def chunk_hashes(self) -> dict[str, str]:
        """Every chunk id in the collection with the content hash it was embedded from."""
        out: dict[str, str] = {}
        total = self.chunk_total()
        for offset in range(0, total, 5000):
            res = self._chroma(
                "list chunks", self._collection.get, include=["metadatas"], limit=5000, offset=offset  # type: ignore[attr-defined]
            )
            out.update({cid: (m or {}).get("content_hash", "") for cid, m in zip(res["ids"], res["metadatas"])})
        return out

    def paper_hashes(self) -> dict[str, tuple[str, int]]:
        """Content hash and chunk count of every stored paper."""
        with self._lock:
            return {r[0]: (r[1], r[2]) for r in self._db.execute("SELECT paper_id, content_hash, n_chunks FROM papers")}

    def reset_collection(self) -> None:
        """Drop and recreate the chunk collection (reindex with another embedder)."""
        with contextlib.suppress(Exception):
            self._collection  # noqa: B018  (opens the client)
            self._client.delete_collection(self.settings.collection)  # type: ignore[attr-defined]
        self._check_model = True
        self._collection = self._open_collection()

    # --- keyword index -------------------------------------------------------------------
    @property
    def _kw_dir(self) -> Path:
        return self.dir / "bm25"

    def keyword_index(self) -> KeywordIndex:
        """The BM25 index of the current paper table; loaded from disk or rebuilt when stale."""
        with self._lock:
            gen = self.generation
            if self._kw is not None and self._kw_generation == gen:
                return self._kw
            stamp = self._kw_dir / "generation"
            if stamp.exists() and stamp.read_text().strip() == str(gen):
                try:
                    self._kw, self._kw_generation = KeywordIndex.load(self._kw_dir), gen
                    return self._kw
                except Exception as exc:  # a torn index file: rebuild below
                    log.warning("keyword index unreadable (%s); rebuilding", exc)
            return self.rebuild_keyword_index()

    def _keyword_tokens(self) -> tuple[list[str], list[list[str]]]:
        """(paper ids in id order, their analysed tokens); only new or changed papers are analysed.

        bm25s has no append: BM25 weights depend on corpus-wide statistics, so the index matrix is
        rebuilt, but from tokens cached per paper and content hash (analysis is most of the cost).
        """
        rows = self._db.execute(
            "SELECT p.paper_id, p.content_hash, p.title, p.abstract, k.content_hash, k.analyzer, k.tokens "
            "FROM papers p LEFT JOIN keyword_tokens k ON k.paper_id = p.paper_id ORDER BY p.paper_id"
        ).fetchall()
        ids = [r[0] for r in rows]
        tokens: list[list[str] | None] = [
            r[6].split(" ") if r[6] and r[4] == r[1] and r[5] == KEYWORD_ANALYZER else None for r in rows
        ]
        todo = [i for i, t in enumerate(tokens) if t is None]
        fresh = KeywordIndex.tokenize([f"{rows[i][2]}\n\n{rows[i][3]}" for i in todo])
        for i, toks in zip(todo, fresh):
            tokens[i] = toks
        if todo:
            try:
                with self._db:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO keyword_tokens (paper_id, content_hash, analyzer, tokens) VALUES (?, ?, ?, ?)",
                        [(rows[i][0], rows[i][1], KEYWORD_ANALYZER, " ".join(tokens[i] or [])) for i in todo],
                    )
            except sqlite3.Error as exc:  # a cache: the index is still right without it
                log.warning("could not cache keyword tokens in %s: %s", self.dir, exc)
        return ids, [t or [] for t in tokens]

    def rebuild_keyword_index(self) -> KeywordIndex:
        with self._lock:
            gen = self.generation
            ids, tokens = self._keyword_tokens()
            kw = KeywordIndex.build(ids, tokens=tokens)
            try:
                tmp = self.dir / "bm25.tmp"
                if tmp.exists():
                    import shutil

                    shutil.rmtree(tmp)
                kw.save(tmp)
                (tmp / "generation").write_text(str(gen))
                if self._kw_dir.exists():
                    import shutil

                    shutil.rmtree(self._kw_dir)
                tmp.rename(self._kw_dir)
            except OSError as exc:
                log.warning("could not save the keyword index in %s: %s (kept in memory)", self.dir, exc)
            self._kw, self._kw_generation = kw, gen
            return kw

    def paper_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """One vector per paper (mean of its chunk vectors, re-normalised), for clustering and MMR."""
        if not ids:
            return {}
        res = self._chroma(
            "read vectors",
            self._collection.get,  # type: ignore[attr-defined]
            where={"paper_id": {"$in": list(ids)}} if len(ids) > 1 else {"paper_id": ids[0]},
            include=["embeddings", "metadatas"],
        )
        current = self._current_hashes(set(ids))
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

        A lookup by id, not a `where` scan, so it stays fast at 100k chunks (~0.03-0.05 ms a chunk);
        used for exact dense scoring of date-filtered searches, MMR paper vectors and passages.
        Chunks whose content hash is not the paper row's are left out (`verify=False` skips that
        check and reads vectors only: about twice as fast). `texts=False`: texts are "".
        """
        ids = list(dict.fromkeys(paper_ids))
        rows: dict[str, tuple[str, int, str, str]] = {}
        cols = "paper_id, content_hash, n_chunks" + (", title, abstract" if texts else "")
        with self._lock:
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                q = f"SELECT {cols} FROM papers WHERE paper_id IN ({','.join('?' * len(part))})"
                rows.update({r[0]: (r[1], r[2], *((r[3], r[4]) if texts else ("", ""))) for r in self._db.execute(q, part)})
        chunk_ids = [f"{pid}#{i}" for pid, (_h, n, _t, _a) in rows.items() for i in range(n)]
        groups: dict[str, list[tuple[int, np.ndarray, str]]] = {}
        for start in range(0, len(chunk_ids), 5000):
            res = self._chroma(
                "read vectors",
                self._collection.get,  # type: ignore[attr-defined]
                ids=chunk_ids[start : start + 5000],
                include=["embeddings"] + (["metadatas"] if verify or texts else []),
            )
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

    @functools.cached_property
    def profiles(self) -> ProfileTable:
        """Named reader profiles (the personal feed), in the paper table's DB."""
        return ProfileTable(self._db, self._lock, self.dir)

    # --- cache of model outputs (extractions, summaries) ------------------------------------
    def cache_get(self, kind: str, key: str) -> object | None:
        """A cached JSON value, e.g. a per-paper extraction keyed by content hash + model."""
        with self._lock:
            row = self._db.execute("SELECT value FROM cache WHERE kind=? AND key=?", (kind, key)).fetchone()
        return json.loads(row["value"]) if row else None

    def cache_put(self, kind: str, key: str, value: object) -> None:
        with self._lock:
            try:
                with self._db:
                    self._db.execute(
                        "INSERT OR REPLACE INTO cache (kind, key, value) VALUES (?, ?, ?)",
                        (kind, key, json.dumps(value, default=str)),
                    )
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write the cache in {self.dir}: {exc}") from exc

    # --- stats -------------------------------------------------------------------------
    def stats(self, vectors: bool = True) -> dict[str, object]:
        """Counts and date range; `vectors=False` counts chunks from the paper table without opening Chroma
        (the UI's first page: equal in a consistent store, and `reindex` makes it so)."""
        with self._lock:
            papers, chunks = self._db.execute("SELECT COUNT(*), COALESCE(SUM(n_chunks), 0) FROM papers").fetchone()
            first, last = self._db.execute("SELECT MIN(date), MAX(date) FROM paper_dates").fetchone()
        return {
            "papers": papers,
            "chunks": self.chunk_total() if vectors else chunks,
            "first_date": first,
            "last_date": last,
            "embedding_model": self.embedding_model,
            "store": self.settings.store_mode,
        }

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._db.close()


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
        db = sqlite3.connect(self.dir / "papers.sqlite", timeout=30)
        db.row_factory = sqlite3.Row
        return db

    def days(self, source: str) -> dict[str, dict[str, object]]:
        """Recorded days of `source`: ISO day -> {"fetched_at", "papers", "complete"}; {} before any fetch."""
        if not (self.dir / "papers.sqlite").exists():
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
        import os

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
