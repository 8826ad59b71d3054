"""Retrieval evaluation: BEIR SciFact (nDCG@10, Recall@100) and our own seed questions (recall@1/@5).

Called by `assistant eval scifact` and `benchmarks/retrieval_bench.py`. SciFact is indexed in its
own data dir (`<data_dir>/eval-scifact`, collection `scifact`), never mixed with the user's papers,
and reused when it is already complete. Metrics come from `ir_measures` (pytrec_eval underneath).
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from assistant.config import Settings
from assistant.errors import InputError
from assistant.papers import Paper

log = logging.getLogger(__name__)

SCIFACT_DIR_NAME = "eval-scifact"
SCIFACT_COLLECTION = "scifact"
SCIFACT_PREFIX = "sf:"
SEEDS_DIR_NAME = "eval-seeds"
SEEDS_COLLECTION = "papers"
MODES = ("bm25", "dense", "hybrid")
SEED_QUESTIONS = Path(__file__).resolve().parent.parent / "benchmarks" / "seed_questions.jsonl"


# --------------------------------------------------------------------------- BEIR data
@dataclass
class Beir:
    """A BEIR dataset: corpus {doc_id: (title, text)}, queries {qid: text}, qrels {qid: {doc_id: rel}}."""

    corpus: dict[str, tuple[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]] = field(default_factory=dict)


def load_beir(path: Path, split: str = "test") -> Beir:
    """Read `corpus.jsonl(.gz)`, `queries.jsonl` and `qrels/<split>.tsv`; only queries with qrels are kept."""
    path = Path(path).expanduser()
    corpus_file = next((p for p in (path / "corpus.jsonl.gz", path / "corpus.jsonl") if p.exists()), None)
    qrels_file = path / "qrels" / f"{split}.tsv"
    if corpus_file is None or not (path / "queries.jsonl").exists() or not qrels_file.exists():
        raise InputError(
            f"{path} is not a BEIR dataset: expected corpus.jsonl(.gz), queries.jsonl and qrels/{split}.tsv"
        )
    opener = gzip.open if corpus_file.suffix == ".gz" else open
    corpus: dict[str, tuple[str, str]] = {}
    with opener(corpus_file, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
        for line in fh:
            if line.strip():
                doc = json.loads(line)
                corpus[str(doc["_id"])] = (doc.get("title") or "", doc.get("text") or "")
    qrels: dict[str, dict[str, int]] = {}
    for i, line in enumerate(qrels_file.read_text(encoding="utf-8").splitlines()):
        parts = line.split("\t")
        if i == 0 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # header
        if len(parts) >= 3:
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    queries: dict[str, str] = {}
    with (path / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                q = json.loads(line)  # `metadata` holds evidence annotations: never shown to a retriever
                if str(q["_id"]) in qrels:
                    queries[str(q["_id"])] = q["text"]
    return Beir(corpus=corpus, queries=queries, qrels={q: r for q, r in qrels.items() if q in queries})


def beir_papers(corpus: dict[str, tuple[str, str]], prefix: str = SCIFACT_PREFIX) -> list[Paper]:
    """Corpus documents as papers (title + abstract, no dates) with ids `prefix + doc_id`."""
    return [Paper(paper_id=prefix + did, title=t, abstract=x, source="beir") for did, (t, x) in corpus.items()]


def eval_settings(settings: Settings, name: str = SCIFACT_DIR_NAME, collection: str = SCIFACT_COLLECTION) -> Settings:
    """Settings of an evaluation store: its own embedded data dir below the user's, its own collection."""
    return settings.model_copy(
        update={"data_dir": Path(settings.data_dir).expanduser() / name, "collection": collection, "chroma_host": None}
    )


def build_index(app, papers: list[Paper], progress: bool = True) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Ingest `papers` into `app`'s store unless it already holds exactly them (then nothing is embedded)."""
    t0 = time.perf_counter()
    stored = app.store.paper_hashes()
    want = {p.paper_id: p.content_hash for p in papers}
    if {pid: h for pid, (h, _n) in stored.items()} == want:
        app.store.keyword_index()
        return {"built": False, "papers": len(papers), "seconds": round(time.perf_counter() - t0, 1)}
    app.ingest_papers(papers, progress=progress)
    return {"built": True, "papers": len(papers), "seconds": round(time.perf_counter() - t0, 1)}


