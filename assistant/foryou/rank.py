"""Rank a period's papers for one profile, and say why each one is where it is.

Like arxiv-sanity: once a reader has starred enough papers, a linear classifier (L2-regularised
logistic regression on the stored paper vectors: starred = positive, the period's other papers
and "not interested" ones = negative) scores the period. Its score is blended with the closest
star, the closest followed topic, followed authors and a little popularity; each part is
standardised over the period first so the weights compare like with like. Before enough stars
(cold start) the same blend runs without the classifier, and with topics alone it is topic
similarity. The weights were set before any measurement (not tuned yet);
`python -m benchmarks.foryou_bench --tune` grid-searches them on the dev themes only.

Logistic regression is a few lines of numpy (Newton steps on a few hundred rows): scikit-learn
would add a large install and its import time to every `assistant feed` for the same model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.foryou.profile import Profile
from assistant.papers import Paper

MIN_STARS_FOR_CLASSIFIER = 3


@dataclass(frozen=True)
class Weights:
    """Blend of the standardised parts; any tuning uses the benchmark's dev themes, never its test themes."""

    classifier: float = 1.0
    star: float = 1.0
    topic: float = 1.0
    author: float = 3.0  # added as is (0/1), not standardised: a followed author outranks any topic match
    popularity: float = 0.1
    hidden: float = 0.5
    l2: float = 1.0  # the classifier's regularisation
    star_reason: float = 0.45  # cosine above which "close to your star" is said
    topic_reason: float = 0.3  # cosine above which "matches your topic" is said


WEIGHTS = Weights()


@dataclass
class Ranked:
    """One ranked paper: its score, the parts that made it, and the reasons in words."""

    paper: Paper
    score: float
    reasons: list[str] = field(default_factory=list)
    parts: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        p = self.paper
        return {
            "paper_id": p.paper_id, "title": p.title, "url": p.link, "authors": p.authors, "dates": p.dates,
            "upvotes": p.upvotes, "score": round(self.score, 4), "reasons": self.reasons,
            "parts": {k: round(v, 4) for k, v in self.parts.items()},
        }


def logistic_regression(pos: np.ndarray, neg: np.ndarray, l2: float, neg_weight: np.ndarray | None = None) -> np.ndarray:
    """Weights (last entry: bias) of a class-balanced, L2-regularised logistic regression, by Newton steps."""
    x = np.vstack([pos, neg]).astype(np.float64)
    x = np.hstack([x, np.ones((len(x), 1))])
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    nw = np.ones(len(neg)) if neg_weight is None else neg_weight
    s = np.concatenate([np.full(len(pos), 0.5 / len(pos)), 0.5 * nw / nw.sum()]) * len(x)
    reg = np.full(x.shape[1], l2)
    reg[-1] = 0.0
    w = np.zeros(x.shape[1])
    for _ in range(25):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (s * (p - y)) + reg * w
        hess = (x * (s * p * (1 - p))[:, None]).T @ x + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if float(np.abs(step).max()) < 1e-6:
            break
    return w


def _z(values: np.ndarray) -> np.ndarray:
    sd = float(values.std())
    return (values - values.mean()) / sd if sd > 1e-9 else np.zeros_like(values)


def _matches_author(paper: Paper, followed: Sequence[str]) -> str | None:
    names = {" ".join(a.split()).casefold(): a for a in paper.authors}
    return next((names[f.casefold()] for f in followed if f.casefold() in names), None)


def rank(
    papers: Sequence[Paper],
    vectors: dict[str, np.ndarray],
    profile: Profile,
    star_vectors: dict[str, np.ndarray],
    topic_vectors: np.ndarray | None = None,
    hidden_vectors: dict[str, np.ndarray] | None = None,
    star_titles: dict[str, str] | None = None,
    weights: Weights = WEIGHTS,
) -> list[Ranked]:
    """The papers (those with a vector, minus starred and "not interested" ones), best first, each with reasons.

    `star_vectors`/`hidden_vectors`: vectors of the starred / "not interested" papers (any date);
    `topic_vectors`: one row per followed topic, in `profile.topics` order.
    """
    skip = set(profile.star_ids) | profile.hidden_ids
    cands = [p for p in papers if p.paper_id in vectors and p.paper_id not in skip]
    if not cands:
        return []
    x = np.stack([vectors[p.paper_id] for p in cands]).astype(np.float32)
    n = len(cands)
    total = np.zeros(n)
    parts: dict[str, np.ndarray] = {}
    star_ids = [s for s in profile.star_ids if s in star_vectors]
    hidden = hidden_vectors or {}
    titles = {s.paper_id: s.title for s in profile.stars} | (star_titles or {})

    star_sim = best_star = None
    if star_ids:
        s = np.stack([star_vectors[i] for i in star_ids])
        sims = x @ s.T
        best_star, star_sim = sims.argmax(axis=1), sims.max(axis=1)
        parts["star"] = weights.star * _z(star_sim)
        if len(star_ids) >= MIN_STARS_FOR_CLASSIFIER:
            neg = x if not hidden else np.vstack([x, np.stack(list(hidden.values()))])
            nw = np.concatenate([np.ones(n), np.full(len(hidden), 3.0)])
            w = logistic_regression(s, neg, weights.l2, nw)
            parts["classifier"] = weights.classifier * _z(x @ w[:-1] + w[-1])
    topic_sim = best_topic = None
    if topic_vectors is not None and len(topic_vectors):
        sims = x @ np.atleast_2d(np.asarray(topic_vectors, dtype=np.float32)).T
        best_topic, topic_sim = sims.argmax(axis=1), sims.max(axis=1)
        parts["topic"] = weights.topic * _z(topic_sim)
    authors = [_matches_author(p, profile.authors) for p in cands]
    if profile.authors:
        parts["author"] = weights.author * np.array([a is not None for a in authors], dtype=float)
    if hidden:
        parts["hidden"] = -weights.hidden * _z((x @ np.stack(list(hidden.values())).T).max(axis=1))
    votes = np.log1p(np.array([max(p.upvotes or 0, 0) for p in cands], dtype=float))
    parts["popularity"] = weights.popularity * _z(votes)
    for v in parts.values():
        total += v

    out = []
    for i, p in enumerate(cands):
        said: list[tuple[float, str]] = []
        if authors[i]:
            said.append((parts["author"][i], f"author you follow: {authors[i]}"))
        if star_sim is not None and best_star is not None and star_sim[i] >= weights.star_reason:
            sid = star_ids[int(best_star[i])]
            gain = parts["star"][i] + parts.get("classifier", np.zeros(n))[i]
            said.append((gain, f"close to your star \u201c{titles.get(sid) or sid}\u201d"))
        if topic_sim is not None and best_topic is not None and topic_sim[i] >= weights.topic_reason:
            said.append((parts["topic"][i], f"matches your topic \u201c{profile.topics[int(best_topic[i])]}\u201d"))
        reasons = [text for _, text in sorted(said, key=lambda t: -t[0])]
        if not reasons:
            reasons = [_weak_reason(p, parts, i)]
        out.append(Ranked(p, float(total[i]), reasons, {k: float(v[i]) for k, v in parts.items()}))
    out.sort(key=lambda r: (-r.score, r.paper.paper_id))
    return out


def _weak_reason(paper: Paper, parts: dict[str, np.ndarray], i: int) -> str:
    """Why a paper with no strong match is where it is."""
    if "classifier" in parts and parts["classifier"][i] > 0:
        return "like the papers you starred (no single close match)"
    if paper.upvotes:
        return f"no close match to your profile; {paper.upvotes} upvotes"
    return "no close match to your profile"
