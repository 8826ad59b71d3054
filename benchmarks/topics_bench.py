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
arXiv categories are not used: only 265 of the HF papers are in the shared arXiv listing.

Calibration (`--calibrate`, dev weeks only): the "Other" cut `clustering.OTHER_BELOW` is where a
linear fit of each paper's keyword silhouette on its cosine to its topic's centre crosses zero, with
every paper kept in a topic: below it a paper's place agrees with HF's keywords no better than chance.

Usage: python -m benchmarks.topics_bench [--weeks dev|test|all] [--calibrate]
Writes benchmarks/results/topics.md (the hand check section is kept from the previous file).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from assistant.chains.clustering import centre_similarity, centred, choose_k, cluster, normalize_rows, spherical_kmeans
from assistant.config import Settings
from assistant.embeddings import make_embedder
from benchmarks.topics_data import Week, frozen_split, keyword_matrix, load_weeks, paper_vectors

OUT = Path(__file__).resolve().parent / "results" / "topics.md"
HAND = "## Hand check"

Grouping = tuple[list[list[int]], list[int]]


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


def calibrate(weeks: Sequence[Week], vectors: dict[str, np.ndarray]) -> tuple[float, int]:
    """(the "Other" cut, papers it was fitted on): the zero crossing of a linear fit of each paper's
    keyword silhouette on its cosine to its topic's centre, every paper kept in a topic."""
    kw = keyword_matrix(list(weeks))
    xs: list[float] = []
    ys: list[float] = []
    for w in weeks:
        raw = normalize_rows(np.stack([vectors[p.paper_id] for p in w.papers]))
        groups, _ = cluster(raw, other_below=None)
        labels = np.zeros(len(raw), dtype=int)
        for j, g in enumerate(groups):
            labels[g] = j
        near = centre_similarity(centred(raw), labels)
        for i, score in paper_silhouettes(groups, kw[w.label])[0].items():
            xs.append(float(near[i]))
            ys.append(score)
    slope, intercept = np.polyfit(np.array(xs), np.array(ys), 1)
    return float(-intercept / slope), len(xs)


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
    "digest clustering, every paper in a topic (before the calibrated Other)": lambda x: cluster(x, other_below=None),
    "digest clustering (centred, k by silhouette, calibrated Other)": lambda x: cluster(x),
}


def evaluate(weeks: Sequence[Week], vectors: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    kw = keyword_matrix(list(weeks))
    out: dict[str, dict[str, float]] = {}
    for name, method in METHODS.items():
        rows = []
        for w in weeks:
            x = normalize_rows(np.stack([vectors[p.paper_id] for p in w.papers]))
            groups, other = method(x)
            sil, same = keyword_silhouette(groups, other, kw[w.label])
            rows.append((sil, same, len(other) / len(x), len(groups), max(map(len, groups)) / len(x)))
        a = np.array(rows)
        out[name] = {"silhouette": a[:, 0].mean(), "same_topic": a[:, 1].mean(), "other": a[:, 2].mean(),
                     "topics": a[:, 3].mean(), "largest": a[:, 4].mean(), "per_week": a[:, 0].tolist(), "wins": 0}
    base = np.array(next(iter(out.values()))["per_week"])
    for r in out.values():
        r["wins"] = int(np.sum(np.array(r["per_week"]) > base + 1e-9))
    return out


def _table(title: str, weeks: Sequence[Week], res: dict[str, dict[str, float]]) -> list[str]:
    lines = [f"### {title}: {len(weeks)} weeks, {sum(len(w.papers) for w in weeks)} papers", "",
             "| method | keyword silhouette | same-topic keyword cosine | in Other | topics per week | largest topic | weeks above baseline |",
             "|---|---|---|---|---|---|---|"]
    for name, r in res.items():
        lines.append(f"| {name} | {r['silhouette']:.3f} | {r['same_topic']:.3f} | {100 * r['other']:.1f}% | "
                     f"{r['topics']:.1f} | {100 * r['largest']:.0f}% | {r['wins']}/{len(weeks)} |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", choices=("dev", "test", "all"), default="all")
    parser.add_argument("--calibrate", action="store_true", help="print the 'Other' cut fitted on the dev weeks and stop")
    args = parser.parse_args()
    start = time.perf_counter()
    weeks = load_weeks()
    split = frozen_split()
    vectors = paper_vectors(weeks, make_embedder(Settings(_env_file=None)).embed)
    if args.calibrate:
        cut, n = calibrate([w for w in weeks if w.label in set(split["dev"])], vectors)
        print(f"OTHER_BELOW = {cut:.2f}  (fitted on {n} dev-week papers)")
        return
    parts = ("dev", "test") if args.weeks == "all" else (args.weeks,)
    lines = ["# Topic coherence against HF keywords", "",
             "Command: `python -m benchmarks.topics_bench` (deterministic; "
             f"load average {os.getloadavg()[0]:.1f}, {time.perf_counter() - start:.0f} s to load and embed).", ""]
    lines += [line.strip() for line in (__doc__ or "").split("\n\n")[1].splitlines()] + [""]
    for part in parts:
        chosen = [w for w in weeks if w.label in set(split[part])]
        lines += _table(part, chosen, evaluate(chosen, vectors))
    hand = OUT.read_text().split(HAND, 1)[1] if OUT.exists() and HAND in OUT.read_text() else "\n\n(not yet done)\n"
    OUT.write_text("\n".join(lines) + f"\n{HAND}{hand}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
