"""Comparative summaries: pick 2-6 papers, extract their aspects, compose a cited comparison.

Called by `Assistant.compare` (CLI `compare`, the UI's compare page). Extract-then-compose:
one short cached model call per paper (see `extract.py`), the app attaches `[n]` to every
table cell and checks it against the abstract (an unsupported cell is replaced by the closest
abstract sentence, marked as quoted), then one compose call writes the comparison, whose every
sentence is citation-checked like an answer; a sentence setting papers side by side is checked
clause by clause against the paper each clause cites (`contrast.py`), and when the model wrote no
such sentence the app adds one made of the papers' checked takeaways.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence

import numpy as np
from langchain_core.output_parsers import StrOutputParser
from pydantic import BaseModel, Field

from assistant.chains.aspects import ASPECT_LABELS, ASPECTS, Extraction, quick_extraction
from assistant.chains.contrast import checked_summary, is_contrast, repeated_in_contrast, takeaway_contrast
from assistant.chains.evidence_text import evidence_papers
from assistant.chains.extract import (
    EmbedFn,
    Guard,
    LLMFactory,
    no_guard,
    check_aspects,
    extract_many,
    prompt_version,
)
from assistant.chains.evidence import Evidence, attach_citations
from assistant.chains.grounding_config import GROUNDING
from assistant.chains.support import Dropped, Edited, reader_sentences, short_title
from assistant.chains.takeaway import takeaways
from assistant.chains.topic_match import TopicMatch, match_topic
from assistant.citations import render_marked, split_sentences
from assistant.errors import InputError
from assistant.papers import Citation, Hit, Paper, Sentence, clean_arxiv_id
from assistant.prompts import declines, load_prompt
from assistant.store import Store

COMPARE_VARS = frozenset({"focus", "papers"})
MIN_PAPERS, MAX_PAPERS = 2, 6
COMPOSE_CACHE_KIND = "compare"

SearchFn = Callable[..., list[Hit]]


class Cell(BaseModel):
    """One table cell. `source`: `model` (extracted, checked), `abstract` (the closest abstract
    sentence, quoted because the extracted phrase was not supported) or `none` (not stated)."""

    text: str
    supported: bool
    source: str


class Row(BaseModel):
    """One compared paper: its number, identity and one cell per aspect (see `ASPECTS`)."""

    n: int
    paper_id: str
    title: str
    url: str | None = None
    cells: dict[str, Cell]


class Comparison(BaseModel):
    """The result of `assistant compare`; `to_json()` is the CLI's JSON document."""

    query: str | None = None
    summary: str
    sentences: list[Sentence] = Field(default_factory=list)
    table: list[Row] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    model: str = ""
    fallback: bool = False
    removed_citations: list[int] = Field(default_factory=list)
    dropped: list[Dropped] = Field(default_factory=list)  # summary sentences left out, and why
    papers: list[Paper] = Field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "summary": self.summary,
            "table": [r.model_dump() for r in self.table],
            "citations": [c.model_dump() for c in self.citations],
            "model": self.model,
            "query": self.query,
            "columns": [{"key": a, "label": ASPECT_LABELS[a]} for a in ASPECTS],
            "sentences": [s.model_dump() for s in self.sentences],
            "fallback": self.fallback,
            "removed_citations": self.removed_citations,
            "dropped": [d.model_dump() for d in self.dropped],
        }


# ---------------------------------------------------------------------------- choosing papers


def looks_like_id(item: str) -> bool:
    return item.startswith("t:") or clean_arxiv_id(item) is not None


def mmr(ranked: Sequence[str], vectors: dict[str, np.ndarray], n: int, weight: float = 0.7) -> list[str]:
    """Maximal marginal relevance: relevant (by rank) yet different from those already picked."""
    pool = [pid for pid in ranked if pid in vectors] + [pid for pid in ranked if pid not in vectors]
    if len(pool) <= n:
        return list(pool)
    relevance = {pid: 1.0 - i / len(ranked) for i, pid in enumerate(ranked)}
    picked = [pool[0]]
    while len(picked) < n:
        best, best_score = None, -np.inf
        for pid in pool:
            if pid in picked:
                continue
            if pid in vectors:
                sim = max(float(vectors[pid] @ vectors[q]) for q in picked if q in vectors) if any(
                    q in vectors for q in picked
                ) else 0.0
            else:
                sim = 1.0  # unknown vector: assume redundant, prefer papers we can reason about
            score = weight * relevance[pid] - (1 - weight) * sim
            if score > best_score:
                best, best_score = pid, score
        assert best is not None
        picked.append(best)
    return picked


