"""Fetch benchmark: a week of daily lists (7 requests, ~120 papers) fetched and ingested, and re-runs.

Run by hand: `python benchmarks/fetch_bench.py [--week 2026-W32] [--latency 0.3]`; writes
benchmarks/results/fetch.md. The week's rows of ../shared/data/hf_daily_papers are rebuilt into
API-shaped items (the shape of raw_samples/*.json) and served from 127.0.0.1, optionally with a
simulated per-request latency. Scenarios:
  (a) cold fetch into an empty store, in process: fetch+parse vs embedding vs the rest of ingest
      (target: <= 10 s plus embedding time);
  (b) the same as a fresh `assistant fetch --week W --json` process (wall time, imports included);
  (c) re-run with nothing new, fresh process (target <= 2 s) and in process;
  (d) --refresh of the week (upvotes only: nothing is re-embedded), fresh process.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.config import Settings  # noqa: E402
from assistant.service import Assistant  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "hf_daily_papers" / "hf_daily_papers.jsonl.gz"
OUT = ROOT / "benchmarks" / "results" / "fetch.md"
ASSISTANT = Path(sys.executable).parent / "assistant"


def api_items(week: str) -> dict[str, bytes]:
    """The week's rows as the bodies `/api/daily_papers?date=D` would send (days without rows: `[]`)."""
    year, num = week.split("-W")
    monday = date.fromisocalendar(int(year), int(num), 1)
    days = {(monday + timedelta(days=i)).isoformat(): [] for i in range(7)}  # type: dict[str, list[Any]]
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["list_date"] not in days:
                continue
            paper = {
                "id": row["arxiv_id"],
                "authors": [{"name": a, "hidden": False} for a in row.get("authors") or []],
                "publishedAt": row.get("published_at"),
                "submittedOnDailyAt": row.get("submitted_on_daily_at"),
                "title": row["title"],
                "summary": row["abstract"],
                "upvotes": row.get("upvotes") or 0,
                "githubRepo": row.get("github_repo"),
                "projectPage": row.get("project_page"),
                "ai_summary": row.get("hf_ai_summary"),
                "ai_keywords": row.get("hf_ai_keywords"),
            }
            days[row["list_date"]].append(
                {
                    "paper": {k: v for k, v in paper.items() if v is not None},
                    "publishedAt": f"{row['list_date']}T08:00:00.000Z",
                    "title": row["title"],
                    "numComments": row.get("num_comments") or 0,
                    "isAuthorParticipating": False,
                }
            )
    return {day: json.dumps(items, indent=2).encode() for day, items in days.items()}


class Server:
    """Serves the bodies on 127.0.0.1 with an optional latency per request; counts requests."""

    def __init__(self, bodies: dict[str, bytes], latency: float) -> None:
        self.bodies, self.latency, self.requests = bodies, latency, 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                owner.requests += 1
                time.sleep(owner.latency)
                day = dict(parse_qsl(urlsplit(self.path).query)).get("date", "")
                body = owner.bodies.get(day, b"[]")
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/api"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def bump_upvotes(bodies: dict[str, bytes]) -> dict[str, bytes]:
    out = {}
    for day, body in bodies.items():
        items = json.loads(body)
        for item in items:
            item["paper"]["upvotes"] = item["paper"].get("upvotes", 0) + 1
        out[day] = json.dumps(items).encode()
    return out


