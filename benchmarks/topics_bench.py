"""Topic coherence of the digest's clustering on HF Daily Papers weeks, against HF's own keywords.

What it measures: every eligible ISO week of the shared HF data (≥ 30 papers with HF keywords)
is clustered as a digest would cluster it (same paper vectors: title + abstract, the configured
embedder); each grouping is scored with HF's machine-written `hf_ai_keywords`, which nobody here
wrote and the clustering never sees. Score = the silhouette of the grouping in keyword space
(idf-weighted keyword vectors, cosine distance): per paper, how much closer its keywords are to
its own topic's papers than to the nearest other topic's; a paper in "Other" scores 0, so moving
papers to "Other" is not free. Also: same-topic keyword similarity, the share put in "Other",
topic count. Baseline: spherical k-means on the same vectors with the digest's former fixed
k = sqrt(n/2), no "Other". Weeks are split dev/test in `topics_split.json` (frozen before tuning);
the README quotes test. What it can show: whether papers grouped together share HF's keywords more
than papers in different topics (HF derives its keywords from the abstract, so this is agreement with
another reading of the same text, not with a human's grouping); absolute values sit near 0 because
HF's keywords are specific and most pairs of papers share none — compare rows, and count weeks.
arXiv categories of the HF papers themselves are not used: only 265 of them are in the shared arXiv
listing. Instead a classifier fitted on that listing predicts a field per HF paper (third measure).

Second measure, fair across topic counts (the silhouette favours fewer, broader topics): keyword
modularity, the share of the week's keyword-similarity weight inside topics minus what random topics
of the same sizes would hold (Newman's modularity on the graph of HF keyword cosines; a paper in
"Other" is a topic of its own). It penalises both a topic that joins unrelated papers and a split
of papers that share keywords.

Third measure, fields (`topics_fields.py`, whose docstring says what it can and cannot show): a
classifier fitted at benchmark time on the shared arXiv listing's primary categories predicts each HF
paper's field (vision, robotics, language, machine learning) where it is confident; a topic is "mixed"
when two or more of its confident papers (and at least a tenth) are of another field than its most
common one; also the share of confident papers in topics that are off their topic's field.

Calibration (`--calibrate`, dev weeks only): `clustering.OTHER_BELOW`, the 5th percentile of the
relative closeness to their topic (`clustering.relative_closeness`, every paper in a topic) of the
papers whose confident field is their topic's: a paper of the topic's field is sent to "Other" about
one time in twenty.

Usage: python -m benchmarks.topics_bench [--weeks dev|test|all] [--calibrate] [--show WEEK...]
(`--show` prints each topic's member titles of the given weeks, for the hand check, and stops.)
Writes benchmarks/results/topics.md (the hand check section is kept from the previous file).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.chains.clustering import OTHER_MAX_SHARE, centred, choose_k, cluster, normalize_rows, relative_closeness, spherical_kmeans
from assistant.chains.topic_labels import group_titles
from assistant.config import Settings
from assistant.embeddings import make_embedder
from benchmarks.topics_data import Week, frozen_split, keyword_matrix, load_weeks, paper_vectors
from benchmarks.topics_fields import FIELDS, FieldModel, confident_fields, cross_validate, listing_vectors, load_listing, report, topic_fields
from benchmarks.topics_former import cluster_before, former

OUT = Path(__file__).resolve().parent / "results" / "topics.md"
HAND = "## Hand check"

Grouping = tuple[list[list[int]], list[int]]
# The share of the papers of their topic's field the digest's cut may send to "Other" (`calibrate`).
ON_FIELD_SENT_AWAY = 0.05


def paper_silhouettes(groups: Sequence[Sequence[int]], kw: np.ndarray) -> tuple[dict[int, float], list[float]]:
    """({paper: keyword silhouette} for grouped papers with HF keywords, same-topic keyword cosines);
    papers in "Other" or alone in a topic get no score."""
    has = np.linalg.norm(kw, axis=1) > 0
    sim = kw @ kw.T
    members = [[i for i in g if has[i]] for g in groups]
    scores: dict[int, float] = {}
    pairs: list[float] = []
    for j, group in enumerate(members):
        for i in group:
            own = [m for m in group if m != i]
            rest = [1.0 - float(np.mean(sim[i, m])) for jj, m in enumerate(members) if m and jj != j]
            if not own or not rest:
                continue
            pairs.extend(sim[i, own].tolist())
            a, b = 1.0 - float(np.mean(sim[i, own])), min(rest)
            scores[i] = (b - a) / max(a, b, 1e-9)
    return scores, pairs


def keyword_silhouette(groups: Sequence[Sequence[int]], other: Sequence[int], kw: np.ndarray) -> tuple[float, float]:
    """(mean keyword silhouette, mean same-topic keyword cosine) over the papers that have HF keywords;
    a paper in "Other" or alone scores 0 (neither well nor badly placed)."""
    scores, pairs = paper_silhouettes(groups, kw)
    n = int(np.sum(np.linalg.norm(kw, axis=1) > 0))
    return float(sum(scores.values()) / max(n, 1)), float(np.mean(pairs)) if pairs else 0.0


def keyword_modularity(groups: Sequence[Sequence[int]], other: Sequence[int], kw: np.ndarray) -> float:
    """Newman's modularity of the grouping on the week's graph of (non-negative) HF keyword cosines;
    each paper in "Other" counts as a topic of its own."""
    adj = np.clip(kw @ kw.T, 0.0, None)
    np.fill_diagonal(adj, 0.0)
    total, degree = float(adj.sum()), adj.sum(axis=1)
    if total <= 0:
        return 0.0
    parts = [list(g) for g in groups] + [[i] for i in other]
    return float(sum(adj[np.ix_(g, g)].sum() / total - (degree[g].sum() / total) ** 2 for g in parts))


def group_labels(n: int, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Each of `n` papers' topic index, from the topics as lists of paper indices (the topic scripts' common input)."""
    labels = np.zeros(n, dtype=int)
    for j, g in enumerate(groups):
        labels[list(g)] = j
    return labels


