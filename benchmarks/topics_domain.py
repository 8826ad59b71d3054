"""What the digest clusters on, tried on the DEV weeks: the full abstract or what the paper does.

    python -m benchmarks.topics_domain [WORD...]  # dev weeks only; one row per variant (whose name has a WORD)

The hand check found papers of another field in a method topic (a segmentation paper about efficient
fine-tuning in the language topic): the abstract's background sentences (efficiency, RL, data) pull them
together. Variants: the paper vector of title + abstract (the digest), of the title and the
paper's contribution sentence (`takeaway.contribution_sentence`, the sentence its takeaway starts from),
of the title alone, of the title and the abstract's own-work sentences, the abstract vector joined with
the contribution vector, papers re-placed by both; and a field test from the text: a paper's zero-shot
field (the closest of `FIELD_NAMES`, embedded) against its topic's most common one, the outliers moved
or sent to "Other" first. Scored like
`topics_repr` (keyword silhouette and modularity against HF's keywords; mixed topics and off-field
papers by the arXiv-field classifier of `topics_fields`), the "Other" cut refitted per representation.
The test weeks are never read here. Results and their reading: benchmarks/results/topics.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from assistant.chains import clustering as C
from assistant.chains.takeaway import contribution_sentence
from assistant.config import Settings
from assistant.embeddings import make_embedder
from assistant.papers import Paper
from assistant.chains.answerable import method_name, sentence_roles
from assistant.citations import split_sentences
from benchmarks.topics_bench import baseline, group_labels, paper_silhouettes, zero_crossing
from benchmarks.topics_data import keyword_matrix
from benchmarks.topics_data import CACHE, Week
from benchmarks.topics_former import PREVIOUS_MAX_SHARE, PREVIOUS_OTHER
from benchmarks.topics_repr import Grouping, print_rows, stable_variant
from benchmarks.topics_variants import dev_setup


def short_text(paper: Paper) -> str:
    """Title and contribution sentence, as the digest embeds them for clustering."""
    return f"{paper.title}\n\n{contribution_sentence(paper)}"


def text_vectors(papers: list[Paper], text: Callable[[Paper], str], embed: Callable[[list[str]], np.ndarray]) -> dict[str, np.ndarray]:
    """Unit vectors of `text(paper)` per paper id, cached under the bench cache directory by the texts."""
    texts = {p.paper_id: text(p) for p in papers}
    ids = sorted(texts)
    key = hashlib.sha256("\n\x00".join(texts[i] for i in ids).encode()).hexdigest()[:16]
    cache = CACHE / f"hf_text_vectors_{key}.npy"
    if cache.exists():
        mat = np.load(cache)
    else:
        CACHE.mkdir(parents=True, exist_ok=True)
        mat = np.asarray(embed([texts[i] for i in ids]), dtype=np.float32)
        np.save(cache, mat)
    return dict(zip(ids, C.normalize_rows(mat)))


def own_work_text(paper: Paper) -> str:
    """Title and the abstract's sentences about the paper's own work (background and prior work left out)."""
    sents = split_sentences(paper.abstract)
    own = [s for s, r in zip(sents, sentence_roles(sents, method_name(paper.title))) if r == "own"]
    return f"{paper.title}\n\n{' '.join(own or sents)}"


def placed_by_both(weeks: list[Week], abstract: dict[str, np.ndarray], domain: dict[str, np.ndarray],
                   weight: float) -> dict[str, Grouping]:
    """The digest's clustering on the abstract vectors, then every paper re-placed by its abstract
    score plus `weight` x its score on the `domain` vectors (`placement_scores` of each), "Other" by the
    same sum, its cut refitted on these weeks as `topics_bench --calibrate` fits it, at most 5% of a week."""
    kw = keyword_matrix(weeks)
    settled: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    xs: list[float] = []
    ys: list[float] = []
    for w in weeks:
        a, d = C.centred(abstract[w.label]), C.centred(domain[w.label])

        def both(_x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            sa, ks = C.placement_scores(a, labels, C.ASSIGN_POWER)
            return sa + weight * C.placement_scores(d, labels, C.ASSIGN_POWER)[0], ks

        groups, _ = C.cluster(abstract[w.label], other_below=None)
        labels = C.settle(a, group_labels(len(a), groups), C.ASSIGN_POWER, scores_fn=both)
        sc, ks = both(a, labels)
        near = sc[np.arange(len(a)), np.searchsorted(ks, labels)]
        settled[w.label] = (labels, near)
        groups = [np.flatnonzero(labels == k).tolist() for k in np.unique(labels)]
        for i, score in paper_silhouettes(groups, kw[w.label])[0].items():
            xs.append(float(near[i]))
            ys.append(score)
    cut = zero_crossing(xs, ys)
    print(f"   (refitted other {cut:.3f})", flush=True)
    out = {}
    for w in weeks:
        labels, near = settled[w.label]
        other = [int(i) for i in np.argsort(near, kind="stable") if near[i] < cut][: int(PREVIOUS_MAX_SHARE * len(near))]
        groups = [[i for i in np.flatnonzero(labels == k).tolist() if i not in other] for k in np.unique(labels)]
        out[w.label] = ([g for g in groups if len(g) >= 2], other + [i for g in groups if len(g) < 2 for i in g])
    return out


FIELD_NAMES = (
    "computer vision: images, video and 3D", "robotics: robots, manipulation and autonomous driving",
    "natural language processing: text and language models", "machine learning theory and optimization",
    "speech and audio", "biology, chemistry and medicine", "recommender systems", "time series forecasting",
    "tabular data",
)


def field_outliers(weeks: list[Week], abstract: dict[str, np.ndarray], groupings: dict[str, Grouping],
                   names: np.ndarray, margin: float, to_other: bool) -> dict[str, Grouping]:
    """Each topic's papers whose zero-shot field (the closest of `names`, by at least `margin`) is not the
    topic's most common one: moved to the closest topic of their field, else to "Other" (`to_other`) or kept."""
    out = {}
    for w in weeks:
        groups, other = [list(g) for g in groupings[w.label][0]], list(groupings[w.label][1])
        x = abstract[w.label]
        sims = x @ names.T
        top = np.sort(sims, axis=1)
        field = np.where(top[:, -1] - top[:, -2] >= margin, np.argmax(sims, axis=1), -1)
        main = [np.bincount(field[g][field[g] >= 0], minlength=len(names)).argmax() if (field[g] >= 0).any() else -1
                for g in groups]
        labels = group_labels(len(x), groups)
        scores, ks = C.placement_scores(C.centred(x), labels, C.ASSIGN_POWER)
        moves: dict[int, int | None] = {}
        for j, g in enumerate(groups):
            for i in g:
                if field[i] < 0 or main[j] < 0 or field[i] == main[j]:
                    continue
                fits = [jj for jj in range(len(groups)) if main[jj] == field[i]]
                moves[i] = max(fits, key=lambda jj: scores[i, jj]) if fits else None
        for i, dest in moves.items():
            if dest is None and not to_other:
                continue
            for g in groups:
                if i in g:
                    g.remove(i)
            if dest is None:
                other.append(i)
            else:
                groups[dest].append(i)
        out[w.label] = ([g for g in groups if len(g) >= 2], sorted(other + [i for g in groups if len(g) < 2 for i in g]))
    return out