def choose_papers(
    items: Sequence[str],
    store: Store,
    search: SearchFn,
    n: int = 4,
    since: str | None = None,
    until: str | None = None,
    *,
    embed: EmbedFn,
) -> tuple[list[Paper], str | None]:
    """The papers to compare and the query (None when ids were given).

    Every item looks like a paper id → those papers (2-6, all must be stored). Otherwise the
    items are one topic: its matches that state every part of it and that the calibrated topic
    model judges to be about it (`topic_match.match_topic`), most probable first, diversified with
    MMR on the paper vectors; fewer than two such papers is an input error that says so.
    """
    items = [i.strip() for i in items if i.strip()]
    if not items:
        raise InputError("give a query or 2 to 6 paper ids, e.g. `assistant compare 2406.01234 2406.05678`")
    if all(looks_like_id(i) for i in items):
        ids = list(dict.fromkeys(i if i.startswith("t:") else clean_arxiv_id(i) or i for i in items))
        if not MIN_PAPERS <= len(ids) <= MAX_PAPERS:
            raise InputError(f"compare takes {MIN_PAPERS} to {MAX_PAPERS} distinct paper ids; got {len(ids)}")
        papers = store.get_papers(ids)
        unknown = [i for i in ids if i not in papers]
        if unknown:
            raise InputError(
                f"unknown paper id(s) {', '.join(unknown)}; find ids with `assistant search QUERY`"
            )
        return [papers[i] for i in ids], None
    if not MIN_PAPERS <= n <= MAX_PAPERS:
        raise InputError(f"--n must be between {MIN_PAPERS} and {MAX_PAPERS}; got {n}")
    query = " ".join(items)
    found = search(query, k=max(30, 5 * n), since=since, until=until)
    matches = match_topic(query, found, embed)
    qualified = sorted((m for m in matches if m.qualifies), key=lambda m: -m.probability)
    if len(qualified) < MIN_PAPERS:
        raise InputError(too_few_message(query, qualified, found))
    ranked = [m.hit.paper.paper_id for m in qualified]
    vectors = store.paper_vectors(ranked)
    chosen = mmr(ranked, vectors, n)
    by_id = {m.hit.paper.paper_id: m.hit.paper for m in qualified}
    return [by_id[pid] for pid in chosen], query


def too_few_message(query: str, qualified: Sequence[TopicMatch], found: Sequence[Hit]) -> str:
    """Fewer than two papers are about the topic: say so, name the one that is and the closest others."""
    if qualified:
        head = f"only 1 stored paper is about {query!r} ({qualified[0].hit.paper.title!r})"
    else:
        head = f"no stored paper is about every part of {query!r}"
    others = [h.paper.title for h in found if not qualified or h.paper.paper_id != qualified[0].hit.paper.paper_id][:2]
    near = ("; closest others, not about it: " + "; ".join(repr(t) for t in others)) if others else ""
    return (
        f"{head}; a comparison needs at least {MIN_PAPERS} papers about the topic (give paper ids, a broader "
        f"topic, wider dates, or ingest more papers){near}"
    )


# ---------------------------------------------------------------------------- the table


def _cap(text: str, limit: int = GROUNDING.cell_chars) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _cite(text: str, n: int) -> str:
    return f"{text.rstrip().rstrip('.')} [{n}]"


def build_table(
    papers: Sequence[Paper], extractions: dict[str, Extraction], embed: EmbedFn
) -> list[Row]:
    """Rows = papers, columns = aspects; every cell cites its paper and is checked against it."""
    rows: list[Row] = []
    for n, paper in enumerate(papers, start=1):
        ext = extractions.get(paper.paper_id) or quick_extraction(paper)
        quick = quick_extraction(paper)
        values = {a: ext.get(a) for a in ASPECTS}
        checks = check_aspects(paper, values, embed) if ext.source == "model" else {}
        cells: dict[str, Cell] = {}
        for aspect in ASPECTS:
            value = values[aspect].strip()
            if ext.source != "model":
                cells[aspect] = (
                    Cell(text=_cite(_cap(value), n), supported=True, source="abstract")
                    if value
                    else Cell(text=f"not stated [{n}]", supported=False, source="none")
                )
                continue
            check = checks.get(aspect)
            if value and check is not None and check.supported:
                cells[aspect] = Cell(text=_cite(_cap(value), n), supported=True, source="model")
            elif value and check is not None and check.best_sentence != paper.title:
                cells[aspect] = Cell(text=_cite(_cap(check.best_sentence), n), supported=True, source="abstract")
            elif quick.get(aspect):
                cells[aspect] = Cell(text=_cite(_cap(quick.get(aspect)), n), supported=True, source="abstract")
            else:
                cells[aspect] = Cell(text=f"not stated [{n}]", supported=False, source="none")
        rows.append(Row(n=n, paper_id=paper.paper_id, title=paper.title, url=paper.link, cells=cells))
    return rows


