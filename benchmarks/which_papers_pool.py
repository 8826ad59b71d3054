"""The blind, pooled audit of the "which papers" labels (procedure: benchmarks/answers/README.md).

    python -m benchmarks.which_papers_pool sheet --out /tmp/pool   # the sheet to judge + the hidden sources
    python -m benchmarks.which_papers_pool apply                    # qrels -> `expected` of dev.jsonl / test.jsonl

`sheet` pools, per "which papers" case of both splits, the top `--depth` papers of BM25, dense and
hybrid search plus the case's labels, shuffles them with a fixed seed and writes `sheet.md` (pool
number, title, abstract: nothing that tells who found a paper or where) and, apart, `sources.json`
(which system or label brought each paper in, at which rank), to be read only after judging.
`apply` reads the verdicts of benchmarks/answers/which_papers_qrels.jsonl and rewrites each case's
`expected` (and `titles`) to its relevant papers, keeping the earlier list in `expected_before_audit`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

from benchmarks.answers_bench import CASES_DIR, SHARED, bench_settings, default_data_dir, ensure_store, paper_table

QRELS = CASES_DIR / "which_papers_qrels.jsonl"
SYSTEMS = ("bm25", "dense", "hybrid")
SEED = "which-papers-audit-2026-12-07"


def which_cases(split: str) -> list[dict[str, Any]]:
    path = CASES_DIR / f"{split}.jsonl"
    return [c for c in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if c["type"] == "which_papers"]


def pool(app: Any, case: dict[str, Any], depth: int) -> tuple[list[str], dict[str, list[str]]]:
    """(pooled ids in a shuffled order, {id: the systems that found it with their rank, or "label"})."""
    sources: dict[str, list[str]] = {}
    for mode in SYSTEMS:
        for rank, hit in enumerate(app.search(case["question"], k=depth, mode=mode), start=1):
            sources.setdefault(hit.paper.paper_id, []).append(f"{mode}@{rank}")
    for pid in case.get("expected_before_audit", case["expected"]):
        sources.setdefault(pid, []).append("label")
    ids = sorted(sources)
    random.Random(f"{SEED}:{case['id']}").shuffle(ids)
    return ids, sources


def write_sheet(out: Path, data: Path, depth: int) -> None:
    from assistant.service import Assistant

    ensure_store(data, SHARED)
    out.mkdir(parents=True, exist_ok=True)
    app = Assistant(bench_settings(data))
    lines = ["# Which-papers audit sheet (judge each paper by the rule in benchmarks/answers/README.md)", ""]
    hidden: dict[str, Any] = {}
    try:
        for split in ("dev", "test"):
            for case in which_cases(split):
                ids, sources = pool(app, case, depth)
                papers = paper_table(app, set(ids))
                hidden[case["id"]] = {"pool": ids, "sources": sources}
                lines += [f"## {case['id']}: {case['question']}", ""]
                for n, pid in enumerate(ids, start=1):
                    p = papers.get(pid, {"title": "(not in the store)", "abstract": ""})
                    lines += [f"**P{n:02d}** {p['title']}", "", p["abstract"].replace("\n", " "), ""]
    finally:
        app.close()
    (out / "sheet.md").write_text("\n".join(lines), encoding="utf-8")
    (out / "sources.json").write_text(json.dumps(hidden, indent=1), encoding="utf-8")
    print(f"{out / 'sheet.md'}: {sum(len(h['pool']) for h in hidden.values())} papers in {len(hidden)} cases; "
          f"sources (read after judging) in {out / 'sources.json'}", file=sys.stderr)


def read_qrels(path: Path = QRELS) -> dict[str, dict[str, dict[str, Any]]]:
    """{case id: {paper id: verdict row}} from the qrels file."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.setdefault(row["case"], {})[row["paper"]] = row
    return out


def audited(case: dict[str, Any], verdicts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The case with `expected` = its relevant judged papers (earlier labels first, in their order)."""
    before = case.get("expected_before_audit", case["expected"])
    unjudged = [p for p in before if p not in verdicts]
    if unjudged:
        raise SystemExit(f"{case['id']}: labelled papers were not judged: {unjudged}")
    relevant = [p for p in before if verdicts[p]["relevant"]]
    added = [p for p in verdicts if verdicts[p]["relevant"] and p not in before]
    removed = [p for p in before if not verdicts[p]["relevant"]]
    expected = relevant + sorted(added)
    note = (f"blind pooled audit 2026-12-07 (benchmarks/answers/README.md): {len(verdicts)} pooled papers judged; "
            f"added {', '.join(added) or 'none'}; removed {', '.join(removed) or 'none'}")
    earlier = (case.get("label_note") or "").split("; blind pooled audit")[0]
    out: dict[str, Any] = {}
    for key, value in case.items():  # field order kept; the earlier list right after `expected`
        if key == "expected":
            out.update(expected=expected, expected_before_audit=before)
        elif key == "titles":
            out["titles"] = [verdicts[p]["title"] for p in expected]
        elif key not in ("expected_before_audit", "label_note"):
            out[key] = value
    out["label_note"] = f"{earlier}; {note}" if earlier and not earlier.startswith("blind pooled audit") else note
    return out


def apply(qrels_path: Path = QRELS, cases_dir: Path = CASES_DIR) -> dict[str, int]:
    """Rewrite the which-papers cases of both split files from the qrels; other cases are left byte for byte."""
    qrels = read_qrels(qrels_path)
    counts = {"cases": 0, "added": 0, "removed": 0}
    for split in ("dev", "test"):
        path = cases_dir / f"{split}.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            case = json.loads(line) if line.strip() else None
            if case is None or case["type"] != "which_papers":
                continue
            if case["id"] not in qrels:
                raise SystemExit(f"{case['id']} has no verdicts in {qrels_path}")
            new = audited(case, qrels[case["id"]])
            counts["cases"] += 1
            counts["added"] += len(set(new["expected"]) - set(new["expected_before_audit"]))
            counts["removed"] += len(set(new["expected_before_audit"]) - set(new["expected"]))
            lines[i] = json.dumps(new, ensure_ascii=False)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Blind pooled audit of the 'which papers' labels.")
    sub = parser.add_subparsers(dest="command", required=True)
    sheet = sub.add_parser("sheet", help="write the blind judging sheet and the hidden sources")
    sheet.add_argument("--out", type=Path, required=True, help="a scratch dir outside the repo")
    sheet.add_argument("--data", type=Path, default=None, help="benchmark store dir (default: <data dir>-bench/answers)")
    sheet.add_argument("--depth", type=int, default=20)
    sub.add_parser("apply", help="rewrite the cases' expected papers from the qrels")
    args = parser.parse_args(argv)
    if args.command == "sheet":
        write_sheet(args.out, args.data or default_data_dir(), args.depth)
    else:
        print(json.dumps(apply()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
