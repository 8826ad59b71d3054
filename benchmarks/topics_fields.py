"""A field signal nobody here wrote, for the topic benchmark: arXiv primary categories.

The shared arXiv listing (`/work/shared/data/arxiv_cs_abstracts`, 3,788 cs papers with their
`primary_category`, collected by a third-party digest bot) is embedded with the configured embedder
and a multinomial logistic regression (L2, class-balanced, fitted with scipy's L-BFGS at benchmark
time, never shipped) learns four fields from it: vision (cs.CV, cs.GR, eess.IV, cs.MM), robotics
(cs.RO, eess.SY), language (cs.CL) and machine learning (cs.LG, stat.ML). cs.AI (a catch-all of
agents, reasoning and planning) and categories with fewer than 30 papers are left out. The HF papers
that are also in the arXiv listing are held out of the fit and used to check it on HF papers.

What it can and cannot show: the arXiv set is mostly vision and robotics (2,900 of 3,400 training
papers), with a few hundred language and ML papers, many from one month (2023-12); a confident
prediction tells vision and robotics papers from language and ML papers well, language from ML less
well, and it knows no other field (an HF paper on chemistry or recommendation gets the nearest of
the four, usually with low confidence, so it is not counted). It says nothing about themes inside a
field (agents vs. LLM architecture are both "language").

Measures of a grouping (each topic's papers; "Other" is not a topic): a paper's field counts when
the classifier's probability for it clears `CONFIDENT` (picked by cross-validation on the arXiv set
for ≥ 90% precision on the HF papers in it); a topic's field is the most common confident field of
its members; a confident paper of another field is "off-field"; a topic is "mixed" when at least
`MIXED_MIN` of its papers and `MIXED_SHARE` of its confident papers are off-field.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from assistant.papers import paper_text
from benchmarks.topics_data import CACHE

ARXIV = Path("/work/shared/data/arxiv_cs_abstracts/arxiv_cs_abstracts.jsonl.gz")
FIELDS = ("vision", "robotics", "language", "machine learning")
CATEGORY_FIELD = {
    "cs.CV": "vision", "cs.GR": "vision", "eess.IV": "vision", "cs.MM": "vision",
    "cs.RO": "robotics", "eess.SY": "robotics",
    "cs.CL": "language",
    "cs.LG": "machine learning", "stat.ML": "machine learning",
}
L2 = 1.0  # weight decay of the regression (per paper, on unit vectors); checked by cross-validation in `check`
CONFIDENT = 0.8  # a field counts when its probability clears this (see `check`: precision on held-out HF papers)
MIXED_MIN = 2  # a topic is mixed when at least this many of its confident papers are off-field ...
MIXED_SHARE = 0.1  # ... and they are at least this share of its confident papers (one misread paper is not a mix)


@dataclass
class Listing:
    ids: list[str]
    texts: list[str]
    fields: np.ndarray  # index into FIELDS


def load_listing(path: Path = ARXIV) -> Listing:
    """The arXiv papers whose primary category maps to a field."""
    if not path.exists():
        raise SystemExit(f"{path} not found: the field measure reads the shared arXiv listing there")
    ids, texts, fields = [], [], []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            field = CATEGORY_FIELD.get(row["primary_category"])
            if field:
                ids.append(str(row["arxiv_id"]))
                texts.append(paper_text(" ".join(row["title"].split()), row["abstract"]))
                fields.append(FIELDS.index(field))
    return Listing(ids, texts, np.array(fields))


def listing_vectors(listing: Listing, embed: Callable[[list[str]], np.ndarray]) -> np.ndarray:
    """Unit vectors of the listing's texts, cached under the bench cache directory."""
    key = hashlib.sha256("\n".join(listing.texts).encode()).hexdigest()[:16]
    cache = CACHE / f"arxiv_vectors_{key}.npy"
    if cache.exists():
        return np.load(cache)
    CACHE.mkdir(parents=True, exist_ok=True)
    mat = np.asarray(embed(listing.texts), dtype=np.float32)
    mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    np.save(cache, mat)
    return mat


