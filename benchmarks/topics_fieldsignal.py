"""A field signal in the digest's clustering, tried on the dev weeks (session 31; not adopted).

    python -m benchmarks.topics_fieldsignal [--weeks dev|test] [--weights 0 0.1 ...] [--other-by-text]
    python -m benchmarks.topics_fieldsignal --show WEEK... [--weights W]   # topics with member titles, for a hand check

The idea (issue #16, mixed topics): the embedder places papers by wording more than by field, so each
paper's field probabilities (`topics_fieldmodel`: vision and robotics, language, machine learning,
science, structured data) are appended to its centred vector at a weight (`with_fields`: two papers sure
of one field gain `weight` in cosine over two sure of different fields), and the digest's clustering runs
on the joined vectors (`clustering.initial_labels`, `settle`, `split_off`, unchanged). The "Other" cut is
either refitted per weight as `topics_bench --calibrate` fits it (the 5th percentile of the relative
closeness of the papers of their topic's field, every paper in a topic), or, with `--other-by-text`, the
adopted 0.553 on the text vectors alone. Each grouping is scored as `topics_bench` scores it. The arXiv
field measure (mixed topics, off-field papers) comes from a classifier fitted on the same listing as the
field model, so it is not independent of this clustering; the keyword measures and a hand check are.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from assistant.chains.clustering import (
    ASSIGN_POWER, MIN_FOR_OTHER, OTHER_BELOW, OTHER_MAX_SHARE, centred, initial_labels, normalize_rows,
    relative_closeness, settle, split_off,
)
from assistant.chains.topic_labels import group_titles
from assistant.config import Settings
from assistant.embeddings import make_embedder
from benchmarks.topics_bench import ON_FIELD_SENT_AWAY, _labels, field_predictions, keyword_modularity, keyword_silhouette, on_off_field
from benchmarks.topics_data import frozen_split, keyword_matrix, load_weeks, paper_vectors
from benchmarks.topics_fieldmodel import fit, probabilities
from benchmarks.topics_fields import topic_fields

Grouping = tuple[list[list[int]], list[int]]


def with_fields(x: np.ndarray, fields: np.ndarray, weight: float) -> np.ndarray:
    """Unit rows of `x` joined with the field probabilities scaled by sqrt(weight)."""
    if weight <= 0:
        return x
    return normalize_rows(np.hstack([x, math.sqrt(weight) * fields]))


def cluster_with_fields(
    raw: np.ndarray, fields: np.ndarray, weight: float, other_below: float | None = OTHER_BELOW,
    other_by_text: bool = True, k: int | None = None,
) -> Grouping:
    """`clustering.cluster` on the centred vectors joined with the fields; the "Other" cut on the text
    vectors alone (`other_by_text`) or on the joined ones."""
    plain = centred(normalize_rows(np.asarray(raw, dtype=np.float32)))
    x = with_fields(plain, fields, weight)
    labels = initial_labels(x, k)
    if len(x) >= MIN_FOR_OTHER:
        labels = settle(x, labels, ASSIGN_POWER)
    return split_off(x, labels, relative_closeness(plain if other_by_text else x, labels), other_below, OTHER_MAX_SHARE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", choices=("dev", "test"), default="dev")
    parser.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0])
    parser.add_argument("--other-by-text", action="store_true", help="the Other cut on the text vectors (0.553, not refitted)")
    parser.add_argument("--show", nargs="+", metavar="WEEK", help="print these weeks' topics (first weight) with their titles and stop")
    args = parser.parse_args()
    weeks = load_weeks()
    vectors = paper_vectors(weeks, make_embedder(Settings(_env_file=None)).embed)
    model, note = fit()
    print(f"field model: {note}")
    data = {}
    for w in weeks:
        raw = normalize_rows(np.stack([vectors[p.paper_id] for p in w.papers]))
        data[w.label] = (raw, probabilities(model, raw))
    if args.show:
        by_label = {w.label: w for w in weeks}
        for label in args.show:
            week = by_label[label]
            groups, other = cluster_with_fields(*data[label], args.weights[0])
            titles = group_titles([[week.papers[i] for i in g] for g in groups], week.papers)
            print(f"=== {label}: {len(week.papers)} papers, {len(groups)} topics, {len(other)} in Other")
            for title, g in [*zip(titles, groups), ("Other", other)]:
                print(f"--- {title} ({len(g)})\n" + "\n".join(f"    {week.papers[i].title}" for i in g))
        return
    bench_fields, _ = field_predictions(weeks, vectors)
    known = {w.label: np.array([bench_fields[p.paper_id] for p in w.papers]) for w in weeks}
    dev = [w for w in weeks if w.label in set(frozen_split()["dev"])]
    chosen = [w for w in weeks if w.label in set(frozen_split()[args.weeks])]
    kw = keyword_matrix(chosen)
    print("| field weight | Other cut | keyword silhouette | modularity | Other | topics | mixed topics | off-field papers |")
    print("|---|---|---|---|---|---|---|---|")
    for weight in args.weights:
        on_field: list[float] = []
        for w in ([] if args.other_by_text else dev):
            raw, probs = data[w.label]
            groups, _ = cluster_with_fields(raw, probs, weight, other_below=None, other_by_text=False)
            x = with_fields(centred(raw), probs, weight)
            on_field += on_off_field(relative_closeness(x, _labels(len(raw), groups)), groups, known[w.label])[0]
        cut = float(np.quantile(on_field, ON_FIELD_SENT_AWAY)) if on_field else OTHER_BELOW
        rows, counts = [], np.zeros(4, dtype=int)
        for w in chosen:
            raw, probs = data[w.label]
            groups, other = cluster_with_fields(raw, probs, weight, cut, args.other_by_text)
            rows.append((keyword_silhouette(groups, other, kw[w.label])[0], keyword_modularity(groups, other, kw[w.label]),
                         len(other) / len(raw), len(groups)))
            counts += topic_fields(groups, known[w.label])
        a = np.array(rows).mean(axis=0)
        print(f"| {weight:g} | {cut:.3f} | {a[0]:.4f} | {a[1]:.4f} | {100 * a[2]:.1f}% | {a[3]:.1f} | "
              f"{100 * counts[0] / counts[1]:.0f}% | {100 * counts[2] / counts[3]:.1f}% |", flush=True)


if __name__ == "__main__":
    main()
