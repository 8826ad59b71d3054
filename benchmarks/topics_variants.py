"""Placement variants of the former digest clustering tried on the DEV weeks of the topic benchmark (none adopted).

    python -m benchmarks.topics_variants [WORD...]  # dev weeks only; one row per variant (whose name has a WORD)

Each variant changes how papers far from their topic are handled (grouped into topics of their own,
placed by their nearest members, ordered differently for "Other", loose topics dissolved at another
cut, "Other" capped at another share of the week, outsiders linked among themselves) and is scored like
`topics_bench` (keyword silhouette and modularity against HF's keywords, mixed topics and off-field
papers by the arXiv-field classifier of `topics_fields`) plus the share of strays: papers in a topic whose keyword silhouette is negative (closer by HF's keywords to
another topic's papers than to their own). A cut a variant needs is refitted on the dev weeks the way
`topics_bench --calibrate` fits `OTHER_BELOW` (zero crossing of a linear fit of keyword silhouette on
it). Results and the reading of them: benchmarks/results/topics.md ("Tried on the dev weeks"). The
variants start from the former clustering (`topics_bench.former`: topic count by silhouette, loose
topics dissolved), which they were tried on. The test weeks are never read here.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from assistant.chains import clustering as C
from assistant.config import Settings
from assistant.embeddings import make_embedder
from benchmarks.topics_bench import group_labels, keyword_modularity, keyword_silhouette, paper_silhouettes, zero_crossing
from benchmarks.topics_data import Week, frozen_split, keyword_matrix, load_weeks, paper_vectors
from benchmarks.topics_fields import dev_fields, topic_fields
from benchmarks.topics_former import FORMER_DISSOLVE, FORMER_OTHER, PREVIOUS_MAX_SHARE, cluster_before, silhouette_k, topic_silhouettes

Measure = Callable[[np.ndarray, np.ndarray], np.ndarray]


def knn_scores(x: np.ndarray, labels: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per paper and topic, the mean cosine to its m most similar members of that topic (itself excluded)."""
    sim = x @ x.T
    np.fill_diagonal(sim, np.nan)
    ks = np.unique(labels)
    out = np.full((len(x), len(ks)), -np.inf)
    for j, k in enumerate(ks):
        top = -np.sort(-np.nan_to_num(sim[:, labels == k], nan=-np.inf), axis=1)[:, :m]
        top = np.where(np.isfinite(top), top, np.nan)
        counts = np.sum(np.isfinite(top), axis=1)
        out[counts > 0, j] = np.nanmean(top[counts > 0], axis=1)
    return out, ks