class FieldModel:
    """Multinomial logistic regression (L2, class-balanced) on unit paper vectors."""

    def __init__(self, x: np.ndarray, y: np.ndarray, l2: float = L2, classes: int = len(FIELDS)) -> None:
        k, d = classes, x.shape[1]
        counts = np.bincount(y, minlength=k).astype(float)
        weight = (len(y) / (k * np.maximum(counts, 1)))[y]
        onehot = np.eye(k)[y]
        xb = np.hstack([x, np.ones((len(x), 1))])

        def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
            w = flat.reshape(d + 1, k)
            z = xb @ w
            z -= z.max(axis=1, keepdims=True)
            p = np.exp(z)
            p /= p.sum(axis=1, keepdims=True)
            nll = -float(np.sum(weight * np.log(np.maximum((p * onehot).sum(axis=1), 1e-12))))
            grad = xb.T @ ((p - onehot) * weight[:, None])
            reg = w.copy()
            reg[-1] = 0.0  # the bias is not shrunk
            return (nll + 0.5 * l2 * float(np.sum(reg * w))) / len(y), ((grad + l2 * reg) / len(y)).ravel()

        self.w = minimize(loss, np.zeros((d + 1) * k), jac=True, method="L-BFGS-B", options={"maxiter": 500}).x.reshape(d + 1, k)

    def proba(self, x: np.ndarray) -> np.ndarray:
        z = np.hstack([x, np.ones((len(x), 1))]) @ self.w
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)


def confident_fields(proba: np.ndarray, cut: float = CONFIDENT) -> np.ndarray:
    """Per paper, its field index when the model is confident, else -1."""
    return np.where(proba.max(axis=1) >= cut, proba.argmax(axis=1), -1)


def topic_fields(groups: Sequence[Sequence[int]], fields: np.ndarray) -> tuple[int, int, int, int]:
    """(mixed topics, topics, off-field papers, confident papers in topics) of a grouping."""
    mixed = off = confident = 0
    for g in groups:
        known = [int(fields[i]) for i in g if fields[i] >= 0]
        if not known:
            continue
        _, top = Counter(known).most_common(1)[0]
        stray = len(known) - top
        off += stray
        confident += len(known)
        mixed += stray >= MIXED_MIN and stray >= MIXED_SHARE * len(known)
    return mixed, len(groups), off, confident


def cross_validate(
    x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0, l2: float = L2, classes: int = len(FIELDS)
) -> np.ndarray:
    """Out-of-fold probabilities for every row (stratification is not needed at these sizes)."""
    order = np.random.default_rng(seed).permutation(len(y))
    out = np.zeros((len(y), classes))
    for f in range(folds):
        test = order[f::folds]
        train = np.setdiff1d(order, test)
        out[test] = FieldModel(x[train], y[train], l2, classes).proba(x[test])
    return out


def report(y: np.ndarray, proba: np.ndarray, cut: float = CONFIDENT) -> list[str]:
    """Per field: papers, recall of a confident prediction, precision of it; and overall accuracy."""
    pred = confident_fields(proba, cut)
    lines = [f"accuracy (argmax) {np.mean(proba.argmax(axis=1) == y):.3f}; confident (p >= {cut}) "
             f"{np.mean(pred >= 0):.1%} of papers, precision {np.mean(pred[pred >= 0] == y[pred >= 0]):.3f}"]
    for k, name in enumerate(FIELDS):
        said = pred == k
        lines.append(f"  {name}: {int(np.sum(y == k))} papers, confidently found {np.mean(pred[y == k] == k):.2f}, "
                     f"precision {np.mean(y[said] == k) if said.any() else float('nan'):.2f} ({int(said.sum())} said)")
    return lines


def dev_fields(papers: Sequence[str], vectors: dict[str, np.ndarray], embed: Callable[[list[str]], np.ndarray]) -> dict[str, int]:
    """{paper id: confident field index or -1} for the given HF papers, from a model fitted on the arXiv
    listing without the HF papers in it (held out, as in `topics_bench`)."""
    listing = load_listing()
    train = np.array([i not in vectors for i in listing.ids])
    model = FieldModel(listing_vectors(listing, embed)[train], listing.fields[train])
    ids = sorted(set(papers))
    return dict(zip(ids, confident_fields(model.proba(np.stack([vectors[i] for i in ids]))).tolist()))
