"""Hybrid retrieval: BM25 over papers + dense search over chunks, fused per paper, date-filtered.

Used by `assistant search`, the answer/compare chains, the UI and `assistant eval`. Each retriever
yields (paper_id, score) candidates; a paper's dense score is its best chunk's cosine similarity.
Hybrid fusion is a convex combination of BM25 scaled by its best score and raw cosine (default;
tuned on SciFact train and our seed questions, see benchmarks/results/retrieval.md) or weighted
reciprocal rank fusion; the best fused papers' scores are then lifted by their most similar neighbours'
(`smooth`). Dates are resolved in the paper table and passed down as an id set, never as slow Chroma
`where` clauses on dates. `diverse=True` re-ranks with MMR over paper vectors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from assistant.config import Settings
from assistant.errors import InputError
from assistant.papers import Hit
from assistant.store import Store

log = logging.getLogger(__name__)

Mode = Literal["hybrid", "bm25", "dense"]
MODES: tuple[Mode, ...] = ("hybrid", "bm25", "dense")


# --------------------------------------------------------------------------- fusion
def fuse(rankings: Sequence[Sequence[str]], weights: Sequence[float], k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over the rankings a doc appears in."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + weight / (k + rank)
    return scores


def minmax(scores: Mapping[str, float]) -> dict[str, float]:
    """Scores rescaled to [0, 1] within one candidate list (all equal → all 1)."""
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    span = hi - lo
    return {d: (s - lo) / span if span > 0 else 1.0 for d, s in scores.items()}


def convex_fuse(bm25: Mapping[str, float], dense: Mapping[str, float], bm25_weight: float) -> dict[str, float]:
    """Hybrid score: bm25_weight · BM25 / best BM25 + (1 − bm25_weight) · cosine of the paper's best chunk.

    BM25 is scaled by the best score of the query (its natural floor is 0: no query term), so
    a paper holding a rare term the others lack (an acronym) keeps its whole lead; cosines are
    used as they are, so a flat, uninformative dense list cannot outvote it. Callers pass
    exact scores on both sides for every candidate (`Retriever.search` scores keyword-only
    candidates' chunks and dense-only candidates' BM25); a candidate still missing a cosine
    (no stored vector) gets the dense list's lowest one. Tuned on SciFact train and the seed
    questions: see benchmarks/results/retrieval.md.
    """
    top = max(bm25.values(), default=0.0)
    floor = min(dense.values(), default=0.0)
    return {
        doc: bm25_weight * (max(bm25.get(doc, 0.0), 0.0) / top if top > 0 else 0.0)
        + (1 - bm25_weight) * dense.get(doc, floor)
        for doc in {*bm25, *dense}
    }


def smooth(
    ranked: Sequence[str], scores: Mapping[str, float], vectors: Mapping[str, np.ndarray], weight: float, neighbours: int
) -> dict[str, float]:
    """Scores of `ranked` lifted by their neighbourhood: the larger of a paper's own score and (1 − weight) · own +
    weight · the mean score of its `neighbours` most similar papers (cosine of paper vectors, among `ranked` only).

    The cluster hypothesis: papers on one topic resemble each other, so a relevant paper that states
    the topic in other words than the query's (task vectors for model merging, a "facial" avatar for
    "human faces") still sits among relevant papers and is lifted by them. Lift only: a paper unlike
    the others (the one paper a question names, among papers that share its other words) keeps its
    own score. Papers without a vector keep their score.
    """
    have = [d for d in ranked if d in vectors]
    out = {d: scores[d] for d in ranked}
    if weight <= 0 or len(have) < 2:
        return out
    m = np.stack([vectors[d] for d in have])
    sims = m @ m.T
    np.fill_diagonal(sims, -np.inf)
    own = np.array([scores[d] for d in have])
    near = np.argsort(-sims, axis=1, kind="stable")[:, : min(neighbours, len(have) - 1)]
    for d, s, nb in zip(have, own, own[near].mean(axis=1)):
        out[d] = float(max(s, (1 - weight) * s + weight * nb))
    return out


def mmr(
    ranked: Sequence[str],
    relevance: Mapping[str, float],
    vectors: Mapping[str, np.ndarray],
    k: int,
    lam: float,
    duplicate: float = 0.92,
) -> list[str]:
    """Maximal marginal relevance: greedily pick lam·relevance − (1−lam)·(max cosine to the papers already picked).

    Relevance is min-max normalised over `ranked`. A paper whose cosine to a picked one reaches
    `duplicate` (a re-post, a v2 under another title) is only taken when nothing else is left.
    Papers without a vector keep their relevance and count as different from everything.
    """
    rel = minmax({d: relevance.get(d, 0.0) for d in ranked})
    chosen: list[str] = []
    left = list(ranked)
    while left and len(chosen) < k:
        best, best_key = left[0], (True, -np.inf)
        for doc in left:
            v = vectors.get(doc)
            sim = max((float(v @ vectors[c]) for c in chosen if c in vectors), default=0.0) if v is not None else 0.0
            key = (sim < duplicate, lam * rel[doc] - (1 - lam) * sim)
            if best_key[1] == -np.inf or key > best_key:
                best, best_key = doc, key
        chosen.append(best)
        left.remove(best)
    return chosen


# --------------------------------------------------------------------------- retrieval
@dataclass
class DenseResult:
    """Papers ranked by their best chunk: cosine similarity per paper, and the query vector."""

    scores: dict[str, float] = field(default_factory=dict)
    vector: np.ndarray | None = None
    # Every cosine the exact (filtered) path computed, beyond the best `n`: fusion reuses them.
    computed: dict[str, float] = field(default_factory=dict)

    @property
    def ranking(self) -> list[str]:
        return sorted(self.scores, key=lambda p: -self.scores[p])


class Retriever:
    """Search papers; one instance per store, shared by threads."""

    def __init__(self, store: Store, embed: Callable[[list[str]], np.ndarray], settings: Settings) -> None:
        self.store = store
        self.embed = embed
        self.settings = settings

    # --- the two retrievers ------------------------------------------------------------
    def keyword(self, query: str, n: int, allowed: set[str] | None = None) -> dict[str, float]:
        """BM25 scores of the best `n` papers (restricted to `allowed` through bm25s' weight mask)."""
        return dict(self.store.keyword_index().search(query, n, allowed))

    def dense(
        self, query: str, n: int, allowed: set[str] | None = None, vector: np.ndarray | None = None
    ) -> DenseResult:
        """The best `n` papers by their best chunk's cosine similarity to `query`.

        Unfiltered: the HNSW index (ids and distances only), 3 chunks fetched per paper wanted.
        Filtered to papers with at most `exact_dense_limit` chunks (a week, a month): every
        allowed chunk is read by id and scored exactly, fast and exact. Larger filtered sets:
        over-fetch from the HNSW index in proportion to how much the filter removes (at most
        `max_chunk_fetch` chunks), then keep the allowed ones. Chroma `where` clauses are never
        used: at scale a `paper_id $in` filter alone costs more than the whole search budget.
        """
        if vector is None:
            vector = self.embed([query])[0]
        result = DenseResult(vector=vector)
        if allowed is not None and len(allowed) <= self.settings.exact_dense_limit:
            counts = self.store.chunk_counts(allowed)
            if sum(counts.values()) <= self.settings.exact_dense_limit:
                self._exact_dense(vector, list(counts), n, result)
                return result
        self._overfetch(vector, n, allowed, result)
        return result

    def _overfetch(self, vector: np.ndarray, n: int, allowed: set[str] | None, result: DenseResult) -> None:
        fetch = n * 3
        if allowed is not None:
            share = len(allowed) / max(len(self.store.keyword_index().ids), 1)
            fetch = int(fetch / max(share, 1e-6))
        fetch = min(max(fetch, n), self.settings.max_chunk_fetch)
        for _cid, pid, sim in self.store.nearest_chunk_ids(vector, fetch):
            if pid in result.scores or (allowed is not None and pid not in allowed):
                continue
            result.scores[pid] = sim
            if len(result.scores) >= n:
                break

    def _exact_dense(self, vector: np.ndarray, ids: list[str], n: int, result: DenseResult) -> None:
        best = result.computed = self.cosines(vector, ids)
        for pid in sorted(best, key=lambda p: -best[p])[:n]:
            result.scores[pid] = best[pid]

    def cosines(self, vector: np.ndarray | None, ids: Sequence[str]) -> dict[str, float]:
        """Each paper's best chunk cosine to `vector`, read by chunk id (the keyword side's candidates
        that the dense side did not return: scored exactly instead of given the dense list's floor)."""
        if vector is None or not ids:
            return {}
        # Vectors only (no hash check) for speed; the papers returned are checked when their passages are read.
        chunks = self.store.chunk_vectors(ids, texts=False, verify=False)
        return {pid: float((vecs @ vector).max()) for pid, (vecs, _t) in chunks.items() if len(vecs)}

    def paper_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """One unit vector per paper: the mean of its chunk vectors (read by chunk id, no `where` scan)."""
        out = {}
        for pid, (vecs, _texts) in self.store.chunk_vectors(ids, texts=False, verify=False).items():
            v = vecs.mean(axis=0)
            out[pid] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out

    def passages(self, ids: Sequence[str], vector: np.ndarray | None) -> dict[str, list[str]]:
        """The current chunk texts of each paper, closest to the query vector first (chunk order without one)."""
        out = {}
        for pid, (vecs, texts) in self.store.chunk_vectors(ids).items():
            order = np.argsort(-(vecs @ vector)) if vector is not None else range(len(texts))
            out[pid] = [texts[i] for i in order]
        return out

    def term_weights(self, texts: list[str]) -> list[dict[str, float]]:
        """Each text's keyword tokens with their rarity in the store (see `KeywordIndex.term_weights`)."""
        return self.store.keyword_index().term_weights(texts)

    # --- search ------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        since: str | None = None,
        until: str | None = None,
        mode: Mode = "hybrid",
        diverse: bool = False,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The `k` best papers for `query`, best first, one per paper, optionally listed within [since, until].

        `diverse=True` (comparisons): MMR over paper vectors among the best candidates, so that
        near-duplicate papers do not crowd out different ones. `vector`: the query's embedding when
        the caller has it already (the QA chain reuses it to judge the evidence). Steps: candidates from
        both retrievers, their own scores (`_fused`), their final order and scores (`_reranked`), the papers.
        """
        query = query.strip()
        if not query:
            raise InputError("the query is empty; type a few words")
        if mode not in MODES:
            raise InputError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        allowed = self.store.ids_between(since, until) if (since or until) else None
        if allowed is not None and not allowed:
            return []
        s = self.settings
        n = max(s.candidates, k * 3 if diverse else k)
        bm25 = self.keyword(query, n, allowed) if mode != "dense" else {}
        dense = self.dense(query, n, allowed, vector) if mode != "bm25" else DenseResult()
        own = self._fused(query, mode, bm25, dense)
        ranked, scores = self._reranked(own, mode, k, diverse)
        best = ranked[:k]
        papers = self.store.get_papers(best)
        passages = self.passages(best, dense.vector) if dense.vector is not None else {}
        return [
            Hit(paper=papers[pid], score=round(float(scores[pid]), 6), passages=passages.get(pid, []),
                own_score=round(float(own[pid]), 6))
            for pid in best
            if pid in papers
        ]

    def _fused(self, query: str, mode: Mode, bm25: dict[str, float], dense: DenseResult) -> dict[str, float]:
        """Each candidate's own score: BM25 or cosine alone, or the two fused (`convex_fuse` with exact scores on
        both sides: keyword-only candidates' chunks and dense-only candidates' BM25 are scored too; or `fuse`)."""
        s = self.settings
        if mode == "bm25":
            return bm25
        if mode == "dense":
            return dense.scores
        if s.fusion == "rrf":
            ranking = sorted(bm25, key=lambda p: -bm25[p])
            return fuse([ranking, dense.ranking], [s.bm25_weight, 1 - s.bm25_weight], s.rrf_k)
        missing = [p for p in dense.scores if p not in bm25]
        bm25 = {**bm25, **self.store.keyword_index().scores_for(query, missing)}
        keyword_only = [p for p in bm25 if p not in dense.scores]
        known = {p: dense.computed[p] for p in keyword_only if p in dense.computed}
        unread = [p for p in keyword_only if p not in known]
        cosines = {**dense.scores, **known, **self.cosines(dense.vector, unread)}
        return convex_fuse(bm25, cosines, s.bm25_weight)

    def _reranked(self, own: dict[str, float], mode: Mode, k: int, diverse: bool) -> tuple[list[str], dict[str, float]]:
        """The candidates in their final order with their final scores: the best lifted by their neighbours
        (`smooth`, hybrid only), then, for `diverse`, picked by MMR so near-duplicates do not crowd out others."""
        s = self.settings
        scores = own
        ranked = sorted(scores, key=lambda p: (-scores[p], p))
        vectors: dict[str, np.ndarray] = {}
        if mode == "hybrid" and s.smooth_weight > 0 and len(ranked) > 1:
            head = ranked[: s.smooth_pool]
            vectors = self.paper_vectors(head)
            scores = {**scores, **smooth(head, scores, vectors, s.smooth_weight, s.smooth_neighbours)}
            ranked = sorted(head, key=lambda p: (-scores[p], p)) + ranked[len(head) :]
        if diverse and len(ranked) > 1:
            pool = ranked[: max(k * 3, k + 5)]
            vectors = {**vectors, **self.paper_vectors([p for p in pool if p not in vectors])}
            ranked = mmr(pool, scores, vectors, k, s.mmr_lambda)
        return ranked, scores
