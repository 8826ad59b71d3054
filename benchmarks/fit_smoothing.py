"""Calibrate the lift of hybrid scores by neighbouring papers (`retrieve.smooth`, settings `smooth_*`).

For each query, the fused scores of hybrid search without smoothing (every candidate) are smoothed
with each (weight, neighbours, pool) of a small grid and re-ranked. Tuned on the answer cases' dev
split ("which papers" recall@10 and its capped form, paraphrase recall@5) and SciFact train
(nDCG@10); none of this reads a test split. Writes benchmarks/results/smoothing.md:

    python -m benchmarks.fit_smoothing [--answers-store DIR] [--scifact-cache DIR]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.evaluate import eval_settings, ir_metrics, load_beir
from assistant.retrieve import Retriever, smooth
from assistant.service import Assistant

from benchmarks.answers_bench import bench_settings, default_data_dir, load_cases
from benchmarks.answers_grade import recall_at

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "smoothing.md"
SCIFACT = ROOT.parent / "shared" / "data" / "beir_scifact"
GRID = [(0.0, 3, 50), *itertools.product((0.1, 0.2, 0.3, 0.4), (2, 3, 5), (30, 50, 100))]  # weight 0: no smoothing
Fused = tuple[list[str], dict[str, float], dict[str, np.ndarray]]


def fused(r: Retriever, query: str) -> Fused:
    """Every hybrid candidate best first, its fused score, and the paper vectors of the largest pool."""
    hits = r.search(query, k=r.settings.candidates)  # the candidates production smooths (pool ≤ candidates)
    ranked = [h.paper.paper_id for h in hits]
    return ranked, {h.paper.paper_id: h.score for h in hits}, r.paper_vectors(ranked[: max(p for *_x, p in GRID)])


def reranked(f: Fused, weight: float, neighbours: int, pool: int) -> list[str]:
    ranked, scores, vectors = f
    head = ranked[:pool]
    new = smooth(head, scores, vectors, weight, neighbours)
    return sorted(head, key=lambda p: (-new[p], p)) + ranked[pool:]


def answers_dev(store: Path) -> dict[tuple[float, int, int], list[float]]:
    app = Assistant(bench_settings(store, smooth_weight=0))
    cases = [c for c in load_cases("dev") if c["type"] in ("which_papers", "paraphrase")]
    runs = [(c, fused(app.retriever, c["question"])) for c in cases]
    out = {}
    for g in GRID:
        which, capped, para = [], [], []
        for case, f in runs:
            ranked = reranked(f, *g)
            if case["type"] == "which_papers":
                which.append(recall_at(case["expected"], ranked, 10))
                capped.append(recall_at(case["expected"], ranked, 10, capped=True))
            else:
                para.append(recall_at(case["expected"], ranked, 5))
        out[g] = [float(np.mean(which)), float(np.mean(capped)), float(np.mean(para))]
    app.close()
    return out


def scifact_train(cache: Path) -> dict[tuple[float, int, int], float]:
    settings = Settings(_env_file=None, data_dir=cache, smooth_weight=0)  # type: ignore[call-arg]
    app = Assistant(eval_settings(settings))
    data = load_beir(SCIFACT, "train")
    runs = {qid: fused(app.retriever, q) for qid, q in data.queries.items()}
    out = {}
    for g in GRID:
        run = {}
        for qid, f in runs.items():
            ids = [p.removeprefix("sf:") for p in reranked(f, *g)[:100]]
            run[qid] = {d: float(len(ids) - i) for i, d in enumerate(ids)}
        out[g] = ir_metrics(data.qrels, run)["nDCG@10"]
    app.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers-store", type=Path, default=None, help="default: the answer benchmark's store")
    parser.add_argument("--scifact-cache", type=Path, default=None, help="the retrieval benchmark's --cache (holds eval-scifact/)")
    args = parser.parse_args(argv)
    dev = answers_dev(args.answers_store or default_data_dir())
    sf = scifact_train(args.scifact_cache) if args.scifact_cache else {}
    lines = [
        "# Smoothing hybrid scores over neighbouring papers", "",
        f"Written by `python -m benchmarks.fit_smoothing {' '.join(argv if argv is not None else sys.argv[1:])}`. "
        "Weight 0 = no smoothing (today's fusion alone).", "",
        "| weight | neighbours | pool | which papers R@10 (dev) | capped | paraphrase R@5 (dev) | SciFact train nDCG@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in GRID:
        w, c, p = dev[g]
        lines.append(f"| {g[0]} | {g[1]} | {g[2]} | {w:.3f} | {c:.3f} | {p:.3f} | {sf[g] if g in sf else '—'} |")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(OUT.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
