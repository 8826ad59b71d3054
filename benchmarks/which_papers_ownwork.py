"""Does an "own work" representation find the "which papers" misses? A trial on the dev split only.

The misses of `which_papers_misses.md` are displaced by papers that mention the topic while their own
work is something else. This scores each of a question's 100 best hybrid candidates by how well the
question matches what the paper itself does: its own-work sentences (`answerable.sentence_roles`, the
roles the fall-back quotes and takeaways use), its contribution sentence (`takeaway.contribution_sentence`)
and the rarity-weighted share of the question's words its own-work sentences state, and re-ranks by
shipped score + a x feature, applied to every question or to the "which papers" route only
(`routing.classify`). Reports recall@10 (uncapped / capped), paraphrase recall@5, the per-case best
weight (an oracle bound), and how often a missed paper beats a top-10 paper that is not relevant
(pairs within a case) on each feature. Never reads the test split. Writes
benchmarks/results/which_papers_ownwork_grid.md (the write-up: which_papers_ownwork.md):

    python -m benchmarks.which_papers_ownwork [--answers-store DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.chains.answerable import method_name, sentence_roles
from assistant.chains.routing import classify
from assistant.chains.takeaway import contribution_sentence
from assistant.citations import split_sentences
from assistant.service import Assistant

from benchmarks.answers_bench import bench_settings, default_data_dir, load_cases
from benchmarks.answers_grade import recall_at

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "which_papers_ownwork_grid.md"
DEPTH = 100  # candidates re-ranked: the shipped top 100 holds every dev miss
WEIGHTS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
Row = dict[str, Any]


def own_max(row: Row, title: bool = False, top: int = 1) -> float:
    """Mean of the `top` best cosines of the question with the paper's own-work sentences (and its title)."""
    vals = [c for c, role in zip(row["cos"], row["roles"]) if role == "own"] + ([row["title_cos"]] if title else [])
    return float(np.mean(sorted(vals, reverse=True)[:top])) if vals else 0.0


FEATURES: dict[str, Callable[[Row], float]] = {
    "own-work sentence cosine (max)": own_max,
    "own-work sentence or title cosine (max)": lambda r: own_max(r, title=True),
    "own-work sentences, mean of best 2": lambda r: own_max(r, top=2),
    "contribution sentence cosine": lambda r: r["contrib_cos"],
    "own-work max - any-sentence max (background penalty)": lambda r: own_max(r) - max(r["cos"]),
    "contribution cosine - best chunk cosine": lambda r: r["contrib_cos"] - r["chunk"],
    "question words stated by own work (rarity-weighted)": lambda r: r["own_cov"],
    "own-work words - abstract words (background penalty)": lambda r: r["own_cov"] - r["all_cov"],
}
PAIR_FEATURES: dict[str, Callable[[Row], float]] = {
    "shipped score": lambda r: r["score"], "best chunk cosine": lambda r: r["chunk"], "BM25": lambda r: r["bm25"],
    "any-sentence cosine (max)": lambda r: max(r["cos"]), **FEATURES,
}


def candidates(app: Assistant, question: str) -> list[Row]:
    """The shipped top `DEPTH` for `question` with each paper's own-work features."""
    r, embed, index = app.retriever, app.embed_sentences, app.store.keyword_index()
    hits = r.search(question, k=DEPTH)
    qvec = embed([question])[0]
    ids = [h.paper.paper_id for h in hits]
    bm25, chunk = index.scores_for(question, ids), r.cosines(qvec, ids)
    weights = index.term_weights([question])[0]
    total = sum(weights.values()) or 1.0
    rows = []
    for h in hits:
        p = h.paper
        sents = split_sentences(p.abstract) or [p.abstract]
        roles = sentence_roles(sents, method_name(p.title))
        vecs = embed([p.title, *sents, contribution_sentence(p) or p.title])
        own_words = {w for ws in index.words([p.title, *(s for s, x in zip(sents, roles) if x == "own")]) for w in ws}
        all_words = {w for ws in index.words([p.title, *sents]) for w in ws}
        rows.append({
            "pid": p.paper_id, "score": h.score, "bm25": bm25.get(p.paper_id, 0.0), "chunk": chunk.get(p.paper_id, 0.0),
            "title_cos": float(vecs[0] @ qvec), "cos": [float(v @ qvec) for v in vecs[1:-1]], "roles": roles,
            "contrib_cos": float(vecs[-1] @ qvec),
            "own_cov": sum(v for w, v in weights.items() if w in own_words) / total,
            "all_cov": sum(v for w, v in weights.items() if w in all_words) / total,
        })
    return rows


def _mean(values: list[float]) -> float:
    return statistics.mean(values) if values else float("nan")


def evaluate(data: list[dict[str, Any]], feature: Callable[[Row], float] | None, a: float, which_route: bool
             ) -> tuple[dict[str, float], dict[str, float]]:
    """Means of (which R@10, capped, paraphrase R@5) re-ranked by score + a x feature; per-case capped recall."""
    got: dict[str, list[float]] = {"which": [], "capped": [], "paraphrase": []}
    per = {}
    for d in data:
        case, rows = d["case"], d["rows"]
        on = feature is not None and (not which_route or d["route"] == "which")
        ranked = [r["pid"] for r in sorted(rows, key=lambda r: -(r["score"] + (a * feature(r) if on else 0.0)))]
        if case["type"] == "which_papers":
            got["which"].append(recall_at(case["expected"], ranked, 10))
            got["capped"].append(per.setdefault(case["id"], recall_at(case["expected"], ranked, 10, capped=True)))
        else:
            got["paraphrase"].append(recall_at(case["expected"], ranked, 5))
    return {k: _mean(v) for k, v in got.items()}, per


