"""Answer-quality benchmark: the frozen cases of benchmarks/answers/ asked through the public API.

Run from the repo root (needs ../shared/data/hf_daily_papers; stops with a clear message without it):

    python -m benchmarks.answers_bench --split dev --backend fake          # our overhead + app logic, fast
    python -m benchmarks.answers_bench --split dev --backend oracle        # a perfect model behind the app
    python -m benchmarks.answers_bench --split test --backend embedded     # the packaged local model
    python -m benchmarks.answers_bench --split dev --retrieval-only        # recall@5 / recall@10 only
    python -m benchmarks.answers_bench --split dev --limit 20 --types detail,compare

The store (5 seed pages + the HF distractors of benchmarks/answers/store.json, out-of-corpus papers
removed) is built once under `--data` (default: <ASSISTANT_DATA_DIR>-bench/answers, never in the repo)
and reused. Each case goes through `Assistant.ask_stream`, exactly like `assistant ask`; the Answer is
graded by benchmarks/answers_grade.py. Back ends:
  embedded  the packaged local model (started once, warmed up on a question not in the cases);
  fake      tests/fake_openai.py in its own process, replying with the evidence sentence that shares most
            words with the question (benchmarks/qa_bench.lexical_responder): latency = our overhead;
  oracle    the same server replying with the gold sentences and the expected paper's citation
            number (benchmarks/answers_oracle.py): useful answers measure what the app lets through.
Results: benchmarks/results/answers.json (one entry per back end and split, merged) and answers.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import os
import random
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.answers_grade import answer_view, grade, recall_at
from benchmarks.splits import read_split

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = ROOT / "benchmarks" / "answers"
SHARED = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
WARMUP_QUESTION = "What is semi-supervised text spotting?"
log = logging.getLogger("answers_bench")


# --------------------------------------------------------------------------- cases and store


def load_cases(split: str, cases_dir: Path = CASES_DIR) -> list[dict[str, Any]]:
    """The frozen cases of one split (`dev`, `test`, `all` = both, or `fresh`)."""
    return [case for _, case in read_split(split, cases_dir, "question", "type")]


def stratified(cases: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The first `limit` cases taken round-robin over types (in file order), so a short run covers every type."""
    queues: dict[str, list[dict[str, Any]]] = {}
    for case in cases:
        queues.setdefault(case["type"], []).append(case)
    picked: list[dict[str, Any]] = []
    while len(picked) < limit and any(queues.values()):
        for queue in queues.values():
            if queue and len(picked) < limit:
                picked.append(queue.pop(0))
    return picked


def default_data_dir() -> Path:
    from assistant.config import Settings

    base = Settings(_env_file=None).data_dir  # type: ignore[call-arg]
    return base.with_name(base.name + "-bench") / "answers"


def bench_settings(data: Path, **overrides: Any):  # type: ignore[no-untyped-def]
    """Settings for the benchmark store (read ahead before ingest returns: complete when timed); the model file is shared."""
    from assistant.config import Settings

    models = os.environ.get("ASSISTANT_MODEL_CACHE_DIR") or Settings(_env_file=None).models_dir  # type: ignore[call-arg]
    return Settings(_env_file=None, data_dir=data, model_cache_dir=Path(models), **{"read_after_ingest": "wait", **overrides})  # type: ignore[call-arg]


def hf_rows(shared: Path) -> dict[str, dict[str, Any]]:
    path = shared / "hf_daily_papers" / "hf_daily_papers.jsonl.gz"
    if not path.exists():
        raise SystemExit(f"{path} not found: this benchmark needs the shared HF Daily Papers data (pass --shared DIR)")
    rows: dict[str, dict[str, Any]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            rows.setdefault(row["arxiv_id"], row)
    return rows


def ensure_store(data: Path, shared: Path) -> dict[str, Any]:
    """Ingest the seed pages and the distractors once; the marker records what was built."""
    from assistant.service import Assistant

    spec = json.loads((CASES_DIR / "store.json").read_text(encoding="utf-8"))
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]
    marker = data / ".complete"
    if marker.exists() and json.loads(marker.read_text()).get("key") == key:
        return {"reused": True, **json.loads(marker.read_text())}
    if data.exists() and any(data.iterdir()):
        raise SystemExit(f"{data} holds another store: remove it or pass another --data")
    rows = hf_rows(shared)
    removed = set(spec["removed_out_of_corpus"])
    missing = [i for i in spec["distractors"] if i not in rows]
    if missing or removed & set(spec["distractors"]):
        raise SystemExit(f"store.json does not match the shared data ({len(missing)} ids missing)")
    data.mkdir(parents=True, exist_ok=True)
    distractors = data / "distractors.jsonl.gz"
    with gzip.open(distractors, "wt", encoding="utf-8") as f:
        for pid in spec["distractors"]:
            f.write(json.dumps(rows[pid]) + "\n")
    started = time.perf_counter()
    app = Assistant(bench_settings(data))
    try:
        app.ingest([ROOT / spec["seed_pages"]], year=spec["seed_year"], progress=True)
        app.ingest([distractors], progress=True)
        papers = app.stats().get("papers")
    finally:
        app.close()
    info = {"key": key, "papers": papers, "seconds": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(info), encoding="utf-8")
    return {"reused": False, **info}