def zero_crossing(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Where the least-squares line through (`xs`, `ys`) crosses zero: the cut-off the topic scripts refit."""
    slope, intercept = np.polyfit(np.array(xs), np.array(ys), 1)
    return float(-intercept / slope)


def on_off_field(near: np.ndarray, groups: Sequence[Sequence[int]], known: np.ndarray) -> tuple[list[float], list[float]]:
    """(`near` of the confident papers of their topic's field, of the confident papers of another field);
    a topic's field is its most common confident field."""
    on: list[float] = []
    off: list[float] = []
    for g in groups:
        conf = [i for i in g if known[i] >= 0]
        if conf:
            main = np.bincount(known[conf]).argmax()
            for i in conf:
                (on if known[i] == main else off).append(float(near[i]))
    return on, off


def calibrate(weeks: Sequence[Week], vectors: dict[str, np.ndarray], fields: dict[str, int]) -> tuple[float, int]:
    """(the "Other" cut, papers it was fitted on): the ON_FIELD_SENT_AWAY quantile of the relative
    closeness (`clustering.relative_closeness`, every paper in a topic) of the confident papers of their
    topic's field (the topic's most common confident field), over the given weeks."""
    on_field: list[float] = []
    for w in weeks:
        raw = normalize_rows(np.stack([vectors[p.paper_id] for p in w.papers]))
        groups, _ = cluster(raw, other_below=None)
        near = relative_closeness(centred(raw), group_labels(len(raw), groups))
        on_field += on_off_field(near, groups, np.array([fields[p.paper_id] for p in w.papers]))[0]
    return float(np.quantile(on_field, ON_FIELD_SENT_AWAY)), len(on_field)


def baseline(x: np.ndarray) -> Grouping:
    """Spherical k-means with the digest's former fixed k = sqrt(n/2), everything assigned."""
    labels, _ = spherical_kmeans(x, max(1, round((len(x) / 2) ** 0.5)))
    return [np.flatnonzero(labels == j).tolist() for j in sorted(set(labels.tolist()))], []


def same_k(x: np.ndarray) -> Grouping:
    """Spherical k-means on the raw vectors with the topic count the digest picks: separates the count from the rest."""
    labels, _ = spherical_kmeans(x, choose_k(centred(x))[0])
    return [np.flatnonzero(labels == j).tolist() for j in sorted(set(labels.tolist()))], []


METHODS: dict[str, Callable[[np.ndarray], Grouping]] = {
    "k-means, k = sqrt(n/2) (baseline; the digest before)": baseline,
    "k-means, the digest's k": same_k,
    "former digest clustering (k by silhouette, loose topics dissolved, placed by closeness, Other at most 5%)": former,
    "previous digest clustering (k by stability, Other by absolute closeness, at most 5%)": lambda x: cluster_before(x),
    "digest clustering, every paper in a topic": lambda x: cluster(x, other_below=None),
    f"digest clustering, Other not capped (at most {100 * OTHER_MAX_SHARE:.0f}% in the digest)": lambda x: cluster(x, max_other=None),
    "digest clustering (centred, k by stability, placed by closeness, Other by closeness relative to the topic's, calibrated on fields)":
        lambda x: cluster(x),
}


def evaluate(
    weeks: Sequence[Week], vectors: dict[str, np.ndarray], fields: dict[str, int]
) -> dict[str, dict[str, float]]:
    kw = keyword_matrix(list(weeks))
    out: dict[str, dict[str, float]] = {}
    for name, method in METHODS.items():
        rows, field_counts = [], np.zeros(4, dtype=int)  # mixed topics, topics, off-field, confident
        for w in weeks:
            x = normalize_rows(np.stack([vectors[p.paper_id] for p in w.papers]))
            groups, other = method(x)
            sil, same = keyword_silhouette(groups, other, kw[w.label])
            mod = keyword_modularity(groups, other, kw[w.label])
            rows.append((sil, same, len(other) / len(x), len(groups), max(map(len, groups)) / len(x), mod))
            field_counts += topic_fields(groups, np.array([fields[p.paper_id] for p in w.papers]))
        a = np.array(rows)
        out[name] = {"mixed": field_counts[0] / max(field_counts[1], 1), "off_field": field_counts[2] / max(field_counts[3], 1),
                     "silhouette": a[:, 0].mean(), "same_topic": a[:, 1].mean(), "other": a[:, 2].mean(),
                     "topics": a[:, 3].mean(), "largest": a[:, 4].mean(), "modularity": a[:, 5].mean(),
                     "per_week": a[:, 0].tolist(), "per_week_mod": a[:, 5].tolist(), "wins": 0, "wins_mod": 0}
    base = next(iter(out.values()))
    for r in out.values():
        r["wins"] = int(np.sum(np.array(r["per_week"]) > np.array(base["per_week"]) + 1e-9))
        r["wins_mod"] = int(np.sum(np.array(r["per_week_mod"]) > np.array(base["per_week_mod"]) + 1e-9))
    return out


def _table(title: str, weeks: Sequence[Week], res: dict[str, dict[str, float]]) -> list[str]:
    lines = [f"### {title}: {len(weeks)} weeks, {sum(len(w.papers) for w in weeks)} papers", "",
             "| method | keyword silhouette | keyword modularity | mixed topics (arXiv fields) | off-field papers | "
             "same-topic keyword cosine | in Other | topics per week | largest topic | "
             "weeks above baseline (silhouette / modularity) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in res.items():
        lines.append(f"| {name} | {r['silhouette']:.3f} | {r['modularity']:.3f} | {100 * r['mixed']:.0f}% | "
                     f"{100 * r['off_field']:.1f}% | {r['same_topic']:.3f} | "
                     f"{100 * r['other']:.1f}% | {r['topics']:.1f} | {100 * r['largest']:.0f}% | "
                     f"{r['wins']}/{len(weeks)} / {r['wins_mod']}/{len(weeks)} |")
    return lines + [""]


def show(week: Week, vectors: dict[str, np.ndarray]) -> list[str]:
    """The week's topics as the digest groups them (no-model fallback titles), each with its members' titles."""
    raw = normalize_rows(np.stack([vectors[p.paper_id] for p in week.papers]))
    groups, other = cluster(raw)
    titles = group_titles([[week.papers[i] for i in g] for g in groups], week.papers)
    lines = [f"=== {week.label}: {len(week.papers)} papers, {len(groups)} topics, {len(other)} in Other"]
    for title, g in [*zip(titles, groups), ("Other", other)]:
        lines.append(f"--- {title} ({len(g)})")
        lines += [f"    {week.papers[i].title}" for i in g]
    return lines


def field_predictions(weeks: Sequence[Week], vectors: dict[str, np.ndarray]) -> tuple[dict[str, int], list[str]]:
    """({HF paper id: confident field index or -1}, lines checking the classifier): fitted on the arXiv
    listing without the HF papers in it, checked by 5-fold cross-validation on the listing and on those
    held-out HF papers."""
    listing = load_listing()
    lv = listing_vectors(listing, make_embedder(Settings(_env_file=None)).embed)
    train = np.array([i not in vectors for i in listing.ids])
    model = FieldModel(lv[train], listing.fields[train])
    held = np.stack([vectors[i] for i, t in zip(listing.ids, train) if not t])
    check = [f"cross-validated on {int(train.sum())} arXiv papers (5 folds):",
             *report(listing.fields[train], cross_validate(lv[train], listing.fields[train])),
             f"on the {int((~train).sum())} HF papers that are in the arXiv listing (held out of the fit):",
             *report(listing.fields[~train], model.proba(held))]
    ids = sorted({p.paper_id for w in weeks for p in w.papers})
    predicted = confident_fields(model.proba(np.stack([vectors[i] for i in ids])))
    share = np.bincount(predicted[predicted >= 0], minlength=4) / len(ids)
    check.append("HF papers of the benchmark weeks given a confident field: " + ", ".join(
        f"{name} {100 * s:.0f}%" for name, s in zip(FIELDS, share)))
    return dict(zip(ids, predicted.tolist())), check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--calibrate", action="store_true", help="print the Other cut fitted on the dev weeks and stop")
    parser.add_argument("--show", nargs="+", metavar="WEEK", help="print these weeks' topics with their titles and stop")
    args = parser.parse_args()
    start = time.perf_counter()
    weeks = load_weeks()
    split = frozen_split()
    vectors = paper_vectors(weeks, make_embedder(Settings(_env_file=None)).embed)
    if args.show:
        by_label = {w.label: w for w in weeks}
        unknown = [w for w in args.show if w not in by_label]
        if unknown:
            raise SystemExit(f"--show: no eligible week {', '.join(unknown)} (e.g. {', '.join(split['test'][:3])})")
        print("\n".join(line for w in args.show for line in show(by_label[w], vectors)))
        return
    fields, check = field_predictions(weeks, vectors)
    if args.calibrate:
        cut, n = calibrate([w for w in weeks if w.label in set(split["dev"])], vectors, fields)
        print(f"OTHER_BELOW = {cut:.3f}  (fitted on {n} confident dev-week papers of their topic's field)")
        return
    parts = ("dev", "test") if args.weeks == "all" else (args.weeks,)
    lines = ["# Topic coherence against HF keywords and arXiv fields", "",
             "Command: `python -m benchmarks.topics_bench` (deterministic; "
             f"load average {os.getloadavg()[0]:.1f}, {time.perf_counter() - start:.0f} s to load and embed).", ""]
    for part in (1, 2, 3):
        lines += [line.strip() for line in (__doc__ or "").split("\n\n")[part].splitlines()] + [""]
    lines += ["Field classifier (`topics_fields.py`):", "", *[f"    {line}" for line in check], ""]
    for part in parts:
        chosen = [w for w in weeks if w.label in set(split[part])]
        lines += _table(part, chosen, evaluate(chosen, vectors, fields))
    hand = OUT.read_text().split(HAND, 1)[1] if OUT.exists() and HAND in OUT.read_text() else "\n\n(not yet done)\n"
    OUT.write_text("\n".join(lines) + f"\n{HAND}{hand}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
