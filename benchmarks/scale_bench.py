"""Scale benchmark (issue #8 item 8): ingest, store size, search latency, RSS and digest at 1k / 10k / 100k chunks.

Run from the repo root:

    python -m benchmarks.scale_bench --embed-only        # step 1: embed the distinct texts once (resumable)
    python -m benchmarks.scale_bench                     # step 2: every size, then the table and the plot
    python -m benchmarks.scale_bench --sizes 100000      # one size (results of other sizes are kept)
    python -m benchmarks.scale_bench --render-only       # rewrite scale.md / scale.png from scale.json

Writes benchmarks/results/scale.md, scale.json and scale.png.

Method. The corpus is the real rows of ../shared/data (read in place, never copied): the HF Daily
Papers set (9,881 rows, 9,877 papers) and the arXiv cs abstracts (3,788 papers), parsed by the
product's own parsers (`assistant.sources.parse_file`) and merged. 500 arXiv papers are held back
as the "digest week". Every distinct chunk text (from the product's `chunk_paper`) is embedded
ONCE with the real packaged embedder (bulk engine) and cached in .cache/scale-vectors/ (git-ignored);
that run's seconds per text is the embedder cost, reported separately because it is constant per
text. Each size is then built in a fresh data dir in its own child process (so peak RSS is per size)
by calling the product's `assistant.ingest.ingest_papers` -- the same function `assistant ingest`
runs: merge, stored-state lookup, chunking with the real tokenizer, Chroma upsert, paper table,
keyword index rebuild -- with an embedder whose `embed()` returns the cached vectors (first use of
a text: the exact vector; later uses, i.e. replicas: + Gaussian noise sigma 0.01, re-normalised).
Sizes beyond the distinct corpus replicate it with distinct ids (`<id>~rN`) and dates shifted back
by the corpus span per copy (like benchmarks/retrieval_bench.py). Then, in the same process:
warm hybrid search latency (real ONNX query embedder, k=10, one query at a time), an incremental
ingest of the 500-paper digest week into the full store, and the digest of that week against the
fast fake OpenAI-compatible endpoint (tests/fake_openai.py + tests/digest_fakes.py).

Longer than a library module on purpose: one benchmark is one self-contained run (corpus
build, each size, measurement, table and plot) read top to bottom; its result files are written
by `results_io.py`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
HF_ROWS = SHARED / "hf_daily_papers" / "hf_daily_papers.jsonl.gz"
ARXIV_ROWS = SHARED / "arxiv_cs_abstracts" / "arxiv_cs_abstracts.jsonl.gz"
CACHE = ROOT / ".cache" / "scale-vectors"
WORK = ROOT / ".cache" / "scale-stores"
RESULTS = ROOT / "benchmarks" / "results"
OUT_MD, OUT_JSON, OUT_PNG = RESULTS / "scale.md", RESULTS / "scale.json", RESULTS / "scale.png"
SIZES = (1_000, 10_000, 100_000)
WEEK = "2026-W36"  # after the last HF list date (2026-08-21); replicas move back in time, so it holds only the week papers
WEEK_PAPERS = 500
NOISE = 0.01

log = logging.getLogger("scale_bench")


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rss_peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def rss_now_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def du_mb(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return round(total / 2**20, 1)


# --------------------------------------------------------------------------- corpus
def week_days() -> list[str]:
    monday = date.fromisocalendar(int(WEEK[:4]), int(WEEK[6:]), 1)
    return [(monday + timedelta(days=i)).isoformat() for i in range(7)]


def distinct_corpus() -> tuple[list, list]:
    """(base papers, digest-week papers): parsed with the product's parsers, merged, deterministic order."""
    from assistant.sources import merge_papers, parse_file

    hf = parse_file(HF_ROWS).papers
    ax = parse_file(ARXIV_ROWS).papers
    hf_ids = {p.paper_id for p in hf}
    ax_only = sorted((p for p in ax if p.paper_id not in hf_ids), key=lambda p: p.paper_id)
    rng = random.Random(0)
    week_src = rng.sample(ax_only, WEEK_PAPERS)
    week_ids = {p.paper_id for p in week_src}
    days = week_days()
    week = [
        p.model_copy(update={"paper_id": p.paper_id + "~wk", "dates": [days[i % 7]]}) for i, p in enumerate(week_src)
    ]
    base = merge_papers([*hf, *(p for p in ax if p.paper_id not in week_ids)])
    base.sort(key=lambda p: p.paper_id)
    random.Random(1).shuffle(base)  # a 1k-chunk store is a mix of both sources and all dates
    return base, week


