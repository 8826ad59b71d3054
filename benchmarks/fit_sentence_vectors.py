"""Do sentence vectors help retrieval? Measured on the answer cases' dev split and SciFact train.

For every paper of a store, each chunk's sentences are pooled from the chunk's own forward pass
("late chunking", `LocalEmbedder.embed_with_spans`) or, with --separate, embedded one by one.
Each query's candidates are the retriever's (BM25 top n ∪ dense top n, exact scores on both
sides); the dense side of the convex fusion is then the chunk cosine (today), the best sentence
cosine, their max, or a mix. Writes benchmarks/results/sentence_vectors.md (sentence_vectors_scifact.md
for SciFact alone). Tune on dev/train only; none of this reads the test split:

    python -m benchmarks.fit_sentence_vectors --answers-store DIR --scifact-store DIR [--separate]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.citations import split_sentences
from assistant.evaluate import eval_settings, ir_metrics, load_beir
from assistant.ingest import chunk_paper
from assistant.retrieve import convex_fuse
from assistant.service import Assistant

from benchmarks.answers_bench import bench_settings, load_cases
from benchmarks.answers_grade import recall_at

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "sentence_vectors.md"  # answer cases; SciFact alone: sentence_vectors_scifact.md
SCIFACT = ROOT.parent / "shared" / "data" / "beir_scifact"
Dense = Callable[[float, float], float]
VARIANTS: dict[str, Dense] = {
    "chunk (today)": lambda c, s: c,
    "sentence": lambda c, s: s,
    "max(chunk, sentence)": max,
    **{f"{1 - a:.2g}·chunk + {a:.2g}·sentence": (lambda a: lambda c, s: (1 - a) * c + a * s)(a) for a in (0.25, 0.5, 0.75)},
}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each of `split_sentences(text)` in `text` (matched across hard line breaks;
    a sentence that cannot be found, e.g. one `split_sentences` tidied, is left out)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for sentence in split_sentences(text):
        words = sentence.split()
        m = re.compile(r"\s+".join(map(re.escape, words))).search(text, pos) if words else None
        if m:
            spans.append((m.start(), m.end()))
            pos = m.end()
    return spans


def sentence_vectors(app: Assistant, separate: bool) -> dict[str, np.ndarray]:
    """Each paper's sentence vectors (title included), pooled per chunk or embedded one by one."""
    emb = app.embedder
    chunks = [c for p in app.store.iter_papers() for c in chunk_paper(p, emb.count_tokens)]
    spans = [sentence_spans(c.text) for c in chunks]
    if separate:
        texts = [c.text[a:b] for c, sp in zip(chunks, spans) for a, b in sp]
        vecs = iter(emb.embed(texts, bulk=True))
        pooled = [np.array([next(vecs) for _ in sp]).reshape(len(sp), -1) for sp in spans]
    else:
        _, pooled = emb.embed_with_spans([c.text for c in chunks], spans, bulk=True)
    out: dict[str, list[np.ndarray]] = {}
    for c, v in zip(chunks, pooled):
        out.setdefault(c.paper_id, []).append(v)
    return {pid: np.concatenate(vs) for pid, vs in out.items()}


def scored(app: Assistant, sents: dict[str, np.ndarray], query: str, n: int = 100) -> dict[str, tuple[float, float, float]]:
    """Candidates of `Retriever.search` with (BM25, chunk cosine, best sentence cosine)."""
    r = app.retriever
    bm25 = r.keyword(query, n)
    dense = r.dense(query, n)
    cands = [*dict.fromkeys([*bm25, *dense.scores])]
    bm25 = {**bm25, **r.store.keyword_index().scores_for(query, [p for p in cands if p not in bm25])}
    chunk = {**r.cosines(dense.vector, [p for p in cands if p not in dense.scores]), **dense.scores}
    vec = dense.vector
    return {
        p: (bm25.get(p, 0.0), chunk.get(p, 0.0), float((sents[p] @ vec).max()) if p in sents and len(sents[p]) else chunk.get(p, 0.0))
        for p in cands
    }


def rank(cands: dict[str, tuple[float, float, float]], dense: Dense, w: float) -> list[str]:
    scores = convex_fuse({p: b for p, (b, _c, _s) in cands.items()}, {p: dense(c, s) for p, (_b, c, s) in cands.items()}, w)
    return sorted(scores, key=lambda p: (-scores[p], p))