def pairs_won(data: list[dict[str, Any]], feature: Callable[[Row], float]) -> tuple[float, int]:
    """Share of (missed expected paper, non-relevant top-10 paper) pairs of one case the missed paper wins."""
    won, n = 0.0, 0
    for d in data:
        case, rows = d["case"], d["rows"]
        if case["type"] != "which_papers":
            continue
        top = {r["pid"] for r in rows[:10]}
        missed = [r for r in rows if r["pid"] in case["expected"] and r["pid"] not in top]
        for m in missed:
            for x in (r for r in rows[:10] if r["pid"] not in case["expected"]):
                n += 1
                won += 1.0 if feature(m) > feature(x) else 0.5 if feature(m) == feature(x) else 0.0
    return won / max(n, 1), n


def group_means(data: list[dict[str, Any]], feature: Callable[[Row], float]) -> dict[str, float]:
    """Mean feature of the expected papers in the top 10 (`hit`), the expected ones outside (`missed`) and the
    non-relevant papers in the top 10 (`displacer`), over the "which papers" cases."""
    groups: dict[str, list[float]] = {"hit": [], "missed": [], "displacer": []}
    for d in data:
        if d["case"]["type"] == "which_papers":
            for i, r in enumerate(d["rows"]):
                relevant = r["pid"] in d["case"]["expected"]
                if relevant or i < 10:
                    groups["hit" if relevant and i < 10 else "missed" if relevant else "displacer"].append(feature(r))
    return {g: _mean(v) for g, v in groups.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers-store", type=Path, default=None, help="default: the answer benchmark's store")
    args = parser.parse_args(argv)
    app = Assistant(bench_settings(args.answers_store or default_data_dir()))
    try:
        data = [{"case": c, "route": classify(app.embed_sentences([c["question"]])[0]).kind,
                 "rows": candidates(app, c["question"])}
                for c in load_cases("dev") if c["type"] in ("which_papers", "paraphrase")]
    finally:
        app.close()
    lines = report(data, argv if argv is not None else sys.argv[1:])
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(OUT.read_text())
    return 0


def report(data: list[dict[str, Any]], argv: list[str]) -> list[str]:
    """The result file's lines for the collected candidates."""
    base, _ = evaluate(data, None, 0.0, False)
    not_which = [d["case"]["id"] for d in data if d["case"]["type"] == "which_papers" and d["route"] != "which"]
    lines = [
        "# \"Which papers\": an own-work representation (dev split)", "",
        f"Written by `{' '.join(['python -m benchmarks.which_papers_ownwork', *argv])}`. "
        f"Each dev question's shipped top {DEPTH} re-ranked by shipped score + a x feature; `all` = every question, "
        "`route` = only questions the router sends to the \"which papers\" list "
        f"({', '.join(not_which)} are routed elsewhere, so stay as shipped there). Cells: capped which R@10, "
        "all / route; the oracle column takes each case's best a (all questions).", "",
        f"Shipped: which R@10 {base['which']:.3f}, capped {base['capped']:.3f}, paraphrase R@5 {base['paraphrase']:.3f}.", "",
        "| feature | " + " | ".join(f"a = {a}" for a in WEIGHTS) + " | paraphrase R@5 (all), worst | per-case best a (oracle) |",
        "|---|" + "---|" * (len(WEIGHTS) + 2),
    ]
    for name, feature in FEATURES.items():
        runs = {a: (evaluate(data, feature, a, False), evaluate(data, feature, a, True)) for a in WEIGHTS}
        oracle = {cid: max(runs[a][0][1][cid] for a in WEIGHTS) for cid in runs[WEIGHTS[0]][0][1]}
        cells = [f"{runs[a][0][0]['capped']:.3f} / {runs[a][1][0]['capped']:.3f}" for a in WEIGHTS]
        lines.append(f"| {name} | {' | '.join(cells)} | {min(runs[a][0][0]['paraphrase'] for a in WEIGHTS):.3f} "
                     f"| {statistics.mean(oracle.values()):.3f} |")
    lines += ["", "## Missed papers against the top-10 papers that are not relevant", "",
              "Pairs (a missed expected paper, a non-relevant paper in the shipped top 10) of one case; the share "
              "the missed paper scores higher on (ties half). 0.5 is chance; a feature that could lift the misses "
              "without pushing others out would need far more, and the same for the hits.", "",
              "| feature | missed paper wins | pairs | mean: hit | missed | displacer |", "|---|---|---|---|---|---|"]
    for name, feature in PAIR_FEATURES.items():
        share, n = pairs_won(data, feature)
        g = group_means(data, feature)
        lines.append(f"| {name} | {share:.3f} | {n} | {g['hit']:.3f} | {g['missed']:.3f} | {g['displacer']:.3f} |")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