# --------------------------------------------------------------------------- step 1: embedding cache
def embed_cache(budget_min: float) -> dict[str, object]:
    """Embed every distinct chunk text once with the real embedder (bulk engine); resumable within a time budget."""
    from assistant.config import Settings
    from assistant.embeddings import make_embedder
    from assistant.ingest import chunk_paper

    CACHE.mkdir(parents=True, exist_ok=True)
    emb = make_embedder(Settings(_env_file=None))  # type: ignore[call-arg]
    base, week = distinct_corpus()
    t0 = time.perf_counter()
    chunked = {p.paper_id: chunk_paper(p, emb.count_tokens) for p in [*week, *base]}
    texts = list(dict.fromkeys(c.text for cs in chunked.values() for c in cs))
    chunk_s = time.perf_counter() - t0
    (CACHE / "n_chunks.json").write_text(json.dumps({pid: len(cs) for pid, cs in chunked.items()}))
    meta_path = CACHE / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {"parts": [], "embed_s": 0.0, "texts": 0}
    done = sum(n for _, n in meta["parts"])
    if meta.get("n_texts") not in (None, len(texts)):
        raise SystemExit(f"{CACHE} was built from another corpus ({meta['n_texts']} texts, now {len(texts)}): delete it")
    meta["n_texts"] = len(texts)
    meta["chunking_s"] = round(chunk_s, 1)
    started = time.monotonic()
    part = 1024
    while done < len(texts):
        if time.monotonic() - started > budget_min * 60:
            log.warning("time budget used: %d/%d texts embedded; run --embed-only again to continue", done, len(texts))
            break
        batch = texts[done : done + part]
        t = time.perf_counter()
        vecs = emb.embed(batch, bulk=True)
        secs = time.perf_counter() - t
        name = f"part-{len(meta['parts']):03d}.npy"
        np.save(CACHE / name, vecs.astype(np.float32))
        meta["parts"].append([name, len(batch)])
        meta["embed_s"] += secs
        meta["texts"] = done = done + len(batch)
        meta.setdefault("load_avg", []).append(load_avg()[0])
        meta_path.write_text(json.dumps(meta))
        log.info("embedded %d/%d texts (%.1f texts/s this part, load %.1f)", done, len(texts), len(batch) / secs, os.getloadavg()[0])
    if done >= len(texts):
        (CACHE / "texts.json").write_text(json.dumps(texts))
        meta["complete"] = True
        meta_path.write_text(json.dumps(meta))
    return meta


def load_cache() -> tuple[dict[str, int], np.ndarray, dict[str, object]]:
    meta = json.loads((CACHE / "meta.json").read_text())
    if not meta.get("complete"):
        raise SystemExit(f"the vector cache in {CACHE} is incomplete: run `python -m benchmarks.scale_bench --embed-only` first")
    texts = json.loads((CACHE / "texts.json").read_text())
    mat = np.concatenate([np.load(CACHE / name) for name, _ in meta["parts"]])
    return {t: i for i, t in enumerate(texts)}, mat, meta