def in_process(data: Path, base: str, week: str, refresh: bool = False) -> dict[str, Any]:
    settings = Settings(_env_file=None, data_dir=data, hf_api_base=base, read_after_ingest="off")  # type: ignore[call-arg]
    started = time.perf_counter()
    app = Assistant(settings)
    embed_seconds = 0.0
    embedded = 0
    opened = 0.0

    def open_app() -> Assistant:
        nonlocal opened
        t = time.perf_counter()
        embedder = app.embedder
        real = embedder.embed

        def timed(texts: list[str], *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
            nonlocal embed_seconds, embedded
            t0 = time.perf_counter()
            try:
                return real(texts, *args, **kwargs)
            finally:
                embed_seconds += time.perf_counter() - t0
                embedded += len(texts)

        embedder.embed = timed  # type: ignore[method-assign]
        app.store  # noqa: B018 (open it here, to time it apart from the ingest)
        opened = time.perf_counter() - t
        return app

    from assistant.fetch import fetch_papers

    report = fetch_papers(settings, open_app, week=week, refresh=refresh)
    total = time.perf_counter() - started
    app.close()
    ingest = report.seconds.get("ingest", 0.0)
    return {
        "report": report.model_dump(),
        "papers": report.papers,
        "requests": report.requests,
        "total": total,
        "fetch_parse": report.seconds.get("fetch", 0.0),
        "open_store": opened,
        "embed": embed_seconds,
        "embedded_texts": embedded,
        "ingest_other": max(0.0, ingest - embed_seconds - opened),
    }


def cli(data: Path, base: str, week: str, *extra: str) -> tuple[float, dict[str, Any]]:
    data.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_HF_API_BASE": base, "ASSISTANT_READ_AFTER_INGEST": "off"}
    started = time.perf_counter()
    done = subprocess.run(
        [str(ASSISTANT), "fetch", "--week", week, "--json", *extra], env=env, capture_output=True, text=True,
        cwd=data.parent, check=True,
    )
    return time.perf_counter() - started, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--week", default="2026-W32")
    parser.add_argument("--latency", type=float, default=0.3, help="Simulated seconds per request (scenario a').")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"{DATA} is absent: the benchmark needs the shared daily-papers data")
    bodies = api_items(args.week)
    n_rows = sum(len(json.loads(b)) for b in bodies.values())
    load_before = os.getloadavg()
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="fetch-bench-") as tmp:
        tmp_path = Path(tmp)
        fast = Server(bodies, 0.0)
        slow = Server(bodies, args.latency)
        try:
            cold = in_process(tmp_path / "a" / "data", fast.url, args.week)
            cold_slow = in_process(tmp_path / "a2" / "data", slow.url, args.week)
            cli_cold, cli_doc = cli(tmp_path / "b" / "data", fast.url, args.week)
            reruns = [cli(tmp_path / "b" / "data", fast.url, args.week) for _ in range(args.repeat)]
            rerun_in = in_process(tmp_path / "b" / "data", fast.url, args.week)
            fast.bodies = bump_upvotes(bodies)  # what a refresh is for
            refresh_t, refresh_doc = cli(tmp_path / "b" / "data", fast.url, args.week, "--refresh")
            refresh_in = in_process(tmp_path / "a" / "data", fast.url, args.week, refresh=True)
        finally:
            fast.close()
            slow.close()
    rerun_wall = statistics.median(t for t, _ in reruns)
    assert all(doc["fetched"] == 0 and doc["skipped_days"] == 7 for _, doc in reruns)
    assert cli_doc["new"] == cold["papers"] and refresh_doc["new"] == 0
    assert refresh_doc["updated"] == cold["papers"] and refresh_in["embedded_texts"] == 0

    def budget(r: dict[str, Any]) -> float:
        return r["total"] - r["embed"]

    rows = [
        ("(a) cold week, in process, local server", "<= 10 s + embedding",
         f"{cold['total']:.2f} s total = fetch+parse {cold['fetch_parse']:.2f} s + open store/embedder "
         f"{cold['open_store']:.2f} s + embedding {cold['embed']:.2f} s + other ingest {cold['ingest_other']:.2f} s",
         f"{budget(cold):.2f} s"),
        (f"(a') cold week, in process, {args.latency:.1f} s latency per request", "<= 10 s + embedding",
         f"{cold_slow['total']:.2f} s total = fetch+parse {cold_slow['fetch_parse']:.2f} s + open "
         f"{cold_slow['open_store']:.2f} s + embedding {cold_slow['embed']:.2f} s + other ingest {cold_slow['ingest_other']:.2f} s",
         f"{budget(cold_slow):.2f} s"),
        ("(b) cold week, fresh `assistant fetch` process", "<= 10 s + embedding",
         f"{cli_cold:.2f} s wall (start-up, imports, fetch, embedding, ingest)", "-"),
        ("(c) re-run, nothing new, fresh process", "<= 2 s",
         f"{rerun_wall:.2f} s wall (median of {len(reruns)}: {', '.join(f'{t:.2f}' for t, _ in reruns)})", "-"),
        ("(c) re-run, nothing new, in process", "<= 2 s", f"{rerun_in['total']:.3f} s (no request, store not opened)", "-"),
        ("(d) --refresh of the week, fresh process", "-", f"{refresh_t:.2f} s wall, {refresh_doc['updated']} updated", "-"),
        ("(d) --refresh of the week, in process", "-",
         f"{refresh_in['total']:.2f} s, {refresh_in['report']['updated']} updated, "
         f"{refresh_in['embedded_texts']} texts re-embedded", "-"),
    ]
    load_after = os.getloadavg()
    lines = [
        "# Fetch benchmark",
        "",
        f"`python benchmarks/fetch_bench.py --week {args.week} --latency {args.latency}` on {date.today()}, "
        f"{os.cpu_count()} CPU cores, load average {load_before[0]:.1f} before / {load_after[0]:.1f} after "
        "(other jobs shared the machine: wall times, embedding above all, are inflated accordingly).",
        "",
        f"Week {args.week} of `../shared/data/hf_daily_papers` rebuilt into API-shaped daily responses "
        f"({n_rows} rows, {cold['papers']} papers parsed, 7 days incl. an empty weekend) and served from "
        f"127.0.0.1: {cold['requests']} requests, {cold['embedded_texts']} chunks embedded.",
        "",
        "| scenario | target | measured | total minus embedding |",
        "|---|---|---|---|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        "Cold report: `" + json.dumps(cold["report"]) + "`.",
        "",
        "Notes:",
        "- fetch+parse = the 7 sequential requests, JSON decoding and mapping to papers (and the fetch-log read);",
        "  embedding = time inside the embedder; other ingest = raw files, chunking, Chroma upsert, paper table,",
        "  BM25 rebuild and the fetch log. The real API adds its own latency per request (a').",
        "- A re-run reads only the fetch log (SQLite): no request, no embedder, no Chroma.",
        "- (d) serves every paper with one more upvote: a refresh re-requests the 7 days and updates the upvotes;",
        "  unchanged abstracts are never re-embedded.",
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
