"""Weekly digests: the papers listed in a period, grouped into topics, each with a cited summary.

Called by `Assistant.digest` (CLI `digest`, the UI's digest page). Steps: resolve the period
(ISO week, `last`, or since/until) → cluster the papers' vectors (spherical k-means in numpy)
→ label each group with distinctive keywords → per group one compose call over short per-paper
notes (cached extractions) → citation-check every sentence → compare with the previous period.
Every model output is cached in the store, so an interrupted digest resumes and a re-run makes
no model call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
from langchain_core.output_parsers import StrOutputParser
from pydantic import BaseModel, Field
from tqdm import tqdm

from assistant.chains.extract import (
    EmbedFn,
    Extraction,
    Guard,
    LLMFactory,
    _no_guard,
    cached_extraction,
    extract_many,
    merged,
    prompt_version,
    quick_extraction,
)
from assistant.chains.qa import Evidence, attach_citations
from assistant.citations import render_marked, split_sentences
from assistant.grounding import check_answer
from assistant.errors import InputError
from assistant.papers import Citation, Hit, Paper, Sentence
from assistant.prompts import load_prompt
from assistant.retrieve import parse_day, week_bounds
from assistant.store import Store

log = logging.getLogger(__name__)

TOPIC_VARS = frozenset({"papers"})
TOPIC_CACHE_KIND = "digest_topic"
CHECK_CACHE_KIND = "digest_topic_check"
OTHER = "Other"
MAX_SENTENCES = 3
PROMPT_PAPERS = 6  # the most central papers of a group go into its compose prompt (prefill is the cost)
MAX_NOTE_CHARS = 200
MAX_OTHER_SHARE = 0.05  # at most 5% of a period's papers may land in "Other"
TOP_UPVOTED = 5

ExtractMode = Literal["model", "quick"]


# ---------------------------------------------------------------------------- the period


@dataclass(frozen=True)
class Period:
    """An inclusive range of list dates; `week` is set when it is exactly one ISO week."""

    since: str
    until: str
    week: str | None = None

    @property
    def label(self) -> str:
        return self.week or f"{self.since}/{self.until}"

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        start, end = date.fromisoformat(self.since), date.fromisoformat(self.until)
        prev_end = start - timedelta(days=1)
        prev_start = prev_end - (end - start)
        return make_period(prev_start, prev_end)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def make_period(start: date, end: date) -> Period:
    is_week = start.isoweekday() == 1 and end - start == timedelta(days=6)
    return Period(start.isoformat(), end.isoformat(), iso_week(start) if is_week else None)


def last_week(store: Store, today: date | None = None) -> str:
    """`--week last`: the latest complete ISO week (ending before today) that has papers.

    On a Monday cron run that is the week that just ended; on a store that stopped being fed
    it is the store's latest complete week rather than an empty digest.
    """
    today = today or date.today()
    last_sunday = today - timedelta(days=today.isoweekday())
    newest = store.stats().get("last_date")
    if not newest:
        raise InputError("no papers are stored yet; run `assistant ingest` (or `assistant fetch`) first")
    day = min(date.fromisoformat(str(newest)), last_sunday)
    for _ in range(60 * 53):
        monday = day - timedelta(days=day.isoweekday() - 1)
        if store.ids_between(monday.isoformat(), (monday + timedelta(days=6)).isoformat()):
            return iso_week(monday)
        day = monday - timedelta(days=1)
    raise InputError(f"no complete ISO week before {today.isoformat()} has papers; give --since/--until")


def resolve_period(
    store: Store,
    week: str | None = None,
    since: str | None = None,
    until: str | None = None,
    today: date | None = None,
) -> Period:
    """The digest's period from `--week YYYY-Www|last` or `--since/--until` (inclusive dates)."""
    if week and (since or until):
        raise InputError("give either --week or --since/--until, not both")
    if week:
        week = week.strip()
        if week.lower() == "last":
            week = last_week(store, today)
        first, last = week_bounds(week)
        return make_period(date.fromisoformat(first), date.fromisoformat(last))
    if not (since or until):
        raise InputError("give the period: --week YYYY-Www (e.g. 2024-W23), --week last, or --since/--until")
    start_s, end_s = parse_day(since, "--since"), parse_day(until, "--until")
    if end_s is None:
        newest = store.stats().get("last_date")
        end_s = str(newest) if newest and str(newest) >= str(start_s) else (today or date.today()).isoformat()
    end = date.fromisoformat(end_s)
    start = date.fromisoformat(start_s) if start_s else end - timedelta(days=6)
    if start > end:
        raise InputError(f"--since {start} is after --until {end}")
    return make_period(start, end)