class CachedEmbedder:
    """The real embedder's name, dim and tokenizer; `embed()` serves the vectors cached by step 1.

    Replicas have the same texts as their originals: every use of a text after its first gets the
    cached vector + Gaussian noise (sigma NOISE, re-normalised), so replicas are near-duplicates,
    not exact duplicates, in the HNSW graph.
    """

    def __init__(self, real: object, index: dict[str, int], mat: np.ndarray) -> None:
        self.real = real
        self.name = real.name  # type: ignore[attr-defined]
        self.dim = real.dim  # type: ignore[attr-defined]
        self.count_tokens = real.count_tokens  # type: ignore[attr-defined]
        self.index, self.mat = index, mat
        self.seen: set[str] = set()
        self.rng = np.random.default_rng(0)
        self.calls = 0
        self.seconds = 0.0

    def embed(self, texts: list[str], bulk: bool = False) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            rows = [self.index[t] for t in texts]
        except KeyError as exc:
            raise SystemExit(f"a chunk text is missing from the vector cache ({exc}); rebuild {CACHE}") from None
        out = self.mat[rows].copy()
        again = np.array([t in self.seen for t in texts])
        if again.any():
            out[again] += self.rng.normal(0, NOISE, (int(again.sum()), out.shape[1])).astype(np.float32)
            out[again] /= np.linalg.norm(out[again], axis=1, keepdims=True)
        self.seen.update(texts)
        self.calls += len(texts)
        self.seconds += time.perf_counter() - t0
        return out


def corpus_for(target_chunks: int, base: list, n_chunks: dict[str, int]) -> list:
    """Papers (base, then replicas with distinct ids and shifted dates) until they hold >= target chunks."""
    dates = [d for p in base for d in p.dates]
    span = (date.fromisoformat(max(dates)) - date.fromisoformat(min(dates))).days + 7
    out, total, r = [], 0, 0
    while total < target_chunks:
        for p in base:
            if r:
                p = p.model_copy(update={
                    "paper_id": f"{p.paper_id}~r{r}",
                    "dates": [(date.fromisoformat(d) - timedelta(days=r * span)).isoformat() for d in p.dates],
                })
            out.append(p)
            total += n_chunks[p.paper_id.split("~")[0]]
            if total >= target_chunks:
                break
        r += 1
    return out


class Timer:
    """Wraps a bound method of an object to add up its wall time (the method itself is called unchanged)."""

    def __init__(self, obj: object, name: str) -> None:
        self.seconds, self.calls = 0.0, 0
        fn = getattr(obj, name)

        def wrapped(*a, **kw):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1

        setattr(obj, name, wrapped)


# --------------------------------------------------------------------------- step 2: one size (child process)
def bench_queries(n: int) -> list[str]:
    from benchmarks.retrieval_bench import bench_queries as queries

    return queries(n)


