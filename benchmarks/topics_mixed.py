"""Mixed topics, tried on the DEV weeks (session 30): split a topic whose papers form two separate groups.

    python -m benchmarks.topics_mixed [WORD...]  # dev weeks only; one row per variant (whose name has a WORD)

Every variant starts from the digest's topics with every paper in a topic (centred vectors, count by
stability, placed by closeness). A topic is split in two (2-means on its papers, as the summary's
`sides`) when the silhouette of that split is at least a bar; the papers are then settled again and
"Other" is cut by the relative rule, as in the digest. The bar is calibrated like `OTHER_BELOW`: a
percentile of the split silhouettes of the dev topics whose confident papers are all of one arXiv field
(`topics_fields`), so a one-field topic is split about that often. Also tried: a larger topic count
when stability is nearly flat (the most topics whose stability is within a margin of the best).
Scored like `topics_tight`. The test weeks are never read here. Results: benchmarks/results/topics.md.
`python -m benchmarks.topics_mixed stats` prints only how well each split signal tells mixed topics from
one-field ones. Finding (session 30): neither the split's silhouette (AUC 0.52) nor its stability over
subsamples (AUC 0.48) does, so every bar only makes more, smaller topics; not adopted.
"""

from __future__ import annotations

import sys

import numpy as np

from assistant.chains import clustering as C
from benchmarks.topics_bench import group_labels
from benchmarks.topics_fields import topic_fields
from benchmarks.topics_repr import Grouping, print_rows
from benchmarks.topics_variants import dev_setup

MIN_SIDE = 3  # a split leaves at least this many papers on each side


def split_silhouette(x: np.ndarray, sides: np.ndarray) -> float:
    """Mean silhouette (cosine distance) of a two-way split of the rows `x`: per row, how much closer it
    is to its own side's other rows than to the other side's, over the larger of the two."""
    sim = x @ x.T
    out = []
    for i in range(len(x)):
        own = sides == sides[i]
        n_own = int(own.sum()) - 1
        if n_own == 0 or own.all():
            out.append(0.0)
            continue
        a = 1.0 - (float(sim[i, own].sum()) - float(sim[i, i])) / n_own
        b = 1.0 - float(sim[i, ~own].mean())
        out.append((b - a) / max(a, b, 1e-12))
    return float(np.mean(out)) if out else 0.0


def split_mixed(x: np.ndarray, labels: np.ndarray, above: float, seed: int = 0) -> np.ndarray:
    """`labels` with each topic whose papers form two separate groups split in two: 2-means on the topic's
    papers centred on the topic, kept when both sides have MIN_SIDE papers and the split's silhouette is
    at least `above`; then settled again."""
    labels = labels.copy()
    nxt = int(labels.max()) + 1
    changed = False
    for k in np.unique(labels):
        g = np.flatnonzero(labels == k)
        if len(g) < 2 * MIN_SIDE:
            continue
        sub = C.spherical_kmeans(C.centred(x[g]), 2, seed)[0]
        if min(int((sub == 0).sum()), int((sub == 1).sum())) >= MIN_SIDE and split_silhouette(x[g], sub) >= above:
            labels[g[sub == 1]], nxt, changed = nxt, nxt + 1, True
    return C.settle(x, labels, C.ASSIGN_POWER) if changed else labels


def split_silhouettes(x: np.ndarray, labels: np.ndarray) -> list[tuple[int, float, np.ndarray]]:
    """Per topic (label, silhouette of its 2-means split, the split's side labels) for topics big enough to split."""
    out = []
    for k in np.unique(labels):
        g = np.flatnonzero(labels == k)
        if len(g) < 2 * MIN_SIDE:
            continue
        sub = C.spherical_kmeans(C.centred(x[g]), 2)[0]
        out.append((int(k), split_silhouette(x[g], sub), sub))
    return out


