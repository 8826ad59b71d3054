"""A field signal in the digest's clustering, tried on the dev weeks (session 31; not adopted).

    python -m benchmarks.topics_fieldsignal [--weeks dev|test] [--weights 0 0.1 ...] [--other-by-text]
    python -m benchmarks.topics_fieldsignal --show WEEK... [--weights W]   # topics with member titles, for a hand check
    python -m benchmarks.topics_fieldsignal --placement [--weeks dev|test | --show WEEK...]   # session 32: field placement

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

Session 32 (`--placement`, not adopted either): the digest's topics unchanged, a paper confidently of another
field than its topic's goes to "Other" (`placed_by_field`; the field model with an audio class), scored also by
cross-family pairs of the papers whose own arXiv category is known (`family_pairs`). Results and the hand check
of three new frozen weeks: benchmarks/results/topics_handcheck2.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
from collections.abc import Callable

import numpy as np

from assistant.chains.clustering import (
    ASSIGN_POWER, MIN_FOR_OTHER, OTHER_BELOW, OTHER_MAX_SHARE, centred, initial_labels, normalize_rows,
    relative_closeness, settle, split_off,
)
from assistant.chains.topic_labels import group_titles
from assistant.config import Settings
from assistant.embeddings import make_embedder
from benchmarks.topics_bench import ON_FIELD_SENT_AWAY, baseline, field_predictions, group_labels, keyword_modularity, keyword_silhouette, on_off_field
from benchmarks.topics_data import frozen_split, keyword_matrix, load_weeks, paper_vectors
from benchmarks.topics_fieldmodel import fit, probabilities
from benchmarks.topics_fields import ARXIV, CATEGORY_FIELD, topic_fields

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


def field_outsiders(labels: np.ndarray, fields: np.ndarray, confident: float, majority: float = 0.0) -> np.ndarray:
    """Per paper, whether its confident field (probability >= `confident`) differs from its topic's most
    common confident field, when that field holds more than `majority` of the topic's confident papers."""
    conf = np.where(fields.max(axis=1) >= confident, fields.argmax(axis=1), -1)
    out = np.zeros(len(labels), dtype=bool)
    for k in np.unique(labels):
        g = np.flatnonzero(labels == k)
        known = conf[g][conf[g] >= 0]
        if len(known):
            counts = np.bincount(known)
            if counts.max() > majority * len(known):
                out[g] = (conf[g] >= 0) & (conf[g] != counts.argmax())
    return out


def placed_by_field(
    raw: np.ndarray, fields: np.ndarray, confident: float, majority: float = 0.0, weight: float = 0.0,
    labels: np.ndarray | None = None, below: float = np.inf,
) -> Grouping:
    """The digest's clustering (joined with the fields at `weight`), then a paper whose confident field is not
    its topic's (`field_outsiders`) and whose relative closeness to it is under `below` (inf: any) goes to
    "Other" first, before the closeness cut, within the same cap."""
    plain = centred(normalize_rows(np.asarray(raw, dtype=np.float32)))
    x = with_fields(plain, fields, weight)
    if labels is None:
        labels = initial_labels(x)
        if len(x) >= MIN_FOR_OTHER:
            labels = settle(x, labels, ASSIGN_POWER)
    near = relative_closeness(plain, labels)
    if confident <= 1.0:
        near = np.where(field_outsiders(labels, fields, confident, majority) & (near < below), -np.inf, near)
    return split_off(x, labels, near, OTHER_BELOW, OTHER_MAX_SHARE)


