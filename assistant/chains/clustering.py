"""Topic groups for a digest: spherical k-means on the week's centred paper vectors, the number of
topics picked by stability (the count whose groupings of random subsamples of the week agree most),
each paper placed with the topic whose members it is closest to on average (`settle`), and papers far
from their topic's members, compared with its typical member, sent to "Other".

Called by `chains.digest.build_digest`; pure numpy, deterministic for a seed. Measured against HF's
keywords and arXiv fields on many weeks by `benchmarks/topics_bench.py` (results in
`benchmarks/results/topics.md`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# Papers are finally placed by `x . m / |m|**ASSIGN_POWER`, m the mean of a topic's other members.
# k-means' cosine to the centre (power 1) divides by |m|, which is short for a loose topic, so a broad
# topic drew papers far from all its members (a junk drawer) and hid them from "Other". Picked on the
# dev weeks with the former silhouette count (`topics_bench`, keyword silhouette / modularity, "Other"
# cut refitted per power):
# 1 → 0.0160 / 0.1115, 0.5 → 0.0160 / 0.1108, 0 → 0.0163 / 0.1121, −0.5 → 0.0162 / 0.1124.
ASSIGN_POWER = 0.0
ScoresFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
# A paper stays in its topic only when its closeness to the topic's other members, relative to its
# topic's typical member (`relative_closeness`), is at least OTHER_BELOW; the rest go to "Other". The
# cut is what papers that share their topic's field show: the 5th percentile of their relative closeness
# (fields: the arXiv-field classifier of the topic benchmark, confident papers only), over the dev weeks
# with every paper in a topic (`python -m benchmarks.topics_bench --calibrate`; recalibrate for another
# embedder or another topic count rule). So a paper of the topic's field is sent away about one time in
# twenty, and papers of other fields, which sit lower, more often. Relative, not absolute: the former
# absolute cut (0.104 mean cosine, fitted against HF's keywords) would have sent a quarter of a week to
# "Other" uncapped, mostly from loose topics, and was capped at 5%, which left most outsiders in place.
OTHER_BELOW = 0.553
# At most this share of a week goes to "Other" (the farthest first): a digest whose papers are mostly in
# "Other" is not grouped. The cut above sends 11% of a dev week there on average, up to 21%, so this
# binds only in the odd week. It gives up issue #6's "≥ 95% of a week in a topic" (about 89%; README).
OTHER_MAX_SHARE = 0.2
# The topic count is the one whose k-means groupings of STABILITY_RUNS random subsamples (each
# STABILITY_SHARE of the week) agree most with each other (adjusted Rand index on the papers two
# subsamples share). Not tuned: a common setting of subsampling stability, checked on the dev weeks
# (`benchmarks/topics_repr.py`) against the former silhouette pick, which chose 3.7 broad topics a week
# whose papers mixed arXiv fields more often than k-means' (results/topics.md).
STABILITY_RUNS = 6
STABILITY_SHARE = 0.8
MIN_TO_SPLIT = 6  # fewer papers than this make one topic
MIN_FOR_OTHER = 10  # below this many papers every paper stays in a topic (too few outsiders to test against)


def normalize_rows(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)


def k_range(n: int) -> tuple[int, int]:
    """The topic counts a digest of `n` papers may have: about sqrt(n/4) to sqrt(n) (a readable list);
    a handful of papers is one topic."""
    if n < MIN_TO_SPLIT:
        return 1, 1
    hi = min(n - 1, max(2, round(math.sqrt(n))))
    return min(hi, max(2, round(math.sqrt(n / 4)))), hi


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
            c = normalize_rows(c)
        score = float(np.sum(np.max(x @ c.T, axis=1)))
        if best is None or score > best[0] + 1e-9:
            best = (score, labels.copy(), c.copy())
    assert best is not None
    return best[1], best[2]


def centred(x: np.ndarray) -> np.ndarray:
    """Unit rows minus the period's mean direction: what every paper of a week shares (ML jargon) drops out."""
    c = normalize_rows(x - x.mean(axis=0, keepdims=True))
    return c if len(x) > 2 and float(np.abs(c).sum()) > 0 else x


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labellings of the same rows: 1 when they group the rows alike, about 0
    when they agree no more than chance."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((int(ia.max()) + 1, int(ib.max()) + 1))
    np.add.at(table, (ia, ib), 1)

    def pairs(v: np.ndarray) -> float:
        return float(np.sum(v * (v - 1) / 2))

    both, rows, cols = pairs(table), pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = rows * cols / max(len(a) * (len(a) - 1) / 2, 1)
    span = (rows + cols) / 2 - expected
    return (both - expected) / span if span > 0 else 1.0