def latency(fn, queries: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from benchmarks.retrieval_bench import timed

    return timed(fn, queries, warm=5)


def run_size(target: int, n_queries: int, digest: bool) -> dict[str, object]:
    sys.path.insert(0, str(ROOT / "tests"))
    from assistant.config import Settings
    from assistant.ingest import ingest_papers
    from assistant.service import Assistant

    result: dict[str, object] = {"target_chunks": target, "load_avg_start": load_avg()}
    index, mat, _meta = load_cache()
    base, week = distinct_corpus()
    data_dir = WORK / f"chunks-{target}"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.parent.mkdir(parents=True, exist_ok=True)

    from digest_fakes import respond_messages
    from fake_openai import FakeOpenAI

    fake = FakeOpenAI(responder=respond_messages).start()
    try:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, data_dir=data_dir, llm_backend="openai", llm_base_url=fake.base_url,
            llm_model="fake-model", llm_api_key="bench-key",
        )
        app = Assistant(settings)
        real = app.embedder
        # chunk counts of the distinct papers (real tokenizer, the chunking ingest does), saved by step 1
        n_chunks = json.loads((CACHE / "n_chunks.json").read_text())
        papers = corpus_for(target, base, n_chunks)
        cached = CachedEmbedder(real, index, mat)
        store = app.store
        timers = {name: Timer(store, name) for name in ("upsert_chunks", "save_papers", "rebuild_keyword_index", "stored_state")}
        rss_before = rss_now_mb()
        t0 = time.perf_counter()
        report = ingest_papers(papers, store, cached, progress=False)  # the product's ingest path
        ingest_s = time.perf_counter() - t0
        stats = app.stats()
        assert report.new == len(papers), report
        chunks = int(stats["chunks"])  # type: ignore[arg-type]
        result |= {
            "papers": len(papers),
            "chunks": chunks,
            "replica_copies": 1 + max((int(p.paper_id.rsplit("~r", 1)[1]) for p in papers if "~r" in p.paper_id), default=0),
            "ingest_s": round(ingest_s, 2),
            "ingest_ms_per_paper": round(1000 * ingest_s / len(papers), 3),
            "ingest_ms_per_chunk": round(1000 * ingest_s / chunks, 3),
            "ingest_breakdown_s": {
                "chroma upsert": round(timers["upsert_chunks"].seconds, 2),
                "paper table": round(timers["save_papers"].seconds, 2),
                "stored-state lookups": round(timers["stored_state"].seconds, 2),
                "keyword index rebuild": round(timers["rebuild_keyword_index"].seconds, 2),
                "cached vectors served": round(cached.seconds, 2),
            },
            "rss_before_ingest_mb": rss_before,
            "rss_after_ingest_mb": rss_now_mb(),
            "peak_rss_ingest_mb": rss_peak_mb(),
            "load_avg_after_ingest": load_avg(),
        }
        result["ingest_breakdown_s"]["other (merge, chunking, batching)"] = round(  # type: ignore[index]
            ingest_s - sum(result["ingest_breakdown_s"].values()), 2  # type: ignore[union-attr]
        )
        sizes = {name: du_mb(data_dir / name) for name in ("chroma", "bm25")}
        sizes["papers.sqlite"] = round(sum((data_dir / n).stat().st_size for n in os.listdir(data_dir) if n.startswith("papers.sqlite")) / 2**20, 1)
        result["disk_mb"] = {**sizes, "total": du_mb(data_dir)}
        log.info("size %d: %d papers, %d chunks ingested in %.1fs", target, len(papers), chunks, ingest_s)

        # warm hybrid search, in process
        queries = bench_queries(n_queries)
        result["search"] = {
            "queries": len(queries),
            "hybrid": latency(lambda q: app.search(q, k=10), queries),
        }
        last = str(stats["last_date"])
        since = (date.fromisoformat(last) - timedelta(days=6)).isoformat()
        result["search"]["week_filter_papers"] = len(store.ids_between(since, last))  # type: ignore[index]
        result["search"]["hybrid, last-week filter"] = latency(lambda q: app.search(q, k=10, since=since, until=last), queries)  # type: ignore[index]
        from assistant.periods import available_weeks

        t0 = time.perf_counter()
        n_weeks = len(available_weeks(store))  # the digest page's week picker: reads the whole paper table
        result["week_picker"] = {"weeks": n_weeks, "s": round(time.perf_counter() - t0, 2)}
        result["peak_rss_search_mb"] = rss_peak_mb()
        log.info("size %d: search %s", target, result["search"])

        # incremental ingest of the 500-paper digest week into the full store
        for t in timers.values():
            t.seconds = 0.0
        t0 = time.perf_counter()
        rep = ingest_papers(week, store, cached, progress=False)
        inc_s = time.perf_counter() - t0
        result["incremental"] = {
            "papers": rep.new,
            "s": round(inc_s, 2),
            "keyword_index_rebuild_s": round(timers["rebuild_keyword_index"].seconds, 2),
            "chroma_upsert_s": round(timers["upsert_chunks"].seconds, 2),
        }
        log.info("size %d: incremental %s", target, result["incremental"])

        if digest:
            before = len(fake.chat_requests)
            t0 = time.perf_counter()
            d = app.digest(week=WEEK)
            result["digest"] = {
                "week": WEEK,
                "papers": d.n_papers,
                "s": round(time.perf_counter() - t0, 2),
                "model_calls": len(fake.chat_requests) - before,
                "topics": len([t for t in d.topics if not t.other]),
            }
            t0 = time.perf_counter()
            app.digest(week=WEEK)
            result["digest"]["cached_s"] = round(time.perf_counter() - t0, 2)  # type: ignore[index]
            log.info("size %d: digest %s", target, result["digest"])
        result["peak_rss_mb"] = rss_peak_mb()
        result["rss_end_mb"] = rss_now_mb()
        result["load_avg_end"] = load_avg()
        app.close()
    finally:
        fake.close()
    shutil.rmtree(data_dir, ignore_errors=True)
    return result


