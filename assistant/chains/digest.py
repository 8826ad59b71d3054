"""Weekly digests: the papers listed in a period, grouped into topics, each with a cited summary.

Called by `Assistant.digest` (CLI `digest`, the UI's digest page). Steps: resolve the period
(ISO week, `last`, or since/until) → cluster the papers' vectors (spherical k-means in numpy)
→ label each group with distinctive keywords → a checked takeaway per paper → per group a
summary built by `chains.topic_summary` (one small model call for what the group shares, then
where its papers differ, each part checked) → compare with the previous period.
Every model output is cached in the store, so an interrupted digest resumes and a re-run makes
no model call.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Literal

import numpy as np
from tqdm import tqdm

from assistant.chains.clustering import cluster, normalize_rows
from assistant.chains.digest_types import Digest, DigestPaper, Topic
from assistant.chains.evidence_text import evidence_papers
from assistant.chains.extract import (
    EmbedFn,
    Guard,
    LLMFactory,
    cached_extraction,
    extract_many,
    no_guard,
)
from assistant.chains.topic_labels import group_keywords, group_titles, ranked_terms
from assistant.chains.takeaway import Takeaway, takeaways
from assistant.chains.topic_summary import compose_topic, renumber
from assistant.chains.week_diff import WeekChange, compare_weeks
from assistant.citations import render_marked
from assistant.papers import Citation, Paper, clean_arxiv_id
from assistant.periods import Period
from assistant.store import Store

log = logging.getLogger(__name__)

OTHER = "Other"
TOP_UPVOTED = 5

ExtractMode = Literal["model", "quick"]


# ---------------------------------------------------------------------------- the period


# ---------------------------------------------------------------------------- the digest


def _digest_paper(n: int, paper: Paper, takeaway: Takeaway) -> DigestPaper:
    return DigestPaper(
        n=n, paper_id=paper.paper_id, title=paper.title, url=reader_link(paper), upvotes=paper.upvotes,
        dates=paper.dates, authors=paper.authors, published=paper.published,
        takeaway=takeaway.text if takeaway.supported else "", hf_summary=takeaway.hf_summary,
    )


def highlights(listed: Sequence[DigestPaper], central_ids: Sequence[str]) -> tuple[list[DigestPaper], str]:
    """The week's most notable papers and how they were chosen: by upvotes when the source has them,
    else the most central paper of each of the largest topics (`central_ids`, largest topic first)."""
    voted = [p for p in listed if p.upvotes is not None]
    if voted:
        return sorted(voted, key=lambda p: (-(p.upvotes or 0), p.n))[:TOP_UPVOTED], "upvotes"
    by_id = {p.paper_id: p for p in listed}
    return [by_id[i] for i in central_ids[:TOP_UPVOTED] if i in by_id], "centrality"


def reader_link(paper: Paper) -> str | None:
    """The paper's arXiv page when it has an arXiv id, else the page it was listed on."""
    arxiv = clean_arxiv_id(paper.paper_id)
    return f"https://arxiv.org/abs/{arxiv}" if arxiv else paper.link


def _vectors(store: Store, papers: Sequence[Paper], embed: EmbedFn) -> dict[str, np.ndarray]:
    """Stored paper vectors; papers without current chunks are embedded now (title + abstract)."""
    vectors = store.paper_vectors([p.paper_id for p in papers])
    missing = [p for p in papers if p.paper_id not in vectors]
    if missing:
        log.info("%d papers have no stored vector; embedding them for clustering", len(missing))
        for p, v in zip(missing, np.asarray(embed([p.text for p in missing]), dtype=np.float32)):
            vectors[p.paper_id] = v / max(float(np.linalg.norm(v)), 1e-12)
    return vectors