def stability(
    x: np.ndarray, k: int, seed: int = 0, runs: int = STABILITY_RUNS, share: float = STABILITY_SHARE
) -> float:
    """How alike k-means groups `runs` random subsamples of the rows: the mean adjusted Rand index of
    every two subsamples' labels on the rows they share. A count the data supports gives the same
    groups whichever papers are left out; a count that cuts through a theme cuts it differently each time."""
    n = len(x)
    labels = []
    for r in range(runs):
        rows = np.sort(np.random.default_rng(seed + 100 + r).choice(n, max(k, int(share * n)), replace=False))
        full = np.full(n, -1)
        full[rows] = spherical_kmeans(x[rows], k, seed + r, restarts=2)[0]
        labels.append(full)
    agree = []
    for i in range(runs):
        for j in range(i + 1, runs):
            shared = (labels[i] >= 0) & (labels[j] >= 0)
            agree.append(adjusted_rand(labels[i][shared], labels[j][shared]))
    return float(np.mean(agree))


def choose_k(x: np.ndarray, seed: int = 0) -> tuple[int, np.ndarray]:
    """(k, labels) with the most stable grouping (`stability`) among the readable topic counts of
    `k_range`; the fewer topics on a tie."""
    lo, hi = k_range(len(x))
    best: tuple[float, int] | None = None
    for k in range(lo, hi + 1):
        score = stability(x, k, seed) if k > 1 else 0.0
        if best is None or score > best[0] + 1e-9:
            best = (score, k)
    assert best is not None
    return best[1], spherical_kmeans(x, best[1], seed)[0]


def placement_scores(x: np.ndarray, labels: np.ndarray, power: float) -> tuple[np.ndarray, np.ndarray]:
    """(per paper and topic, `x . m / |m|**power` with m the mean of the topic's members other than the
    paper; the sorted topic labels). power 1 is the cosine to the topic's centre; under 1 a loose topic's
    short mean vector no longer inflates the score of the papers far from its members."""
    ks = np.unique(labels)
    onehot = (labels[:, None] == ks[None, :]).astype(np.float32)
    sizes = onehot.sum(axis=0)
    sums = (x.T @ onehot).T  # per topic, the sum of its members' vectors
    means = sums / sizes[:, None]
    scores = (x @ means.T) / np.maximum(np.linalg.norm(means, axis=1), 1e-12) ** power
    own = np.searchsorted(ks, labels)
    rows = np.arange(len(x))
    loo = (sums[own] - x) / np.maximum(sizes[own] - 1, 1)[:, None]  # own topic without the paper itself
    own_score = np.einsum("ij,ij->i", x, loo) / np.maximum(np.linalg.norm(loo, axis=1), 1e-12) ** power
    scores[rows, own] = np.where(sizes[own] > 1, own_score, -np.inf)
    return scores, ks


def closeness(x: np.ndarray, labels: np.ndarray, power: float = ASSIGN_POWER) -> np.ndarray:
    """Per paper, its score (`placement_scores`) with its own topic: how close it is to its topic's other members."""
    scores, ks = placement_scores(x, labels, power)
    return scores[np.arange(len(x)), np.searchsorted(ks, labels)]