def own_and_next(scores: np.ndarray, ks: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, own = np.arange(len(labels)), np.searchsorted(ks, labels)
    others = scores.copy()
    others[rows, own] = -np.inf
    return scores[rows, own], others.max(axis=1)


def closeness(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return own_and_next(*C.placement_scores(x, labels, C.ASSIGN_POWER), labels)[0]


def margin(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    own, nxt = own_and_next(*C.placement_scores(x, labels, C.ASSIGN_POWER), labels)
    return own - nxt


def relative(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    near = closeness(x, labels)
    med = {k: float(np.median(near[labels == k])) for k in np.unique(labels)}
    return near / np.maximum(np.array([med[k] for k in labels]), 1e-6)


def knn_measure(m: int) -> Measure:
    return lambda x, labels: own_and_next(*knn_scores(x, labels, m), labels)[0]


def settle_knn(x: np.ndarray, labels: np.ndarray, m: int) -> np.ndarray:
    return C.settle(x, labels, C.ASSIGN_POWER, scores_fn=lambda x, labels: knn_scores(x, labels, m))


def outsiders_grouped(x: np.ndarray, labels: np.ndarray, min_size: int, share: float | None, apart: bool) -> np.ndarray:
    """Papers under the "Other" cut (or the week's least close `share`) clustered among themselves; each
    group of at least `min_size` becomes a topic (with `apart`: only if its mean silhouette clears the
    dissolve cut), then every paper is settled again."""
    near = closeness(x, labels)
    far = np.flatnonzero(near < (np.quantile(near, share) if share else FORMER_OTHER))
    if len(far) < 2 * min_size:
        return labels
    trial, nxt, new = labels.copy(), int(labels.max()) + 1, []
    sub = C.spherical_kmeans(x[far], silhouette_k(x[far]))[0]
    for j in np.unique(sub):
        if (sub == j).sum() >= min_size:
            trial[far[sub == j]], nxt = nxt, nxt + 1
            new.append(nxt - 1)
    trial = C.settle(x, trial, C.ASSIGN_POWER)
    if apart:
        sil = topic_silhouettes(x, trial)
        for j in new:
            if sil.get(j, 1.0) < FORMER_DISSOLVE or (trial == j).sum() < min_size:
                trial[trial == j] = labels[trial == j]
        trial = C.settle(x, trial, C.ASSIGN_POWER)
    return trial


def average_linkage(x: np.ndarray, cut: float) -> list[list[int]]:
    """Rows merged, closest pair of groups first, while the mean cosine between two groups is >= `cut`."""
    groups, sim = [[i] for i in range(len(x))], x @ x.T
    while len(groups) > 1:
        pairs = [(float(sim[np.ix_(a, b)].mean()), ia, ib) for ia, a in enumerate(groups) for ib, b in enumerate(groups) if ia < ib]
        best, ia, ib = max(pairs)
        if best < cut:
            break
        groups[ia] += groups.pop(ib)
    return groups


def outsiders_linked(min_size: int, link: str, apart: bool) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Papers under the "Other" cut linked among themselves (`average_linkage` at the "Other" cut, or at
    the week's median closeness with `link="median"`); a group of >= `min_size` becomes a topic (with
    `apart`: only if its mean silhouette clears the dissolve cut, the junk-drawer rule), the rest stay."""

    def place(raw: np.ndarray, x: np.ndarray) -> np.ndarray:
        labels = base_labels()(raw, x)
        near = closeness(x, labels)
        far = np.flatnonzero(near < FORMER_OTHER)
        cut = float(np.median(near)) if link == "median" else FORMER_OTHER
        trial, nxt = labels.copy(), int(labels.max()) + 1
        for group in average_linkage(x[far], cut):
            if len(group) < min_size:
                continue
            candidate = trial.copy()
            candidate[far[group]] = nxt
            if not apart or topic_silhouettes(x, candidate)[nxt] >= FORMER_DISSOLVE:
                trial, nxt = candidate, nxt + 1
        return trial

    return place


Variant = tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], Measure, float | None, bool]
"""(labels from a week's raw and centred vectors, the measure "Other" is cut and ordered by, the cap on
"Other" as a share of the week (None: no cap), whether the cut is refitted for the variant (else
`OTHER_BELOW`, which the linked outsiders were grouped at))."""


def base_labels(dissolve: float | None = FORMER_DISSOLVE) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The former digest's topics of a week (raw unit vectors in; every paper in a topic)."""
    return lambda raw, x: group_labels(len(x), cluster_before(raw, k=silhouette_k(x), other_below=None, dissolve_below=dissolve)[0])


CAP = PREVIOUS_MAX_SHARE
VARIANTS: dict[str, Variant] = {
    "current": (base_labels(), closeness, CAP, True),
    **{f"Other capped at {100 * cap:.0f}%": (base_labels(), closeness, cap, False) for cap in (0.10, 0.20)},
    "Other not capped": (base_labels(), closeness, None, False),
    **{f"outsiders linked, >= {m}{' at median closeness' if link else ''}{', kept if apart' if apart else ''}, no cap":
       (outsiders_linked(m, link, apart), closeness, None, False)
       for m, link, apart in ((2, "", False), (3, "", False), (2, "median", False), (3, "median", False), (2, "", True))},
    **{f"outsiders grouped, >= {m}": ((lambda m: lambda raw, x: outsiders_grouped(x, base_labels()(raw, x), m, None, False))(m), closeness, CAP, True)
       for m in (3, 4, 5)},
    **{f"least close 20% grouped if apart, >= {m}": ((lambda m: lambda raw, x: outsiders_grouped(x, base_labels()(raw, x), m, 0.2, True))(m),
                                                     closeness, CAP, True) for m in (3, 4)},
    **{f"dissolve under {d}": (base_labels(d), closeness, CAP, True) for d in (0.04, 0.08, None)},
    **{f"placed by {m} nearest members": ((lambda m: lambda raw, x: settle_knn(x, base_labels()(raw, x), m))(m), knn_measure(m), CAP, True)
       for m in (3, 5, 10)},
    "Other ordered by margin": (base_labels(), margin, CAP, True),
    "Other ordered by relative closeness": (base_labels(), relative, CAP, True),
}


def evaluate(weeks: list[Week], vectors: dict[str, np.ndarray], variant: Variant, fields: dict[str, int]) -> tuple[float, ...]:
    """(cut, keyword silhouette, modularity, strays, share in Other, topics a week, mixed topics,
    off-field papers) over the weeks."""
    kw = keyword_matrix(weeks)
    place, measure, cap, refit = variant
    counts = np.zeros(4, dtype=int)  # mixed topics, topics, off-field papers, confident papers in topics
    runs = []
    for w in weeks:
        raw = C.normalize_rows(np.stack([vectors[p.paper_id] for p in w.papers]))
        x = C.centred(raw)
        labels = place(raw, x)
        runs.append((w, labels, measure(x, labels)))
    xs, ys = [], []
    for w, labels, near in runs:
        groups = [np.flatnonzero(labels == k).tolist() for k in np.unique(labels)]
        for i, s in paper_silhouettes(groups, kw[w.label])[0].items():
            xs.append(float(near[i]))
            ys.append(s)
    cut = zero_crossing(xs, ys) if refit else FORMER_OTHER
    rows = []
    for w, labels, near in runs:
        n = len(labels)
        far = [int(i) for i in np.argsort(near, kind="stable") if near[i] < cut] if n >= C.MIN_FOR_OTHER else []
        far = far[: int(cap * n)] if cap is not None else far
        groups = [[i for i in np.flatnonzero(labels == k).tolist() if i not in far] for k in np.unique(labels)]
        other = far + [i for g in groups if len(g) < 2 for i in g]
        groups = [g for g in groups if len(g) >= 2]
        scores = paper_silhouettes(groups, kw[w.label])[0]
        rows.append((keyword_silhouette(groups, other, kw[w.label])[0], keyword_modularity(groups, other, kw[w.label]),
                     sum(s < 0 for s in scores.values()) / max(sum(map(len, groups)), 1), len(other) / n, len(groups)))
        counts += topic_fields(groups, np.array([fields[p.paper_id] for p in w.papers]))
    return (cut, *np.array(rows).mean(axis=0).tolist(), counts[0] / counts[1], counts[2] / counts[3])


def dev_setup() -> tuple[list[Week], dict[str, np.ndarray], dict[str, int]]:
    """(the dev weeks, every paper's vector, the dev papers' confident arXiv fields)."""
    weeks = load_weeks()
    dev = [w for w in weeks if w.label in set(frozen_split()["dev"])]
    embed = make_embedder(Settings(_env_file=None)).embed
    vectors = paper_vectors(weeks, embed)
    return dev, vectors, dev_fields([p.paper_id for w in dev for p in w.papers], vectors, embed)


def main() -> None:
    dev, vectors, fields = dev_setup()
    print(f"dev weeks: {len(dev)}\n| variant | Other cut | keyword silhouette | modularity | strays | Other | topics | "
          "mixed topics | off-field papers |", flush=True)
    for name, variant in VARIANTS.items():
        if sys.argv[1:] and name != "current" and not any(word in name for word in sys.argv[1:]):
            continue
        cut, sil, mod, strays, other, topics, mixed, off = evaluate(dev, vectors, variant, fields)
        print(f"| {name} | {cut:.3f} | {sil:.4f} | {mod:.4f} | {100 * strays:.1f}% | {100 * other:.1f}% | {topics:.1f} | "
              f"{100 * mixed:.0f}% | {100 * off:.1f}% |", flush=True)


if __name__ == "__main__":
    main()
