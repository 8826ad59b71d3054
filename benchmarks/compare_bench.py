"""Compare benchmark: are the papers chosen for a topic about it, and does each sentence keep to its paper?

Run from the repo root:

    python -m benchmarks.compare_bench --split dev                          # paper choice only (no model)
    python -m benchmarks.compare_bench --split test --backend embedded      # + full comparisons, packaged model
    python -m benchmarks.compare_bench --split heldout                      # the frozen held-out queries (run once)

The store is the 5 seed pages (`examples/daily-papers`, `--year 2024`), built once under `--data`
(default: <ASSISTANT_DATA_DIR>-bench/compare, never in the repo). Cases are the frozen topic queries of
benchmarks/compare/ (see its README). For each query the papers are chosen exactly as `assistant compare
QUERY` chooses them (`chains.compare.choose_papers`, n = 4) and graded: precision of chosen papers
(expected ∪ acceptable), refusals of queries with fewer than two expected papers, expected papers found.
With `--backend embedded` each qualifying query is compared with the packaged local model from a cold
cache (a fresh copy of the store), timed, and every shown sentence (summary and table cells) is checked
for a number or name that its cited paper does not state but another compared paper does, and every
cell for whether it quotes the paper's background or prior work rather than its own work.
Results: benchmarks/results/compare.json (one entry per split and back end, merged) and compare.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.seed_store import ensure_seed_store
from benchmarks import answers_bench
from benchmarks.answers_bench import bench_settings
from benchmarks.results_io import RESULTS, load_average, write_result
from benchmarks.splits import read_split

ROOT = Path(__file__).resolve().parent.parent
CASES_DIR = ROOT / "benchmarks" / "compare"
SEED_YEAR = 2024
N_PAPERS = 4
log = logging.getLogger("compare_bench")


def load_cases(split: str, cases_dir: Path = CASES_DIR) -> list[dict[str, Any]]:
    """The frozen queries of one split (`dev`, `test`, `heldout` or `all` = dev + test), each tagged with its split."""
    return [{**case, "split": name} for name, case in read_split(split, cases_dir, "query", "expected")]


def default_data_dir() -> Path:
    """<ASSISTANT_DATA_DIR>-bench/compare, next to the answer benchmark's store."""
    return answers_bench.default_data_dir().with_name("compare")


def ensure_store(data: Path) -> dict[str, Any]:
    """The seed store under `data`, built on the first run (`--year 2024` dates)."""
    return ensure_seed_store(bench_settings(data), SEED_YEAR)


# --------------------------------------------------------------------------- grading


def grade_choice(case: dict[str, Any], chosen: list[str] | None) -> dict[str, Any]:
    """One query's paper choice against its lists; `chosen` is None when the app refused."""
    expected, ok = set(case["expected"]), set(case["expected"]) | set(case.get("acceptable", []))
    should_refuse = len(expected) < 2
    if chosen is None:
        return {"refused": True, "should_refuse": should_refuse, "chosen": 0, "on_topic": 0, "found": 0}
    return {
        "refused": False,
        "should_refuse": should_refuse,
        "chosen": len(chosen),
        "on_topic": sum(pid in ok for pid in chosen),
        "found": sum(pid in expected for pid in chosen),
        "off_topic": [pid for pid in chosen if pid not in ok],
    }


def foreign_terms(comparison: Any) -> list[dict[str, Any]]:
    """Shown sentences (summary and cells) with a number or name their cited papers do not state but
    another compared paper does: one paper's facts under another's citation. A sentence setting papers
    side by side is read clause by clause, each clause against the papers it cites."""
    from assistant.chains.contrast import clauses
    from assistant.citations import claim_body
    from assistant.chains.answerable import key_terms, numbers_in, term_in

    texts = {r.n: f"{r.title}. {p.abstract}" for r, p in zip(comparison.table, comparison.papers)}
    nums = {n: numbers_in(t) for n, t in texts.items()}
    shown = [(text, cites) for s in comparison.sentences for text, cites in clauses(s.text)]  # contrasts per clause
    shown += [(c.text, [r.n]) for r in comparison.table for c in r.cells.values() if c.source != "none"]
    bad = []
    for text, cites in shown:
        body = claim_body(text)
        for term in key_terms(body):
            if cites and not any(term_in(term, texts[n], nums[n]) for n in cites if n in texts):
                others = [n for n in texts if n not in cites and term_in(term, texts[n], nums[n])]
                if others:
                    bad.append({"sentence": text, "term": term, "cited": cites, "stated_by": others})
    return bad


