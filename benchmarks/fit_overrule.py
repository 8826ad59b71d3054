"""Calibrate when the app answers in place of the packaged model, on its DEV drafts, replayed.

    python -m benchmarks.answers_bench --split dev --backend embedded   # records every case's draft
    python -m benchmarks.fit_overrule [--write]                         # replays them, picks the thresholds

The small model often declines ("NOT_IN_PAPERS") or writes nothing the papers support on evidence
that answers; the app then answers with the best answering paper's quoted sentences when that
paper's relevance probability reaches the verdict's `quote_bar`: `quote` for a question the router
gives no detail probability, rising linearly to `overrule` for a pure detail question
(`answerable.Verdict.quote_bar`). Each recorded dev draft is replayed through the real
pipeline (`Assistant.ask_stream`, a fake chat model returning the draft) twice: with both thresholds
at 0 (the app always answers in place of the model) and above 1 (never). At thresholds (q, o) a
case's outcome is the first when its best probability reaches its bar, else the
second. The pair chosen maximises, over dev, useful answers minus `PENALTY` x (wrong answers +
unanswerable questions answered), among pairs that keep unanswerable dev questions refused
>= `MIN_UNANSWERABLE_REFUSED`; among ties, the pair closest to the current one. The test split
is never read. `--write` stores the pair in `assistant/chains/relevance.json` with how it was fitted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.answers_bench import RESULTS, SHARED, bench_settings, default_data_dir, ensure_store, load_cases
from benchmarks.answers_grade import UNANSWERABLE, answer_view, grade

ROOT = Path(__file__).resolve().parent.parent
RELEVANCE = ROOT / "assistant" / "chains" / "relevance.json"
PENALTY = 2.0
"""An unanswerable question answered, or a wrong answer, costs two useful answers."""
MIN_UNANSWERABLE_REFUSED = 0.9
"""The issue's floor for refusing out-of-corpus and absent-detail questions."""
GRID = np.round(np.arange(0.30, 1.001, 0.02), 2)


@contextmanager
def thresholds(quote: float, overrule: float) -> Iterator[None]:
    """The packaged relevance model with these two thresholds while the block runs."""
    from assistant.chains.calibration import load

    model = load("relevance")
    saved = dict(model.thresholds)
    model.thresholds.update(quote=quote, overrule=overrule)
    try:
        yield
    finally:
        model.thresholds.clear()
        model.thresholds.update(saved)


def replay(app: Any, case: dict[str, Any], draft: str, quote: float, overrule: float) -> dict[str, Any]:
    """The graded outcome of `case` when the model writes `draft`, at the given thresholds."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    with thresholds(quote, overrule):
        answer = app.with_chat_model(FakeListChatModel(responses=[draft])).ask(case["question"])
    return grade(case, answer_view(answer))


def outcomes(app: Any, cases: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per recorded dev row: its outcome when the app answers in place of the model and when it does not,
    the best relevance probability, and the router's probability that the question asks for a detail."""

    out = []
    for row in rows:
        case = cases[row["id"]]
        if row.get("route") == "compare" or row.get("draft") is None:  # the comparison chain: no threshold applies
            fixed = {"verdict": row["verdict"], "wrong": row.get("wrong", [])}
            out.append({"id": row["id"], "type": row["type"], "on": fixed, "off": fixed, "best": 0.0, "detail": 0.0})
            continue
        verdict = app.evidence_for(case["question"]).verdict
        out.append({
            "id": row["id"], "type": row["type"],
            "on": replay(app, case, row["draft"], 0.0, 0.0), "off": replay(app, case, row["draft"], 1.01, 1.01),
            "best": verdict.best if verdict is not None else 0.0, "detail": verdict.detail if verdict is not None else 0.0,
        })
    return out


def rates(rows: list[dict[str, Any]], quote: float, overrule: float) -> dict[str, float]:
    """Dev figures at thresholds (quote, overrule), from each row's two replayed outcomes."""
    picked = [r["on"] if r["best"] >= quote + (overrule - quote) * r["detail"] else r["off"] for r in rows]
    kinds = [r["type"] for r in rows]
    ans = [g for g, t in zip(picked, kinds) if t not in UNANSWERABLE]
    una = [g for g, t in zip(picked, kinds) if t in UNANSWERABLE]
    answered = [g for g in picked if g["verdict"] not in ("refused", "error")]
    useful = sum(g["verdict"] == "useful" for g in ans)
    una_answered = sum(g["verdict"] != "refused" for g in una)
    wrong = sum(bool(g.get("wrong")) for g in answered)
    return {
        "quote": quote, "overrule": overrule, "useful": useful / max(len(ans), 1),
        "answerable_refused": sum(g["verdict"] == "refused" for g in ans) / max(len(ans), 1),
        "unanswerable_refused": 1 - una_answered / max(len(una), 1), "wrong": wrong / max(len(answered), 1),
        "score": useful - PENALTY * (wrong + una_answered),
    }


