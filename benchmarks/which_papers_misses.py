"""Why "which papers" questions miss expected papers at 10: a per-case diagnosis on the dev split only.

For each dev "which papers" case: every expected paper outside the hybrid top 10 with its rank in
hybrid search, before neighbour smoothing (`Hit.relevance`), in BM25 alone and in dense alone; the
papers that took the other top-10 slots; the ceiling of uncapped recall@10 (a case with more than 10
relevant papers cannot score 1). Then what the retrieval settings reach (fusion weight, candidates,
smoothing, RRF, MMR) and what a per-case best choice of fusion weight and smoothing would reach (an
oracle: the bound of any query-dependent choice of those weights). Never reads the test split.
Writes benchmarks/results/which_papers_misses.md:

    python -m benchmarks.which_papers_misses [--answers-store DIR]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.retrieve import Retriever
from assistant.service import Assistant

from benchmarks.answers_bench import bench_settings, default_data_dir, load_cases
from benchmarks.answers_grade import recall_at

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "which_papers_misses.md"
DEPTH = 100  # hybrid ranks are read this deep; BM25 and dense ranks ten times deeper
Case = dict[str, Any]
Search = Callable[[str, int], list[str]]

# Settings-expressible variants: (label, settings overrides, search keyword arguments).
VARIANTS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("as shipped", {}, {}),
    ("no smoothing", {"smooth_weight": 0.0}, {}),
    ("candidates 300", {"candidates": 300}, {}),
    *((f"bm25_weight {w}", {"bm25_weight": w}, {}) for w in (0.1, 0.2, 0.4, 0.5)),
    ("RRF k=20 (weighted as shipped)", {"fusion": "rrf"}, {}),
    ("MMR (diverse=True, lambda 0.7)", {}, {"diverse": True}),
    ("MMR lambda 0.9", {"mmr_lambda": 0.9}, {"diverse": True}),
]
ORACLE_GRID = list(itertools.product([round(0.1 * i, 1) for i in range(11)], (0.0, 0.3, 0.6)))


def searcher(app: Assistant, overrides: dict[str, Any], kwargs: dict[str, Any]) -> Search:
    """Paper ids of a search over the benchmark store with these settings."""
    retriever = Retriever(app.store, app.retriever.embed, app.settings.model_copy(update=overrides))
    return lambda query, k: [h.paper.paper_id for h in retriever.search(query, k=k, **kwargs)]


def scores(cases: list[Case], search: Search) -> dict[str, tuple[float, float]]:
    """Per case: (uncapped, capped) recall@10 for "which papers", recall@5 twice for paraphrases."""
    out = {}
    for case in cases:
        k = 10 if case["type"] == "which_papers" else 5
        ranked = search(case["question"], k)
        out[case["id"]] = (recall_at(case["expected"], ranked, k), recall_at(case["expected"], ranked, k, capped=True))
    return out


def mean(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f}" if values else "—"


def misses(app: Assistant, case: Case) -> tuple[list[list[str]], list[str], int]:
    """(rows of missed expected papers, titles of the other top-10 papers, expected papers in the top 10)."""
    r = app.retriever
    query, expected = case["question"], case["expected"]
    hits = r.search(query, k=DEPTH)
    hybrid = [h.paper.paper_id for h in hits]
    own = [h.paper.paper_id for h in sorted(hits, key=lambda h: -h.relevance)]
    bm25 = sorted((bm := r.keyword(query, DEPTH * 10)), key=lambda p: -bm[p])
    dense = r.dense(query, DEPTH * 10).ranking
    titles = {pid: p.title for pid, p in app.store.get_papers([*expected, *hybrid[:10]]).items()}

    def rank(ranking: list[str], pid: str) -> str:
        return str(ranking.index(pid) + 1) if pid in ranking else f"> {len(ranking)}"

    rows = [
        [rank(hybrid, p), rank(own, p), rank(bm25, p), rank(dense, p), titles.get(p, p)[:70]]
        for p in expected
        if p not in hybrid[:10]
    ]
    rows.sort(key=lambda row: int(row[0]) if row[0].isdigit() else DEPTH + 1)
    others = [titles.get(p, p)[:60] for p in hybrid[:10] if p not in expected]
    return rows, others, len(set(expected) & set(hybrid[:10]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers-store", type=Path, default=None, help="default: the answer benchmark's store")
    args = parser.parse_args(argv)
    app = Assistant(bench_settings(args.answers_store or default_data_dir()))
    cases = [c for c in load_cases("dev") if c["type"] in ("which_papers", "paraphrase")]
    which = [c for c in cases if c["type"] == "which_papers"]
    ceiling = statistics.mean(min(10, len(c["expected"])) / len(c["expected"]) for c in which)
    lines = [
        "# \"Which papers\" misses at 10 (dev split)", "",
        f"Written by `{' '.join(['python -m benchmarks.which_papers_misses', *(argv if argv is not None else sys.argv[1:])])}` "
        f"over the answer benchmark's store ({app.store.stats(vectors=False)['papers']} papers). Ranks: hybrid as "
        "shipped; `own` = hybrid before neighbour smoothing; BM25 alone; dense alone. Capped recall@10 = "
        "found / min(10, expected) (BEIR's R_cap@10); uncapped = found / expected.", "",
        f"Ceiling of uncapped recall@10 over the {len(which)} dev cases: {ceiling:.3f} "
        f"({', '.join(c['id'] + ' has ' + str(len(c['expected'])) for c in which if len(c['expected']) > 10)} "
        "relevant papers).", "",
        "## Per case", "",
    ]
    for case in which:
        rows, others, found = misses(app, case)
        lines += [f"**{case['id']}** {case['question']!r}: {found} of {len(case['expected'])} in the top 10", ""]
        if rows:
            lines += ["| hybrid | own | BM25 | dense | missed paper |", "|---|---|---|---|---|"]
            lines += ["| " + " | ".join(row) + " |" for row in rows] + [""]
        if others:
            lines += ["Other top-10 papers: " + "; ".join(others), ""]
    lines += ["## Settings", "", "| variant | which R@10 | capped | paraphrase R@5 |", "|---|---|---|---|"]
    for label, overrides, kwargs in VARIANTS:
        got = scores(cases, searcher(app, overrides, kwargs))
        lines.append(
            f"| {label} | {mean([got[c['id']][0] for c in which])} | {mean([got[c['id']][1] for c in which])} "
            f"| {mean([got[c['id']][0] for c in cases if c['type'] == 'paraphrase'])} |"
        )
    runs = {g: scores(which, searcher(app, {"bm25_weight": g[0], "smooth_weight": g[1]}, {})) for g in ORACLE_GRID}
    best = {c["id"]: max(runs.values(), key=lambda got: got[c["id"]][1])[c["id"]] for c in which}
    lines += [
        "", "## Per-case best fusion weight and smoothing (oracle)", "",
        f"Each case scored with the best of {len(ORACLE_GRID)} (bm25_weight 0-1 by 0.1, smooth_weight 0 / 0.3 / 0.6) "
        f"for it: which R@10 {mean([v[0] for v in best.values()])}, capped {mean([v[1] for v in best.values()])}. "
        "No query-dependent choice of these two weights can do better on these cases.", "",
    ]
    app.close()
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print(OUT.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
