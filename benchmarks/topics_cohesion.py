"""Mixed topics by cohesion, tried on the DEV weeks (session 33, issue #16).

    python -m benchmarks.topics_cohesion [WORD...]  # dev weeks only; one row per variant (whose name has a WORD)
    python -m benchmarks.topics_cohesion stats      # only how well each cohesion signal tells mixed topics apart

Every variant starts from the digest's clustering (centred vectors, count by stability, placed by
closeness) and changes one thing: a loose topic (its members' median closeness to each other under a
cut) dissolved, its papers to "Other" or re-placed; a minimum absolute closeness for membership on
top of the relative rule; the topic count picked per week by the modularity of the week's own
similarity graph (no keywords) or the largest readable count. Cuts are calibrated like `OTHER_BELOW`:
a low percentile of what topics (papers) of one arXiv field show (`topics_fields`, confident papers),
never against the scores below. Scored like `topics_tight` (keyword silhouette and modularity against
HF's keywords; mixed topics and off-field papers by the arXiv-field classifier). The test weeks and
the hand-check weeks are never read here. Results: benchmarks/results/topics_handcheck3.md.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable

import numpy as np

from assistant.chains import clustering as C
from benchmarks.topics_bench import on_off_field
from benchmarks.topics_fields import MIXED_MIN, MIXED_SHARE
from benchmarks.topics_repr import Grouping, print_rows
from benchmarks.topics_tight import dev_weeks
from benchmarks.topics_variants import dev_setup

Weeks = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # label -> (raw rows, labels, confident fields)


def cohesion(x: np.ndarray, labels: np.ndarray) -> dict[int, float]:
    """Per topic, the median closeness (`clustering.closeness`) of its members: how alike a typical member is to the rest."""
    near = C.closeness(x, labels)
    return {int(k): float(np.median(near[labels == k])) for k in np.unique(labels)}


def verdict(known: np.ndarray) -> bool | None:
    """True when the topic is mixed by the field measure, False when its >= 3 confident papers are of one field, None otherwise."""
    known = known[known >= 0]
    if len(known) < 3:
        return None
    stray = len(known) - Counter(known.tolist()).most_common(1)[0][1]
    if stray >= MIXED_MIN and stray >= MIXED_SHARE * len(known):
        return True
    return False if stray == 0 else None


def nth(q: float) -> str:
    """0.02 -> "2nd", 0.05 -> "5th": a percentile's name."""
    n = int(round(100 * q))
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10 if n not in (11, 12, 13) else 0, 'th')}"


def auc(pos: list[float], neg: list[float]) -> float:
    """P(a mixed topic's signal is lower than a one-field topic's)."""
    a, b = np.array(pos)[:, None], np.array(neg)[None, :]
    return float(np.mean(a < b) + 0.5 * np.mean(a == b))


def signals(weeks: Weeks) -> tuple[dict[str, tuple[list[float], list[float]]], list[float]]:
    """({signal: (values of mixed topics, of one-field topics)}, cohesion of the one-field topics)."""
    out: dict[str, tuple[list[float], list[float]]] = {"cohesion": ([], []), "cohesion over the week's median": ([], []),
                                                      "lowest-quartile closeness": ([], []),
                                                      "modularity term per paper": ([], [])}
    for raw, labels, known in weeks.values():
        x = C.centred(raw)
        coh = cohesion(x, labels)
        week_median = float(np.median(list(coh.values())))
        near = C.closeness(x, labels)
        for k in np.unique(labels):
            v = verdict(known[labels == k])
            if v is None:
                continue
            side = 0 if v else 1
            out["cohesion"][side].append(coh[int(k)])
            out["cohesion over the week's median"][side].append(coh[int(k)] / max(week_median, 1e-6))
            out["lowest-quartile closeness"][side].append(float(np.quantile(near[labels == k], 0.25)))
            g = labels == k
            out["modularity term per paper"][side].append(topic_modularity(x, labels)[int(k)] / int(g.sum()))
    return out, out["cohesion"][1]