def known_families(weeks: list) -> dict[str, int]:  # noqa: ANN001 - topics_data.Week
    """{HF paper id: reader's family of its arXiv primary category} for the HF papers of `weeks` that the
    shared arXiv listing holds (vision with robotics 0, language 1, machine learning 2; cs.AI and the rest
    left out): the papers' own categories, not a prediction, and held out of both field models' fits."""
    family = {"vision": 0, "robotics": 0, "language": 1, "machine learning": 2}
    ids = {p.paper_id for w in weeks for p in w.papers}
    out: dict[str, int] = {}
    with gzip.open(ARXIV, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            field = CATEGORY_FIELD.get(row["primary_category"])
            if field and str(row["arxiv_id"]) in ids:
                out[str(row["arxiv_id"])] = family[field]
    return out


def family_pairs(groups: list[list[int]], other: list[int], fams: np.ndarray) -> np.ndarray:
    """(pairs of papers of known family in one topic, of them of different families, known papers, known in Other)."""
    same = cross = 0
    for g in groups:
        f = fams[g][fams[g] >= 0]
        n = len(f)
        same += n * (n - 1) // 2
        cross += n * (n - 1) // 2 - sum(c * (c - 1) // 2 for c in np.bincount(f))
    return np.array([same, cross, int(np.sum(fams >= 0)), int(np.sum(fams[other] >= 0))])


def placement_table(weeks: list, vectors: dict[str, np.ndarray], labels_of: list[str], split: str) -> None:  # noqa: ANN001 - topics_data.Week
    """Prints one row per variant of the field placement on the weeks `labels_of` (see `placed_by_field`)."""
    bench_fields, _ = field_predictions(weeks, vectors)
    chosen = [w for w in weeks if w.label in set(labels_of)]
    kw = keyword_matrix(chosen)
    fams_known = known_families(chosen)
    models = {audio: fit(audio) for audio in (True, False)}
    for audio, (_, note) in models.items():
        print(f"field model (audio class {audio}): {note}")
    data = {}
    for w in chosen:
        raw = normalize_rows(np.stack([vectors[p.paper_id] for p in w.papers]))
        probs = {audio: probabilities(m, raw) for audio, (m, _) in models.items()}
        plain = centred(raw)
        labels = {}
        for weight in (0.0, 0.2):
            x = with_fields(plain, probs[True], weight)
            lab = initial_labels(x)
            labels[weight] = settle(x, lab, ASSIGN_POWER) if len(x) >= MIN_FOR_OTHER else lab
        data[w.label] = (raw, probs, labels)
    variants: dict[str, Callable[[np.ndarray, dict, dict], Grouping]] = {
        "k-means, k = sqrt(n/2) (baseline)": lambda raw, probs, labels: baseline(raw),
        "the digest's clustering (text only)": lambda raw, probs, labels: placed_by_field(raw, probs[True], 2.0, labels=labels[0.0]),
    }
    for conf in (0.6, 0.7, 0.8, 0.9):
        for majority in (0.0, 0.5):
            variants[f"field placement, confident >= {conf:g}, topic majority > {majority:g}"] = (
                lambda raw, probs, labels, c=conf, m=majority: placed_by_field(raw, probs[True], c, m, labels=labels[0.0]))
    for conf in (0.6, 0.7, 0.8):
        for below in (1.0, 0.8):
            variants[f"field placement, confident >= {conf:g}, relative closeness < {below:g}"] = (
                lambda raw, probs, labels, c=conf, b=below: placed_by_field(raw, probs[True], c, labels=labels[0.0], below=b))
    variants["field placement, confident >= 0.8, no audio class"] = (
        lambda raw, probs, labels: placed_by_field(raw, probs[False], 0.8, labels=labels[0.0]))
    variants["joined at weight 0.2 (session 31), no placement"] = (
        lambda raw, probs, labels: placed_by_field(raw, probs[True], 2.0, weight=0.2, labels=labels[0.2]))
    variants["joined at weight 0.2, field placement, confident >= 0.8"] = (
        lambda raw, probs, labels: placed_by_field(raw, probs[True], 0.8, weight=0.2, labels=labels[0.2]))
    print(f"{split}: {len(chosen)} weeks, {sum(len(w.papers) for w in chosen)} papers; "
          f"{len(fams_known)} with a known arXiv family: {np.bincount(list(fams_known.values()), minlength=3).tolist()}")
    print("| variant | keyword silhouette | modularity | Other | topics | mixed topics | off-field papers | "
          "cross-family pairs (arXiv categories) | known papers in Other |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, method in variants.items():
        rows, counts, pairs = [], np.zeros(4, dtype=int), np.zeros(4, dtype=int)
        for w in chosen:
            groups, other = method(*data[w.label])
            rows.append((keyword_silhouette(groups, other, kw[w.label])[0], keyword_modularity(groups, other, kw[w.label]),
                         len(other) / len(w.papers), len(groups)))
            counts += topic_fields(groups, np.array([bench_fields[p.paper_id] for p in w.papers]))
            pairs += family_pairs(groups, other, np.array([fams_known.get(p.paper_id, -1) for p in w.papers]))
        a = np.array(rows).mean(axis=0)
        print(f"| {name} | {a[0]:.4f} | {a[1]:.4f} | {100 * a[2]:.1f}% | {a[3]:.1f} | {100 * counts[0] / counts[1]:.0f}% | "
              f"{100 * counts[2] / counts[3]:.1f}% | {pairs[1]} of {pairs[0]} ({100 * pairs[1] / max(pairs[0], 1):.1f}%) | "
              f"{pairs[3]} of {pairs[2]} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", choices=("dev", "test"), default="dev")
    parser.add_argument("--weights", nargs="+", type=float, default=[0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0])
    parser.add_argument("--other-by-text", action="store_true", help="the Other cut on the text vectors (0.553, not refitted)")
    parser.add_argument("--placement", action="store_true", help="the field placement variants instead of the weights")
    parser.add_argument("--show", nargs="+", metavar="WEEK", help="print these weeks' topics (first weight) with their titles and stop")
    args = parser.parse_args()
    weeks = load_weeks()
    vectors = paper_vectors(weeks, make_embedder(Settings(_env_file=None)).embed)
    if args.placement:
        placement_table(weeks, vectors, args.show or frozen_split()[args.weeks], " ".join(args.show or [args.weeks]))
        return
    model, note = fit(audio=False)  # session 31's model
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
            on_field += on_off_field(relative_closeness(x, group_labels(len(raw), groups)), groups, known[w.label])[0]
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
