"""Ingest and search benchmark on the 9,881 real HF Daily Papers rows (../shared/data).

Measures, in one run on this machine: raw embedder throughput on a sample of the corpus'
chunk texts, end-to-end ingest (a fresh `assistant ingest` process: papers/s and peak RSS),
reading ahead after it (`assistant/reading.py`, which ingest otherwise leaves to a background process:
timed here alone, in process), re-ingest of the unchanged corpus, warm in-process search p50/p95 and a
cold `assistant search`.
Writes benchmarks/results/ingest.md and .json. Run: `python -m benchmarks.ingest_bench`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from benchmarks.results_io import load_average, write_result

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "hf_daily_papers" / "hf_daily_papers.jsonl.gz"
RESULTS = ROOT / "benchmarks" / "results"
QUERIES = [
    "semi-supervised text spotting",
    "diffusion models for video generation",
    "preference optimization for language model alignment",
    "LiDAR point cloud quantization",
    "mixture of experts routing efficiency",
    "retrieval augmented generation evaluation",
    "speculative decoding speedup",
    "vision language model hallucination",
    "reinforcement learning from human feedback reward hacking",
    "3D gaussian splatting scene reconstruction",
]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(data_dir)
    env["ASSISTANT_READ_AFTER_INGEST"] = "off"  # timed on its own below, not competing with what is measured
    return env


def _run_ingest(data_dir: Path, path: Path) -> tuple[float, dict, float]:
    """Run `assistant ingest` in a child process; return (seconds, report, child peak RSS in MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "ingest", str(path), "--json"],
        env=_env(data_dir), capture_output=True, text=True, cwd=data_dir.parent, check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"ingest failed: {proc.stderr[-2000:]}")
    rss = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return seconds, json.loads(proc.stdout), rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "bench-ingest", help="scratch data dir")
    parser.add_argument("--sample", type=int, default=600, help="chunk texts for the raw embedder measurement")
    parser.add_argument("--limit", type=int, default=0, help="ingest only the first N rows (0 = all)")
    args = parser.parse_args()
    if not DATA.exists():
        raise SystemExit(f"{DATA} is absent: this benchmark needs ../shared/data (not redistributed)")

    from assistant.config import Settings
    from assistant.embeddings import make_embedder
    from assistant.ingest import chunk_paper
    from assistant.sources import merge_papers, parse_file

    source = DATA
    if args.limit:
        import gzip

        source = args.work.parent / f"rows-{args.limit}.jsonl"
        source.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(DATA, "rt") as f, source.open("w") as out:
            for _, line in zip(range(args.limit), f):
                out.write(line)

    # 1. Raw embedder throughput on a sample of the real chunk texts (same process kind as ingest).
    settings = Settings(_env_file=None, data_dir=args.work)  # type: ignore[call-arg]
    embedder = make_embedder(settings)
    papers = merge_papers(parse_file(source).papers)
    chunks = [c for p in papers for c in chunk_paper(p, embedder.count_tokens)]
    chunks_per_paper = len(chunks) / len(papers)
    sample = [c.text for c in random.Random(0).sample(chunks, min(args.sample, len(chunks)))]
    embedder.embed(sample[:32], bulk=True)  # load the bulk engine outside the timing
    start = time.perf_counter()
    embedder.embed(sample, bulk=True)
    raw_chunks_per_s = len(sample) / (time.perf_counter() - start)
    raw_papers_per_s = raw_chunks_per_s / chunks_per_paper

    # 2. End-to-end ingest in a fresh store, then re-ingest of the unchanged corpus.
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    data_dir = args.work / "data"
    secs, report, rss = _run_ingest(data_dir, source)
    resecs, rereport, _ = _run_ingest(data_dir, source)

    # 3. Reading ahead: what the background reader does after an ingest, timed alone.
    from assistant.service import Assistant

    app = Assistant(Settings(_env_file=None, data_dir=data_dir))  # type: ignore[call-arg]
    t = time.perf_counter()
    read_texts = app.read_papers()
    read_secs = time.perf_counter() - t

    # 4. Search: warm in-process p50/p95 (hybrid), and a cold CLI search from process start.
    app.search("warm up", k=10)
    lat = []
    for _ in range(5):
        for q in QUERIES:
            t = time.perf_counter()
            app.search(q, k=10)
            lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    p50, p95 = statistics.median(lat), lat[int(0.95 * (len(lat) - 1))]
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "assistant", "search", QUERIES[0], "--k", "5", "--json"],
        env=_env(data_dir), capture_output=True, check=True, cwd=args.work,
    )
    cold = time.perf_counter() - t

    n = len(papers)
    result = {
        "papers": n,
        "chunks": len(chunks),
        "chunks_per_paper": round(chunks_per_paper, 2),
        "embedder": f"{embedder.name} ({settings.embedding_bulk} bulk engine)",
        "raw_embedder_chunks_per_s": round(raw_chunks_per_s, 1),
        "raw_embedder_papers_per_s": round(raw_papers_per_s, 1),
        "ingest_seconds": round(secs, 1),
        "ingest_papers_per_s": round(n / secs, 1),
        "ingest_vs_raw_embedder": round((n / secs) / raw_papers_per_s, 2),
        "ingest_peak_rss_mb": round(rss),
        "reingest_seconds": round(resecs, 1),
        "reingest_papers_per_s": round(n / resecs, 1),
        "reingest_new": rereport["new"],
        "read_seconds": round(read_secs, 1),
        "read_papers_per_s": round(n / read_secs, 1),
        "read_texts": read_texts,
        "search_warm_p50_ms": round(p50, 1),
        "search_warm_p95_ms": round(p95, 1),
        "search_cold_cli_s": round(cold, 2),
        "report": report,
        "load_average": load_average(),
    }
    rows = [
        ("papers (chunks)", f"{n} ({len(chunks)}, {chunks_per_paper:.2f}/paper)", ""),
        ("raw embedder", f"{raw_chunks_per_s:.1f} chunks/s = {raw_papers_per_s:.1f} papers/s", ""),
        ("end-to-end ingest", f"{n / secs:.1f} papers/s ({secs:.0f} s)", "≥ 20 papers/s"),
        ("ingest ÷ raw embedder", f"{(n / secs) / raw_papers_per_s:.2f}", "≥ 0.9"),
        ("peak RSS during ingest", f"{rss:.0f} MB", "≤ 2048 MB"),
        ("reading ahead after ingest (background)", f"{n / read_secs:.1f} papers/s ({read_secs:.0f} s, {read_texts} texts)", ""),
        ("re-ingest unchanged", f"{n / resecs:.0f} papers/s ({resecs:.1f} s, new={rereport['new']})", "≥ 500 papers/s"),
        ("search warm p50 / p95", f"{p50:.1f} / {p95:.1f} ms", "p95 ≤ 50 ms"),
        ("cold `assistant search`", f"{cold:.2f} s", "≤ 3 s"),
    ]
    lines = [
        "# Ingest and search benchmark",
        "",
        f"`python -m benchmarks.ingest_bench` on {os.cpu_count()} cores, load average {result['load_average']:.1f} at the end.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        *[f"| {a} | {b} | {c} |" for a, b, c in rows],
        "",
    ]
    write_result("ingest", lines, result, RESULTS)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
