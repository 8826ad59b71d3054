"""Topic groups for a digest: spherical k-means on the week's centred paper vectors, the number of
topics picked by stability (the count whose groupings of random subsamples of the week agree most),
each paper placed with the topic whose members it is closest to on average (`settle`), and papers far
from their topic's members sent to "Other".

Called by `chains.digest.build_digest`; pure numpy, deterministic for a seed. Measured against HF's
keywords and arXiv fields on many weeks by `benchmarks/topics_bench.py` (results in
`benchmarks/results/topics.md`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

# Below this closeness to its topic (`closeness`: mean cosine to the topic's other members, centred
# vectors of the packaged embedder) a paper's place agrees with HF's keywords no better than chance, so
# it goes to "Other": the zero crossing of a linear fit of each paper's keyword silhouette on it, over
# the dev weeks of the topic benchmark (`python -m benchmarks.topics_bench --calibrate`; recalibrate
# for another embedder or another topic count rule). Before the stability count: 0.046.
OTHER_BELOW = 0.104
# Papers are finally placed by `x . m / |m|**ASSIGN_POWER`, m the mean of a topic's other members.
# k-means' cosine to the centre (power 1) divides by |m|, which is short for a loose topic, so a broad
# topic drew papers far from all its members (a junk drawer) and hid them from "Other". Picked on the
# dev weeks with the former silhouette count (`topics_bench`, keyword silhouette / modularity, "Other"
# cut refitted per power):
# 1 → 0.0160 / 0.1115, 0.5 → 0.0160 / 0.1108, 0 → 0.0163 / 0.1121, −0.5 → 0.0162 / 0.1124.
ASSIGN_POWER = 0.0
ScoresFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
# At most this share of a week goes to "Other" (the farthest first; issue #6's "≥ 95% in a topic").
# Kept after trying it uncapped (`topics_bench`, `topics_variants capped`, results/topics.md): on the dev
# weeks no cap lowered keyword modularity, put up to a third of a week in "Other", and about half of the
# papers it moved were ones a reader would keep in their topic; on the hand-checked test weeks it fixed
# no mixed topic.
OTHER_MAX_SHARE = 0.05
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


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of a labelling of unit rows under cosine distance (a paper alone scores 0)."""
    return float(row_silhouettes(x, labels).mean()) if len(np.unique(labels)) > 1 else 0.0


