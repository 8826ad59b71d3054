"""Retrieval benchmark: quality (BEIR SciFact, seed questions) and latency (10k papers, 100k chunks).

Run from the repo root: `python -m benchmarks.retrieval_bench` (see --help for flags that skip the
slow parts); writes benchmarks/results/retrieval.md and retrieval.json. Stores are built once in
--cache (default .cache/, outside git) and reused:
  eval-scifact/   SciFact corpus (5,183 abstracts), collection `scifact`      ~1 h to embed on 2 busy cores
  eval-seeds/     the five seed pages (310 papers)                              ~5 min
  bench-10k/      ../shared/data/hf_daily_papers (9,877 papers)                 ~1-2 h to embed on 2 busy cores
  bench-10k-seeds/ bench-10k + the seed papers (seed questions among 10k distractors; vectors copied)
  bench-100k/     bench-10k replicated with distinct ids and shifted dates up to >=100k chunks;
                  replica vectors = the original vectors + small Gaussian noise (not re-embedded)
Latency is measured warm, in process, one query at a time; the machine is shared, so compare
numbers within one run (ratios) rather than across runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import shutil
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from assistant.config import Settings
from assistant.evaluate import (
    MODES,
    SEED_QUESTIONS,
    SEEDS_COLLECTION,
    SEEDS_DIR_NAME,
    beir_papers,
    build_index,
    eval_settings,
    evaluate_beir,
    evaluate_questions,
    load_beir,
    load_seed_questions,
    markdown_table,
    percentile,
)
from assistant.papers import Chunk, Paper
from assistant.store.keywords import ACRONYM_WEIGHT, PAIR_WEIGHT
from assistant.service import Assistant

from benchmarks.results_io import rerender

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
HF_ROWS = SHARED / "hf_daily_papers" / "hf_daily_papers.jsonl.gz"
SCIFACT = SHARED / "beir_scifact"
SEED_PAGES = ROOT / "examples" / "daily-papers"
OUT_MD = ROOT / "benchmarks" / "results" / "retrieval.md"
OUT_JSON = ROOT / "benchmarks" / "results" / "retrieval.json"

log = logging.getLogger("retrieval_bench")


def settings_for(data_dir: Path, **overrides: object) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **{"read_after_ingest": "off", **overrides})  # type: ignore[call-arg]


def variant(app: Assistant, **overrides: object) -> Assistant:
    """The same store and embedder with other retrieval settings (e.g. untuned RRF)."""
    from assistant.retrieve import Retriever

    other = Assistant(app.settings.model_copy(update=overrides))
    other.__dict__["embedder"] = app.embedder
    other.__dict__["store"] = app.store
    other.__dict__["retriever"] = Retriever(app.store, app.embedder.embed, other.settings)
    return other


# --------------------------------------------------------------------------- quality
BASELINE_RRF = {"fusion": "rrf", "rrf_k": 60, "bm25_weight": 0.5}


def scifact(cache: Path, data_path: Path, splits: list[str]) -> dict[str, object]:
    base = settings_for(cache)
    app = Assistant(eval_settings(base))
    out: dict[str, object] = {}
    try:
        corpus = load_beir(data_path, "test")
        out["index"] = build_index(app, beir_papers(corpus.corpus), progress=True)
        rrf = variant(app, **BASELINE_RRF)
        for split in splits:
            data = corpus if split == "test" else load_beir(data_path, split)
            res = evaluate_beir(app, data, MODES)
            res["hybrid, plain RRF k=60"] = evaluate_beir(rrf, data, ["hybrid"])["hybrid"]
            out[split] = {"queries": len(data.queries), "results": res}
            log.info("scifact %s: %s", split, res)
    finally:
        app.close()
    return out


def seeds(cache: Path) -> dict[str, object]:
    app = Assistant(eval_settings(settings_for(cache), SEEDS_DIR_NAME, SEEDS_COLLECTION))
    try:
        app.ingest([SEED_PAGES], year=2025, progress=True)
        qs = load_seed_questions()
        res = evaluate_questions(app.retriever, qs)
        res["hybrid, plain RRF k=60"] = evaluate_questions(variant(app, **BASELINE_RRF).retriever, qs, ["hybrid"])["hybrid"]
        return {"questions": len(qs), "papers": app.stats()["papers"], "results": res}
    finally:
        app.close()


def seeds_among_10k(cache: Path, big: Assistant) -> dict[str, object]:
    """The seed questions over bench-10k + the seed papers (their vectors copied from eval-seeds)."""
    dest = cache / "bench-10k-seeds"
    src = Assistant(eval_settings(settings_for(cache), SEEDS_DIR_NAME, SEEDS_COLLECTION))
    seed_ids = [p.paper_id for p in src.store.iter_papers()]
    if not dest.exists() or not (dest / ".complete").exists():
        if dest.exists():
            shutil.rmtree(dest)
        big.store.close()
        shutil.copytree(big.settings.data_dir, dest)
        app = Assistant(settings_for(dest))
        copy_papers(src, app, seed_ids)
        app.store.rebuild_keyword_index()
        (dest / ".complete").write_text("ok")
    app = Assistant(settings_for(dest))
    qs = load_seed_questions()
    res = evaluate_questions(app.retriever, qs)
    res["hybrid, plain RRF k=60"] = evaluate_questions(variant(app, **BASELINE_RRF).retriever, qs, ["hybrid"])["hybrid"]
    return {"questions": len(qs), "papers": app.stats()["papers"], "results": res}


def copy_papers(
    src: Assistant, dst: Assistant, ids: list[str], suffix: str = "", shift_days: int = 0, noise: float = 0.0,
    rng: np.random.Generator | None = None,
) -> int:
    """Copy papers and their chunk vectors between stores through the Store API (no embedding).

    With `suffix`, copies get distinct ids (`<id>~r1`), dates moved back by `shift_days` and
    vectors perturbed by Gaussian `noise` (re-normalised). Returns the number of chunks written.
    """
    written = 0
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        papers = src.store.get_papers(part)
        vectors = src.store.chunk_vectors(part)
        chunks: list[Chunk] = []
        rows: list[tuple[Paper, int]] = []
        vecs: list[np.ndarray] = []
        hashes: dict[str, str] = {}
        for pid in part:
            if pid not in papers or pid not in vectors:
                continue
            p = papers[pid]
            new_id = pid + suffix
            dates = [(date.fromisoformat(d) - timedelta(days=shift_days)).isoformat() for d in p.dates]
            copy = p.model_copy(update={"paper_id": new_id, "dates": dates})
            mat, texts = vectors[pid]
            if noise:
                mat = mat + (rng or np.random.default_rng(0)).normal(0, noise, mat.shape).astype(np.float32)
                mat /= np.linalg.norm(mat, axis=1, keepdims=True)
            for i, text in enumerate(texts):
                chunks.append(Chunk(chunk_id=f"{new_id}#{i}", paper_id=new_id, text=text, start=0, end=len(text)))
            vecs.append(mat)
            rows.append((copy, len(texts)))
            hashes[new_id] = copy.content_hash
        if chunks:
            allv = np.concatenate(vecs)
            for s in range(0, len(chunks), 4000):
                dst.store.upsert_chunks(chunks[s : s + 4000], allv[s : s + 4000], hashes)
            dst.store.save_papers(rows)
            written += len(chunks)
    return written


# --------------------------------------------------------------------------- latency stores
def build_10k(cache: Path) -> Assistant:
    app = Assistant(settings_for(cache / "bench-10k"))
    if app.stats()["papers"] < 9877:
        log.info("building bench-10k from %s (embeds ~9.9k abstracts once)", HF_ROWS)
        app.ingest([HF_ROWS], progress=True)
    return app


def build_100k(cache: Path, src: Assistant, target: int = 100_000, noise: float = 0.01) -> Assistant:
    dest = cache / "bench-100k"
    app = Assistant(settings_for(dest))
    if (dest / ".complete").exists():
        return app
    ids = [p.paper_id for p in src.store.iter_papers()]
    per_copy = src.stats()["chunks"]
    copies = math.ceil(target / per_copy)  # type: ignore[operator]
    dates = [d for p in src.store.iter_papers() for d in p.dates]
    span = (date.fromisoformat(max(dates)) - date.fromisoformat(min(dates))).days + 7
    rng = np.random.default_rng(0)
    for r in range(copies):
        t0 = time.perf_counter()
        n = copy_papers(src, app, ids, suffix=f"~r{r}" if r else "", shift_days=r * span, noise=noise if r else 0.0, rng=rng)
        log.info("bench-100k: copy %d/%d, %d chunks in %.0fs", r + 1, copies, n, time.perf_counter() - t0)
    app.store.rebuild_keyword_index()
    (dest / ".complete").write_text(json.dumps({"copies": copies, "noise": noise, "shift_days": span}))
    return app


def bench_queries(n: int) -> list[str]:
    qs = [str(q["question"]) for q in load_seed_questions(SEED_QUESTIONS)]
    if SCIFACT.exists():
        qs += list(load_beir(SCIFACT, "test").queries.values())
    return qs[:n]


def timed(fn, queries: list[str], warm: int = 3) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Milliseconds per call of `fn` over `queries` (p50, p95, mean, max), after `warm` untimed calls."""
    for q in queries[:warm]:
        fn(q)  # warm
    ms = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        ms.append(1000 * (time.perf_counter() - t0))
    return {
        "p50_ms": round(statistics.median(ms), 1), "p95_ms": round(percentile(ms, 95), 1),
        "mean_ms": round(statistics.mean(ms), 1), "max_ms": round(max(ms), 1),
    }