def choose(rows: list[dict[str, Any]], current: tuple[float, float]) -> tuple[dict[str, float], list[dict[str, float]]]:
    """The best (quote, overrule) pair on dev and every pair's figures (overrule never below quote).
    Among pairs dev cannot tell apart (same score), the one closest to the `current` pair: a threshold
    moves only as far as the data asks."""
    table = [rates(rows, float(q), float(o)) for q in GRID for o in GRID if o >= q]
    allowed = [r for r in table if r["unanswerable_refused"] >= MIN_UNANSWERABLE_REFUSED] or table
    best = max(allowed, key=lambda r: (r["score"], -abs(r["quote"] - current[0]) - abs(r["overrule"] - current[1])))
    return best, table


def recorded_rows(results: Path, progress: Path) -> list[dict[str, Any]]:
    """The packaged model's recorded dev rows: the full dev run's, else a subset run's, else a run's progress file."""
    entries = json.loads((results / "answers.json").read_text(encoding="utf-8"))["entries"]
    for name in ("embedded:dev", "embedded:dev:subset"):
        rows = entries.get(name, {}).get("rows", [])
        if rows and all("draft" in r for r in rows):
            return rows
    rows = [json.loads(line) for line in progress.read_text(encoding="utf-8").splitlines() if line.strip()] if progress.exists() else []
    if not rows or any(r.get("split") != "dev" for r in rows):
        raise SystemExit("no recorded dev drafts: run `python -m benchmarks.answers_bench --split dev --backend embedded` first")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Calibrate the quote / overrule thresholds on the packaged model's dev drafts.")
    parser.add_argument("--data", type=Path, default=None, help="benchmark store dir (default: <data dir>-bench/answers)")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--rows", type=Path, default=None,
                        help="rows of a (possibly stopped) dev run, one JSON object a line (default: the recorded dev entry of answers.json, else the store's progress_embedded.jsonl)")
    parser.add_argument("--write", action="store_true", help="store the chosen thresholds in relevance.json")
    args = parser.parse_args(argv)
    data = args.data or default_data_dir()
    if args.rows is not None:  # a named rows file wins over the recorded entries
        recorded = [json.loads(line) for line in args.rows.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        recorded = recorded_rows(args.results, data / "progress_embedded.jsonl")
    from assistant.service import Assistant

    ensure_store(data, args.shared)
    cases = {c["id"]: c for c in load_cases("dev")}
    app = Assistant(bench_settings(data))
    try:
        rows = outcomes(app, cases, recorded)
    finally:
        app.close()
    current = json.loads(RELEVANCE.read_text(encoding="utf-8"))
    best, table = choose(rows, (current["thresholds"]["quote"], current["thresholds"]["overrule"]))
    now = rates(rows, current["thresholds"]["quote"], current["thresholds"]["overrule"])
    print(json.dumps({"current": now, "chosen": best}, indent=1))
    if args.write:
        note = current["fitted"].split(" `quote`")[0] + (
            f" `quote` and `overrule`: {datetime.now(timezone.utc):%Y-%m-%d} by benchmarks/fit_overrule.py on the packaged "
            f"model's {len(rows)} recorded dev drafts, replayed: the pair maximising useful - {PENALTY:g} x (wrong + "
            f"unanswerable answered) with unanswerable refused >= {MIN_UNANSWERABLE_REFUSED:.0%} (there: useful "
            f"{best['useful']:.1%}, answerable refused {best['answerable_refused']:.1%}, unanswerable refused "
            f"{best['unanswerable_refused']:.1%}, wrong {best['wrong']:.1%}; before: useful {now['useful']:.1%}). A failed draft (declined, "
            f"empty, bare citation, restating, nothing supported) is replaced by the best paper's quoted sentences when its "
            f"probability reaches `quote` + (`overrule` - `quote`) x the router's detail probability."
        )
        current["thresholds"].update(quote=best["quote"], overrule=best["overrule"])
        current["fitted"] = note
        RELEVANCE.write_text(json.dumps(current, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
