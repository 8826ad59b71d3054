"""The earlier digest clusterings kept for the topic benchmarks' comparison rows (`benchmarks/topics_former.py`):
the junk-drawer rule and the silhouette it reads."""

from __future__ import annotations

import numpy as np

from assistant.chains.clustering import centred, normalize_rows
from benchmarks.topics_former import cluster_before, dissolve_loose, silhouette, topic_silhouettes


def _planted(groups: int, per: int, noise: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dims = np.eye(12, dtype=np.float32)
    return np.stack([dims[j] + noise * rng.standard_normal(12) for j in range(groups) for _ in range(per)]).astype(np.float32)


def _themed(count: int, per: int) -> tuple[np.random.Generator, np.ndarray, np.ndarray, list[np.ndarray]]:
    """(the generator, the vector every paper shares, `count` unit themes, `per` tight papers of each theme)."""
    rng = np.random.default_rng(0)
    dim = 384
    common = rng.standard_normal(dim)
    themes = normalize_rows(rng.standard_normal((count, dim)))
    return rng, common, themes, [common + 3 * themes[j] + 0.1 * rng.standard_normal(dim) for j in range(count) for _ in range(per)]


def test_a_junk_drawer_topic_is_dissolved_into_the_topics_its_papers_are_closest_to() -> None:
    rng, common, themes, rows = _themed(4, 12)
    dim = len(common)
    # eight papers that each sit between two themes, with a large part of their own: a "topic" only by elimination
    mixed = [common + 1.5 * themes[i % 4] + 1.5 * themes[(i + 1) % 4] + 2.5 * normalize_rows(rng.standard_normal((1, dim)))[0]
             for i in range(8)]
    x = centred(normalize_rows(np.stack(rows + mixed).astype(np.float32)))
    labels = np.repeat(np.arange(5), [12, 12, 12, 12, 8])
    scores = topic_silhouettes(x, labels)
    assert scores[4] < 0.06 < min(scores[j] for j in range(4))
    after = dissolve_loose(x, labels, 0.06)
    assert np.array_equal(after[:48], labels[:48])  # the tight topics keep their papers
    assert all(after[48 + i] in (i % 4, (i + 1) % 4) for i in range(8))  # each to one of the themes it is made of
    assert np.array_equal(dissolve_loose(x, labels, None), labels)
    assert len(np.unique(dissolve_loose(x, labels, 0.99))) == 2


def test_silhouette_prefers_the_planted_grouping() -> None:
    x = normalize_rows(_planted(3, 6, 0.1))
    truth = np.repeat(np.arange(3), 6)
    assert silhouette(x, truth) > 0.8 > silhouette(x, np.arange(18) % 3)
    assert silhouette(x, np.zeros(18, dtype=int)) == 0.0


def test_the_previous_clustering_caps_other_at_five_percent() -> None:
    """Six themes of ten papers and four outsiders: the absolute cut, capped at 5% of 64, sends three away."""
    rng, common, _, rows = _themed(6, 10)
    rows += [common + 3 * normalize_rows(rng.standard_normal((1, len(common))))[0] for _ in range(4)]
    groups, other = cluster_before(np.stack(rows).astype(np.float32))
    assert len(other) == 3 and set(other) < set(range(60, 64)) and len(groups) == 6
