"""Chunk vectors in Chroma (embedded in the data dir, or a `chroma run` server): the only module that imports chromadb.

Chunk ids are deterministic (`<paper_id>#<index>`) and each chunk carries the content hash it was
embedded from, so a repeated upsert is harmless and stale chunks can be told apart. Chroma keeps
vectors and offsets only; texts are rebuilt from the paper table.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from assistant.config import Settings
from assistant.errors import StoreError
from assistant.papers import Chunk
from assistant.store.diagnostics import disk_hint, one_line, read_only

# Chroma reads by id in parts of this size.
GET_BATCH = 5000

# How long a process waits for another one that is creating the embedded store.
CREATE_WAIT_SECONDS = 120.0


@contextlib.contextmanager
def _creating(path: Path) -> Iterator[None]:
    """Serialise the creation of an embedded store across processes.

    Writers open the vectors before they wait for the write lock (a down server or a read-only dir
    is reported at once), so two first runs may create a store together, and Chroma's schema
    migrations are not safe against that ("table collections already exists", "database is
    locked"). An unwritable dir goes on without the lock and is reported by the open itself.
    """
    marker = path.parent / ".chroma-create.lock"
    lock = FileLock(str(marker), timeout=CREATE_WAIT_SECONDS)
    try:
        lock.acquire()
    except Timeout:
        raise StoreError(
            f"another process has been creating the store in {path} for {CREATE_WAIT_SECONDS:.0f} s; try again"
        ) from None
    except OSError:
        yield
        return
    try:
        yield
    finally:
        lock.release()


class Vectors:
    """The chunk collection, opened on first use: the UI's first page needs only the paper table,
    so it does not wait for Chroma (a model mismatch or a server that is down is reported by the
    first call that needs the vectors: search, ingest, `stats`)."""

    def __init__(
        self, settings: Settings, data_dir: Path, embedding_model: str, dim: int, check_model: bool, lock: threading.RLock
    ) -> None:
        self.settings = settings
        self.dir = data_dir
        self.embedding_model = embedding_model
        self.dim = dim
        self._check_model = check_model
        self._lock = lock
        self._coll: Any = None
        self._client: Any = None

    @property
    def collection(self) -> Any:
        if self._coll is None:
            with self._lock:
                if self._coll is None:
                    self._coll = self._open()
        return self._coll

    def _collection(self, client: Any) -> Any:
        return client.get_or_create_collection(
            self.settings.collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": self.embedding_model, "dim": self.dim},
        )

    def _open(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        try:
            if self.settings.chroma_host:
                client = chromadb.HttpClient(
                    host=self.settings.chroma_host, port=self.settings.chroma_port, settings=chroma_settings
                )
                collection = self._collection(client)
            else:
                with _creating(self.dir / "chroma"):
                    client = chromadb.PersistentClient(path=str(self.dir / "chroma"), settings=chroma_settings)
                    collection = self._collection(client)
            self._client = client
        except Exception as exc:  # chromadb raises many types; all mean "store unusable"
            if not self.settings.chroma_host and read_only(self.dir):
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
            hint = "" if self.settings.chroma_host else disk_hint(self.dir)
            raise StoreError(f"cannot open {where}: {one_line(exc)}{hint}") from exc
        meta = collection.metadata or {}
        stored_model, stored_dim = meta.get("embedding_model"), meta.get("dim")
        if self._check_model and stored_model and (stored_model != self.embedding_model or (stored_dim and stored_dim != self.dim and self.dim)):
            raise StoreError(
                f"collection {self.settings.collection!r} was built with embedding model {stored_model} "
                f"(dim {stored_dim}) but {self.embedding_model} (dim {self.dim}) is configured: run "
                "`assistant reindex --embeddings` to re-embed, or point ASSISTANT_DATA_DIR/ASSISTANT_COLLECTION elsewhere"
            )
        return collection

    def _call(self, what: str, method: str, **kwargs: Any) -> Any:
        """Run one collection method; a server that went away gives a clear error, and a reconnect next time."""
        try:
            return getattr(self.collection, method)(**kwargs)
        except StoreError:
            raise
        except Exception as exc:
            if self.settings.chroma_host:
                with contextlib.suppress(Exception):
                    self._coll = self._open()
                    return getattr(self._coll, method)(**kwargs)
                raise StoreError(
                    f"the Chroma server at {self.settings.chroma_host}:{self.settings.chroma_port} failed to {what}: "
                    f"{one_line(exc)}. Check that `chroma run` is up; nothing was changed"
                ) from exc
            raise StoreError(f"the Chroma store in {self.dir} failed to {what}: {one_line(exc)}{disk_hint(self.dir)}") from exc

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, hashes: dict[str, str]) -> None:
        """Upsert chunk vectors with their offsets and the content hash of their paper; no texts."""
        if not chunks:
            return
        self._call(
            "store chunks",
            "upsert",
            ids=[c.chunk_id for c in chunks],
            embeddings=vectors,
            metadatas=[
                {"paper_id": c.paper_id, "start": c.start, "end": c.end, "content_hash": hashes[c.paper_id]}
                for c in chunks
            ],
        )

    def delete(self, chunk_ids: list[str]) -> None:
        if chunk_ids:
            self._call("delete stale chunks", "delete", ids=chunk_ids)

    def nearest(self, vector: np.ndarray, n: int) -> list[tuple[str, str, float]]:
        """Nearest chunks as (chunk_id, paper_id, cosine similarity), ids and distances only.

        Chroma materialises no metadata, which makes the query several times cheaper. Content
        hashes are not checked here: the retriever checks the papers it returns with `chunk_vectors`.
        """
        if n <= 0:
            return []
        res = self._call(  # n may exceed the collection size (fewer results); no count() round trip
            "search", "query", query_embeddings=[vector], n_results=n, include=["distances"]
        )
        return [(cid, cid.rsplit("#", 1)[0], 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]

    def count(self) -> int:
        return int(self._call("count chunks", "count"))

    def chunk_hashes(self) -> dict[str, str]:
        """Every chunk id in the collection with the content hash it was embedded from."""
        out: dict[str, str] = {}
        total = self.count()
        for offset in range(0, total, GET_BATCH):
            res = self._call("list chunks", "get", include=["metadatas"], limit=GET_BATCH, offset=offset)
            out.update({cid: (m or {}).get("content_hash", "") for cid, m in zip(res["ids"], res["metadatas"])})
        return out

    def of_papers(self, ids: list[str]) -> dict[str, Any]:
        """Every chunk's vector and metadata of the given papers (a `where` scan: for small id sets)."""
        return self._call(  # type: ignore[no-any-return]
            "read vectors",
            "get",
            where={"paper_id": {"$in": list(ids)}} if len(ids) > 1 else {"paper_id": ids[0]},
            include=["embeddings", "metadatas"],
        )

    def by_ids(self, chunk_ids: list[str], metadatas: bool) -> Iterator[dict[str, Any]]:
        """Vectors (and metadata if asked) of the given chunk ids, read in parts."""
        for start in range(0, len(chunk_ids), GET_BATCH):
            yield self._call(
                "read vectors",
                "get",
                ids=chunk_ids[start : start + GET_BATCH],
                include=["embeddings"] + (["metadatas"] if metadatas else []),
            )

    def reset(self) -> None:
        """Drop and recreate the chunk collection (reindex with another embedder)."""
        with contextlib.suppress(Exception):
            self.collection  # noqa: B018  (opens the client)
            self._client.delete_collection(self.settings.collection)
        self._check_model = True
        self._coll = self._open()

