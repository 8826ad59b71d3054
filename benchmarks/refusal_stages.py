"""Which stage refused each answerable question of a recorded run: retrieval, the relevance judge, the model, or the app.

    python -m benchmarks.answers_bench --split dev --backend embedded [--ids ...]   # records drafts (progress file)
    python -m benchmarks.refusal_stages --rows FILE [--out benchmarks/results/refusals_names.md]

For every refused answerable dev row the question is re-asked of the shipped engine's retrieval and judge
(`Assistant.search`, `Assistant.evidence_for`; no model call) and its recorded draft read the way
`qa.finalize_events` reads it, so each refusal gets one stage:

* `compare route`: the question was read as "compare X and Y" and one item matched no paper;
* `retrieval`: the expected paper is not among the evidence papers (its rank in the top 20 is given);
* `judge`: it is in the evidence but no paper clears the relevance bar (no model call was made);
* `judge: neighbour`: a paper clears the bar, but not the expected one;
* `declined` / `unsupported draft`: the model said the papers do not cover it, or wrote only claims the check
  cannot confirm, and the app did not answer in its place: either the expected paper states none of the words
  the question asks beyond its title (`asked_stated` 0: never overruled) or the yes/no check after a decline
  (`chains/confirmation.py`) said no;
* `failed draft`: an empty, bare or restating draft and a best probability under the `quote` bar.

Dev split only (the test split is never read).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.answers_bench import bench_settings, default_data_dir, load_cases
from benchmarks.answers_grade import UNANSWERABLE

ROOT = Path(__file__).resolve().parent.parent


def stage(app: Any, case: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """The stage that refused one recorded row, with the evidence facts it rests on."""
    from assistant.prompts import declines

    expected = set(case["expected"])
    ranked = [h.paper.paper_id for h in app.search(case["question"], k=20)]
    rank = next((i for i, p in enumerate(ranked, start=1) if p in expected), None)
    evidence = app.evidence_for(case["question"])
    verdict = evidence.verdict
    ids = [h.paper.paper_id for h in evidence.hits]
    mine = [s for s in verdict.supports if ids[s.n - 1] in expected]
    p = max((s.probability for s in mine), default=None)
    draft = row.get("draft") or ""
    top = ids[verdict.answering[0].n - 1] if verdict.answering else None
    if "nothing to compare" in (row.get("answer") or ""):  # `qa.compare_events`' refusal when an item matches no paper
        where = "compare route: a compared item matches no paper"
    elif not mine:
        where = "retrieval"
    elif not verdict.answerable:
        where = "judge"
    elif top not in expected:
        where = "judge: neighbour"
    elif declines(draft) or row.get("supported_sentences", 0) == 0 and draft.strip() and not row.get("extractive"):
        asked = verdict.answering[0].signals.get("asked_stated", 1.0)
        kind = "declined" if declines(draft) else "unsupported draft"
        where = f"{kind}; " + ("asks nothing the paper states beyond its title" if asked <= 0 else "yes/no check said no")
    else:
        where = "failed draft under the quote bar"
    return {"id": case["id"], "type": case["type"], "question": case["question"], "stage": where, "rank": rank,
            "p": None if p is None else round(p, 2), "best": round(verdict.best, 2), "draft": draft[:60]}


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| case | type | question | stage | expected rank (top 20) | p expected / best | draft |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        p = "—" if r["p"] is None else f"{r['p']:.2f}"
        draft = r["draft"].replace("|", "/").replace("\n", " ")
        lines.append(f"| {r['id']} | {r['type']} | {r['question']} | {r['stage']} | {r['rank'] or '> 20'} | {p} / {r['best']:.2f} | {draft} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=Path, required=True, help="a run's rows (answers_bench progress file, one JSON row a line)")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
    args = parser.parse_args(argv)
    from assistant.service import Assistant

    cases = {c["id"]: c for c in load_cases("dev")}
    recorded = [json.loads(line) for line in args.rows.read_text(encoding="utf-8").splitlines() if line.strip()]
    refused = [r for r in recorded if r["id"] in cases and cases[r["id"]]["type"] not in UNANSWERABLE and r.get("verdict") == "refused"]
    app = Assistant(bench_settings(args.data or default_data_dir()))
    try:
        rows = [stage(app, cases[r["id"]], r) for r in refused]
    finally:
        app.close()
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    print(f"{len(refused)} of {sum(cases[r['id']]['type'] not in UNANSWERABLE for r in recorded if r['id'] in cases)} answerable rows refused", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