def render_notes(papers: Sequence[Paper], rows: Sequence[Row]) -> str:
    """The compose prompt's input: per paper, its number, title and checked aspects."""
    lines = []
    for paper, row in zip(papers, rows):
        lines.append(f"[{row.n}] {paper.title}")
        for aspect in ASPECTS:
            cell = row.cells[aspect]
            if cell.source != "none":
                text = re.sub(r"\s*\[\d+\]$", "", cell.text)
                lines.append(f"    {ASPECT_LABELS[aspect]}: {text}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- the comparison


def _fallback_summary(papers: Sequence[Paper], rows: Sequence[Row]) -> str:
    """The app's own summary when the model's has no supported sentence: each paper's method cell."""
    parts = []
    for paper, row in zip(papers, rows):
        cell = row.cells["method"] if row.cells["method"].source != "none" else row.cells["problem"]
        if cell.source == "none":
            continue
        body = re.sub(r"\s*\[\d+\]$", "", cell.text).rstrip(" .…")
        parts.append(f"{short_title(paper.title)}: {body} [{row.n}].")
    return " ".join(parts)


def _compose_key(model_label: str, inputs: dict[str, str]) -> str:
    blob = json.dumps([model_label, prompt_version("compare"), inputs], sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def compare(
    papers: Sequence[Paper],
    llm_factory: LLMFactory,
    store: Store,
    embed: EmbedFn,
    model_label: str,
    query: str | None = None,
    guard: Guard = no_guard,
    progress: bool = False,
    workers: int = 1,
    model_extraction: bool = True,
    model_compose: bool = True,
) -> Comparison:
    """Clean the abstracts → extract (cached) → table with checked cells → compose → check every sentence.

    `model_extraction=False`: the table is filled from the abstracts' cue sentences (no model call
    per paper; the chat's comparisons with the slow local model), only the summary is composed.
    `model_compose=False`: no model call at all; the summary is the app's own (the papers' checked
    takeaways set side by side), `fallback` true (the chat's comparisons with the packaged model).
    """
    papers = evidence_papers(papers, embed, store)
    extractions = (
        extract_many(papers, llm_factory, store, model_label, guard, progress, workers) if model_extraction else {}
    )
    rows = build_table(papers, extractions, embed)
    hits = [Hit(paper=p, score=0.0) for p in papers]
    evidence = Evidence(hits, [split_sentences(p.abstract) or [p.abstract] for p in papers])
    focus = query or "how these papers relate: their problems, methods, data and results"
    inputs = {"focus": focus, "papers": render_notes(papers, rows)}
    key = _compose_key(model_label, inputs)
    cached = store.cache_get(COMPOSE_CACHE_KIND, key) if model_compose else ""
    if isinstance(cached, str):
        raw = cached
    else:
        chain = load_prompt("compare", COMPARE_VARS) | guard(llm_factory) | StrOutputParser()
        raw = guard(lambda: chain.invoke(inputs)).strip()
        store.cache_put(COMPOSE_CACHE_KIND, key, raw)
    edited = Edited([], [], [])
    if raw and not declines(raw):
        drafted = " ".join(split_sentences(attach_citations(raw, evidence, embed))[:GROUNDING.summary_sentences])
        edited = checked_summary(drafted, papers, embed)
    fallback = not edited.sentences
    if not any(is_contrast(s) for s in edited.sentences):
        lines = takeaways(papers, embed, store)
        made = takeaway_contrast(papers, lines, embed)
        if made is not None:
            kept, repeated = repeated_in_contrast(edited.sentences, papers, lines, embed)
            edited = Edited([*kept, made], edited.dropped + repeated, edited.removed)
    if not edited.sentences:
        own = reader_sentences(_fallback_summary(papers, rows), papers, embed)
        edited = Edited(own.sentences, edited.dropped + own.dropped, edited.removed + own.removed)
    sentences = edited.sentences
    supported_n = {c for s in sentences for c in s.cites} | {
        r.n for r in rows if any(c.source == "model" and c.supported for c in r.cells.values())
    }
    all_citations = [
        Citation(n=r.n, paper_id=r.paper_id, title=r.title, url=r.url, supported=r.n in supported_n) for r in rows
    ]
    return Comparison(
        query=query,
        summary=render_marked(sentences),
        sentences=sentences,
        table=rows,
        citations=all_citations,
        model=model_label,
        fallback=fallback,
        removed_citations=edited.removed,
        dropped=edited.dropped,
        papers=papers,
    )
