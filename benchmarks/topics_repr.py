"""Paper representations and topic counts for the digest clustering, tried on the DEV weeks only.

    python -m benchmarks.topics_repr [WORD...]  # one row per variant (whose name has a WORD)

Representations: the embedding (title + abstract), the embedding joined with a TF-IDF view of the
paper's stemmed words (scaled by a weight), TF-IDF alone. Topic counts: the former silhouette pick
with loose topics dissolved, fixed shares of sqrt(n), subsampling stability (`clustering.stability`),
and Louvain communities of a k-nearest-neighbour graph (networkx, present in the dev environment
through the `bulk` extra; not a product dependency). Scored like `topics_bench` (keyword silhouette
and modularity against HF's keywords; mixed topics and off-field papers by the arXiv-field classifier
of `topics_fields`); the clustering's cuts are refitted on the dev weeks for a new representation or
count rule. The test weeks are never read here. Results and their reading: benchmarks/results/topics.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from assistant.chains import clustering as C
from assistant.store.keywords import KeywordIndex
from benchmarks.topics_bench import baseline, keyword_modularity, keyword_silhouette
from benchmarks.topics_data import Week, keyword_matrix
from benchmarks.topics_fields import topic_fields
from benchmarks.topics_former import FORMER_DISSOLVE, cluster_before, former
from benchmarks.topics_variants import dev_setup

Grouping = tuple[list[list[int]], list[int]]


def tfidf(texts: list[str], min_df: int = 2, max_share: float = 0.5) -> np.ndarray:
    """Unit rows of sublinear tf x idf over the given texts (stemmed words, stop words out)."""
    docs = KeywordIndex.words(texts)
    n = len(docs)
    df: dict[str, int] = {}
    for d in docs:
        for t in set(d):
            df[t] = df.get(t, 0) + 1
    vocab = sorted(t for t, c in df.items() if min_df <= c <= max_share * n)
    index = {t: i for i, t in enumerate(vocab)}
    mat = np.zeros((n, max(1, len(vocab))), dtype=np.float32)
    for r, d in enumerate(docs):
        counts: dict[str, int] = {}
        for t in d:
            if t in index:
                counts[t] = counts.get(t, 0) + 1
        for t, c in counts.items():
            mat[r, index[t]] = (1 + np.log(c)) * np.log(n / df[t])
    return C.normalize_rows(mat)


def week_rows(weeks: list[Week], vectors: dict[str, np.ndarray], weight: float | None) -> dict[str, np.ndarray]:
    """Per week, its rows: the unit embedding (weight None), TF-IDF alone (weight inf), or both joined,
    the TF-IDF part scaled by `weight` relative to the centred embedding (the clustering centres rows)."""
    out = {}
    for w in weeks:
        raw = C.normalize_rows(np.stack([vectors[p.paper_id] for p in w.papers]))
        if weight is None:
            out[w.label] = raw
            continue
        emb = C.centred(raw)
        tf = tfidf([p.text for p in w.papers])
        out[w.label] = tf if weight == float("inf") else np.hstack([emb, weight * C.centred(tf)])
    return out


def louvain(x: np.ndarray, neighbours: int, resolution: float, seed: int = 0) -> np.ndarray:
    """Labels from Louvain communities of the k-nearest-neighbour graph of the centred rows (cosine
    weights, positive only)."""
    import networkx as nx

    x = C.centred(C.normalize_rows(x))
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    g = nx.Graph()
    g.add_nodes_from(range(len(x)))
    for i in range(len(x)):
        for j in np.argsort(-sim[i])[:neighbours]:
            if sim[i, j] > 0:
                g.add_edge(i, int(j), weight=float(sim[i, j]))
    labels = np.zeros(len(x), dtype=int)
    for k, comm in enumerate(nx.community.louvain_communities(g, weight="weight", resolution=resolution, seed=seed)):
        labels[list(comm)] = k
    return labels


def refit_other(weeks: list[Week], rows: dict[str, np.ndarray], dissolve: float | None) -> float:
    """The "Other" cut refitted as `topics_bench.calibrate` fits it, topics dissolved at `dissolve`."""
    from benchmarks.topics_bench import group_labels, paper_silhouettes, zero_crossing

    kw = keyword_matrix(weeks)
    xs, ys = [], []
    for w in weeks:
        groups, _ = cluster_before(rows[w.label], other_below=None, dissolve_below=dissolve)
        x, labels = C.centred(C.normalize_rows(rows[w.label])), group_labels(len(w.papers), groups)
        near = C.closeness(x, labels)
        for i, sc in paper_silhouettes(groups, kw[w.label])[0].items():
            xs.append(float(near[i]))
            ys.append(sc)
    return zero_crossing(xs, ys)


def stable_variant(rows: dict[str, np.ndarray], weeks: list[Week], dissolve: float | None) -> dict[str, Grouping]:
    """The digest's clustering (count by stability) on the rows, topics dissolved at `dissolve`, Other refitted."""
    other = refit_other(weeks, rows, dissolve)
    print(f"   (refitted other {other:.3f})", flush=True)
    return {w.label: cluster_before(rows[w.label], other_below=other, dissolve_below=dissolve) for w in weeks}


