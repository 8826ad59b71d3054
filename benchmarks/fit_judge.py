"""Calibrate the model's check of the best paper after a disowned draft, on the packaged model's DEV drafts.

    python -m benchmarks.answers_bench --split dev --backend embedded   # records every case's draft
    python -m benchmarks.fit_judge [--outcomes FILE] [--probabilities FILE] [--write]

When the packaged model declines (or writes only claims the papers do not state) the app may still quote
the best answering paper (`answerable.Verdict.quotes`). Relevance alone separates the declines the app
should overrule (paraphrased descriptions, name variants) from those it should keep (absent details,
papers the store lacks) poorly; so the app asks the model one short question about that one paper
(`prompts/judge.md`: title, abstract, the question quoted, and a statement about the abstract, "it contains the
information that answers the question", to be judged true or false in one token) and reads P(true) from its
token probabilities (`confirmation.answers_probability`). Not "answer yes or no": asked that, the model answered
yes/no and "how do you" questions themselves instead of judging the abstract (results/judge_dev.md). This script measures that signal and fits its bar:

1. Each recorded dev draft is replayed quoting and not quoting (`fit_overrule.outcomes`, cached with
   `--outcomes`); the rows where the model disowned the answer are the ones the check runs on.
2. For each, the packaged model is asked that question about the best answering paper (cached with
   `--probabilities`): this is the only model call, ~5-8 s each on 2 cores.
3. ROC AUC of relevance and of P(true) for "answerable vs not" and for "quoting helps vs hurts" on those rows.
4. The `judge` bar: the P(true) that maximises the dev score (useful + unanswerable refused - wrong, as in
   `fit_overrule`), the middle of the plateau; leave-one-out: each row decided by the bar fitted on the others.
   Dev figures are reported for the shipped `overrule` bar (no check) and the fitted `judge` bar.

`--write` stores the bar as `judge` in `assistant/chains/relevance.json` with how it was fitted. The test
split is never read. Results: benchmarks/results/judge_dev.md (written by hand from this script's output).
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.answers_bench import RESULTS, SHARED, bench_settings, default_data_dir, ensure_store, load_cases
from benchmarks.answers_grade import UNANSWERABLE
from benchmarks.fit_overrule import GRID, RELEVANCE, middle, figures, outcomes, picked, recorded_rows

Row = dict[str, Any]


def probabilities(app: Any, cases: dict[str, dict[str, Any]], rows: list[Row]) -> dict[str, float | None]:
    """Per disowned row: the packaged model's P(true) that the best answering paper's abstract answers."""
    from assistant.chains.confirmation import answers_probability

    llm = app.chat_model
    out: dict[str, float | None] = {}
    for row in rows:
        if not row["disowned"]:
            continue
        question = cases[row["id"]]["question"]
        evidence = app.evidence_for(question)
        best = evidence.hits[evidence.verdict.answering[0].n - 1]
        out[row["id"]] = answers_probability(llm, question, best.paper)
        print(row["id"], row["type"], row["best"], out[row["id"]], flush=True)
    return out


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """ROC AUC: the chance a positive row scores above a negative one (ties half)."""
    pos, neg = scores[positive], scores[~positive]
    if not len(pos) or not len(neg):
        return float("nan")
    return float(np.mean([(p > n) + 0.5 * (p == n) for p in pos for n in neg]))


def decided(rows: list[Row], said: dict[str, float | None], shipped: dict[str, float], judge: float | None) -> list[dict[str, Any]]:
    """Each row's outcome: a disowned row is quoted when P(true) reaches `judge` (None: relevance reaches
    `overrule`, the app without the check); any other row as the shipped bars decide it."""
    out = []
    for row in rows:
        p = said.get(row["id"])
        if row["disowned"] and judge is not None and p is not None:
            out.append(row["on"] if p >= judge else row["off"])
        else:
            out.append(picked("disowned", [row], shipped)[0])
    return out


def fit_bar(rows: list[Row], said: dict[str, float | None], shipped: dict[str, float]) -> float:
    """The `judge` bar with the best dev score; among equal scores, the middle of the plateau."""
    scores = [figures(rows, decided(rows, said, shipped, float(b)))["score"] for b in GRID]
    top = max(scores)
    return middle([float(b) for b, s in zip(GRID, scores) if s == top])


def cross_validated(rows: list[Row], said: dict[str, float | None], shipped: dict[str, float]) -> list[dict[str, Any]]:
    """Leave-one-out over the disowned rows: each decided by the bar fitted without it."""
    out = decided(rows, said, shipped, None)
    for i, row in enumerate(rows):
        if row["disowned"] and said.get(row["id"]) is not None:
            bar = fit_bar(rows[:i] + rows[i + 1 :], said, shipped)
            out[i] = decided([row], said, shipped, bar)[0]
    return out


def report(rows: list[Row], said: dict[str, float | None], shipped: dict[str, float]) -> dict[str, Any]:
    checked = [r for r in rows if r["disowned"] and said.get(r["id"]) is not None]
    best = np.array([r["best"] for r in checked])
    said_true = np.array([said[r["id"]] for r in checked], dtype=float)
    answerable = np.array([r["type"] not in UNANSWERABLE for r in checked])
    changes = np.array([r["on"] != r["off"] for r in checked])
    helps = np.array([(r["on"]["verdict"] == "useful") if r["type"] not in UNANSWERABLE else False for r in checked])
    bar = fit_bar(rows, said, shipped)
    return {
        "disowned rows": len(checked), "answerable": int(answerable.sum()),
        "auc answerable": {"relevance": round(auc(best, answerable), 3), "model": round(auc(said_true, answerable), 3)},
        "auc quoting helps": {"relevance": round(auc(best[changes], helps[changes]), 3), "model": round(auc(said_true[changes], helps[changes]), 3)},
        "judge": bar,
        "dev before (overrule bar)": figures(rows, decided(rows, said, shipped, None)),
        "dev after": figures(rows, decided(rows, said, shipped, bar)),
        "dev after, leave-one-out": figures(rows, cross_validated(rows, said, shipped)),
    }


def note(result: dict[str, Any]) -> str:
    after, cv = result["dev after"], result["dev after, leave-one-out"]
    return (
        f" `judge`: {datetime.now(timezone.utc):%Y-%m-%d} by benchmarks/fit_judge.py on the {result['disowned rows']} dev drafts the "
        f"packaged model disowned (replayed), each with its P(true) that the best answering paper's abstract answers (AUC "
        f"{result['auc answerable']['model']} vs relevance {result['auc answerable']['relevance']}); the bar maximises useful + "
        f"unanswerable refused - wrong (dev: useful {after['useful']:.1%}, answerable refused {after['answerable_refused']:.1%}, "
        f"unanswerable refused {after['unanswerable_refused']:.1%}; leave-one-out: {cv['useful']:.1%} / {cv['answerable_refused']:.1%} / "
        f"{cv['unanswerable_refused']:.1%}): after a disowned draft the best paper is quoted when P(true) reaches it; without "
        f"token probabilities, `overrule` decides."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fit the best-paper check's bar on the packaged model's dev declines.")
    parser.add_argument("--data", type=Path, default=None, help="benchmark store dir (default: <data dir>-bench/answers)")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--rows", type=Path, default=None,
                        help="recorded dev rows, one JSON object a line (default: the recorded dev entry of answers.json, else the store's progress file)")
    parser.add_argument("--outcomes", type=Path, default=None, help="cache of fit_overrule's replayed outcomes (read if present, else written)")
    parser.add_argument("--probabilities", type=Path, default=None, help="cache of the P(true) per dev row (read if present, else written)")
    parser.add_argument("--write", action="store_true", help="store the bar as `judge` in relevance.json")
    args = parser.parse_args(argv)
    data = args.data or default_data_dir()
    cases = {c["id"]: c for c in load_cases("dev")}
    app = None
    if args.outcomes is not None and args.outcomes.exists():
        rows = json.loads(args.outcomes.read_text(encoding="utf-8"))
    else:
        from assistant.service import Assistant

        ensure_store(data, args.shared)
        app = Assistant(bench_settings(data))
        recorded = ([json.loads(line) for line in args.rows.read_text(encoding="utf-8").splitlines() if line.strip()]
                    if args.rows is not None else recorded_rows(args.results, data / "progress_embedded.jsonl"))
        rows = outcomes(app, cases, recorded)
        if args.outcomes is not None:
            args.outcomes.write_text(json.dumps(rows), encoding="utf-8")
    if args.probabilities is not None and args.probabilities.exists():
        said = json.loads(args.probabilities.read_text(encoding="utf-8"))
    else:
        if app is None:
            from assistant.service import Assistant

            app = Assistant(bench_settings(data))
        said = probabilities(app, cases, rows)
        if args.probabilities is not None:
            args.probabilities.write_text(json.dumps(said), encoding="utf-8")
    if app is not None:
        app.close()
    shipped = json.loads(RELEVANCE.read_text(encoding="utf-8"))
    result = report(rows, said, {k: shipped["thresholds"][k] for k in ("quote", "overrule")})
    print(json.dumps(result, indent=1))
    if args.write:
        shipped["thresholds"]["judge"] = result["judge"]
        earlier, mark, listed = shipped["fitted"].partition(" `list`:")
        earlier = earlier.split(" `judge`:")[0]
        shipped["fitted"] = earlier + note(result) + mark + listed
        RELEVANCE.write_text(json.dumps(shipped, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