def available_weeks(store: Store) -> list[str]:
    """ISO weeks that have papers, newest first (for week pickers)."""
    weeks = {iso_week(date.fromisoformat(d)) for p in store.iter_papers() for d in p.dates}
    return sorted(weeks, reverse=True)


# ---------------------------------------------------------------------------- clustering


def auto_k(n: int) -> int:
    """Number of topic groups for `n` papers: about sqrt(n/2) (8 for a 120-paper week)."""
    return max(1, min(n, round(math.sqrt(n / 2))))


def _normalize(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def spherical_kmeans(
    x: np.ndarray, k: int, seed: int = 0, restarts: int = 4, iterations: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """k-means on unit vectors with cosine similarity, k-means++ seeding; deterministic for a seed.

    Returns (labels, unit centroids) of the restart with the highest total similarity.
    """
    n = len(x)
    k = max(1, min(k, n))
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for r in range(restarts):
        rng = np.random.default_rng(seed + r)
        centers = [x[int(rng.integers(n))]]
        for _ in range(1, k):
            dist = np.clip(1.0 - np.max(x @ np.stack(centers).T, axis=1), 0.0, None) ** 2
            total = float(dist.sum())
            idx = int(rng.choice(n, p=dist / total)) if total > 0 else int(rng.integers(n))
            centers.append(x[idx])
        c = np.stack(centers)
        labels = np.full(n, -1)
        for _ in range(iterations):
            sims = x @ c.T
            new = np.argmax(sims, axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):
                members = x[labels == j]
                if len(members):
                    c[j] = members.mean(axis=0)
                else:  # an empty cluster takes the point farthest from its centroid
                    c[j] = x[int(np.argmin(sims[np.arange(n), labels]))]
            c = _normalize(c)
        score = float(np.sum(np.max(x @ c.T, axis=1)))
        if best is None or score > best[0] + 1e-9:
            best = (score, labels.copy(), c.copy())
    assert best is not None
    return best[1], best[2]


def cluster(vectors: np.ndarray, k: int | None = None, seed: int = 0) -> tuple[list[list[int]], list[int]]:
    """Topic groups of row indices (largest first, each ordered by centrality) and the "Other" rows.

    Papers alone in a cluster join the nearest other group, unless they are unlike every group
    (below the 5th percentile of member-to-centroid similarity); those go to "Other", which is
    capped at 5% of the papers.
    """
    n = len(vectors)
    if n == 0:
        return [], []
    x = _normalize(np.asarray(vectors, dtype=np.float32))
    labels, centers = spherical_kmeans(x, k or auto_k(n), seed)
    sizes = Counter(labels.tolist())
    min_size = 2 if n >= 10 else 1
    big = sorted(j for j, s in sizes.items() if s >= min_size)
    other: list[int] = []
    if not big:
        big = sorted(sizes)
    if len(big) < len(sizes):
        sims_all = x @ centers.T
        own = sims_all[np.arange(n), labels]
        floor = float(np.percentile(own[np.isin(labels, big)], 5)) if np.isin(labels, big).any() else -1.0
        loners = [i for i in range(n) if labels[i] not in big]
        best_big = {i: int(big[int(np.argmax(sims_all[i, big]))]) for i in loners}
        best_sim = {i: float(sims_all[i, best_big[i]]) for i in loners}
        room = int(MAX_OTHER_SHARE * n)
        for i in sorted(loners, key=lambda i: best_sim[i]):
            if best_sim[i] < floor and len(other) < room:
                other.append(i)
            else:
                labels[i] = best_big[i]
    groups: list[list[int]] = []
    for j in big:
        members = [i for i in range(n) if labels[i] == j and i not in other]
        if not members:
            continue
        centroid = _normalize(x[members].mean(axis=0, keepdims=True))[0]
        members.sort(key=lambda i: -float(x[i] @ centroid))
        groups.append(members)
    groups.sort(key=lambda g: (-len(g), g[0]))
    return groups, sorted(other)


# ---------------------------------------------------------------------------- topic keywords

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")
_STOP = frozenset(
    """a about above across after again against all almost also although among an and any are as at
    be because been before being below between both but by can could did do does doing during each
    either etc few for from further had has have having here how however if in into is it its itself
    just many may might more most much must no nor not now of off often on once only or other our out
    over own per rather same several should since so some such than that the their them then there
    these they this those through thus to too under until up upon use used uses using very via was we
    well were what when where whether which while who whom why will with within without would yet you
    your paper papers work works study propose proposed proposes present presents introduce introduces
    introduced approach approaches method methods model models framework frameworks new novel based
    show shows shown demonstrate demonstrates result results performance task tasks existing recent
    recently various different significant significantly extensive experiments experimental achieve
    achieves achieved state-of-the-art sota art improve improves improved improvement effective
    effectively efficient address addresses key first one two three code available https github com
    large benchmark benchmarks data dataset datasets training trained learning towards toward enable
    enables leverage leverages leveraging compared across comprehensive furthermore moreover specifically
    i ii iii able make makes made high low better best across problem problems challenge challenges""".split()
)


def _words(text: str) -> list[str | None]:
    """Lower-cased words; None marks a break (stop word, short word, number, punctuation)."""
    out: list[str | None] = []
    for chunk in re.split(r"[.,;:!?()\[\]{}\"]", text):
        for raw in chunk.split():
            m = _TOKEN.fullmatch(raw.strip("'\u2019*`"))
            w = m.group().lower().strip("-") if m else ""
            out.append(w if len(w) > 2 and w not in _STOP else None)
        out.append(None)
    return out


def _terms(text: str) -> set[str]:
    """Unigrams and bigrams of content words (a bigram never spans a stop word or punctuation)."""
    words = _words(text)
    terms = {w for w in words if w}
    terms |= {f"{a} {b}" for a, b in zip(words, words[1:]) if a and b and a != b}
    return terms


def group_keywords(groups: Sequence[Sequence[Paper]], all_papers: Sequence[Paper], top: int = 3) -> list[list[str]]:
    """Per group the `top` terms most typical of it and rare elsewhere.

    Score = share of the group's papers using the term x idf over the period's papers x
    (1 + share of the group's titles using it): title words name topics better than abstract words.
    """
    doc_terms = {p.paper_id: _terms(f"{p.title}. {p.abstract}") for p in all_papers}
    title_terms = {p.paper_id: _terms(p.title) for p in all_papers}
    df_all = Counter(t for terms in doc_terms.values() for t in terms)
    n_all = len(all_papers)
    out: list[list[str]] = []
    for group in groups:
        df = Counter(t for p in group for t in doc_terms.get(p.paper_id) or _terms(p.text))
        tf_title = Counter(t for p in group for t in title_terms.get(p.paper_id) or _terms(p.title))
        need = 2 if len(group) >= 3 else 1
        scored = []
        for term, count in df.items():
            if count < need:
                continue
            idf = math.log((n_all + 1) / (df_all[term] + 1)) + 1.0
            bonus = 1.2 if " " in term else 1.0
            scored.append(((count / len(group)) * idf * (1 + tf_title[term] / len(group)) * bonus, term))
        scored.sort(key=lambda s: (-s[0], s[1]))
        chosen: list[str] = []
        for _, term in scored:
            if any(term in c or c in term for c in chosen):
                continue
            chosen.append(term)
            if len(chosen) == top:
                break
        out.append(chosen)
    return out


def keyword_title(keywords: Sequence[str]) -> str:
    if not keywords:
        return "Miscellaneous"
    text = ", ".join(keywords)
    return text[0].upper() + text[1:]


# ---------------------------------------------------------------------------- the digest types


class DigestPaper(BaseModel):
    """A paper as listed in a digest: its number `n` (what `[n]` cites) and how to find it."""

    n: int
    paper_id: str
    title: str
    url: str | None = None
    upvotes: int | None = None
    dates: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    published: str | None = None


class Topic(BaseModel):
    """One topic group: title, keywords, a checked summary of at most 3 sentences, its papers."""

    title: str
    keywords: list[str] = Field(default_factory=list)
    summary: str = ""
    sentences: list[Sentence] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    papers: list[DigestPaper] = Field(default_factory=list)
    other: bool = False
    fallback: bool = False  # the summary is the app's extractive one (the model's had no supported sentence)
    status: str | None = None  # vs the previous period: new | grew | steady | shrank


class TopicChange(BaseModel):
    title: str
    this_week: int
    last_week: int
    status: str


class WeekChange(BaseModel):
    """How this period's topics compare with the previous period of the same length."""

    previous: str
    previous_since: str
    previous_until: str
    previous_papers: int
    appeared: list[str] = Field(default_factory=list)
    grew: list[TopicChange] = Field(default_factory=list)
    topics: list[TopicChange] = Field(default_factory=list)


class Digest(BaseModel):
    """The result of `assistant digest`; `to_json()` is the CLI's JSON document."""

    week: str
    since: str
    until: str
    n_papers: int
    topics: list[Topic] = Field(default_factory=list)
    new_vs_last_week: WeekChange | None = None
    top_upvoted: list[DigestPaper] = Field(default_factory=list)
    model: str = ""
    extraction: str = "quick"
    model_calls: int = 0

    @property
    def all_papers(self) -> list[DigestPaper]:
        return sorted((p for t in self.topics for p in t.papers), key=lambda p: p.n)

    def to_json(self) -> dict[str, object]:
        return {
            "week": self.week,
            "since": self.since,
            "until": self.until,
            "papers": self.n_papers,
            "topics": [
                {
                    "title": t.title,
                    "summary": t.summary,
                    "citations": [c.model_dump() for c in t.citations],
                    "keywords": t.keywords,
                    "other": t.other,
                    "status": t.status,
                    "fallback": t.fallback,
                    "sentences": [s.model_dump() for s in t.sentences],
                    "papers": [p.model_dump(exclude={"authors", "published"}) for p in t.papers],
                }
                for t in self.topics
            ],
            "new_vs_last_week": self.new_vs_last_week.model_dump() if self.new_vs_last_week else None,
            "top_upvoted": [p.model_dump(include={"n", "paper_id", "title", "url", "upvotes"}) for p in self.top_upvoted],
            "model": self.model,
            "extraction": self.extraction,
            "model_calls": self.model_calls,
        }


# ---------------------------------------------------------------------------- composing a topic


def _note(paper: Paper, ext: Extraction) -> str:
    def cap(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= MAX_NOTE_CHARS else text[:MAX_NOTE_CHARS].rsplit(" ", 1)[0] + " …"

    parts = [ext.method or ext.problem]
    if ext.source == "model" and ext.result:
        parts.append(f"Result: {ext.result}")
    return f"{paper.title}: " + cap(" ".join(p for p in parts if p).strip())


def render_topic_notes(papers: Sequence[Paper], extractions: dict[str, Extraction]) -> str:
    return "\n".join(f"[{i}] {_note(p, extractions[p.paper_id])}" for i, p in enumerate(papers, start=1))


_TOPIC_LINE = re.compile(r"^[\s#>*\-]*\**\s*(?:topic|title)\s*\**\s*[:\-\u2013]\s*\**\s*(.*?)\s*\**\s*$", re.IGNORECASE)


def parse_topic_reply(raw: str) -> tuple[str | None, str]:
    """(model-written topic name or None, the summary text) from a compose reply."""
    title: str | None = None
    body: list[str] = []
    for line in raw.strip().splitlines():
        m = _TOPIC_LINE.match(line)
        if m and title is None and not body:
            title = m.group(1).strip().strip("\"'\u201c\u201d*_`").rstrip(".")
            continue
        if re.match(r"^\s*(?:summary|paragraph)\s*:\s*$", line, re.IGNORECASE):
            continue
        body.append(re.sub(r"^\s*(?:summary|paragraph)\s*:\s*", "", line, flags=re.IGNORECASE))
    if title is not None and (not title or len(title.split()) > 7 or len(title) > 70 or "[" in title):
        title = None
    return title, "\n".join(body).strip()


def _fallback_text(papers: Sequence[Paper], quick: dict[str, Extraction], count: int = 2) -> str:
    """The app's extractive summary: the method sentence of the most central papers, quoted."""
    parts = []
    for i, paper in enumerate(papers[:count], start=1):
        sentence = (quick[paper.paper_id].method or quick[paper.paper_id].problem or paper.title).rstrip(" .…")
        parts.append(f"{sentence} [{i}].")
    return " ".join(parts)


def _renumber(sentences: list[Sentence], mapping: dict[int, int]) -> list[Sentence]:
    out = []
    for s in sentences:
        text = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping.get(int(m.group(1)), int(m.group(1)))}]", s.text)
        out.append(Sentence(text=text, cites=[mapping[c] for c in s.cites if c in mapping], supported=s.supported))
    return out


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]