# --------------------------------------------------------------------------- report
def render(res: dict[str, object]) -> str:
    sizes = sorted(res.get("sizes", {}).values(), key=lambda r: r["target_chunks"])  # type: ignore[union-attr]
    meta = res.get("embedder", {})
    lines = [
        "# Scale benchmark",
        "",
        f"`python -m benchmarks.scale_bench` (after `--embed-only`), {res.get('machine')}. Last run {res.get('when')}. "
        "Each size was built in a fresh data dir in its own process; the 1-minute load average at its start and end is in the "
        "last column: the machine is shared, so wall times are inflated by other jobs -- compare ratios between rows.",
        "",
        *([f"Run conditions: {res['note']}", ""] if res.get("note") else []),
        "| chunks | papers | ingest (store path) | ms / paper | ms / chunk | disk | search p50 / p95 (hybrid, warm) | "
        "p95 with week filter | peak RSS | +500-paper week ingest | digest, 500-paper week (fake endpoint) | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sizes:
        s = r["search"]
        dg = r.get("digest") or {}
        inc = r["incremental"]
        lines.append(
            f"| {r['chunks']:,} | {r['papers']:,} | {r['ingest_s']} s | {r['ingest_ms_per_paper']} | {r['ingest_ms_per_chunk']} | "
            f"{r['disk_mb']['total']} MB | {s['hybrid']['p50_ms']} / {s['hybrid']['p95_ms']} ms | "
            f"{s['hybrid, last-week filter']['p95_ms']} ms ({s.get('week_filter_papers', '?')} papers) | {r['peak_rss_mb']:,} MB | {inc['s']} s for {inc['papers']} papers "
            f"(BM25 rebuild {inc['keyword_index_rebuild_s']} s) | "
            + (f"{dg['s']} s ({dg['papers']} papers, {dg['model_calls']} calls; cached {dg['cached_s']} s)" if dg else "not run")
            + f" | {r['load_avg_start'][0]} -> {r['load_avg_end'][0]} |"
        )
    lines.append("")
    if sizes:
        lines += ["Ingest time by part (seconds; `Timer` wrappers around the Store methods ingest calls):", ""]
        parts = list(sizes[0]["ingest_breakdown_s"])
        lines.append("| chunks | " + " | ".join(parts) + " |")
        lines.append("|---|" + "---|" * len(parts))
        for r in sizes:
            lines.append(f"| {r['chunks']:,} | " + " | ".join(str(r["ingest_breakdown_s"][p]) for p in parts) + " |")
        lines.append("")
        lines += [
            "Other costs that depend on the store size: the digest page's week picker (`available_weeks`, reads "
            "every paper row): " + ", ".join(f"{r['week_picker']['s']} s at {r['chunks']:,} chunks" for r in sizes if "week_picker" in r) + ".",
            "",
        ]
        lines += ["Disk by part (MB):", "", "| chunks | chroma | papers.sqlite | bm25 | total |", "|---|---|---|---|---|"]
        for r in sizes:
            d = r["disk_mb"]
            lines.append(f"| {r['chunks']:,} | {d['chroma']} | {d['papers.sqlite']} | {d['bm25']} | {d['total']} |")
        lines.append("")
    if meta:
        per_text = 1000 * meta["embed_s"] / max(meta["texts"], 1)
        lines += [
            f"**Embedder cost (separate, constant per text):** the real packaged embedder (all-MiniLM-L6-v2, bulk "
            f"PyTorch engine) embedded the {meta['texts']:,} distinct chunk texts in {meta['embed_s']:.0f} s = "
            f"**{per_text:.1f} ms per chunk** ({1000 / per_text:.1f} chunks/s; load average during the run "
            f"{min(meta['load_avg']):.1f}-{max(meta['load_avg']):.1f}). A real ingest costs the store-path time above "
            f"plus this per chunk:",
            "",
            "| chunks | store path | + embedding (projected) | end-to-end papers/s (projected) |",
            "|---|---|---|---|",
        ]
        for r in sizes:
            emb_s = per_text / 1000 * r["chunks"]
            lines.append(
                f"| {r['chunks']:,} | {r['ingest_s']} s | {emb_s:.0f} s | {r['papers'] / (r['ingest_s'] + emb_s):.1f} |"
            )
        lines.append("")
    lines += targets(sizes)
    lines += growth_notes(sizes)
    lines += [
        "![growth](scale.png)",
        "",
        "## Method",
        "",
        (__doc__ or "").split("Method. ", 1)[-1].strip(),
        "",
        "Peak RSS is the child process's `ru_maxrss` over ingest + search + incremental ingest + digest; it includes "
        f"the benchmark's own copy of the cached vectors ({res.get('cache_mb', '?')} MB) and the parsed corpus. "
        "Search latency: the first 200 of the seed questions + BEIR SciFact test queries (benchmarks/retrieval_bench.py), "
        "`Assistant.search(q, k=10)` (hybrid), 5 warm-up queries first. The week filter is the last 7 list days of the store. "
        "The digest runs `Assistant.digest(week=...)` with extract=model (one call per paper + one per topic) against "
        "the fake endpoint, which answers from the prompt text at once, so it measures everything but model latency.",
        "",
    ]
    return "\n".join(lines)


def growth_notes(sizes: list[dict]) -> list[str]:  # type: ignore[type-arg]
    """Where cost grows faster than linearly, with this run's numbers."""
    if len(sizes) < 2:
        return []
    lo, hi = sizes[0], sizes[-1]
    k = hi["chunks"] / lo["chunks"]

    def per_chunk(r: dict, part: str) -> float:  # type: ignore[type-arg]
        return 1000 * r["ingest_breakdown_s"][part] / r["chunks"]

    up_lo, up_hi = per_chunk(lo, "chroma upsert"), per_chunk(hi, "chroma upsert")
    inc_lo, inc_hi = lo["incremental"], hi["incremental"]
    f_lo, f_hi = lo["search"]["hybrid, last-week filter"]["p95_ms"], hi["search"]["hybrid, last-week filter"]["p95_ms"]
    w_lo, w_hi = lo["search"].get("week_filter_papers", "?"), hi["search"].get("week_filter_papers", "?")
    h_lo, h_hi = lo["search"]["hybrid"]["p95_ms"], hi["search"]["hybrid"]["p95_ms"]
    out = [
        "## Where cost grows faster than linearly, and why",
        "",
        f"From {lo['chunks']:,} to {hi['chunks']:,} chunks ({k:.0f}x):",
        "",
        f"- **Adding papers to a big store: the keyword index is rebuilt from the whole paper table.** Ingesting the "
        f"same 500 papers took {inc_lo['s']} s into the {lo['chunks']:,}-chunk store and {inc_hi['s']} s into the "
        f"{hi['chunks']:,}-chunk one, {inc_hi['keyword_index_rebuild_s']} s of it in `Store.rebuild_keyword_index` "
        f"(vs {inc_lo['keyword_index_rebuild_s']} s): `ingest_papers` ends with a full bm25s rebuild (read every row, "
        "re-tokenise, re-index, save) whenever anything is new. A one-shot bulk ingest pays it once (linear), but every "
        "daily `assistant fetch` / `ingest` pays O(store size) however few papers it adds, so a store fed daily costs "
        "O(N^2) in total. This is the one superlinear cost that matters; the fix would be an incremental (appendable "
        "or segmented) keyword index, or rebuilding lazily at the first search instead of at every ingest.",
        f"- **Chroma upsert per chunk grows slowly** ({up_lo:.2f} -> {up_hi:.2f} ms per chunk, "
        f"{up_hi / up_lo:.2f}x): HNSW insertion searches the graph, O(log n) per vector, plus a larger SQLite metadata "
        "segment. Everything else on the ingest path (parse/merge, chunking with the tokenizer, paper table, BM25 "
        "once) is linear, so the total per paper stays within the 1.3x target.",
        f"- **Date-filtered search** (last week) p95 {f_lo} -> {f_hi} ms ({f_hi / max(f_lo, 1e-9):.1f}x for {k:.0f}x "
        f"the data) is mostly the week getting fuller, not the store getting bigger: the week holds {w_lo} papers in "
        f"the smallest store (a random sample of the corpus, so its last week is sparse) and {w_hi} in the largest, and "
        "the dense side scores the week's chunk vectors exactly (read by id). The part that does scale with N: BM25 "
        "with a filter builds a mask over every paper and bm25s takes the top k over all N scores. Unfiltered hybrid "
        f"p95 {h_lo} -> {h_hi} ms: HNSW is ~log N and bm25s is sparse (work per posting), far under the 200 ms target.",
        "- **Whole-table reads**: the digest page's week picker (`available_weeks`) materialises every paper row "
        "(linear, seconds at 100k chunks; the page caches it for 10 minutes per corpus size).",
        f"- **Flat**: the digest of a 500-paper week ({lo.get('digest', {}).get('s', '?')} s -> "
        f"{hi.get('digest', {}).get('s', '?')} s) depends on the week, not the store; the embedder's cost is constant "
        "per chunk and dominates a real ingest (see the projection above). Disk is linear (~10 KB per chunk, 80% Chroma). "
        "Peak RSS grows sublinearly from a ~0.5 GB base (model runtimes, Chroma, LangChain); at 100k chunks the "
        "in-memory BM25 index, Chroma's HNSW segment and the benchmark's 53k parsed papers account for the rest.",
        "",
    ]
    return out


def targets(sizes: list[dict]) -> list[str]:  # type: ignore[type-arg]
    by = {r["target_chunks"]: r for r in sizes}
    out = ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    lo, hi = by.get(1_000), by.get(100_000)
    if lo and hi:
        ratio = hi["ingest_ms_per_paper"] / lo["ingest_ms_per_paper"]
        out.append(
            f"| ingest cost linear: per paper within 1.3x from 1k to 100k chunks | {lo['ingest_ms_per_paper']} -> "
            f"{hi['ingest_ms_per_paper']} ms/paper = {ratio:.2f}x | {'yes' if ratio <= 1.3 else 'no'} |"
        )
    if hi:
        p95 = hi["search"]["hybrid"]["p95_ms"]
        out.append(f"| search p95 <= 200 ms at 100k chunks | {p95} ms (week filter {hi['search']['hybrid, last-week filter']['p95_ms']} ms) | {'yes' if p95 <= 200 else 'no'} |")
        rss = hi["peak_rss_mb"]
        out.append(f"| peak RSS <= 3 GB at 100k chunks | {rss:,} MB | {'yes' if rss <= 3072 else 'no'} |")
    out.append("")
    return out


def plot(res: dict[str, object]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed (pip install -e '.[dev]'): scale.png not written")
        return
    sizes = sorted(res.get("sizes", {}).values(), key=lambda r: r["target_chunks"])  # type: ignore[union-attr]
    if len(sizes) < 2:
        return
    x = [r["chunks"] for r in sizes]
    fig, grid = plt.subplots(2, 2, figsize=(12, 8.5))
    axes = grid.ravel()
    ax = axes[3]
    per = [r["ingest_ms_per_paper"] for r in sizes]
    ax.semilogx(x, per, "o-", label="ingest ms per paper (store path)")
    ax.axhspan(per[0], per[0] * 1.3, color="g", alpha=0.12, label="within 1.3x of the 1k point (target)")
    ax.set(xlabel="chunks in the store", ylabel="ms per paper", title="Ingest cost per paper", ylim=(0, max(per) * 1.4))
    ax.legend(fontsize=8)
    ax = axes[0]
    ax.loglog(x, [r["ingest_s"] for r in sizes], "o-", label="ingest, store path (s)")
    ax.loglog(x, [r["incremental"]["s"] for r in sizes], "s-", label="+500 papers into the store (s)")
    if all(r.get("digest") for r in sizes):
        ax.loglog(x, [r["digest"]["s"] for r in sizes], "^-", label="digest of a 500-paper week (s)")
    ax.loglog(x, [x[0] and sizes[0]["ingest_s"] * xi / x[0] for xi in x], "k:", label="linear from the 1k point")
    ax.set(xlabel="chunks in the store", ylabel="seconds", title="Time")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.semilogx(x, [r["search"]["hybrid"]["p50_ms"] for r in sizes], "o-", label="hybrid p50")
    ax.semilogx(x, [r["search"]["hybrid"]["p95_ms"] for r in sizes], "o-", label="hybrid p95")
    ax.semilogx(x, [r["search"]["hybrid, last-week filter"]["p95_ms"] for r in sizes], "s--", label="week filter p95")
    ax.axhline(200, color="r", ls=":", label="target p95 200 ms")
    ax.set(xlabel="chunks in the store", ylabel="ms", title="Search latency (warm, k=10)")
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.loglog(x, [r["peak_rss_mb"] for r in sizes], "o-", label="peak RSS (MB)")
    ax.loglog(x, [r["disk_mb"]["total"] for r in sizes], "s-", label="store on disk (MB)")
    ax.axhline(3072, color="r", ls=":", label="RSS target 3 GB")
    ax.set(xlabel="chunks in the store", ylabel="MB", title="Memory and disk")
    ax.legend(fontsize=8)
    fig.suptitle(f"paper digest assistant at scale ({res.get('machine')}, shared; {res.get('when')})", fontsize=10)
    fig.tight_layout()
    fig.savefig(OUT_PNG, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--embed-only", action="store_true", help="step 1 only: build the vector cache (resumable)")
    ap.add_argument("--embed-budget-min", type=float, default=22.0, help="stop embedding after this long (re-run to continue)")
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated chunk counts")
    ap.add_argument("--skip-digest", action="store_true")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--render-only", action="store_true", help="rewrite scale.md and scale.png from scale.json")
    ap.add_argument("--note", help="a remark about this run's conditions, kept in scale.json and shown in scale.md")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for noisy in ("chromadb", "bm25s", "httpx", "assistant.store", "assistant.chains"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.render_only:
        res = json.loads(OUT_JSON.read_text())
        if args.note is not None:
            res["note"] = args.note
            OUT_JSON.write_text(json.dumps(res, indent=2))
        OUT_MD.write_text(render(res))
        plot(res)
        print(OUT_MD.read_text())
        return
    if not (HF_ROWS.exists() and ARXIV_ROWS.exists()):
        print(f"skipped: the shared data ({HF_ROWS} and {ARXIV_ROWS}) is absent; it is not redistributed with the repo")
        return
    if args.child:
        print("RESULT " + json.dumps(run_size(args.child, args.queries, not args.skip_digest)))
        return
    if args.embed_only:
        meta = embed_cache(args.embed_budget_min)
        print(json.dumps({k: v for k, v in meta.items() if k != "parts"}, indent=2))
        return
    _, mat, meta = load_cache()
    res = json.loads(OUT_JSON.read_text()) if OUT_JSON.exists() else {}
    res.setdefault("sizes", {})
    res["embedder"] = {k: v for k, v in meta.items() if k != "parts"}
    res["cache_mb"] = round(mat.nbytes / 2**20, 1)
    res["when"] = time.strftime("%Y-%m-%d %H:%M")
    if args.note is not None:
        res["note"] = args.note
    res["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB"
    for size in [int(s) for s in args.sizes.split(",") if s]:
        cmd = [sys.executable, "-m", "benchmarks.scale_bench", "--child", str(size), "--queries", str(args.queries)]
        if args.skip_digest:
            cmd.append("--skip-digest")
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode or not line:
            raise SystemExit(f"size {size} failed (exit {proc.returncode})")
        r = json.loads(line[7:])
        old = res["sizes"].get(str(size), {})
        if args.skip_digest and old.get("digest"):
            r["digest"] = old["digest"]  # keep the last measured digest of this size
        res["sizes"][str(size)] = r
        RESULTS.mkdir(parents=True, exist_ok=True)
        OUT_JSON.write_text(json.dumps(res, indent=2))
    OUT_MD.write_text(render(res))
    plot(res)
    print(OUT_MD.read_text())


if __name__ == "__main__":
    main()