def latency(app: Assistant, queries: list[str]) -> dict[str, object]:
    stats = app.stats()
    last = date.fromisoformat(str(stats["last_date"]))
    week = (last - timedelta(days=6)).isoformat(), last.isoformat()
    month = (last - timedelta(days=30)).isoformat(), last.isoformat()
    year = (last - timedelta(days=365)).isoformat(), last.isoformat()
    r = app.retriever
    rows: dict[str, object] = {}
    for mode in MODES:
        rows[mode] = timed(lambda q, m=mode: r.search(q, k=10, mode=m), queries)  # type: ignore[misc]
    for name, (since, until) in (("last week", week), ("last month", month), ("last year", year)):
        allowed = app.store.ids_between(since, until)
        chunks = sum(app.store.chunk_counts(allowed).values())
        res = timed(lambda q, s=since, u=until: r.search(q, k=10, since=s, until=u), queries)  # type: ignore[misc]
        rows[f"hybrid, {name} ({len(allowed)} papers, {chunks} chunks)"] = res
    rows["hybrid, diverse (MMR)"] = timed(lambda q: r.search(q, k=10, diverse=True), queries)
    embed = timed(lambda q: app.embedder.embed([q]), queries)
    rows["(query embedding alone)"] = embed
    return {"papers": stats["papers"], "chunks": stats["chunks"], "queries": len(queries), "rows": rows}


