"""Which papers leave a topic for "Other", tried on the DEV weeks (session 28): how tight a topic must be.

    python -m benchmarks.topics_tight [WORD...]  # dev weeks only; one row per variant (whose name has a WORD)

Every variant starts from the digest's topics with every paper in a topic (centred vectors, count by
stability, placed by closeness) and differs only in which papers go to "Other" (or, for one, in
splitting topics): the previous rule (absolute closeness under 0.104, at most 5% of a week) with larger
caps; an absolute cut at what papers of their topic's field show (their 5th / 10th percentile of
`clustering.closeness`); the same for `clustering.relative_closeness` (closeness over the topic's median:
the adopted rule, `topics_bench --calibrate`) at several cuts; a topic split in two when its halves are
as far apart as the week's topics are; the zero-shot field test of `topics_domain` deciding which papers
go first; and two refinements of the relative rule (papers in "Other" re-homed to a topic they pass in;
medians recomputed without the first pass's outsiders). Scored like `topics_repr` (keyword silhouette
and modularity against HF's keywords; mixed topics and off-field papers by the arXiv-field classifier of
`topics_fields`, whose confident fields also set the percentile cuts). The test weeks are never read here.
Results and their reading: benchmarks/results/topics.md.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from assistant.chains import clustering as C
from assistant.config import Settings
from assistant.embeddings import make_embedder
from benchmarks.topics_bench import group_labels, on_off_field
from benchmarks.topics_data import Week
from benchmarks.topics_domain import FIELD_NAMES
from benchmarks.topics_former import PREVIOUS_MAX_SHARE, PREVIOUS_OTHER
from benchmarks.topics_repr import Grouping, print_rows
from benchmarks.topics_variants import dev_setup

Rule = Callable[[np.ndarray, np.ndarray, np.ndarray], Grouping]  # (raw rows, centred rows, labels) -> grouping


def by(measure: Callable[[np.ndarray, np.ndarray], np.ndarray], cut: float, cap: float | None) -> Rule:
    """"Other" = the papers whose `measure` is under `cut`, the lowest first, at most `cap` of the week."""
    return lambda raw, x, labels: C.split_off(x, labels, measure(x, labels), cut, cap)


Weeks = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # label -> (raw rows, labels with every paper in a topic, confident fields)


def dev_weeks(dev: list[Week], vectors: dict[str, np.ndarray], fields: dict[str, int]) -> Weeks:
    """Per dev week its unit rows, the digest's topic labels with every paper in a topic, and its papers' confident fields."""
    weeks: Weeks = {}
    for w in dev:
        raw = C.normalize_rows(np.stack([vectors[p.paper_id] for p in w.papers]))
        weeks[w.label] = (raw, group_labels(len(raw), C.cluster(raw, other_below=None)[0]), np.array([fields[p.paper_id] for p in w.papers]))
    return weeks


def field_split(weeks: Weeks, measure: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple[list[float], list[float]]:
    """(`measure` of the confident papers of their topic's field, of the others) over the weeks."""
    on: list[float] = []
    off: list[float] = []
    for raw, labels, known in weeks.values():
        a, b = on_off_field(measure(C.centred(raw), labels), [np.flatnonzero(labels == k) for k in np.unique(labels)], known)
        on, off = on + a, off + b
    return on, off


def on_field_quantile(weeks: Weeks, measure: Callable[[np.ndarray, np.ndarray], np.ndarray], q: float) -> float:
    """The q quantile of `measure` over the confident papers of their topic's field (as `topics_bench.calibrate`)."""
    return float(np.quantile(field_split(weeks, measure)[0], q))


def split_far_halves(raw: np.ndarray, x: np.ndarray, labels: np.ndarray) -> Grouping:
    """Each topic split in two (2-means) when its halves (>= 3 papers each) are as far apart as the week's
    two closest-together topics are (mean cosine between them at most the largest between-topic mean), then
    settled; "Other" by the relative rule."""
    labels = labels.copy()
    ks = np.unique(labels)
    between = [float((x[labels == a] @ x[labels == b].T).mean()) for i, a in enumerate(ks) for b in ks[i + 1:]]
    nxt = int(labels.max()) + 1
    for k in ks:
        g = np.flatnonzero(labels == k)
        if len(g) < 6 or not between:
            continue
        sub = C.spherical_kmeans(x[g], 2)[0]
        if min((sub == 0).sum(), (sub == 1).sum()) >= 3 and float((x[g[sub == 0]] @ x[g[sub == 1]].T).mean()) < max(between):
            labels[g[sub == 1]], nxt = nxt, nxt + 1
    labels = C.settle(x, labels, C.ASSIGN_POWER)
    return C.split_off(x, labels, C.relative_closeness(x, labels), C.OTHER_BELOW, C.OTHER_MAX_SHARE)


def zero_shot_outliers(raw: np.ndarray, labels: np.ndarray, names: np.ndarray, margin: float) -> list[int]:
    """Papers whose zero-shot field (the closest of `FIELD_NAMES` by at least `margin`) is not their topic's most common one."""
    sims = raw @ names.T
    top = np.sort(sims, axis=1)
    field = np.where(top[:, -1] - top[:, -2] >= margin, np.argmax(sims, axis=1), -1)
    out: list[int] = []
    for k in np.unique(labels):
        g = np.flatnonzero(labels == k)
        known = field[g][field[g] >= 0]
        if len(known):
            main = np.bincount(known).argmax()
            out += [int(i) for i in g if 0 <= field[i] != main]
    return out


def zero_shot_first(names: np.ndarray, margin: float, cap: float) -> Rule:
    """Zero-shot field outliers go to "Other" first (the least close first), then papers under the previous cut, at most `cap`."""
    def rule(raw: np.ndarray, x: np.ndarray, labels: np.ndarray) -> Grouping:
        near = C.closeness(x, labels)
        first = set(zero_shot_outliers(raw, labels, names, margin))
        return C.split_off(x, labels, np.where([i in first for i in range(len(x))], near - 10.0, near), PREVIOUS_OTHER, cap)
    return rule


def zero_shot_lowered(names: np.ndarray, drop: float) -> Rule:
    """The relative rule with a zero-shot field outlier's relative closeness lowered by `drop`."""
    def rule(raw: np.ndarray, x: np.ndarray, labels: np.ndarray) -> Grouping:
        rel = C.relative_closeness(x, labels)
        for i in zero_shot_outliers(raw, labels, names, 0.04):
            rel[i] -= drop
        return C.split_off(x, labels, rel, C.OTHER_BELOW, C.OTHER_MAX_SHARE)
    return rule


def rehomed(raw: np.ndarray, x: np.ndarray, labels: np.ndarray) -> Grouping:
    """The relative rule, then each paper in "Other" joins the topic it is relatively closest to if it passes the cut there."""
    groups, other = C.split_off(x, labels, C.relative_closeness(x, labels), C.OTHER_BELOW, C.OTHER_MAX_SHARE)
    kept = group_labels(len(x), groups)
    inside = np.ones(len(x), dtype=bool)
    inside[other] = False
    near = C.closeness(x[inside], kept[inside])
    medians = np.array([np.median(near[kept[inside] == j]) for j in range(len(groups))])
    means = np.stack([x[g].mean(axis=0) for g in groups])
    left = []
    for i in other:
        rel = (means @ x[i]) / np.maximum(medians, 1e-6)
        if rel.max() >= C.OTHER_BELOW:
            groups[int(rel.argmax())].append(i)
        else:
            left.append(i)
    return groups, left


def second_pass(raw: np.ndarray, x: np.ndarray, labels: np.ndarray) -> Grouping:
    """The relative rule applied again with the topics' medians recomputed without the first pass's outsiders."""
    _, other = C.split_off(x, labels, C.relative_closeness(x, labels), C.OTHER_BELOW, C.OTHER_MAX_SHARE)
    inside = np.ones(len(x), dtype=bool)
    inside[other] = False
    rel = np.full(len(x), -1.0)
    rel[inside] = C.relative_closeness(x[inside], labels[inside])
    return C.split_off(x, labels, rel, C.OTHER_BELOW, C.OTHER_MAX_SHARE)


def separation(weeks: Weeks) -> str:
    """How well each measure picks out the off-field papers of a topic (every paper in a topic): the AUC
    of "an off-field paper scores lower than an on-field one" over the confident papers."""
    def margin(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        scores, ks = C.placement_scores(x, labels, C.ASSIGN_POWER)
        own = np.searchsorted(ks, labels)
        rows = np.arange(len(x))
        mine = scores[rows, own].copy()
        scores[rows, own] = -np.inf
        return mine - scores.max(axis=1)

    def neighbours(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
        sim = x @ x.T
        np.fill_diagonal(sim, -np.inf)
        return (labels[np.argsort(-sim, axis=1)[:, :5]] == labels[:, None]).mean(axis=1)

    measures = {"closeness": C.closeness, "relative closeness": C.relative_closeness, "margin over the next topic": margin,
                "share of its 5 nearest papers in its topic": neighbours}
    out = []
    for name, measure in measures.items():
        on, off = field_split(weeks, measure)
        a, b = np.array(off)[:, None], np.array(on)[None, :]
        out.append(f"{name} {float(np.mean(a < b) + 0.5 * np.mean(a == b)):.2f}")
    return f"AUC for off-field papers ({len(off)} of {len(on) + len(off)}): " + ", ".join(out)


def main() -> None:
    dev, vectors, fields = dev_setup()
    weeks = dev_weeks(dev, vectors, fields)
    names = C.normalize_rows(np.asarray(make_embedder(Settings(_env_file=None)).embed(list(FIELD_NAMES)), dtype=np.float32))
    print(separation(weeks), flush=True)
    abs5, abs10 = (on_field_quantile(weeks, C.closeness, q) for q in (0.05, 0.10))
    rules: dict[str, Rule] = {
        "previous: absolute closeness < 0.104, at most 5%": by(C.closeness, PREVIOUS_OTHER, PREVIOUS_MAX_SHARE),
        **{f"absolute closeness < 0.104, at most {100 * cap:.0f}%": by(C.closeness, PREVIOUS_OTHER, cap) for cap in (0.10, 0.15, 0.20)},
        **{f"absolute closeness < {cut:.3f} (on-field {q}th percentile), at most 20%": by(C.closeness, cut, 0.2)
           for cut, q in ((abs5, 5), (abs10, 10))},
        **{f"relative closeness < {cut}{' (adopted: on-field 5th percentile)' if cut == C.OTHER_BELOW else ''}, at most 20%":
           by(C.relative_closeness, cut, 0.2) for cut in (0.45, 0.5, C.OTHER_BELOW, 0.6, 0.65)},
        "topics split where halves are as far apart as topics, relative rule": split_far_halves,
        **{f"zero-shot field outliers first, then absolute < 0.104, at most {100 * cap:.0f}%": zero_shot_first(names, 0.04, cap)
           for cap in (0.05, 0.10, 0.20)},
        **{f"relative rule, zero-shot field outliers' relative closeness lowered by {drop}": zero_shot_lowered(names, drop)
           for drop in (0.2, 0.4)},
        "relative rule, Other re-homed where it passes": rehomed,
        "relative rule, second pass": second_pass,
    }
    variants = {name: (lambda rule: lambda: {label: rule(raw, C.centred(raw), labels) for label, (raw, labels, _) in weeks.items()})(rule)
                for name, rule in rules.items()}
    print_rows(dev, variants, fields)


if __name__ == "__main__":
    main()
