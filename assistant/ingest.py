"""Ingest: parse files → merge duplicates → compare with the store → chunk → embed → upsert.

Called by `assistant ingest`, the UI's library page and `assistant fetch`. Idempotent and
resumable: work is committed in batches, unchanged papers are never re-embedded, and a killed
run is finished by simply running it again.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field
from tqdm import tqdm

from assistant.embeddings import MAX_TOKENS, Embedder
from assistant.papers import Chunk, Paper, ParseIssue, chunk_text, make_paper_id
from assistant.sources import find_input_files, merge_papers, parse_file
from assistant.store import Store

log = logging.getLogger(__name__)

BATCH_PAPERS = 128
"""Papers per committed batch: ~240 chunks, enough for the embedder to sort texts by length (little
padding) and few store round trips; a killed ingest re-embeds at most one batch."""
ProgressFn = Callable[[int, int], None]


class IngestReport(BaseModel):
    """The `assistant ingest --json` document."""

    files: int = 0
    parsed: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[ParseIssue] = Field(default_factory=list)
    skipped_files: list[ParseIssue] = Field(default_factory=list)
    """Files inside the given directories that were not read (not a data file), with the reason."""

    @property
    def ingested_anything(self) -> bool:
        return self.parsed > 0


def chunk_paper(paper: Paper, count_tokens: Callable[[str], int], window: int = MAX_TOKENS) -> list[Chunk]:
    """Title + abstract as one chunk, split on sentence boundaries only when over the embedder's window.

    Each piece of a split abstract is embedded with the title in front (so it stays findable by
    topic); `start`/`end` index the piece in `paper.text` for later citation checks.
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    text = paper.text
    if count_tokens(text) <= window:
        return [Chunk(chunk_id=f"{paper.paper_id}#0", paper_id=paper.paper_id, text=text, start=0, end=len(text))]
    offset = len(paper.title) + 2
    budget = max(32, window - count_tokens(paper.title) - 4)
    pieces = count_tokens(paper.abstract) - 2
    # Balanced pieces: 300 tokens become 2 × 150, not 230 + 70 (fewer, fuller chunks).
    size = min(budget, -(-pieces // -(-pieces // budget)) + 16)
    splitter = RecursiveCharacterTextSplitter(
        separators=[". ", "? ", "! ", "; ", " "],
        keep_separator="end",  # pieces stay exact substrings, so offsets hold
        chunk_size=size,
        chunk_overlap=0,
        length_function=lambda t: count_tokens(t) - 2,  # without [CLS]/[SEP]
        add_start_index=True,
    )
    chunks = []
    for i, doc in enumerate(splitter.create_documents([paper.abstract])):
        start = offset + int(doc.metadata["start_index"])
        chunks.append(
            Chunk(
                chunk_id=f"{paper.paper_id}#{i}",
                paper_id=paper.paper_id,
                text=chunk_text(paper.title, paper.abstract, start, start + len(doc.page_content)),
                start=start,
                end=start + len(doc.page_content),
            )
        )
    return chunks


def _merge_with_stored(new: Paper, old: Paper) -> Paper:
    """Incoming values win where present; dates accumulate."""
    data = old.model_dump()
    for key, value in new.model_dump().items():
        if value not in (None, "", [], {}):
            data[key] = value
    data["dates"] = sorted(set(old.dates) | set(new.dates))
    data["extra"] = {**old.extra, **new.extra}
    return Paper(**data)


def one_record_per_title(papers: list[Paper], store: Store) -> tuple[list[Paper], dict[str, list[str]]]:
    """Fold each title-hash paper (page text: no arXiv id) into the arXiv-id record with the same
    normalised title, whether that record comes in this run or is stored, in either order of arrival.

    The arXiv record's fields win, dates accumulate. Returns the papers to store and, per arXiv id,
    the stored title-hash ids merged into it (their rows and chunks go when it is written). A title
    shared by two arXiv ids merges nothing: which paper a page meant is unknown.
    """
    titles = store.paper_titles()
    arxiv_ids: dict[str, set[str]] = {}  # title-hash id -> arXiv ids with that title
    for pid, title in titles.items():
        if not pid.startswith("t:"):
            arxiv_ids.setdefault(make_paper_id(title), set()).add(pid)
    for paper in papers:
        if paper.arxiv_id:
            arxiv_ids.setdefault(make_paper_id(paper.title), set()).add(paper.paper_id)
    target = {tid: next(iter(ids)) for tid, ids in arxiv_ids.items() if len(ids) == 1}
    folded: dict[str, list[Paper]] = {}  # arXiv id -> title-hash papers to fold into it
    absorbed: dict[str, list[str]] = {}
    kept = []
    for paper in papers:
        if paper.paper_id in target:
            folded.setdefault(target[paper.paper_id], []).append(paper)
        else:
            kept.append(paper)
    for pid, paper in store.get_papers(pid for pid in titles if pid in target).items():
        folded.setdefault(target[pid], []).append(paper)
        absorbed.setdefault(target[pid], []).append(pid)
    if not folded:
        return papers, {}
    incoming = {p.paper_id for p in kept}
    stored = store.get_papers(aid for aid in folded if aid not in incoming)
    out = []
    for paper in [*kept, *stored.values()]:
        for other in folded.get(paper.paper_id, []):
            paper = _merge_with_stored(paper, other)
        out.append(paper)
    return out, absorbed


def ingest_papers(
    papers: Iterable[Paper],
    store: Store,
    embedder: Embedder,
    report: IngestReport | None = None,
    progress: bool = True,
    on_progress: ProgressFn | None = None,
) -> IngestReport:
    """Store `papers` (already parsed; duplicates are merged here). Safe to re-run at any point.

    Pipelined: while one batch is written (Chroma upsert, then the paper rows), the next one is
    embedded, so the store's work hides behind the embedder's. At most one batch is in flight,
    and each batch still writes its chunks before its paper rows (what makes a re-run resume).
    """
    report = report or IngestReport()
    by_id = merge_papers(papers)
    done = 0
    with store.writing(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer:
        merged, absorbed = one_record_per_title(by_id, store)  # under the lock: no writer moves the store
        bar = tqdm(
            total=len(merged), unit="paper", desc="ingest", file=sys.stderr, disable=not progress, dynamic_ncols=True
        )

        def finish(write: Future[int]) -> None:
            nonlocal done
            n = write.result()  # re-raises a failed write; no later batch is written
            done += n
            bar.update(n)
            if on_progress:
                on_progress(done, len(merged))

        pending: Future[int] | None = None
        for start in range(0, len(merged), BATCH_PAPERS):
            work = _prepare_batch(merged[start : start + BATCH_PAPERS], store, embedder, report, absorbed)
            if pending is not None:
                finish(pending)
            pending = writer.submit(_write_batch, store, work)
        if pending is not None:
            finish(pending)
        bar.close()
        if report.new or report.updated:
            store.rebuild_keyword_index()
    return report


@dataclass
class _BatchWork:
    """What one batch writes: chunk vectors to upsert, stale chunk ids, paper rows, rows merged away."""

    papers: int
    chunks: list[Chunk]
    vectors: np.ndarray | None
    hashes: dict[str, str]
    stale: list[str]
    rows: list[tuple[Paper, int]]
    removed: list[str]


def _prepare_batch(
    batch: list[Paper], store: Store, embedder: Embedder, report: IngestReport, absorbed: dict[str, list[str]]
) -> _BatchWork:
    """Compare a batch with the store and embed what changed (no writes)."""
    stored = store.stored_state(p.paper_id for p in batch)
    removed = [tid for p in batch for tid in absorbed.get(p.paper_id, [])]
    old_counts = store.chunk_counts([*stored, *removed])
    to_embed: list[Paper] = []
    rows: list[tuple[Paper, int]] = []
    for paper in batch:
        if paper.paper_id not in stored:
            report.new += 1
            to_embed.append(paper)
            continue
        old_hash, old = stored[paper.paper_id]
        merged = _merge_with_stored(paper, old)
        if merged.content_hash != old_hash:
            report.updated += 1
            to_embed.append(merged)
        elif merged.model_dump() != old.model_dump() or paper.paper_id in absorbed:
            report.updated += 1
            rows.append((merged, old_counts[paper.paper_id]))
        else:
            report.unchanged += 1
    chunks = {p.paper_id: chunk_paper(p, embedder.count_tokens) for p in to_embed}
    flat = [c for cs in chunks.values() for c in cs]
    vectors = embedder.embed([c.text for c in flat], bulk=True) if flat else None
    stale = [f"{pid}#{i}" for pid, cs in chunks.items() for i in range(len(cs), old_counts.get(pid, 0))]
    stale += [f"{tid}#{i}" for tid in removed for i in range(old_counts.get(tid, 0))]
    rows.extend((p, len(chunks[p.paper_id])) for p in to_embed)
    hashes = {p.paper_id: p.content_hash for p in to_embed}
    return _BatchWork(len(batch), flat, vectors, hashes, stale, rows, removed)


def _write_batch(store: Store, work: _BatchWork) -> int:
    """Chunks first, then the paper rows that point at them; returns the batch's paper count."""
    store.delete_chunks(work.stale)
    if work.chunks and work.vectors is not None:
        store.upsert_chunks(work.chunks, work.vectors, work.hashes)
    store.save_papers(work.rows, work.removed)
    return work.papers


def ingest_paths(
    paths: list[Path],
    store: Store,
    embedder: Embedder,
    fmt: str = "auto",
    year: int | None = None,
    progress: bool = True,
    on_progress: ProgressFn | None = None,
) -> IngestReport:
    """Parse every file under `paths` and ingest what parsed; bad files become error entries."""
    skipped_files: list[ParseIssue] = []
    files, missing = find_input_files(paths, skipped=skipped_files)
    report = IngestReport(files=len(files), errors=list(missing), skipped_files=skipped_files)
    papers: list[Paper] = []
    for path in tqdm(files, unit="file", desc="parse", file=sys.stderr, disable=not progress or len(files) < 3):
        result = parse_file(path, fmt=fmt, year=year)
        papers.extend(result.papers)
        report.skipped += result.skipped
        report.errors.extend(result.errors)
    report.parsed = len(papers)
    return ingest_papers(papers, store, embedder, report, progress=progress, on_progress=on_progress)


def _chunk_diff(store: Store) -> tuple[dict[str, tuple[str, int]], list[str], list[str]]:
    """(papers, orphan chunk ids, ids of papers whose chunks are missing or stale)."""
    papers = store.paper_hashes()
    chunks = store.chunk_hashes()
    expected = {f"{pid}#{i}": h for pid, (h, n) in papers.items() for i in range(n)}
    orphans = [cid for cid in chunks if cid not in expected]
    stale = sorted({cid.rsplit("#", 1)[0] for cid, h in expected.items() if chunks.get(cid) != h})
    return papers, orphans, stale


def check_consistency(store: Store) -> dict[str, int]:
    """Count disagreements between the paper table, Chroma and the keyword index (all 0 when healthy)."""
    papers, orphans, stale = _chunk_diff(store)
    kw = store.keyword_index()
    return {
        "papers": len(papers),
        "orphan_chunks": len(orphans),
        "papers_missing_chunks": len(stale),
        "keyword_index_mismatch": len(set(kw.ids) ^ set(papers)),
    }


def reindex(
    store: Store,
    embedder: Embedder,
    embeddings: bool = False,
    progress: bool = True,
    kept_texts: Callable[[Paper], list[str]] | None = None,
) -> dict[str, int]:
    """Make Chroma and the keyword index agree with the paper table, without re-parsing sources.

    Papers whose chunks are missing or stale are re-embedded, orphan chunks are deleted; with
    `embeddings=True` the collection is dropped and everything is re-embedded (new embedder).
    With `kept_texts` (what a question keeps of a paper: `chains.answerable.paper_texts`), kept
    sentence vectors of texts no stored paper has any more, or of another embedder, are dropped.
    """
    with store.writing():
        if embeddings:
            store.reset_collection()
        papers, orphans, stale = _chunk_diff(store)
        store.delete_chunks(orphans)
        bar = tqdm(total=len(stale), unit="paper", desc="re-embed", file=sys.stderr, disable=not progress)
        for start in range(0, len(stale), BATCH_PAPERS):
            batch = list(store.get_papers(stale[start : start + BATCH_PAPERS]).values())
            chunked = {p.paper_id: chunk_paper(p, embedder.count_tokens) for p in batch}
            flat = [c for cs in chunked.values() for c in cs]
            store.upsert_chunks(flat, embedder.embed([c.text for c in flat], bulk=True), {p.paper_id: p.content_hash for p in batch})
            store.save_papers([(p, len(chunked[p.paper_id])) for p in batch])
            bar.update(len(batch))
        bar.close()
        kw = store.rebuild_keyword_index()
        result = {"papers": len(papers), "reembedded": len(stale), "orphans_deleted": len(orphans), "keyword_docs": len(kw.ids)}
        if kept_texts is not None:
            texts = [t for p in store.iter_papers() for t in kept_texts(p)]
            result["sentence_vectors_pruned"] = store.sentence_vectors(embedder.vector_space).prune(texts)
    return result
