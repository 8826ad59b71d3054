"""Topic groups for a digest: spherical k-means on paper vectors, loners to "Other".

Called by `chains.digest.build_digest`; pure numpy, deterministic for a seed.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

MAX_OTHER_SHARE = 0.05  # at most 5% of a period's papers may land in "Other"


def auto_k(n: int) -> int:
    """Number of topic groups for `n` papers: about sqrt(n/2) (8 for a 120-paper week)."""
    return max(1, min(n, round(math.sqrt(n / 2))))


def normalize_rows(rows: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
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
            c = normalize_rows(c)
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
    x = normalize_rows(np.asarray(vectors, dtype=np.float32))
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
        centroid = normalize_rows(x[members].mean(axis=0, keepdims=True))[0]
        members.sort(key=lambda i: -float(x[i] @ centroid))
        groups.append(members)
    groups.sort(key=lambda g: (-len(g), g[0]))
    return groups, sorted(other)

