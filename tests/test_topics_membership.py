"""The paper-level membership signals tried for issue #16 (`benchmarks/topics_membership.py`)."""

from __future__ import annotations

import numpy as np

from assistant.chains.clustering import normalize_rows
from benchmarks.topics_membership import neighbour_share, spread_score


def _two_themes_and_a_stray() -> tuple[np.ndarray, np.ndarray]:
    """Two tight themes of eight papers each; the last paper is of a third theme leaning to the second, labelled with the first."""
    rng = np.random.default_rng(3)
    themes = np.eye(16)[:3]
    rows = [themes[j] + 0.15 * rng.standard_normal(16) for j in (0, 1) for _ in range(8)]
    rows.append(themes[2] + 0.6 * themes[1] + 0.15 * rng.standard_normal(16))
    return normalize_rows(np.stack(rows)), np.array([0] * 8 + [1] * 8 + [0])


def test_a_paper_among_its_topic_has_its_nearest_papers_there_and_a_stray_has_fewer() -> None:
    x, labels = _two_themes_and_a_stray()
    share = neighbour_share(x, labels, 5)
    assert share[:16].min() >= 0.8
    assert share[16] <= 0.2


def test_the_stray_is_outside_its_topics_tukey_fence_and_the_members_are_not() -> None:
    x, labels = _two_themes_and_a_stray()
    spread = spread_score(x, labels)
    assert spread[16] < -1.5
    assert spread[:16].min() > -1.5
    assert int(np.argmin(spread)) == 16