# --------------------------------------------------------------------------- running retrievers
def run_queries(
    search: Callable[[str, int, str], list[str]],
    queries: dict[str, str],
    mode: str,
    k: int = 100,
    strip: str = "",
) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Run every query; returns an ir_measures run {qid: {doc_id: score}} and per-query seconds."""
    run: dict[str, dict[str, float]] = {}
    seconds: list[float] = []
    for qid, text in queries.items():
        t0 = time.perf_counter()
        ranked = search(text, k, mode)
        seconds.append(time.perf_counter() - t0)
        # Scores strictly decreasing by rank, so the evaluator sees exactly our order (ties broken by us).
        ids = [pid[len(strip) :] if strip and pid.startswith(strip) else pid for pid in ranked]
        run[qid] = {doc: float(len(ids) - i) for i, doc in enumerate(ids)}
    return run, seconds


def ir_metrics(qrels: dict[str, dict[str, int]], run: dict[str, dict[str, float]]) -> dict[str, float]:
    """nDCG@10 and Recall@100 (mean over the queries in qrels; a query with no results scores 0)."""
    import ir_measures
    from ir_measures import R, nDCG

    measures = [nDCG @ 10, R @ 100]
    full = {q: run.get(q, {}) for q in qrels}
    agg = ir_measures.calc_aggregate(measures, qrels, {q: r for q, r in full.items() if r})
    n_all, n_run = len(qrels), sum(1 for r in full.values() if r)
    # pytrec_eval averages only over queries that have results; count empty runs as zeros.
    return {str(m): round(float(agg.get(m, 0.0)) * n_run / n_all, 4) for m in measures}


def percentile(values: Iterable[float], q: float) -> float:
    vals = sorted(values)
    if not vals:
        return 0.0
    idx = min(len(vals) - 1, max(0, int(round(q / 100 * (len(vals) - 1)))))
    return vals[idx]


def searcher(retriever) -> Callable[[str, int, str], list[str]]:  # type: ignore[no-untyped-def]
    """`retriever.search` as (query, k, mode) -> paper ids, best first."""
    def search(text: str, k: int, mode: str) -> list[str]:
        return [h.paper.paper_id for h in retriever.search(text, k=k, mode=mode)]

    return search


def evaluate_beir(
    app,  # type: ignore[no-untyped-def]
    data: Beir,
    modes: Iterable[str] = MODES,
    prefix: str = SCIFACT_PREFIX,
) -> dict[str, dict[str, float]]:
    """nDCG@10, Recall@100 and ms/query per retriever mode over `data` (already indexed in `app`)."""
    out: dict[str, dict[str, float]] = {}
    search = searcher(app.retriever)
    search(next(iter(data.queries.values())), 10, "hybrid")  # warm: load the keyword index, the ONNX session
    for mode in modes:
        run, secs = run_queries(search, data.queries, mode, k=100, strip=prefix)
        out[mode] = {**ir_metrics(data.qrels, run), "ms_per_query": round(1000 * sum(secs) / max(len(secs), 1), 1)}
        log.info("%s: %s", mode, out[mode])
    return out


def evaluate_scifact(
    settings: Settings, data_path: Path, split: str = "test", modes: Iterable[str] = MODES, progress: bool = True
) -> dict[str, object]:
    """Index SciFact in its own data dir (reused when complete) and score each retriever on `split`."""
    from assistant.service import Assistant

    data = load_beir(data_path, split)
    app = Assistant(eval_settings(settings))
    try:
        index = build_index(app, beir_papers(data.corpus), progress=progress)
        results = evaluate_beir(app, data, modes)
    finally:
        app.close()
    return {
        "dataset": "beir-scifact",
        "split": split,
        "queries": len(data.queries),
        "docs": len(data.corpus),
        "data_dir": str(eval_settings(settings).data_dir),
        "index": index,
        "results": results,
    }


# --------------------------------------------------------------------------- seed questions
def load_seed_questions(path: Path = SEED_QUESTIONS) -> list[dict[str, object]]:
    """Our own questions over the seed pages: {"id", "question", "kind", "expected": [paper ids], "titles"}."""
    if not Path(path).exists():
        raise InputError(f"seed questions {path} not found")
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate_questions(
    retriever, questions: list[dict[str, object]], modes: Iterable[str] = MODES  # type: ignore[no-untyped-def]
) -> dict[str, dict[str, object]]:
    """recall@1 and recall@5 per mode; recall@k = |expected ∩ top k| / min(k, |expected|), averaged.

    For single-paper questions recall@1 is "the paper is first"; a 3-paper question needs all
    three in the top 5 for full recall@5. Misses list question ids with the ranks found (1-based).
    """
    out: dict[str, dict[str, object]] = {}
    for mode in modes:
        r1 = r5 = 0.0
        misses = []
        for q in questions:
            expected = list(q["expected"])  # type: ignore[call-overload]
            ranked = [h.paper.paper_id for h in retriever.search(str(q["question"]), k=10, mode=mode)]
            r1 += len(set(ranked[:1]) & set(expected)) / min(1, len(expected))
            rec5 = len(set(ranked[:5]) & set(expected)) / min(5, len(expected))
            r5 += rec5
            if rec5 < 1:
                misses.append({"id": q["id"], "ranks": [ranked.index(e) + 1 if e in ranked else None for e in expected]})
        n = max(len(questions), 1)
        out[mode] = {"recall@1": round(r1 / n, 3), "recall@5": round(r5 / n, 3), "misses": misses}
    return out


def evaluate_seeds(
    settings: Settings, pages: Path, questions: Path = SEED_QUESTIONS, modes: Iterable[str] = MODES, year: int = 2025,
    progress: bool = True,
) -> dict[str, object]:
    """Ingest the seed pages into their own data dir (`<data_dir>/eval-seeds`) and score the seed questions."""
    from assistant.service import Assistant

    qs = load_seed_questions(questions)
    app = Assistant(eval_settings(settings, SEEDS_DIR_NAME, SEEDS_COLLECTION))
    try:
        report = app.ingest([Path(pages)], year=year, progress=progress)
        if report.errors and not report.parsed:
            raise InputError(f"no seed pages could be read from {pages}")
        app.retriever.search("warm up", k=1)
        results = evaluate_questions(app.retriever, qs, modes)
        papers = app.stats()["papers"]
    finally:
        app.close()
    return {"dataset": "seed-questions", "questions": len(qs), "papers": papers, "results": results}


def markdown_table(title: str, columns: list[str], rows: dict[str, dict[str, object]]) -> str:
    """A small Markdown table: one row per retriever."""
    lines = [f"**{title}**", "", "| retriever | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, vals in rows.items():
        lines.append(f"| {name} | " + " | ".join(str(vals.get(c, "")) for c in columns) + " |")
    return "\n".join(lines) + "\n"