def clean_topic(labels_in_topic: np.ndarray) -> bool | None:
    """True when every confident paper of the topic is of one field (at least 3 confident), False when mixed
    by the bench's rule, None otherwise."""
    known = labels_in_topic[labels_in_topic >= 0]
    if len(known) < 3:
        return None
    mixed, _, _, _ = topic_fields([list(range(len(labels_in_topic)))], labels_in_topic)
    if mixed:
        return False
    return bool(len(set(known.tolist())) == 1)


def main() -> None:
    dev, vectors, fields = dev_setup()
    weeks = {}
    clean, mixed = [], []
    clean_stab: list[float] = []
    mixed_stab: list[float] = []
    for w in dev:
        raw = C.normalize_rows(np.stack([vectors[p.paper_id] for p in w.papers]))
        labels = group_labels(len(raw), C.cluster(raw, other_below=None)[0])
        known = np.array([fields[p.paper_id] for p in w.papers])
        weeks[w.label] = (raw, labels, known)
        for k, sil, _ in split_silhouettes(C.centred(raw), labels):
            verdict = clean_topic(known[labels == k])
            g = np.flatnonzero(labels == k)
            stab = C.stability(C.centred(C.centred(raw)[g]), 2)
            (clean if verdict else mixed if verdict is False else []).append(sil)
            (clean_stab if verdict else mixed_stab if verdict is False else []).append(stab)
    a, b = np.array(mixed_stab)[:, None], np.array(clean_stab)[None, :]
    print(f"split stability: one-field median {np.median(clean_stab):.3f}, 90th {np.quantile(clean_stab, 0.9):.3f}, "
          f"95th {np.quantile(clean_stab, 0.95):.3f}; mixed median {np.median(mixed_stab):.3f}; "
          f"AUC mixed above one-field {float(np.mean(a > b) + 0.5 * np.mean(a == b)):.2f}", flush=True)
    if "stats" in sys.argv[1:]:
        return
    print(f"split silhouettes: one-field topics {len(clean)} (median {np.median(clean):.3f}, 90th {np.quantile(clean, 0.9):.3f}, "
          f"95th {np.quantile(clean, 0.95):.3f}); mixed topics {len(mixed)} (median {np.median(mixed):.3f}, "
          f"quartiles {np.quantile(mixed, 0.25):.3f} / {np.quantile(mixed, 0.75):.3f})", flush=True)
    a, b = np.array(mixed)[:, None], np.array(clean)[None, :]
    print(f"AUC mixed above one-field: {float(np.mean(a > b) + 0.5 * np.mean(a == b)):.2f}", flush=True)

    def splitting(bar: float | None):
        def run() -> dict[str, Grouping]:
            out = {}
            for label, (raw, labels, _) in weeks.items():
                x = C.centred(raw)
                new = split_mixed(x, labels, bar) if bar is not None else labels
                out[label] = C.split_off(x, new, C.relative_closeness(x, new), C.OTHER_BELOW, C.OTHER_MAX_SHARE)
            return out
        return run

    def flat(margin: float):
        def run() -> dict[str, Grouping]:
            out = {}
            for w in dev:
                raw = weeks[w.label][0]
                x = C.centred(raw)
                lo, hi = C.k_range(len(x))
                stab = {k: C.stability(x, k) for k in range(lo, hi + 1)}
                best = max(stab.values())
                k = max(k for k, s in stab.items() if s >= best - margin)
                labels = C.settle(x, C.initial_labels(x, k), C.ASSIGN_POWER)
                out[w.label] = C.split_off(x, labels, C.relative_closeness(x, labels), C.OTHER_BELOW, C.OTHER_MAX_SHARE)
            return out
        return run

    bars = {f"one-field {int(100 * q)}th percentile": float(np.quantile(clean, q)) for q in (0.8, 0.9, 0.95)}
    variants = {"current (no split)": splitting(None)}
    variants |= {f"split when silhouette >= {bar:.3f} ({name})": splitting(bar) for name, bar in bars.items()}
    variants |= {f"split when silhouette >= {bar}": splitting(bar) for bar in (0.06, 0.08, 0.10)}
    variants |= {f"most topics with stability within {m} of the best": flat(m) for m in (0.02, 0.05)}
    print_rows(dev, variants, fields)


if __name__ == "__main__":
    main()
