"""The digest's earlier topic clusterings, kept for the topic benchmarks' comparison rows (never shipped).

- `cluster_before`: the clustering until 2026-12-07 (session 28): "Other" by an absolute closeness cut
  (`PREVIOUS_OTHER`, fitted against HF's keywords), at most 5% of the week; optionally the junk-drawer
  rule (`dissolve_loose`) that the one before it used.
- `former`: the one before that: topic count by silhouette (`silhouette_k`), loose topics dissolved,
  "Other" at its own cut.

`topics_bench` reports both beside the digest; `topics_variants`, `topics_repr` and `topics_domain`
were run on them (their tables in benchmarks/results/topics.md).
"""

from __future__ import annotations

import numpy as np

from assistant.chains.clustering import (
    ASSIGN_POWER,
    MIN_FOR_OTHER,
    centred,
    closeness,
    initial_labels,
    k_range,
    normalize_rows,
    settle,
    spherical_kmeans,
    split_off,
)

# The clustering until session 28: "Other" under this closeness (mean cosine to the topic's other
# members, centred vectors), the zero crossing of a linear fit of keyword silhouette on it (dev weeks),
# at most PREVIOUS_MAX_SHARE of the week.
PREVIOUS_OTHER = 0.104
PREVIOUS_MAX_SHARE = 0.05
# The one before (until 2026-12-07): topic count by silhouette, topics whose mean silhouette was under
# 0.06 dissolved (the zero crossing of a topic's mean keyword silhouette on it, dev weeks), "Other"
# under 0.046 (fitted the same way on that clustering).
FORMER_DISSOLVE = 0.06
FORMER_OTHER = 0.046


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


def silhouette(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of a labelling of unit rows under cosine distance (a paper alone scores 0)."""
    return float(row_silhouettes(x, labels).mean()) if len(np.unique(labels)) > 1 else 0.0


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


def cluster_before(
    vectors: np.ndarray,
    k: int | None = None,
    other_below: float | None = PREVIOUS_OTHER,
    dissolve_below: float | None = None,
    max_other: float | None = PREVIOUS_MAX_SHARE,
) -> tuple[list[list[int]], list[int]]:
    """The digest clustering before session 28 (same groups as `clustering.cluster` when every paper
    stays in a topic): "Other" takes the papers whose `closeness` is under `other_below`, at most
    `max_other` of the week; topics loose by silhouette dissolved first when `dissolve_below` is set."""
    if len(vectors) == 0:
        return [], []
    x = centred(normalize_rows(np.asarray(vectors, dtype=np.float32)))
    labels = initial_labels(x, k)
    if len(x) >= MIN_FOR_OTHER:
        labels = settle(x, dissolve_loose(x, labels, dissolve_below), ASSIGN_POWER)
    return split_off(x, labels, closeness(x, labels), other_below, max_other)


def silhouette_k(x: np.ndarray) -> int:
    """The former topic count: the best silhouette among the readable counts of `k_range`."""
    lo, hi = k_range(len(x))
    scores = {k: silhouette(x, spherical_kmeans(x, k)[0]) if k > 1 else 0.0 for k in range(lo, hi + 1)}
    return max(scores, key=lambda k: (scores[k], -k))


def former(x: np.ndarray, other: bool = True) -> tuple[list[list[int]], list[int]]:
    """The former digest clustering (silhouette count, loose topics dissolved, Other at its former cut)."""
    return cluster_before(x, k=silhouette_k(centred(x)), dissolve_below=FORMER_DISSOLVE,
                          other_below=FORMER_OTHER if other else None)
