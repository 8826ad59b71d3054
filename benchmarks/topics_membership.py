"""Paper-level membership for the digest's topics, tried on the DEV weeks (session 34, issue #16).

    python -m benchmarks.topics_membership [WORD...]  # dev weeks only; one row per variant (whose name has a WORD)
    python -m benchmarks.topics_membership stats      # only how well each membership signal tells off-field papers apart
    python -m benchmarks.topics_membership diff       # the dev papers the calibrated spread rule and the 5-nearest rule
                                                      # send to "Other" that the relative rule keeps, and back (hand read)

Every variant starts from the digest's topics with every paper in a topic (centred vectors, count by
stability, placed by closeness) and decides per paper whether it stays, by its own neighbourhood
instead of the one global `OTHER_BELOW`: most of its k nearest papers of the week are in its topic
(`neighbour_share`), or its closeness to its topic's other members lies inside the spread of the
members' closeness (`spread_score`: Tukey's fence, below the first quartile by 1.5 interquartile
ranges, a common outlier rule not fitted here; or that distance in interquartile ranges with a cut
calibrated like `OTHER_BELOW`, the 5th percentile of what papers of their topic's field show). The rest
go to "Other", the farthest first, at most `OTHER_MAX_SHARE` of the week. Scored like `topics_cohesion`
(keyword silhouette and modularity against HF's keywords; mixed topics and off-field papers by the
arXiv-field classifier), with k-means as the bar `topics_bench` must beat. The test and hand-check weeks
are never read here. Results: benchmarks/results/topics_handcheck4.md (not adopted).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from assistant.chains import clustering as C
from benchmarks.topics_bench import baseline
from benchmarks.topics_cohesion import absolute_too, auc
from benchmarks.topics_repr import Grouping, print_rows
from benchmarks.topics_tight import Rule, Weeks, by, dev_weeks, field_split
from benchmarks.topics_variants import dev_setup

Measure = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (centred rows, labels) -> per paper, low = leaves


def neighbour_share(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per paper, the share of its `k` most similar papers of the week (itself excluded) that are in its topic."""
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    near = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return (labels[near] == labels[:, None]).mean(axis=1)


def spread_score(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per paper, how far its closeness (`clustering.closeness`) lies above its topic's first quartile, in
    interquartile ranges of the topic's closeness: under -1.5 it is outside Tukey's fence."""
    near = C.closeness(x, labels)
    out = np.zeros(len(x))
    for k in np.unique(labels):
        g = labels == k
        q1, q3 = np.quantile(near[g], [0.25, 0.75])
        out[g] = (near[g] - q1) / max(float(q3 - q1), 1e-6)
    return out


def nearest(k: int) -> Measure:
    return lambda x, labels: neighbour_share(x, labels, k)


def run(weeks: Weeks, rule: Rule) -> Callable[[], dict[str, Grouping]]:
    return lambda: {label: rule(raw, C.centred(raw), labels) for label, (raw, labels, _) in weeks.items()}


def main() -> None:
    dev, vectors, fields = dev_setup()
    weeks = dev_weeks(dev, vectors, fields)
    signals: dict[str, Measure] = {
        "relative closeness": C.relative_closeness,
        **{f"share of {k} nearest papers in the topic": nearest(k) for k in (3, 5, 10)},
        "closeness in IQRs above the topic's first quartile": spread_score,
    }
    cuts = {}
    for name, measure in signals.items():
        on, off = field_split(weeks, measure)
        cuts[name] = cut = float(np.quantile(on, 0.05))
        print(f"{name}: on-field {len(on)} (median {np.median(on):.3f}, 5th {cut:.3f}), off-field {len(off)} "
              f"(median {np.median(off):.3f}); AUC off-field lower {auc(off, on):.2f}; "
              f"on-field under the cut {np.mean(np.array(on) < cut):.1%}, off-field {np.mean(np.array(off) < cut):.1%}", flush=True)
    if "stats" in sys.argv[1:]:
        return
    cap = C.OTHER_MAX_SHARE
    spread_cut = cuts["closeness in IQRs above the topic's first quartile"]
    rules: dict[str, Rule] = {
        "current (relative closeness < 0.553, at most 20%)": by(C.relative_closeness, C.OTHER_BELOW, cap),
        **{f"most of its {k} nearest papers in its topic (share < 0.5 leaves), at most 20%": by(nearest(k), 0.5, cap) for k in (3, 5, 10)},
        **{f"share of {k} nearest papers < {cuts[f'share of {k} nearest papers in the topic']:.2f} (on-field 5th), at most 20%":
           by(nearest(k), cuts[f"share of {k} nearest papers in the topic"], cap) for k in (5, 10)},
        "outside the topic's Tukey fence (Q1 - 1.5 IQR), at most 20%": by(spread_score, -1.5, cap),
        "outside the topic's Tukey fence, uncapped": by(spread_score, -1.5, None),
        f"closeness < Q1 - {-spread_cut:.2f} IQR (on-field 5th), at most 20%": by(spread_score, spread_cut, cap),
        "relative rule or most of its 10 nearest elsewhere, at most 20%": absolute_too(0.5, nearest(10)),
        "relative rule or outside the Tukey fence, at most 20%": absolute_too(-1.5, spread_score),
    }
    if "diff" in sys.argv[1:]:
        names = [n for n in rules if n.startswith(("current", "closeness < Q1", "most of its 5 nearest"))]
        groupings = {n: run(weeks, rules[n])() for n in names}
        for w in dev:
            topic = {i: " / ".join(w.papers[j].title[:45] for j in g[:3]) for g in C.cluster(weeks[w.label][0], other_below=None)[0]
                     for i in g}
            for name in names[1:]:
                now, then = set(groupings[name][w.label][1]), set(groupings[names[0]][w.label][1])
                for i in sorted(now ^ then):
                    print(f"{w.label} | {name} | {'to Other' if i in now else 'kept'} | {topic[i]} | {w.papers[i].title}")
        return
    variants = {"k-means, k = sqrt(n/2) (baseline, everything in a topic)": lambda: {
        label: baseline(raw) for label, (raw, _, _) in weeks.items()}} | {name: run(weeks, rule) for name, rule in rules.items()}
    print_rows(dev, variants, fields)


if __name__ == "__main__":
    main()
