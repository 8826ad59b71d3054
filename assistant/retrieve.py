"""Hybrid retrieval: BM25 over papers + dense search over chunks, fused per paper, date-filtered.

Used by `assistant search`, the answer/compare chains and the UI. Dates are resolved in the
paper table and passed down as an id set, never as slow Chroma `where` clauses on dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

from assistant.config import Settings
from assistant.embeddings import Embedder
from assistant.errors import InputError
from assistant.papers import Hit
from assistant.store import Store

Mode = Literal["hybrid", "bm25", "dense"]


def parse_day(value: str | None, field: str) -> str | None:
    """Validate an ISO date (YYYY-MM-DD) or ISO week (YYYY-Www, its Monday/Sunday) given by a user."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise InputError(f"{field}: {value!r} is not a date; use YYYY-MM-DD") from exc


def week_bounds(week: str) -> tuple[str, str]:
    """`2024-W23` → ('2024-06-03', '2024-06-09'), ISO weeks (Monday..Sunday)."""
    try:
        year, num = week.upper().split("-W")
        monday = date.fromisocalendar(int(year), int(num), 1)
        sunday = date.fromisocalendar(int(year), int(num), 7)
    except ValueError as exc:
        raise InputError(f"week {week!r} is not an ISO week; use YYYY-Www, e.g. 2024-W23") from exc
    return monday.isoformat(), sunday.isoformat()


def fuse(rankings: Sequence[Sequence[str]], weights: Sequence[float], k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over the rankings a doc appears in."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
    return scores


class Retriever:
    """Search papers; one instance per store, shared by threads."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings

    def dense(self, query: str, n: int, allowed: set[str] | None = None) -> tuple[list[str], dict[str, list[str]]]:
        """Papers ranked by their best chunk, and the matching chunk texts per paper."""
        vector = self.embedder.embed([query])[0]
        ranking: list[str] = []
        passages: dict[str, list[str]] = {}
        for pid, text, _sim in self.store.query_chunks(vector, n * 3, allowed):
            if pid not in passages:
                ranking.append(pid)
                passages[pid] = []
            passages[pid].append(text)
        return ranking[:n], passages

    def search(
        self,
        query: str,
        k: int = 10,
        since: str | None = None,
        until: str | None = None,
        mode: Mode = "hybrid",
    ) -> list[Hit]:
        """The `k` best papers for `query`, best first, optionally listed within [since, until]."""
        query = query.strip()
        if not query:
            raise InputError("the query is empty; type a few words")
        allowed = self.store.ids_between(since, until) if (since or until) else None
        if allowed is not None and not allowed:
            return []
        n = max(self.settings.candidates, k)
        bm25: list[str] = []
        dense: list[str] = []
        passages: dict[str, list[str]] = {}
        if mode in ("hybrid", "bm25"):
            bm25 = [pid for pid, _ in self.store.keyword_index().search(query, n, allowed)]
        if mode in ("hybrid", "dense"):
            dense, passages = self.dense(query, n, allowed)
        w = self.settings.bm25_weight
        scores = fuse([bm25, dense], [w if mode != "dense" else 0.0, 1 - w if mode != "bm25" else 0.0], self.settings.rrf_k)
        if mode == "bm25":
            scores = fuse([bm25], [1.0], self.settings.rrf_k)
        elif mode == "dense":
            scores = fuse([dense], [1.0], self.settings.rrf_k)
        best = sorted(scores, key=lambda pid: -scores[pid])[:k]
        papers = self.store.get_papers(best)
        return [
            Hit(paper=papers[pid], score=round(scores[pid], 6), passages=passages.get(pid, []))
            for pid in best
            if pid in papers
        ]