def background_cells(comparison: Any) -> list[dict[str, str]]:
    """Method, data and result cells that quote a sentence of the paper's background or prior work (not its
    own work); the problem cell may state the paper's motivation."""
    from assistant.citations import split_sentences
    from assistant.chains.answerable import method_name, sentence_roles

    out = []
    for row, paper in zip(comparison.table, comparison.papers):
        sents = split_sentences(paper.abstract)
        roles = dict(zip(sents, sentence_roles(sents, method_name(paper.title))))
        for aspect, cell in row.cells.items():
            if aspect == "problem":
                continue
            text = re.sub(r"\s*\[\d+\]$", "", cell.text).strip()
            role = roles.get(text) or next((r for s, r in roles.items() if text.rstrip(" .…") and s.startswith(text.rstrip(" .…"))), None)
            if role in ("background", "prior"):
                out.append({"paper": row.paper_id, "aspect": aspect, "role": role, "text": text})
    return out


# --------------------------------------------------------------------------- running


def choose(app: Any, case: dict[str, Any]) -> tuple[list[Any] | None, str]:
    """The papers `assistant compare QUERY` would compare, or None and the refusal message."""
    from assistant.chains.compare import choose_papers
    from assistant.errors import InputError

    try:
        papers, _ = choose_papers([case["query"]], app.store, app.search, n=N_PAPERS, embed=app.embed_sentences)
    except InputError as exc:
        return None, str(exc)
    return papers, ""