@dataclass
class ComposedTopic:
    title: str | None
    sentences: list[Sentence]  # numbered locally: [i] = prompt_papers[i-1]
    fallback: bool
    called_model: bool


def compose_topic(
    prompt_papers: Sequence[Paper],
    extractions: dict[str, Extraction],
    quick: dict[str, Extraction],
    llm_factory: LLMFactory,
    store: Store,
    embed: EmbedFn,
    model_label: str,
    embedder_name: str,
    guard: Guard = _no_guard,
) -> ComposedTopic:
    """One (cached) compose call for a group, then every sentence checked against its cited abstracts."""
    notes = render_topic_notes(prompt_papers, extractions)
    raw_key = _key(model_label, prompt_version("digest_topic"), notes)
    check_key = _key(raw_key, embedder_name)
    done = store.cache_get(CHECK_CACHE_KIND, check_key)
    if isinstance(done, dict):
        return ComposedTopic(
            done.get("title"), [Sentence(**s) for s in done["sentences"]], bool(done["fallback"]), False
        )
    raw = store.cache_get(TOPIC_CACHE_KIND, raw_key)
    called = False
    if not isinstance(raw, str):
        chain = load_prompt("digest_topic", TOPIC_VARS) | guard(llm_factory) | StrOutputParser()
        raw = guard(lambda: chain.invoke({"papers": notes}))
        called = True
        store.cache_put(TOPIC_CACHE_KIND, raw_key, raw)
    title, text = parse_topic_reply(raw)
    hits = [Hit(paper=p, score=0.0) for p in prompt_papers]
    evidence = Evidence(hits, [split_sentences(p.abstract) or [p.abstract] for p in prompt_papers])
    sentences: list[Sentence] = []
    if text:
        drafted = " ".join(split_sentences(attach_citations(text, evidence, embed))[:MAX_SENTENCES])
        sentences = check_answer(drafted, hits, embed).sentences
    fallback = not any(s.supported for s in sentences)
    if fallback:
        sentences = check_answer(_fallback_text(prompt_papers, quick), hits, embed).sentences
    store.cache_put(
        CHECK_CACHE_KIND,
        check_key,
        {"title": title, "sentences": [s.model_dump() for s in sentences], "fallback": fallback},
    )
    return ComposedTopic(title, sentences, fallback, called)