def dissolve(cut: float, rehome: bool) -> Callable[[np.ndarray, np.ndarray, np.ndarray], Grouping]:
    """A topic whose cohesion is under `cut` is dissolved: its papers go to "Other" (`rehome`: are placed
    with the other topics and stay only where the relative rule keeps them); then the relative rule."""
    def rule(raw: np.ndarray, x: np.ndarray, labels: np.ndarray) -> Grouping:
        coh = cohesion(x, labels)
        loose = [k for k, c in coh.items() if c < cut]
        if not loose or len(loose) == len(coh):
            return C.split_off(x, labels, C.relative_closeness(x, labels), C.OTHER_BELOW, C.OTHER_MAX_SHARE)
        out = np.isin(labels, loose)
        inside = np.flatnonzero(~out)
        rel = np.full(len(x), -np.inf)
        if rehome:
            new = labels.copy()
            ks = np.unique(labels[inside])
            means = np.stack([x[inside][labels[inside] == k].mean(axis=0) for k in ks])
            new[out] = ks[np.argmax(x[out] @ means.T, axis=1)]
            rel = C.relative_closeness(x, new)
            labels = new
        else:
            rel[inside] = C.relative_closeness(x[inside], labels[inside])
        groups, other = C.split_off(x, labels, rel, C.OTHER_BELOW, None)
        return groups, other
    return rule


def isolation(x: np.ndarray, labels: np.ndarray | None = None, m: int = 3) -> np.ndarray:
    """Per paper, its mean cosine to its `m` most similar papers of the week, whatever their topic: low for a
    paper with no near neighbour at all (a field nobody else wrote on that week), whichever topic holds it."""
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    return np.sort(sim, axis=1)[:, -m:].mean(axis=1)


def absolute_too(cut: float, measure: Callable[..., np.ndarray] = C.closeness) -> Callable[[np.ndarray, np.ndarray, np.ndarray], Grouping]:
    """The relative rule, and a paper whose `measure` is under `cut` goes to "Other" as well (same 20% cap)."""
    def rule(raw: np.ndarray, x: np.ndarray, labels: np.ndarray) -> Grouping:
        rel, near = C.relative_closeness(x, labels), measure(x, labels)
        score = np.where(near < cut, np.minimum(rel, C.OTHER_BELOW - 1e-3) - 1.0 + near, rel)
        return C.split_off(x, labels, score, C.OTHER_BELOW, C.OTHER_MAX_SHARE)
    return rule


def topic_modularity(x: np.ndarray, labels: np.ndarray, resolution: float = 1.0) -> dict[int, float]:
    """Per topic, its term of the Newman modularity (at `resolution`) on the graph of positive cosines
    between the (centred) rows: its inner weight minus what papers of its degrees would hold at random."""
    adj = np.clip(x @ x.T, 0.0, None)
    np.fill_diagonal(adj, 0.0)
    total, degree = float(adj.sum()), adj.sum(axis=1)
    return {int(k): float(adj[np.ix_(g, g)].sum() / total - resolution * (degree[g].sum() / total) ** 2)
            for k in np.unique(labels) for g in [np.flatnonzero(labels == k)]}


def graph_modularity(x: np.ndarray, labels: np.ndarray, resolution: float = 1.0) -> float:
    return sum(topic_modularity(x, labels, resolution).values())