def relative_closeness(x: np.ndarray, labels: np.ndarray, power: float = ASSIGN_POWER) -> np.ndarray:
    """Per paper, its `closeness` over the median closeness of its topic's members: how close it is to
    its topic compared with the topic's typical member (a loose topic's members are all far apart)."""
    near = closeness(x, labels, power)
    ks, own = np.unique(labels, return_inverse=True)
    medians = np.array([np.median(near[own == j]) for j in range(len(ks))])
    return near / np.maximum(medians[own], 1e-6)


def settle(x: np.ndarray, labels: np.ndarray, power: float, rounds: int = 10, scores_fn: ScoresFn | None = None) -> np.ndarray:
    """`labels` after moving each paper to the topic it scores highest with (`placement_scores`, or
    `scores_fn`: per paper and topic, and the topic labels), until nothing moves."""
    labels = labels.copy()
    for _ in range(rounds):
        scores, ks = scores_fn(x, labels) if scores_fn else placement_scores(x, labels, power)
        new = ks[np.argmax(scores, axis=1)]
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def initial_labels(x: np.ndarray, k: int | None = None, seed: int = 0) -> np.ndarray:
    """Spherical k-means labels of the (centred) rows, `k=None`: the count by stability (`choose_k`); in
    a week big enough to have outsiders, a paper alone in its group joins the group with the closest centre."""
    labels = spherical_kmeans(x, k, seed)[0] if k else choose_k(x, seed)[1]
    sizes = np.bincount(labels, minlength=int(labels.max()) + 1)
    if len(x) >= MIN_FOR_OTHER and (sizes >= 2).sum() >= 2:
        big = np.flatnonzero(sizes >= 2)
        cents = normalize_rows(np.stack([x[labels == j].mean(axis=0) for j in big]))
        for i in np.flatnonzero(sizes[labels] == 1):
            labels[i] = big[int(np.argmax(cents @ x[i]))]
    return labels


def split_off(
    x: np.ndarray, labels: np.ndarray, near: np.ndarray, below: float | None, max_share: float | None
) -> tuple[list[list[int]], list[int]]:
    """(topic groups, largest first, each ordered by closeness to its centre; "Other"): the papers whose
    `near` is under `below` go to "Other", the lowest first and at most `max_share` of the week (None:
    no cap), and so does a topic left with one paper. A week under MIN_FOR_OTHER papers, or of one
    topic, keeps every paper in a topic."""
    other: list[int] = []
    if below is not None and len(x) >= MIN_FOR_OTHER and len(np.unique(labels)) >= 2:
        other = [int(i) for i in np.argsort(near, kind="stable") if near[i] < below]
        other = other if max_share is None else other[: int(max_share * len(x))]
    groups: list[list[int]] = []
    for j in np.unique(labels):
        members = [i for i in np.flatnonzero(labels == j).tolist() if i not in other]
        if len(members) < (2 if other else 1):
            other += members
            continue
        centroid = normalize_rows(x[members].mean(axis=0, keepdims=True))[0]
        members.sort(key=lambda i: -float(x[i] @ centroid))
        groups.append(members)
    groups.sort(key=lambda g: (-len(g), g[0]))
    return groups, sorted(set(other))


def cluster(
    vectors: np.ndarray,
    k: int | None = None,
    seed: int = 0,
    other_below: float | None = OTHER_BELOW,
    max_other: float | None = OTHER_MAX_SHARE,
) -> tuple[list[list[int]], list[int]]:
    """Topic groups of row indices (largest first, each ordered by centrality) and the "Other" rows.

    The week's vectors are centred; `k=None` lets the data pick the topic count (`initial_labels`);
    every paper then moves to the topic whose members it is closest to (`settle`). A paper whose
    `relative_closeness` to its topic is under `other_below` (None: keep every paper in a topic) goes to
    "Other", the farthest first and at most `max_other` of the papers (None: no cap).
    """
    if len(vectors) == 0:
        return [], []
    x = centred(normalize_rows(np.asarray(vectors, dtype=np.float32)))
    labels = initial_labels(x, k, seed)
    if len(x) >= MIN_FOR_OTHER:
        labels = settle(x, labels, ASSIGN_POWER)
    return split_off(x, labels, relative_closeness(x, labels), other_below, max_other)