# ---------------------------------------------------------------------------- new vs last week


def compare_weeks(
    period: Period,
    topics: Sequence[Topic],
    centroids: Sequence[np.ndarray],
    thresholds: Sequence[float],
    previous_vectors: dict[str, np.ndarray],
    n_this: int,
) -> WeekChange:
    """Count last period's papers that would fall in each of this period's topics.

    A previous paper counts for the topic whose centroid it is closest to, if it is at least as
    close as the topic's least typical member this period (so it would have fitted in the group).
    Shares, not counts, are compared, since periods differ in size.
    `new`: no such paper last period; `grew`: at least 2 more papers and 1.5x the share.
    """
    prev = period.previous()
    counts = [0] * len(topics)
    if previous_vectors and centroids:
        x = _normalize(np.stack(list(previous_vectors.values())))
        sims = x @ np.stack(centroids).T
        for row in sims:
            j = int(np.argmax(row))
            if row[j] >= thresholds[j]:
                counts[j] += 1
    n_prev = len(previous_vectors)
    change = WeekChange(
        previous=prev.label, previous_since=prev.since, previous_until=prev.until, previous_papers=n_prev
    )
    for topic, before in zip(topics, counts):
        now = len(topic.papers)
        if n_prev == 0:
            status = "unknown"
        elif before == 0:
            status = "new"
        elif now >= before + 2 and now / max(n_this, 1) >= 1.5 * before / n_prev:
            status = "grew"
        elif before >= now + 2 and before / n_prev >= 1.5 * now / max(n_this, 1):
            status = "shrank"
        else:
            status = "steady"
        topic.status = status
        item = TopicChange(title=topic.title, this_week=now, last_week=before, status=status)
        change.topics.append(item)
        if status == "new":
            change.appeared.append(topic.title)
        elif status == "grew":
            change.grew.append(item)
    return change