def answers_dev(app: Assistant, sents: dict[str, np.ndarray], weights: list[float], misses: list[str]) -> dict[str, dict[str, float]]:
    cases = [c for c in load_cases("dev") if c["type"] in ("which_papers", "paraphrase")]
    scored_cases = [(c, scored(app, sents, c["question"])) for c in cases]
    titles = {p.paper_id: p.title for c in cases for p in app.store.get_papers(c["expected"]).values()}
    out: dict[str, dict[str, float]] = {}
    for w in weights:
        for name, dense in VARIANTS.items():
            rows: dict[str, list[float]] = {"which_papers": [], "paraphrase": []}
            for case, cands in scored_cases:
                k = 10 if case["type"] == "which_papers" else 5
                ranked = rank(cands, dense, w)
                rows[case["type"]].append(recall_at(case["expected"], ranked, k))
                if w == weights[0] and name in ("chunk (today)", "max(chunk, sentence)") and case["type"] == "which_papers":
                    for pid in case["expected"]:
                        if pid not in ranked[:k]:
                            b, c, s = cands.get(pid, (0.0, 0.0, 0.0))
                            pos = ranked.index(pid) + 1 if pid in ranked else None
                            misses.append(f"| {name} | {case['id']} {case['question']} | {titles.get(pid, pid)[:60]} | {pos} | {b:.1f} | {c:.3f} | {s:.3f} |")
            out[f"w={w} {name}"] = {
                "which_papers R@10": round(float(np.mean(rows["which_papers"])), 3),
                "paraphrase R@5": round(float(np.mean(rows["paraphrase"])), 3),
            }
    return out


def scifact_train(app: Assistant, sents: dict[str, np.ndarray], weights: list[float]) -> dict[str, dict[str, float]]:
    data = load_beir(SCIFACT, "train")
    scored_q = {qid: scored(app, sents, q) for qid, q in data.queries.items()}
    out: dict[str, dict[str, float]] = {}
    for w in weights:
        for name, dense in VARIANTS.items():
            run = {}
            for qid, cands in scored_q.items():
                ids = [p.removeprefix("sf:") for p in rank(cands, dense, w)[:100]]
                run[qid] = {d: float(len(ids) - i) for i, d in enumerate(ids)}
            out[f"w={w} {name}"] = ir_metrics(data.qrels, run)
    return out


def table(title: str, rows: dict[str, dict[str, Any]]) -> str:
    cols = list(next(iter(rows.values())))
    lines = [f"**{title}**", "", "| variant | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    lines += [f"| {k} | " + " | ".join(str(v[c]) for c in cols) + " |" for k, v in rows.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers-store", type=Path, help="a copy of the answer benchmark's store")
    parser.add_argument("--scifact-store", type=Path, help="the cache dir holding eval-scifact/")
    parser.add_argument("--separate", action="store_true", help="answer cases: also sentences embedded one by one")
    parser.add_argument("--weights", default="0.3", help="BM25 weights to try, comma-separated")
    parser.add_argument("--out", type=Path, help="default: results/sentence_vectors.md (answer cases given) or _scifact.md")
    args = parser.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")]
    parts = ["# Sentence vectors for retrieval\n", f"Written by `python -m benchmarks.fit_sentence_vectors {' '.join(argv or sys.argv[1:])}`.\n"]
    if args.answers_store:
        app = Assistant(bench_settings(args.answers_store))
        misses: list[str] = []
        res = answers_dev(app, sentence_vectors(app, False), weights, misses)
        parts.append(table("Answer cases, dev split, pooled sentences: which papers recall@10, paraphrase recall@5", res))
        if args.separate:
            sep = answers_dev(app, sentence_vectors(app, True), weights[:1], [])
            parts.append(table("Answer cases, dev split, separately embedded sentences", sep))
        app.close()
        parts.append(f"**Expected papers missed at w={weights[0]}, pooled sentences** (rank among the candidates, BM25, "
                     "chunk cosine, best sentence cosine)\n\n| variant | case | paper | rank | bm25 | chunk | sentence |\n"
                     "|---|---|---|---|---|---|---|\n" + "\n".join(misses) + "\n")
        print(json.dumps(res, indent=1))
    if args.scifact_store:
        from assistant.config import Settings

        app = Assistant(eval_settings(Settings(_env_file=None, data_dir=args.scifact_store)))  # type: ignore[call-arg]
        res = scifact_train(app, sentence_vectors(app, False), weights)
        app.close()
        parts.append(table("SciFact train (809 queries), pooled sentences: nDCG@10, R@100", res))
        print(json.dumps(res, indent=1))
    out = args.out or (OUT if args.answers_store else OUT.with_name("sentence_vectors_scifact.md"))
    out.write_text("\n".join(parts), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