def paper_table(app: Any, ids: set[str]) -> dict[str, dict[str, str]]:
    """Title and abstract of the given papers, read back from the store."""
    return {pid: {"title": p.title, "abstract": p.abstract} for pid, p in app.store.get_papers(ids).items()}


# --------------------------------------------------------------------------- back ends


def server_process(mode: str, gold_path: Path | None = None) -> Any:
    """The fake endpoint in its own process (`--serve fake|oracle`), as a real server would be."""
    from benchmarks.qa_bench import FakeProcess

    command = [sys.executable, "-m", "benchmarks.answers_bench", "--serve", mode]
    return FakeProcess(command + (["--gold", str(gold_path)] if gold_path is not None else []))


def serve(mode: str, gold_path: str | None) -> None:
    """Run the fake endpoint with the lexical or the oracle responder until stdin closes."""
    from benchmarks.qa_bench import lexical_responder, serve_fake

    if mode == "oracle":
        from benchmarks.answers_oracle import OracleResponder

        serve_fake(OracleResponder(json.loads(Path(str(gold_path)).read_text(encoding="utf-8"))))
    else:
        serve_fake(lexical_responder)


def make_app(backend: str, data: Path, cases: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    """(Assistant, server process or None) for a back end."""
    from assistant.service import Assistant

    if backend == "embedded":
        return Assistant(bench_settings(data, llm_backend="embedded")), None
    gold_path = None
    if backend == "oracle":
        from benchmarks.answers_oracle import build_gold

        probe = Assistant(bench_settings(data))
        try:
            papers = paper_table(probe, {pid for c in cases for pid in c.get("expected", [])})
        finally:
            probe.close()
        gold_path = data / "oracle_gold.json"
        gold_path.write_text(json.dumps(build_gold(cases, papers)), encoding="utf-8")
    server = server_process(backend, gold_path)
    settings = bench_settings(data, llm_backend="openai", llm_base_url=server.base_url, llm_model=f"{backend}-model", llm_api_key="bench")
    return Assistant(settings), server


# --------------------------------------------------------------------------- running


def ask_case(app: Any, case: dict[str, Any]) -> dict[str, Any]:
    """Ask one case through `ask_stream`, timed at the evidence, the first token and the answer; graded."""
    started = time.perf_counter()
    t_evidence = t_first = None
    answer = error = None
    tokens: list[str] = []
    routed = "answer"
    try:
        for kind, value in app.ask_stream(case["question"]):
            now = time.perf_counter() - started
            if kind == "evidence" and t_evidence is None:
                t_evidence = now
            elif kind == "token":
                tokens.append(str(value))
                if t_first is None and str(value).strip():
                    t_first = now
            elif kind == "comparison":
                routed = "compare"
            elif kind == "answer":
                answer = value
    except Exception as exc:  # a failed case is a result, not the end of the run
        error = f"{type(exc).__name__}: {exc}"
    row: dict[str, Any] = {
        "id": case["id"], "type": case["type"], "split": case["split"], "question": case["question"],
        "error": error, "route": routed, "draft": "".join(tokens), "evidence_s": t_evidence, "first_token_s": t_first, "total_s": time.perf_counter() - started,
    }
    if answer is None:
        row.update(verdict="error", wrong=[])
        return row
    view = answer_view(answer)
    row.update(grade(case, view))
    row.update(
        answer=view["answer"], refused=view["refused"], extractive=view["extractive"],
        citations=view["citations"], evidence_ids=[e["paper_id"] for e in view["evidence"].values()],
        supported_sentences=sum(s["supported"] for s in view["sentences"]),
    )
    return row


def retrieval_rows(app: Any, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Known-item recall@5 on paraphrase cases, recall@10 on which-papers cases (search step only)."""
    rows = []
    for case in cases:
        k = {"paraphrase": 5, "which_papers": 10}.get(case["type"])
        if k is None:
            continue
        ranked = [h.paper.paper_id for h in app.search(case["question"], k=k)]
        row = {"id": case["id"], "type": case["type"], "split": case["split"], "k": k,
               "recall": recall_at(case["expected"], ranked, k)}
        if case["type"] == "which_papers":  # the audited labels can hold more than k papers; the earlier ones kept
            row["recall_capped"] = recall_at(case["expected"], ranked, k, capped=True)
            row["recall_before_audit"] = recall_at(case.get("expected_before_audit", case["expected"]), ranked, k)
        rows.append(row)
    return rows


def _load1() -> float:
    return round(os.getloadavg()[0], 2)


def run(backend: str, cases: list[dict[str, Any]], data: Path, retrieval_only: bool, budget_s: float | None = None) -> dict[str, Any]:
    """Ask every case (or stop asking once `budget_s` has passed: a chunk's hold of the heavy lock)."""
    from assistant.service import Assistant

    started = time.monotonic()

    load = [_load1()]
    progress = data / f"progress_{backend}.jsonl"
    if retrieval_only:
        app, server = Assistant(bench_settings(data)), None
    else:
        app, server = make_app(backend, data, cases)
    rows: list[dict[str, Any]] = []
    try:
        retrieval = retrieval_rows(app, cases)
        if not retrieval_only:
            ask_case(app, {"id": "warmup", "type": "detail", "split": "-", "question": WARMUP_QUESTION, "expected": [], "key_facts": []})
            progress.write_text("", encoding="utf-8")
            for i, case in enumerate(cases, start=1):
                if budget_s is not None and time.monotonic() - started > budget_s:
                    print(f"  time budget spent after {i - 1} cases; run the rest with --ids", file=sys.stderr)
                    break
                rows.append(ask_case(app, case))
                with progress.open("a", encoding="utf-8") as f:  # a stopped run's rows stay usable
                    f.write(json.dumps(rows[-1]) + "\n")
                if i % 10 == 0 or i == len(cases):
                    load.append(_load1())
                    print(f"  {i}/{len(cases)} asked ({backend}), load {load[-1]}", file=sys.stderr, flush=True)
    finally:
        app.close()
        if server is not None:
            server.close()
    load.append(_load1())
    return {
        "backend": backend, "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load1": {"before": load[0], "max": max(load), "after": load[-1]},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rows": rows, "retrieval": retrieval,
    }


def assemble(cases: list[dict[str, Any]], chunks: list[Path]) -> dict[str, Any]:
    """One run of `cases` from chunk runs (each `--ids` run under its own hold of the heavy lock): every
    chunk dir holds `rows.jsonl` (the run's progress file) and `entry.json` (its answers.json entry); a case
    asked twice keeps its last row. Load and peak RSS are the worst over the chunks."""
    wanted, rows, entries = {c["id"] for c in cases}, {}, []
    for chunk in chunks:
        lines = (chunk / "rows.jsonl").read_text(encoding="utf-8").splitlines()
        rows.update({r["id"]: r for r in map(json.loads, filter(str.strip, lines)) if r["id"] in wanted})
        entries.append(json.loads((chunk / "entry.json").read_text(encoding="utf-8")))
    if wanted - set(rows):
        raise SystemExit(f"{len(wanted - set(rows))} cases are in no chunk: {', '.join(sorted(wanted - set(rows))[:5])} ...")
    return {
        "backend": entries[0]["backend"], "when": max(e["when"] for e in entries),
        "load1": {"before": entries[0]["load1"]["before"], "max": max(e["load1"]["max"] for e in entries),
                  "after": entries[-1]["load1"]["after"]},
        "peak_rss_mb": max(e["peak_rss_mb"] for e in entries), "rows": [rows[c["id"]] for c in cases],
        "retrieval": list({r["id"]: r for e in entries for r in e.get("retrieval", [])}.values()), "chunks": len(chunks),
    }


# --------------------------------------------------------------------------- hand-graded sample


def write_sample(entry: dict[str, Any], cases: list[dict[str, Any]], data: Path, n: int) -> Path:
    """A random sample of answered cases for hand grading, written next to the store (not in the repo:
    it quotes the cited abstracts). Procedure: benchmarks/answers/README.md."""
    answered = [r for r in entry["rows"] if r.get("refused") is False]
    sample = random.Random(7).sample(answered, min(n, len(answered)))
    from assistant.service import Assistant

    app = Assistant(bench_settings(data))
    try:
        papers = paper_table(app, {c["paper_id"] for r in sample for c in r["citations"]})
    finally:
        app.close()
    by_id = {c["id"]: c for c in cases}
    lines = ["# Hand-grading sample", "", "For each answer: useful / partial / not useful / wrong, and per supported sentence: "
             "does the cited abstract state it (yes / no / prior work)?", ""]
    for r in sample:
        lines += [f"## {r['id']} ({r['type']}, automatic: {r['verdict']}{', WRONG' if r['wrong'] else ''})",
                  f"Q: {r['question']}", f"Expected: {'; '.join(by_id[r['id']].get('titles', []))}", "", f"A: {r['answer']}", ""]
        for c in r["citations"]:
            p = papers.get(c["paper_id"], {"title": "?", "abstract": ""})
            lines += [f"[{c['n']}] supported={c['supported']} {p['title']}", f"> {p['abstract']}", ""]
        lines += ["Hand verdict: ", ""]
    path = data / f"sample_{entry['backend']}.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Answer quality on the frozen unseen cases (useful / refused / wrong, latency, recall).",
        epilog="Example: python -m benchmarks.answers_bench --split dev --backend fake --limit 40",
    )
    parser.add_argument("--split", choices=["dev", "test", "all", "fresh"], default="dev",
                        help="fresh: 53 cases written after the engine was built, run only to report (benchmarks/answers/README.md)")
    parser.add_argument("--backend", choices=["embedded", "fake", "oracle"], default="fake")
    parser.add_argument("--limit", type=int, default=None, help="N cases of the split, taken round-robin over types")
    parser.add_argument("--types", default=None, help="comma-separated case types to run (default: all)")
    parser.add_argument("--ids", default=None, help="comma-separated case ids to run (after --types/--limit; e.g. re-record the cases whose prompt changed)")
    parser.add_argument("--retrieval-only", action="store_true", help="only recall@5 (paraphrase) and recall@10 (which papers)")
    parser.add_argument("--data", type=Path, default=None, help="benchmark store dir (default: <data dir>-bench/answers)")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data dir (with hf_daily_papers/)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--sample", type=int, default=0, help="also write N answered cases for hand grading")
    parser.add_argument("--budget-s", type=float, default=None, help="stop asking new cases after this many seconds")
    parser.add_argument("--assemble", type=Path, nargs="+", help="one run of the cases from chunk dirs (rows.jsonl + entry.json each)")
    parser.add_argument("--serve", choices=["fake", "oracle"], help=argparse.SUPPRESS)
    parser.add_argument("--gold", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.gold)
        return 0
    logging.basicConfig(level=logging.WARNING)
    cases = load_cases(args.split)
    if args.types:
        wanted = set(args.types.split(","))
        cases = [c for c in cases if c["type"] in wanted]
    if args.limit:
        cases = stratified(cases, args.limit)
    if args.ids:
        wanted = set(args.ids.split(","))
        cases = [c for c in cases if c["id"] in wanted]
    data = args.data or default_data_dir()
    built = ensure_store(data, args.shared)
    print(f"store: {built.get('papers')} papers in {data} ({'reused' if built['reused'] else 'built'})", file=sys.stderr)
    entry = assemble(cases, args.assemble) if args.assemble else run(args.backend, cases, data, args.retrieval_only, args.budget_s)
    entry["store_papers"] = built.get("papers")
    if args.limit or args.types or args.ids:
        entry["limit_note"] = f"subset: {len(cases)} cases" + (f", types {args.types}" if args.types else "")
    from benchmarks.answers_report import merge_results, render, summarize

    entry["summary"] = summarize(entry)
    name = f"{'retrieval' if args.retrieval_only else args.backend}:{args.split}" + (":subset" if args.limit or args.types or args.ids else "")
    args.results.mkdir(parents=True, exist_ok=True)
    if args.split != "dev":  # per-case test results stay out of the repo: nobody should tune on them
        rows_path = data / f"rows_{name.replace(':', '_')}.json"
        rows_path.write_text(json.dumps({"rows": entry["rows"], "retrieval": entry["retrieval"]}), encoding="utf-8")
        entries = merge_results(args.results, name, {**entry, "rows": [], "retrieval": [], "rows_file": rows_path.name})
    else:
        entries = merge_results(args.results, name, entry)
    (args.results / "answers.md").write_text(render(entries), encoding="utf-8")
    print(json.dumps({"run": name, **entry["summary"]["overall"], "paraphrase_recall5": entry["summary"]["paraphrase_recall5"],
                      **{k: v for k, v in entry["summary"].items() if k.startswith("which_recall10")}}, indent=1))
    if args.sample and entry["rows"]:
        print(f"hand-grading sample: {write_sample(entry, cases, data, args.sample)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