# ---------------------------------------------------------------------------- the digest


def _digest_paper(n: int, paper: Paper) -> DigestPaper:
    return DigestPaper(
        n=n, paper_id=paper.paper_id, title=paper.title, url=paper.link, upvotes=paper.upvotes,
        dates=paper.dates, authors=paper.authors, published=paper.published,
    )


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
    guard: Guard = _no_guard,
    progress: bool = False,
    workers: int = 1,
) -> Digest:
    """The digest of `period`.

    `extract="model"`: one cached model call per paper for its notes (best with a fast endpoint);
    `"quick"`: notes are abstract sentences picked by cue words, plus any model extraction
    already cached (from `compare` or an earlier `model` run). Either way, one cached compose
    call per topic group.
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
    matrix = np.stack([vectors[p.paper_id] for p in papers])
    groups, other = cluster(matrix, k)
    group_papers = [[papers[i] for i in g] for g in groups]
    keywords = group_keywords(group_papers, papers)

    quick = {p.paper_id: quick_extraction(p) for p in papers}
    calls = 0
    if extract == "model":
        calls += sum(cached_extraction(p, store, model_label) is None for p in papers)
        model_ext = extract_many(papers, llm_factory, store, model_label, guard, progress, workers)
    else:
        model_ext = {p.paper_id: e for p in papers if (e := cached_extraction(p, store, model_label)) is not None}
    extractions = {p.paper_id: merged(model_ext.get(p.paper_id), quick[p.paper_id]) for p in papers}

    n_counter = 0
    topics: list[Topic] = []
    centroids: list[np.ndarray] = []
    thresholds: list[float] = []
    bar = tqdm(total=len(groups), unit="topic", desc="topics", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    for members, words in zip(group_papers, keywords):
        prompt_papers = members[:PROMPT_PAPERS]
        composed = compose_topic(
            prompt_papers, extractions, quick, llm_factory, store, embed, model_label, embedder_name, guard
        )
        calls += composed.called_model
        bar.update(1)
        listed = sorted(members, key=lambda p: (-(p.upvotes or -1), members.index(p)))
        numbered = {p.paper_id: n_counter + i for i, p in enumerate(listed, start=1)}
        n_counter += len(listed)
        mapping = {i: numbered[p.paper_id] for i, p in enumerate(prompt_papers, start=1)}
        sentences = _renumber(composed.sentences, mapping)
        cited = list(dict.fromkeys(c for s in sentences for c in s.cites))
        supported = {c for s in sentences if s.supported for c in s.cites}
        by_n = {numbered[p.paper_id]: p for p in members}
        topics.append(
            Topic(
                title=composed.title or keyword_title(words),
                keywords=words,
                summary=render_marked(sentences),
                sentences=sentences,
                citations=[
                    Citation(n=n, paper_id=by_n[n].paper_id, title=by_n[n].title, url=by_n[n].link, supported=n in supported)
                    for n in cited
                ],
                papers=[_digest_paper(numbered[p.paper_id], p) for p in listed],
                fallback=composed.fallback,
            )
        )
        member_vecs = np.stack([vectors[p.paper_id] for p in members])
        centroid = _normalize(member_vecs.mean(axis=0, keepdims=True))[0]
        centroids.append(centroid)
        thresholds.append(float(np.min(member_vecs @ centroid)))
    bar.close()

    if other:
        listed = sorted((papers[i] for i in other), key=lambda p: -(p.upvotes or -1))
        topics.append(
            Topic(
                title=OTHER,
                other=True,
                papers=[_digest_paper(n_counter + i, p) for i, p in enumerate(listed, start=1)],
            )
        )
        n_counter += len(listed)

    prev = period.previous()
    prev_ids = sorted(store.ids_between(prev.since, prev.until))
    prev_vectors = _vectors(store, list(store.get_papers(prev_ids).values()), embed) if prev_ids else {}
    real_topics = [t for t in topics if not t.other]
    digest.new_vs_last_week = compare_weeks(period, real_topics, centroids, thresholds, prev_vectors, len(papers))
    digest.topics = topics
    voted = [p for p in digest.all_papers if p.upvotes is not None]
    digest.top_upvoted = sorted(voted, key=lambda p: (-(p.upvotes or 0), p.n))[:TOP_UPVOTED]
    digest.model_calls = calls
    return digest
