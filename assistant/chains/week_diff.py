"""New vs last week: how many of the previous period's papers would fall in each of this period's topics.

Called by `chains.digest.build_digest` after the topics are composed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from assistant.chains.clustering import normalize_rows


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



def compare_weeks(
    previous: tuple[str, str, str],
    topics: Sequence[tuple[str, int]],
    centroids: Sequence[np.ndarray],
    thresholds: Sequence[float],
    previous_vectors: dict[str, np.ndarray],
    n_this: int,
) -> WeekChange:
    """Count last period's papers that would fall in each of this period's topics (title, size).

    `previous` is the previous period's (label, since, until). A previous paper counts for the
    topic whose centroid it is closest to, if it is at least as close as the topic's least
    typical member this period (so it would have fitted in the group). Shares, not counts, are
    compared, since periods differ in size. `new`: no such paper last period; `grew`: at least
    2 more papers and 1.5x the share.
    """
    counts = [0] * len(topics)
    if previous_vectors and centroids:
        x = normalize_rows(np.stack(list(previous_vectors.values())))
        sims = x @ np.stack(centroids).T
        for row in sims:
            j = int(np.argmax(row))
            if row[j] >= thresholds[j]:
                counts[j] += 1
    n_prev = len(previous_vectors)
    label, since, until = previous
    change = WeekChange(previous=label, previous_since=since, previous_until=until, previous_papers=n_prev)
    for (title, now), before in zip(topics, counts):
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
        item = TopicChange(title=title, this_week=now, last_week=before, status=status)
        change.topics.append(item)
        if status == "new":
            change.appeared.append(title)
        elif status == "grew":
            change.grew.append(item)
    return change