def run_selection(data: Path, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from assistant.service import Assistant

    app = Assistant(bench_settings(data))
    rows = []
    try:
        for case in cases:
            started = time.perf_counter()
            papers, message = choose(app, case)
            ids = [p.paper_id for p in papers] if papers is not None else None
            rows.append({
                "query": case["query"], "split": case["split"], "chosen_ids": ids,
                "chosen_titles": [p.title for p in papers] if papers is not None else [],
                "refusal": message, "select_s": round(time.perf_counter() - started, 3),
                **grade_choice(case, ids),
            })
    finally:
        app.close()
    return rows


def run_compares(data: Path, rows: list[dict[str, Any]], limit: int | None) -> None:
    """Full comparisons with the packaged model, each from a cold cache (a fresh copy of the store)."""
    from assistant.service import Assistant

    todo = [r for r in rows if not r["refused"]][: limit or None]
    for row in todo:
        with tempfile.TemporaryDirectory(prefix="compare-bench-") as tmp:
            copy = Path(tmp) / "data"
            shutil.copytree(data, copy)
            app = Assistant(bench_settings(copy, llm_backend="embedded", llm_timeout=900.0))
            try:
                app.chat_model.invoke("Say OK")  # start the local server outside the measured comparison
                started = time.perf_counter()
                c = app.compare(row["chosen_ids"], n=N_PAPERS)
                row["compare_s"] = round(time.perf_counter() - started, 1)
            finally:
                app.close()
        row["papers_compared"] = len(c.table)
        row["summary_sentences"] = len(c.sentences)
        row["dropped_sentences"] = len(c.dropped)
        row["fallback"] = c.fallback
        row["foreign"] = foreign_terms(c)
        row["cells"] = sum(1 for r in c.table for cell in r.cells.values() if cell.source != "none")
        row["background_cells"] = background_cells(c)
        row["summary"] = c.summary
        log.info("%s: %.1f s, %d foreign", row["query"], row["compare_s"], len(row["foreign"]))


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    chosen = sum(r["chosen"] for r in rows)
    answerable = [r for r in rows if not r["should_refuse"]]
    must_refuse = [r for r in rows if r["should_refuse"]]
    found_den = sum(min(N_PAPERS, len(r.get("expected", [])) or N_PAPERS) for r in answerable)
    out: dict[str, Any] = {
        "queries": len(rows),
        "precision": round(sum(r["on_topic"] for r in rows) / chosen, 3) if chosen else None,
        "chosen": chosen,
        "off_topic": sum(r["chosen"] - r["on_topic"] for r in rows),
        "queries_all_on_topic": sum(1 for r in answerable if not r["refused"] and r["on_topic"] == r["chosen"]),
        "answerable_queries": len(answerable),
        "false_refusals": sum(r["refused"] for r in answerable),
        "refusal_queries": len(must_refuse),
        "correct_refusals": sum(r["refused"] for r in must_refuse),
        "expected_found": sum(r["found"] for r in answerable),
        "expected_found_of": found_den,
        "select_p95_s": sorted(r["select_s"] for r in rows)[int(0.95 * (len(rows) - 1))] if rows else None,
    }
    compared = [r for r in rows if "compare_s" in r]
    if compared:
        times = sorted(r["compare_s"] for r in compared)
        four = sorted(r["compare_s"] for r in compared if r["papers_compared"] == N_PAPERS)
        out.update({
            "compares": len(compared),
            "compare_p50_s": times[len(times) // 2],
            "compare_max_s": times[-1],
            "compares_of_4": len(four),
            "compare_4_max_s": four[-1] if four else None,
            "foreign_sentences": sum(len({f["sentence"] for f in r["foreign"]}) for r in compared),
            "summary_sentences": sum(r["summary_sentences"] for r in compared),
            "cells": sum(r["cells"] for r in compared),
            "background_cells": sum(len(r["background_cells"]) for r in compared),
        })
    return out


# --------------------------------------------------------------------------- report


def render(entries: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "# Compare benchmark",
        "",
        "Topic queries of `benchmarks/compare/` (written before tuning; test frozen) over the seed store",
        "(`examples/daily-papers --year 2024`, 310 papers); papers chosen exactly as `assistant compare QUERY`",
        f"chooses them (n = {N_PAPERS}). `python -m benchmarks.compare_bench --split dev|test|heldout [--backend embedded]`.",
        "",
        "| split / back end | queries | precision of chosen papers | off-topic chosen | queries all on topic | false refusals | correct refusals | expected found | compares | p50 / max s (max of 4-paper compares) | sentences with another paper's terms | background method/data/result cells | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, e in sorted(entries.items()):
        s = e["summary"]
        timing = f"{s['compare_p50_s']} / {s['compare_max_s']} ({s['compare_4_max_s']})" if "compare_p50_s" in s else ""
        foreign = f"{s['foreign_sentences']} of {s['summary_sentences']} + {s['cells']} cells" if "cells" in s else ""
        lines.append(
            f"| {name} | {s['queries']} | **{s['precision']}** | {s['off_topic']} of {s['chosen']} | "
            f"{s['queries_all_on_topic']} of {s['answerable_queries']} | {s['false_refusals']} | "
            f"{s['correct_refusals']} of {s['refusal_queries']} | {s['expected_found']} of {s['expected_found_of']} | "
            f"{s.get('compares', '')} | {timing} | {foreign} | {s.get('background_cells', '')} | {e['load_average']} |"
        )
    lines += ["", "Precision counts a chosen paper on topic when it is in the case's `expected` or `acceptable` list;",
              "a query with fewer than two expected papers must be refused. Latency is noisy on the shared machine",
              "(see the load average); quality figures are deterministic.", ""]
    for name, e in sorted(entries.items()):
        lines += [f"## {name}", ""]
        for r in e["rows"]:
            verdict = "refused" if r["refused"] else f"{r['on_topic']}/{r['chosen']} on topic"
            extra = f", {r['compare_s']} s, {len(r['foreign'])} foreign terms" if "compare_s" in r else ""
            lines.append(f"- **{r['query']}** ({'should refuse' if r['should_refuse'] else 'answerable'}): {verdict}{extra}")
            for title, pid in zip(r["chosen_titles"], r["chosen_ids"] or []):
                mark = "" if pid not in r.get("off_topic", []) else " ✗"
                lines.append(f"  - {title[:100]}{mark}")
            for f in r.get("foreign", []):
                lines.append(f"  - foreign `{f['term']}` under {f['cited']}: {f['sentence'][:160]}")
        lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--split", choices=["dev", "test", "heldout", "all"], default="dev")
    parser.add_argument("--backend", choices=["none", "embedded"], default="none",
                        help="none: paper choice only; embedded: also full comparisons with the packaged model")
    parser.add_argument("--limit", type=int, default=None, help="compare at most this many queries (embedded)")
    parser.add_argument("--data", type=Path, default=None, help="the benchmark store (built on first use)")
    parser.add_argument("--no-write", action="store_true", help="print the summary only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    data = args.data or default_data_dir()
    log.info("store: %s", ensure_store(data))
    cases = load_cases(args.split)
    rows = run_selection(data, cases)
    for row, case in zip(rows, cases):
        row["expected"] = case["expected"]
    if args.backend == "embedded":
        run_compares(data, rows, args.limit)
    entry = {"summary": summarize(rows), "load_average": load_average(), "rows": rows,
             "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    print(json.dumps(entry["summary"], indent=1))
    if args.no_write:
        return 0
    path = RESULTS / "compare.json"
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    entries[f"{args.split} / {args.backend}"] = entry
    write_result("compare", render(entries), entries)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