def outliers_first(weeks: list[Week], abstract: dict[str, np.ndarray], names: np.ndarray, margin: float) -> dict[str, Grouping]:
    """The digest's clustering, but "Other" (still at most 5% of a week) takes first the papers whose
    zero-shot field is not their topic's most common one (`field_outliers`), the least close first, then
    the papers under the closeness cut."""
    every = {w.label: C.cluster(abstract[w.label], other_below=None) for w in weeks}
    marked = field_outliers(weeks, abstract, every, names, margin, True)
    out = {}
    for w in weeks:
        x = C.centred(abstract[w.label])
        labels = group_labels(len(x), every[w.label][0])
        near = C.closeness(x, labels)
        first = sorted(marked[w.label][1], key=lambda i: near[i])
        rest = [int(i) for i in np.argsort(near, kind="stable") if near[i] < PREVIOUS_OTHER and i not in first]
        other = (first + rest)[: int(PREVIOUS_MAX_SHARE * len(x))]
        groups = [[i for i in g if i not in other] for g in every[w.label][0]]
        out[w.label] = ([g for g in groups if len(g) >= 2], sorted(other + [i for g in groups if len(g) < 2 for i in g]))
    return out


def rows_of(weeks: list[Week], *parts: tuple[dict[str, np.ndarray], float]) -> dict[str, np.ndarray]:
    """Per week, each representation's centred rows scaled by its weight, joined side by side (one part: its unit rows)."""
    out = {}
    for w in weeks:
        mats = [C.normalize_rows(np.stack([v[p.paper_id] for p in w.papers])) for v, _ in parts]
        out[w.label] = mats[0] if len(mats) == 1 else np.hstack([wt * C.centred(m) for m, (_, wt) in zip(mats, parts)])
    return out


def main() -> None:
    dev, vectors, fields = dev_setup()
    papers = [p for w in dev for p in w.papers]
    embed = make_embedder(Settings(_env_file=None)).embed
    short = text_vectors(papers, short_text, embed)
    title = text_vectors(papers, lambda p: p.title, embed)
    own = text_vectors(papers, own_work_text, embed)
    abstract = rows_of(dev, (vectors, 1.0))
    variants: dict[str, Callable[[], dict[str, Grouping]]] = {
        "k-means, k = sqrt(n/2) (baseline)": lambda: {w.label: baseline(abstract[w.label]) for w in dev},
        "title + abstract (the digest)": lambda: stable_variant(abstract, dev, None),
        "title + contribution sentence": lambda: stable_variant(rows_of(dev, (short, 1.0)), dev, None),
        "title alone": lambda: stable_variant(rows_of(dev, (title, 1.0)), dev, None),
        **{f"title + abstract joined with title + contribution x{a}": (lambda a: lambda: stable_variant(
            rows_of(dev, (vectors, 1.0), (short, a)), dev, None))(a) for a in (0.5, 1.0, 2.0)},
        "title + own-work sentences": lambda: stable_variant(rows_of(dev, (own, 1.0)), dev, None),
        **{f"clustered on title + abstract, placed by it + title x{a}": (lambda a: lambda: placed_by_both(
            dev, abstract, rows_of(dev, (title, 1.0)), a))(a) for a in (0.0, 0.5, 1.0)},
        **{f"clustered on title + abstract, placed by it + title + contribution x{a}": (lambda a: lambda: placed_by_both(
            dev, abstract, rows_of(dev, (short, 1.0)), a))(a) for a in (0.5, 1.0)},
    }
    names = C.normalize_rows(np.asarray(embed(list(FIELD_NAMES)), dtype=np.float32))
    for m in (0.04, 0.08):
        for to_other in (False, True):
            variants[f"zero-shot field outliers moved, margin {m}{', else to Other' if to_other else ''}"] = (
                lambda m, t: lambda: field_outliers(dev, abstract, stable_variant(abstract, dev, None), names, m, t))(m, to_other)
    for m in (0.04, 0.08):
        variants[f"zero-shot field outliers first in Other (at most 5%), margin {m}"] = (
            lambda m: lambda: outliers_first(dev, abstract, names, m))(m)
    print_rows(dev, variants, fields)


if __name__ == "__main__":
    main()