def count_by(pick: str, resolution: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """Settled labels with the topic count picked per week: by the similarity graph's modularity, or the largest readable count."""
    def labels_for(raw: np.ndarray) -> np.ndarray:
        x = C.centred(raw)
        lo, hi = C.k_range(len(x))
        if pick == "largest":
            k = hi
        else:
            k = max(range(lo, hi + 1), key=lambda k: graph_modularity(
                x, C.settle(x, C.initial_labels(x, k), C.ASSIGN_POWER), resolution))
        return C.settle(x, C.initial_labels(x, k), C.ASSIGN_POWER)
    return labels_for


def dissolve_unmodular(raw: np.ndarray, x: np.ndarray, labels: np.ndarray) -> Grouping:
    """A topic whose modularity term is not positive (its papers no more alike than chance) goes to "Other"; then the relative rule."""
    loose = [k for k, q in topic_modularity(x, labels).items() if q <= 0]
    if len(loose) == len(np.unique(labels)):
        loose = []
    rel = np.full(len(x), -np.inf)
    inside = np.flatnonzero(~np.isin(labels, loose))
    rel[inside] = C.relative_closeness(x[inside], labels[inside])
    return C.split_off(x, labels, rel, C.OTHER_BELOW, None)


def main() -> None:
    dev, vectors, fields = dev_setup()
    weeks: Weeks = dev_weeks(dev, vectors, fields)
    found, clean = signals(weeks)
    for name, (mixed, one) in found.items():
        print(f"{name}: {len(mixed)} mixed topics (median {np.median(mixed):.3f}), {len(one)} one-field (median {np.median(one):.3f}, "
              f"5th {np.quantile(one, 0.05):.3f}, 10th {np.quantile(one, 0.1):.3f}); AUC mixed lower {auc(mixed, one):.2f}", flush=True)
    on: list[float] = []
    off: list[float] = []
    for raw, labels, known in weeks.values():
        a, b = on_off_field(C.closeness(C.centred(raw), labels), [np.flatnonzero(labels == k) for k in np.unique(labels)], known)
        on, off = on + a, off + b
    print(f"absolute closeness: on-field 2nd / 5th percentile {np.quantile(on, 0.02):.3f} / {np.quantile(on, 0.05):.3f}; "
          f"AUC off-field lower {auc(off, on):.2f}", flush=True)
    ion: list[float] = []
    ioff: list[float] = []
    for raw, labels, known in weeks.values():
        a, b = on_off_field(isolation(C.centred(raw)), [np.flatnonzero(labels == k) for k in np.unique(labels)], known)
        ion, ioff = ion + a, ioff + b
    print(f"isolation (3 nearest papers): on-field 2nd / 5th percentile {np.quantile(ion, 0.02):.3f} / {np.quantile(ion, 0.05):.3f}; "
          f"AUC off-field lower {auc(ioff, ion):.2f}", flush=True)
    if "stats" in sys.argv[1:]:
        return
    rules: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], Grouping]] = {
        "current (relative rule)": lambda raw, x, labels: C.split_off(x, labels, C.relative_closeness(x, labels), C.OTHER_BELOW,
                                                                      C.OTHER_MAX_SHARE),
        **{f"topic with cohesion < {np.quantile(clean, q):.3f} (one-field {nth(q)}) to Other": dissolve(float(np.quantile(clean, q)), False)
           for q in (0.05, 0.1)},
        **{f"topic with cohesion < {np.quantile(clean, q):.3f} (one-field {nth(q)}) re-placed": dissolve(float(np.quantile(clean, q)), True)
           for q in (0.05, 0.1)},
        **{f"relative rule and absolute closeness < {np.quantile(on, q):.3f} (on-field {nth(q)})": absolute_too(float(np.quantile(on, q)))
           for q in (0.02, 0.05)},
        **{f"relative rule and isolation < {np.quantile(ion, q):.3f} (on-field {nth(q)})": absolute_too(float(np.quantile(ion, q)), isolation)
           for q in (0.02, 0.05, 0.1)},
    }
    variants = {name: (lambda rule: lambda: {label: rule(raw, C.centred(raw), labels) for label, (raw, labels, _) in weeks.items()})(rule)
                for name, rule in rules.items()}
    variants["topic with modularity term <= 0 to Other"] = lambda: {
        label: dissolve_unmodular(raw, C.centred(raw), labels) for label, (raw, labels, _) in weeks.items()}
    for pick, res in (("graph modularity", 1.0), ("graph modularity", 1.5), ("graph modularity", 1.75), ("graph modularity", 2.0), ("largest", 1.0)):
        def run(pick: str = pick, res: float = res) -> dict[str, Grouping]:
            out = {}
            for label, (raw, _, _) in weeks.items():
                x, labels = C.centred(raw), count_by(pick, res)(raw)
                out[label] = C.split_off(x, labels, C.relative_closeness(x, labels), C.OTHER_BELOW, C.OTHER_MAX_SHARE)
            return out
        variants[f"topic count by {pick}{f' at resolution {res}' if pick != 'largest' else ''}, relative rule"] = run
    print_rows(dev, variants, fields)


if __name__ == "__main__":
    main()