def scores(weeks: list[Week], groupings: dict[str, Grouping], fields: dict[str, int]) -> tuple[float, ...]:
    kw = keyword_matrix(weeks)
    counts = np.zeros(4, dtype=int)
    rows = []
    for w in weeks:
        groups, other = groupings[w.label]
        rows.append((keyword_silhouette(groups, other, kw[w.label])[0], keyword_modularity(groups, other, kw[w.label]),
                     len(other) / len(w.papers), len(groups)))
        counts += topic_fields(groups, np.array([fields[p.paper_id] for p in w.papers]))
    return (*np.array(rows).mean(axis=0).tolist(), counts[0] / counts[1], counts[2] / counts[3])


def louvain_grouping(rows: dict[str, np.ndarray], weeks: list[Week], neighbours: int, resolution: float) -> dict[str, Grouping]:
    out = {}
    for w in weeks:
        labels = louvain(rows[w.label], neighbours, resolution)
        groups = [np.flatnonzero(labels == k).tolist() for k in np.unique(labels)]
        other = [i for g in groups if len(g) < 2 for i in g]
        out[w.label] = ([g for g in groups if len(g) >= 2], other)
    return out


def print_rows(weeks: list[Week], variants: dict[str, Callable[[], dict[str, Grouping]]], fields: dict[str, int]) -> None:
    """One table row per variant (those whose name has a word given on the command line, or all), as each ends."""
    print("| variant | keyword silhouette | modularity | Other | topics | mixed topics | off-field papers |", flush=True)
    for name, make in variants.items():
        if sys.argv[1:] and not any(word in name for word in sys.argv[1:]):
            continue
        sil, mod, other, topics, mixed, off = scores(weeks, make(), fields)
        print(f"| {name} | {sil:.4f} | {mod:.4f} | {100 * other:.1f}% | {topics:.1f} | {100 * mixed:.0f}% | "
              f"{100 * off:.1f}% |", flush=True)


def main() -> None:
    dev, vectors, fields = dev_setup()
    raw = week_rows(dev, vectors, None)

    def fixed(a: float | None, f: float) -> Callable[[], dict[str, Grouping]]:
        return lambda: (lambda rows: {w.label: cluster_before(rows[w.label], k=max(2, round(f * len(w.papers) ** 0.5)))
                                      for w in dev})(week_rows(dev, vectors, a))

    variants: dict[str, Callable[[], dict[str, Grouping]]] = {
        "k-means, k = sqrt(n/2) (baseline)": lambda: {w.label: baseline(raw[w.label]) for w in dev},
        "former: k by silhouette, loose topics dissolved": lambda: {w.label: former(raw[w.label]) for w in dev},
        "k by stability, loose topics dissolved (0.06), Other refitted": lambda: stable_variant(raw, dev, FORMER_DISSOLVE),
        "k by stability, Other refitted (adopted)": lambda: stable_variant(raw, dev, None),
        **{f"embedding + TF-IDF x{a}, k by stability, Other refitted": (lambda a: lambda: stable_variant(
            week_rows(dev, vectors, a), dev, None))(a) for a in (0.5, 1.0)},
        "TF-IDF only, k by stability, Other refitted": lambda: stable_variant(week_rows(dev, vectors, float("inf")), dev, None),
        **{f"fixed k = {f} sqrt(n)": fixed(None, f) for f in (0.5, 0.7, 1.0)},
        "embedding + TF-IDF x1.0, fixed k = 0.7 sqrt(n)": fixed(1.0, 0.7),
        **{f"Louvain, {nb}-nearest-neighbour graph, resolution {res}": (lambda nb, res: lambda: louvain_grouping(
            raw, dev, nb, res))(nb, res) for nb, res in ((10, 1.0), (10, 1.25), (10, 1.5), (5, 1.0))},
        "Louvain on embedding + TF-IDF x1.0, 10 neighbours, resolution 1.5": lambda: louvain_grouping(
            week_rows(dev, vectors, 1.0), dev, 10, 1.5),
    }
    print_rows(dev, variants, fields)


if __name__ == "__main__":
    main()