def row_silhouettes(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per row, its silhouette under cosine distance: how much closer it is to its own group than to
    the nearest other group (0 for a row alone in its group or when there is one group)."""
    dist = 1.0 - x @ x.T
    ks = np.unique(labels)
    if len(ks) < 2:
        return np.zeros(len(x))
    onehot = (labels[:, None] == ks[None, :]).astype(np.float32)
    sizes = onehot.sum(axis=0)
    sums = dist @ onehot  # per paper, summed distance to each cluster
    own = np.searchsorted(ks, labels)
    own_size = sizes[own] - 1
    a = np.where(own_size > 0, sums[np.arange(len(x)), own] / np.maximum(own_size, 1), 0.0)
    mean_to = sums / sizes
    mean_to[np.arange(len(x)), own] = np.inf
    b = mean_to.min(axis=1)
    return np.where(own_size > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)


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


def centre_similarity(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per row, its cosine to the centre of its own group (k-means put it in the group whose centre is closest)."""
    ks = np.unique(labels)
    cents = normalize_rows(np.stack([x[labels == k].mean(axis=0) for k in ks]))
    return np.einsum("ij,ij->i", x, cents[np.searchsorted(ks, labels)])


def topic_silhouettes(x: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """{topic label: its members' mean silhouette}: how well a topic stands apart from its neighbours."""
    rows = row_silhouettes(x, labels)
    return {int(j): float(rows[labels == j].mean()) for j in np.unique(labels)}


def dissolve_loose(x: np.ndarray, labels: np.ndarray, below: float | None) -> np.ndarray:
    """`labels` with every topic whose mean silhouette is under `below` dissolved, the loosest first,
    its papers moved to their closest remaining topic centre; at least two topics stay."""
    labels = labels.copy()
    while below is not None and len(np.unique(labels)) > 2:
        scores = topic_silhouettes(x, labels)
        loosest = min(scores, key=lambda j: (scores[j], j))
        if scores[loosest] >= below:
            break
        keep = np.array([j for j in scores if j != loosest])
        cents = normalize_rows(np.stack([x[labels == j].mean(axis=0) for j in keep]))
        moved = np.flatnonzero(labels == loosest)
        labels[moved] = keep[np.argmax(x[moved] @ cents.T, axis=1)]
    return labels


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


def settle(
    x: np.ndarray, labels: np.ndarray, power: float | None, rounds: int = 10, scores_fn: ScoresFn | None = None
) -> np.ndarray:
    """`labels` after moving each paper to the topic it scores highest with (`placement_scores`, or
    `scores_fn`: per paper and topic, and the topic labels), until nothing moves."""
    labels = labels.copy()
    for _ in range(rounds if power is not None else 0):
        scores, ks = scores_fn(x, labels) if scores_fn else placement_scores(x, labels, power)
        new = ks[np.argmax(scores, axis=1)]
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def _far_from_topics(
    x: np.ndarray, labels: np.ndarray, below: float | None, power: float | None, max_share: float | None
) -> list[int]:
    """Papers whose closeness to their own topic (`closeness`; power None: the cosine to its centre) is
    under `below`, the farthest first and at most `max_share` of the week (None: all of them)."""
    if below is None or len(x) < MIN_FOR_OTHER or len(np.unique(labels)) < 2:
        return []
    near = centre_similarity(x, labels) if power is None else closeness(x, labels, power)
    far = [int(i) for i in np.argsort(near, kind="stable") if near[i] < below]
    return far if max_share is None else far[: int(max_share * len(x))]


def cluster(
    vectors: np.ndarray,
    k: int | None = None,
    seed: int = 0,
    other_below: float | None = OTHER_BELOW,
    dissolve_below: float | None = None,
    assign_power: float | None = ASSIGN_POWER,
    max_other: float | None = OTHER_MAX_SHARE,
) -> tuple[list[list[int]], list[int]]:
    """Topic groups of row indices (largest first, each ordered by centrality) and the "Other" rows.

    `k=None` lets the data pick the topic count (`choose_k`). A topic whose mean silhouette is under
    `dissolve_below` is dissolved into the others (`dissolve_loose`; the former junk-drawer rule, off in
    the digest since the count is picked by stability, kept for the benchmark's comparison rows).
    A paper alone in its group joins the nearest group; then every paper moves to the topic it scores
    highest with (`settle`, `assign_power`; None: k-means' placement). A paper whose closeness to its
    topic (`closeness`; the cosine to its centre when `assign_power` is None) is under `other_below`
    (None: keep every paper in a topic) goes to "Other", the farthest first and at most `max_other`
    of the papers (None: no cap), and so does a topic left with one paper.
    """
    n = len(vectors)
    if n == 0:
        return [], []
    x = centred(normalize_rows(np.asarray(vectors, dtype=np.float32)))
    labels = spherical_kmeans(x, k, seed)[0] if k else choose_k(x, seed)[1]
    if n >= MIN_FOR_OTHER:
        sizes = np.bincount(labels, minlength=int(labels.max()) + 1)
        if (sizes >= 2).sum() >= 2:
            big = np.flatnonzero(sizes >= 2)
            cents = normalize_rows(np.stack([x[labels == j].mean(axis=0) for j in big]))
            for i in np.flatnonzero(sizes[labels] == 1):
                labels[i] = big[int(np.argmax(cents @ x[i]))]
        labels = dissolve_loose(x, labels, dissolve_below)
        labels = settle(x, labels, assign_power)
    other = _far_from_topics(x, labels, other_below, assign_power, max_other)
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