def where_vs_ids(app: Assistant, queries: list[str]) -> dict[str, object]:
    """A week's filter at this size, dense side only: Chroma `where paper_id $in` vs exact scoring by chunk id vs over-fetch."""
    from assistant.retrieve import DenseResult

    last = date.fromisoformat(str(app.stats()["last_date"]))
    allowed = app.store.ids_between((last - timedelta(days=6)).isoformat(), last.isoformat())
    vectors = {q: v for q, v in zip(queries, app.embedder.embed(queries))}
    r = app.retriever
    strategies = {
        "Chroma where paper_id $in (300 chunks)": lambda q: app.store.vectors.collection.query(
            query_embeddings=[vectors[q]], n_results=300, where={"paper_id": {"$in": sorted(allowed)}}, include=["distances"]
        ),
        "exact: chunk vectors read by id": lambda q: r._exact_dense(vectors[q], list(allowed), 100, DenseResult()),
        "HNSW over-fetch (<= max_chunk_fetch), then filter": lambda q: r._overfetch(vectors[q], 100, allowed, DenseResult()),
    }
    out: dict[str, object] = {"papers_in_filter": len(allowed)}
    for name, fn in strategies.items():
        out[name] = timed(fn, queries[:50])
    return out


# --------------------------------------------------------------------------- report
def render(result: dict[str, object]) -> str:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    parts = [
        "# Retrieval benchmark",
        "",
        f"Written by `python -m benchmarks.retrieval_bench` on {result['when']} ({result['machine']}).",
        f"Retrieval settings: fusion={s.fusion}, bm25_weight={s.bm25_weight}, candidates={s.candidates}, "
        f"rrf_k={s.rrf_k} (rrf only), mmr_lambda={s.mmr_lambda}. Embedder: all-MiniLM-L6-v2 int8 ONNX (local). "
        "BM25: bm25s (k1=1.5, b=0.75), English stop words + Snowball stemmer, hyphenated names also indexed joined, "
        f"capitalised acronyms as their own tokens (weight {ACRONYM_WEIGHT} in the query) and neighbouring word pairs "
        f"within a phrase (weight {PAIR_WEIGHT}; both fitted on SciFact train and the answer cases' dev split); diacritics "
        "folded; a lower-case query word also counts as the acronym where most papers containing it capitalise it; two neighbouring query words also count as the one word some paper writes them as (\"easy ref\": EasyRef).",
        f"Hybrid score = {s.bm25_weight} x BM25 / best BM25 + {1 - s.bm25_weight:.1f} x cosine of the paper's best chunk, "
        f"over the union of each side's top {s.candidates} papers; dense-only candidates get their exact BM25 score (0 "
        "when no term matches), BM25-only candidates their best chunk's exact cosine (until 2026-12-06: the dense list's "
        "lowest). Chosen on SciFact train (grid over RRF k/weights and score normalisations) and the seed questions; "
        "query-dependent weights and dense pseudo-relevance feedback did not help there (README).",
        "No reranker: see the README (no cross-encoder ships its weights in a package that installs here).",
        "",
    ]
    sf = result.get("scifact")
    if isinstance(sf, dict):
        for split in ("test", "train"):
            if split in sf:
                block = sf[split]
                parts.append(
                    markdown_table(
                        f"BEIR SciFact {split}: {block['queries']} queries over 5,183 abstracts (ir_measures)",
                        ["nDCG@10", "R@100", "ms_per_query"],
                        block["results"],
                    )
                )
        parts.append(
            "Fusion weights were tuned on SciFact train and the seed questions only; test was run once per setting "
            "for this table. Published for comparison (test nDCG@10 / R@100): BM25 0.665-0.687 / 0.908-0.913, "
            "all-MiniLM-L6-v2 0.645 / 0.925, bge-small-en-v1.5 0.713 / 0.945.\n"
        )
    for key, title in (("seeds", "Seed questions over the 310 seed papers"), ("seeds_10k", "Seed questions among 10k distractors (seed papers + hf_daily_papers)")):
        block = result.get(key)
        if isinstance(block, dict):
            parts.append(markdown_table(f"{title}: {block['questions']} questions, {block['papers']} papers", ["recall@1", "recall@5"], block["results"]))
    parts.append(
        "recall@k = |expected ∩ top k| / min(k, |expected|), averaged over questions (benchmarks/seed_questions.jsonl: "
        "term = exact names and acronyms, paraphrase = reader questions without the paper's words, multi = 2-3 expected papers).\n"
    )
    for key, title in (("latency_10k", "Latency at ~10k papers (bench-10k)"), ("latency_100k", "Latency at >=100k chunks (bench-100k)")):
        block = result.get(key)
        if isinstance(block, dict):
            parts.append(
                markdown_table(
                    f"{title}: {block['papers']} papers, {block['chunks']} chunks, {block['queries']} queries, k=10, warm, in process",
                    ["p50_ms", "p95_ms", "mean_ms"],
                    block["rows"],  # type: ignore[arg-type]
                )
            )
    filt = result.get("filter_100k")
    if isinstance(filt, dict):
        parts.append(
            markdown_table(
                f"Dense side of a one-week filter at 100k chunks ({filt['papers_in_filter']} papers): three strategies",
                ["p50_ms", "p95_ms", "mean_ms"],
                {k: v for k, v in filt.items() if isinstance(v, dict)},
            )
        )
    if "latency_100k" in result:
        parts.append(
            "bench-100k = bench-10k replicated with distinct ids (`<id>~rN`) and dates shifted back by the corpus span per "
            "copy (a week still holds about one week of papers); replica chunk vectors are the original vectors + Gaussian "
            "noise (sigma 0.01, re-normalised), not re-embedded; replica texts are identical, so BM25 sees duplicates.\n"
        )
    return "\n".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=ROOT / ".cache", help="where the benchmark stores live (reused)")
    ap.add_argument("--scifact-data", type=Path, default=SCIFACT)
    ap.add_argument("--train", action="store_true", help="also score SciFact train (the tuning split)")
    ap.add_argument("--skip-scifact", action="store_true")
    ap.add_argument("--skip-seeds", action="store_true")
    ap.add_argument("--skip-10k", action="store_true", help="skip everything that needs bench-10k (slow to build)")
    ap.add_argument("--skip-100k", action="store_true")
    ap.add_argument("--queries", type=int, default=200, help="queries per latency row")
    ap.add_argument("--render-only", action="store_true", help="rewrite retrieval.md from retrieval.json, run nothing")
    args = ap.parse_args()
    if args.render_only:
        print(rerender("retrieval", render))
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("chromadb", "bm25s", "httpx", "assistant.store"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args.cache.mkdir(parents=True, exist_ok=True)
    previous = json.loads(OUT_JSON.read_text()) if OUT_JSON.exists() else {}
    result: dict[str, object] = dict(previous)  # skipped parts keep their last numbers
    result["when"] = time.strftime("%Y-%m-%d %H:%M")
    result["machine"] = f"{platform.machine()}, {__import__('os').cpu_count()} cores, shared"

    def save() -> None:
        OUT_JSON.parent.mkdir(parents=True, exist_ok=True)
        OUT_JSON.write_text(json.dumps(result, indent=2, default=str))

    if not args.skip_scifact:
        result["scifact"] = scifact(args.cache, args.scifact_data, ["test", "train"] if args.train else ["test"])
        save()
    if not args.skip_seeds:
        result["seeds"] = seeds(args.cache)
        save()
    queries = bench_queries(args.queries)
    if not args.skip_10k:
        big = build_10k(args.cache)
        result["latency_10k"] = latency(big, queries)
        save()
        if not args.skip_seeds:
            result["seeds_10k"] = seeds_among_10k(args.cache, big)
            save()
            big = build_10k(args.cache)
        if not args.skip_100k:
            huge = build_100k(args.cache, big)
            result["latency_100k"] = latency(huge, queries)
            save()
            result["filter_100k"] = where_vs_ids(huge, queries)
    save()
    OUT_MD.write_text(render(result))
    print(OUT_MD.read_text())


if __name__ == "__main__":
    main()