def build_digest(
    period: Period,
    store: Store,
    llm_factory: LLMFactory,
    embed: EmbedFn,
    model_label: str,
    embedder_name: str = "",
    extract: ExtractMode = "quick",
    k: int | None = None,
    guard: Guard = no_guard,
    progress: bool = False,
    workers: int = 1,
) -> Digest:
    """The digest of `period`.

    `extract="model"`: one cached model call per paper first, whose method line is the paper's note
    in its topic's prompt (best with a fast endpoint); `"quick"`: the notes are the checked
    takeaways, plus any model extraction already cached (from `compare` or an earlier `model`
    run). Either way, one cached compose call per topic group.
    """
    ids = store.ids_between(period.since, period.until)
    by_id = store.get_papers(sorted(ids))
    papers = sorted(by_id.values(), key=lambda p: p.paper_id)
    digest = Digest(
        week=period.label, since=period.since, until=period.until, n_papers=len(papers), model=model_label,
        extraction=extract,
    )
    if not papers:
        prev = period.previous()
        digest.new_vs_last_week = WeekChange(
            previous=prev.label, previous_since=prev.since, previous_until=prev.until,
            previous_papers=len(store.ids_between(prev.since, prev.until)),
        )
        return digest

    vectors = _vectors(store, papers, embed)
    papers = evidence_papers(papers, embed, store)
    matrix = np.stack([vectors[p.paper_id] for p in papers])
    groups, other = cluster(matrix, k)
    group_papers = [[papers[i] for i in g] for g in groups]
    keywords = group_keywords(group_papers, papers)
    fallback_titles = group_titles(group_papers, papers)
    typical = ranked_terms(group_papers, papers)

    lines = takeaways(papers, embed, store)
    calls = 0
    if extract == "model":
        calls += sum(cached_extraction(p, store, model_label) is None for p in papers)
        model_ext = extract_many(papers, llm_factory, store, model_label, guard, progress, workers)
    else:
        model_ext = {p.paper_id: e for p in papers if (e := cached_extraction(p, store, model_label)) is not None}
    methods = {pid: e.method for pid, e in model_ext.items() if e.source == "model" and e.method}

    n_counter = 0
    topics: list[Topic] = []
    centroids: list[np.ndarray] = []
    thresholds: list[float] = []
    bar = tqdm(total=len(groups), unit="topic", desc="topics", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    for members, words, fallback_title, terms in zip(group_papers, keywords, fallback_titles, typical):
        member_vecs = np.stack([vectors[p.paper_id] for p in members])
        composed = compose_topic(
            members, member_vecs, lines, methods, terms[:20], llm_factory, store, embed, model_label, embedder_name, guard
        )
        calls += composed.called_model
        bar.update(1)
        listed = sorted(members, key=lambda p: (-(p.upvotes or -1), members.index(p)))
        numbered = {p.paper_id: n_counter + i for i, p in enumerate(listed, start=1)}
        n_counter += len(listed)
        mapping = {i: numbered[p.paper_id] for i, p in enumerate(members, start=1)}
        sentences = renumber(composed.sentences, mapping)
        cited = list(dict.fromkeys(c for s in sentences for c in s.cites))
        supported = {c for s in sentences if s.supported for c in s.cites}
        by_n = {numbered[p.paper_id]: p for p in members}
        topics.append(
            Topic(
                title=composed.title or fallback_title,
                keywords=words,
                summary=render_marked(sentences),
                sentences=sentences,
                citations=[
                    Citation(n=n, paper_id=by_n[n].paper_id, title=by_n[n].title, url=by_n[n].link, supported=n in supported)
                    for n in cited
                ],
                papers=[_digest_paper(numbered[p.paper_id], p, lines[p.paper_id]) for p in listed],
                dropped=composed.dropped,
                fallback=composed.fallback,
            )
        )
        centroid = normalize_rows(member_vecs.mean(axis=0, keepdims=True))[0]
        centroids.append(centroid)
        thresholds.append(float(np.min(member_vecs @ centroid)))
    bar.close()

    if other:
        listed = sorted((papers[i] for i in other), key=lambda p: -(p.upvotes or -1))
        topics.append(
            Topic(
                title=OTHER,
                other=True,
                papers=[_digest_paper(n_counter + i, p, lines[p.paper_id]) for i, p in enumerate(listed, start=1)],
            )
        )
        n_counter += len(listed)

    prev = period.previous()
    prev_ids = sorted(store.ids_between(prev.since, prev.until))
    prev_vectors = _vectors(store, list(store.get_papers(prev_ids).values()), embed) if prev_ids else {}
    real_topics = [t for t in topics if not t.other]
    digest.new_vs_last_week = compare_weeks(
        (prev.label, prev.since, prev.until), [(t.title, len(t.papers)) for t in real_topics],
        centroids, thresholds, prev_vectors, len(papers),
    )
    for topic, change in zip(real_topics, digest.new_vs_last_week.topics):
        topic.status = change.status
    digest.topics = topics
    digest.top_upvoted, digest.highlights_by = highlights(digest.all_papers, [g[0].paper_id for g in group_papers])
    digest.model_calls = calls
    return digest
