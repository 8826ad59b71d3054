"""Calibrate when the app answers in place of the packaged model, on its DEV drafts, replayed.

    python -m benchmarks.answers_bench --split dev --backend embedded   # records every case's draft
    python -m benchmarks.fit_overrule [--rows FILE] [--write]           # replays them, picks the bars

The small model often declines ("NOT_IN_PAPERS") or writes nothing the papers support; the app then
answers with the best answering paper's quoted sentences when that paper's relevance probability
reaches a bar (`answerable.Verdict.quote_bar`). Each recorded dev draft is replayed through the real
pipeline (`Assistant.ask_stream`, a fake chat model returning the draft) twice: the app always quoting
in place of a failed draft, and never. A case's outcome at a bar is the first when its best probability
reaches the bar, else the second.

Which bars, fitted how. A *policy* names what the bar depends on; each is fitted and compared by
leave-one-out cross-validation over the dev cases (every case's outcome decided by bars fitted on the
other cases), and the policy with the best cross-validated score is kept (ties: the one with fewer bars):
  `one`      one bar for every failed draft;
  `disowned` `overrule` when the model disowned the answer (it declined: "the papers do not say", or
             wrote only claims the papers do not state), `quote` after any other failed draft (empty, a
             bare citation, a restatement, only "not verified"): the app's (`answerable.Verdict.quote_bar`).
The `list` bar (a "which papers" question is answered with a list only when its best paper's probability
reaches it, `answerable.Verdict.lists`; no model call, so no draft) is fitted the same way on the dev
questions the router sends to a list, replayed with the bar at 0 (listed) and above 1 (refused).
The bar the app used until 2026-12-07 (`detail`: from `quote` for a question that asks no detail rising to
`overrule` with the router's detail probability) is fitted and cross-validated the same way, for the record.
A bar is fitted by maximising the dev `score` = useful share of answerable questions + refused share of
unanswerable ones - wrong share of answers (the issue's two refusal targets weigh alike: one
unanswerable question answered costs as much as n_answerable / n_unanswerable useful answers); among
bars dev scores alike, the middle one (as far from the cases on either side as the grid allows). The
test split is never read. `--write` stores the kept policy's bars in `assistant/chains/relevance.json`
with how they were fitted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.answers_bench import RESULTS, SHARED, bench_settings, default_data_dir, ensure_store, load_cases
from benchmarks.answers_grade import UNANSWERABLE, answer_view, grade

ROOT = Path(__file__).resolve().parent.parent
RELEVANCE = ROOT / "assistant" / "chains" / "relevance.json"
GRID = np.round(np.arange(0.30, 1.021, 0.02), 2)
"""Candidate bars; 1.02 is "never" (a probability never reaches it)."""

Bars = dict[str, float]
Row = dict[str, Any]


@contextmanager
def thresholds(**bars: float) -> Iterator[None]:
    """The packaged relevance model with these thresholds while the block runs."""
    from assistant.chains.calibration import load

    model = load("relevance")
    saved = dict(model.thresholds)
    model.thresholds.update(bars)
    try:
        yield
    finally:
        model.thresholds.clear()
        model.thresholds.update(saved)


def replay(app: Any, case: dict[str, Any], draft: str, quote: float, overrule: float) -> dict[str, Any]:
    """The graded outcome of `case` when the model writes `draft`, at these two bars."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    with thresholds(quote=quote, overrule=overrule):
        answer = app.with_chat_model(FakeListChatModel(responses=[draft])).ask(case["question"])
    return grade(case, answer_view(answer))


def outcomes(app: Any, cases: dict[str, dict[str, Any]], rows: list[Row]) -> list[Row]:
    """Per recorded dev row: its outcome when the app quotes in place of a failed draft (`on`) and when it
    does not (`off`), the best relevance probability, the router's detail probability and whether the
    model disowned the answer (declined, or wrote only claims the papers do not state: `qa.finalize_events`
    decides, and a third replay, quoting only under the `quote` bar, tells which bar the row meets)."""
    out = []
    for row in rows:
        case = cases[row["id"]]
        if row.get("route") == "compare" or row.get("draft") is None:  # the comparison chain: no bar applies
            fixed = {"verdict": row["verdict"], "wrong": row.get("wrong", [])}
            out.append({"id": row["id"], "type": row["type"], "on": fixed, "off": fixed, "best": 0.0, "detail": 0.0, "disowned": False})
            continue
        verdict = app.evidence_for(case["question"]).verdict
        on, off = replay(app, case, row["draft"], 0.0, 0.0), replay(app, case, row["draft"], 1.01, 1.01)
        disowned = on != off and replay(app, case, row["draft"], 0.0, 1.01) == off
        out.append({
            "id": row["id"], "type": row["type"], "on": on, "off": off, "disowned": disowned,
            "best": verdict.best if verdict is not None else 0.0, "detail": verdict.detail if verdict is not None else 0.0,
        })
    return out


# --------------------------------------------------------------------------- policies and the fit


def bar_of(policy: str, row: Row, bars: Bars) -> float:
    """The bar a row's best probability must reach under `policy` (see the module docstring)."""
    if policy == "detail":
        return bars["quote"] + (bars["overrule"] - bars["quote"]) * row["detail"]
    if policy == "disowned" and row["disowned"]:
        return bars["overrule"]
    return bars["quote"]


POLICIES: dict[str, tuple[str, ...]] = {"one": ("quote",), "disowned": ("quote", "overrule")}
"""The policies the app can apply, each with its bars; `one` stores its bar as both `quote` and `overrule`."""
EARLIER = {"detail": ("quote", "overrule")}
"""The policy before 2026-12-07, reported for comparison, never kept."""


def picked(policy: str, rows: list[Row], bars: Bars) -> list[dict[str, Any]]:
    return [r["on"] if r["best"] >= bar_of(policy, r, bars) else r["off"] for r in rows]


def figures(rows: list[Row], outcome: list[dict[str, Any]]) -> dict[str, float]:
    """Dev figures of the outcomes (one per row) and their `score`."""
    ans = [g for g, r in zip(outcome, rows) if r["type"] not in UNANSWERABLE]
    una = [g for g, r in zip(outcome, rows) if r["type"] in UNANSWERABLE]
    answered = [g for g in outcome if g["verdict"] not in ("refused", "error")]
    useful = sum(g["verdict"] == "useful" for g in ans) / max(len(ans), 1)
    una_refused = sum(g["verdict"] == "refused" for g in una) / max(len(una), 1)
    wrong = sum(bool(g.get("wrong")) for g in answered) / max(len(answered), 1)
    return {
        "useful": round(useful, 4), "answerable_refused": round(sum(g["verdict"] == "refused" for g in ans) / max(len(ans), 1), 4),
        "unanswerable_refused": round(una_refused, 4), "wrong": round(wrong, 4), "score": round(useful + una_refused - wrong, 4),
    }


def middle(values: list[float]) -> float:
    """The middle of the longest run of consecutive grid values (the bars dev scores alike)."""
    index = sorted(int(np.argmin(np.abs(GRID - v))) for v in values)
    runs: list[list[int]] = [[index[0]]]
    for i in index[1:]:
        if i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    run = max(runs, key=len)
    return float(GRID[run[(len(run) - 1) // 2]])


def fit(policy: str, rows: list[Row]) -> Bars:
    """The policy's bars that maximise the dev score; among equal scores, the middle of the plateau."""
    names = {**POLICIES, **EARLIER}[policy]
    if policy == "disowned":  # the two bars decide disjoint rows: fitted one after the other
        bars = {"quote": 0.0, "overrule": 0.0}
        for name, subset in (("quote", [r for r in rows if not r["disowned"]]), ("overrule", [r for r in rows if r["disowned"]])):
            bars[name] = _best_1d(lambda b: {**bars, name: b}, policy, rows, subset)
        return bars
    if len(names) == 1:
        return {"quote": _best_1d(lambda b: {"quote": b}, policy, rows, rows)}
    scored = [((float(q), float(o)), _score(policy, rows, rows, {"quote": float(q), "overrule": float(o)})) for q in GRID for o in GRID if o >= q]
    top = max(s for _, s in scored)
    ties = [b for b, s in scored if s == top]
    q = middle([b[0] for b in ties])
    return {"quote": q, "overrule": middle([b[1] for b in ties if b[0] == q])}


def _score(policy: str, rows: list[Row], subset: list[Row], bars: Bars) -> float:
    """The score of `subset`'s outcomes, normalised by the whole dev set's counts (so subsets add up)."""
    n_ans = max(sum(r["type"] not in UNANSWERABLE for r in rows), 1)
    n_una = max(sum(r["type"] in UNANSWERABLE for r in rows), 1)
    total = 0.0
    for r, g in zip(subset, picked(policy, subset, bars)):
        if r["type"] in UNANSWERABLE:
            total += (g["verdict"] == "refused") / n_una
        else:
            total += (g["verdict"] == "useful") / n_ans
        total -= bool(g.get("wrong")) / max(len(rows), 1)
    return total


def _best_1d(make: Callable[[float], Bars], policy: str, rows: list[Row], subset: list[Row]) -> float:
    scores = [_score(policy, rows, subset, make(float(b))) for b in GRID]
    top = max(scores)
    return middle([float(b) for b, s in zip(GRID, scores) if s == top])


def cross_validated(policy: str, rows: list[Row]) -> list[dict[str, Any]]:
    """Leave-one-out: each row's outcome under the bars fitted on every other row."""
    out = []
    for i, row in enumerate(rows):
        bars = fit(policy, rows[:i] + rows[i + 1 :])
        out.append(picked(policy, [row], bars)[0])
    return out


def choose(rows: list[Row], shipped: Bars) -> tuple[str, Bars, dict[str, Any]]:
    """The policy with the best leave-one-out score (ties: fewer bars), its bars fitted on all rows, and every
    policy's in-sample and cross-validated figures (the earlier policy's too, and the `shipped` bars' under
    both readings)."""
    report = {}
    for policy in [*POLICIES, *EARLIER]:
        bars = fit(policy, rows)
        report[policy] = {"bars": bars, "dev": figures(rows, picked(policy, rows, bars)), "cv": figures(rows, cross_validated(policy, rows))}
    for policy in ("disowned", *EARLIER):
        report[f"shipped as {policy}"] = {"bars": shipped, "dev": figures(rows, picked(policy, rows, shipped))}
    kept = max(POLICIES, key=lambda p: (report[p]["cv"]["score"], -len(POLICIES[p])))
    return kept, report[kept]["bars"], report


def list_outcomes(app: Any, cases: list[dict[str, Any]]) -> list[Row]:
    """Per dev question the router sends to a list: its outcome listed (`on`) and refused (`off`), its best probability."""
    from assistant.chains.grounding_config import GROUNDING
    from assistant.chains.routing import classify

    out = []
    for case in cases:
        if classify(app.embed_sentences([case["question"]])[0]).kind != "which":
            continue
        verdict = app.evidence_for(case["question"], GROUNDING.list_size).verdict
        on, off = (_listed(app, case, bar) for bar in (0.0, 1.01))
        out.append({"id": case["id"], "type": case["type"], "on": on, "off": off, "disowned": False,
                    "best": verdict.best if verdict is not None else 0.0})
    return out


def _listed(app: Any, case: dict[str, Any], bar: float) -> dict[str, Any]:
    with thresholds(list=bar):
        return grade(case, answer_view(app.ask(case["question"])))


def fit_list(rows: list[Row], dev: list[Row]) -> tuple[float, dict[str, Any]]:
    """The `list` bar, the middle of the bars that maximise unanswerable listed questions refused minus
    answerable ones refused (each share of all dev cases of its kind in `dev`): the bar only decides between
    the list and a refusal, the list itself is the same at every bar. With its in-sample and leave-one-out outcomes."""
    n_una = max(sum(r["type"] in UNANSWERABLE for r in dev), 1)
    n_ans = max(len(dev) - n_una, 1)

    def best(subset: list[Row]) -> float:
        scores = [sum((r["best"] < b) * (1 / n_una if r["type"] in UNANSWERABLE else -1 / n_ans) for r in subset) for b in GRID]
        return middle([float(b) for b, v in zip(GRID, scores) if v == max(scores)])

    bar = best(rows)
    loo = [picked("one", [r], {"quote": best(rows[:i] + rows[i + 1 :])})[0] for i, r in enumerate(rows)]

    def counts(outcome: list[dict[str, Any]]) -> dict[str, int]:
        graded = [(g["verdict"], r["type"] in UNANSWERABLE) for g, r in zip(outcome, rows)]
        return {"answerable useful": sum(v == "useful" and not u for v, u in graded), "answerable refused": sum(v == "refused" and not u for v, u in graded),
                "unanswerable refused": sum(v == "refused" and u for v, u in graded), "questions": len(rows)}

    return bar, {"dev": counts(picked("one", rows, {"quote": bar})), "cv": counts(loo)}


def list_note(listed: list[Row], report: dict[str, Any]) -> str:
    return (
        f" `list`: {datetime.now(timezone.utc):%Y-%m-%d} by benchmarks/fit_overrule.py on the {len(listed)} dev questions the router "
        f"sends to a \"which papers\" list, each replayed listed and refused (score = unanswerable refused - answerable refused; "
        f"dev: {report['dev']}; leave-one-out: {report['cv']}): below it the question is refused, its closest papers shown as evidence only."
    )


# --------------------------------------------------------------------------- recorded rows, main


def recorded_rows(results: Path, progress: Path) -> list[Row]:
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
    parser = argparse.ArgumentParser(description="Calibrate the quote bars on the packaged model's dev drafts.")
    parser.add_argument("--data", type=Path, default=None, help="benchmark store dir (default: <data dir>-bench/answers)")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--rows", type=Path, default=None,
                        help="rows of a (possibly stopped) dev run, one JSON object a line (default: the recorded dev entry of answers.json, else the store's progress_embedded.jsonl)")
    parser.add_argument("--outcomes", type=Path, default=None, help="cache of the replayed outcomes (read if present, else written)")
    parser.add_argument("--write", action="store_true", help="store the chosen bars in relevance.json")
    parser.add_argument("--only-list", action="store_true", help="with --write: store the `list` bar only (keep `quote` and `overrule`)")
    args = parser.parse_args(argv)
    data = args.data or default_data_dir()
    if args.outcomes is not None and args.outcomes.exists():
        rows, listed = (lambda d: (d["rows"], d["lists"]))(json.loads(args.outcomes.read_text(encoding="utf-8")))
    else:
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
            listed = list_outcomes(app, list(cases.values()))
        finally:
            app.close()
        if args.outcomes is not None:
            args.outcomes.write_text(json.dumps({"rows": rows, "lists": listed}), encoding="utf-8")
    shipped = json.loads(RELEVANCE.read_text(encoding="utf-8"))
    policy, bars, report = choose(rows, {k: shipped["thresholds"][k] for k in ("quote", "overrule")})
    list_bar, list_report = fit_list(listed, rows)
    print(json.dumps({"kept": policy, "bars": bars, "policies": report, "list": list_bar, "lists": list_report}, indent=1))
    if args.write and args.only_list:
        earlier, _, _ = shipped["fitted"].partition(" `list`:")
        shipped["thresholds"]["list"] = list_bar
        shipped["fitted"] = earlier + list_note(listed, list_report)
        RELEVANCE.write_text(json.dumps(shipped, indent=1) + "\n", encoding="utf-8")
    elif args.write:
        chosen = report[policy]
        stored = {"quote": bars["quote"], "overrule": bars.get("overrule", bars["quote"])}
        before, _, rest = shipped["fitted"].partition(" `quote`")
        rest = rest.split(" `list`:")[0]  # rewritten below
        kept_notes = rest[rest.index(" `ask`:"):] if " `ask`:" in rest else ""  # the `ask` bar is fitted_answerable's
        note = before + (
            f" `quote` and `overrule`: {datetime.now(timezone.utc):%Y-%m-%d} by benchmarks/fit_overrule.py on the packaged "
            f"model's {len(rows)} recorded dev drafts (the whole dev split), replayed; policy `{policy}` kept by leave-one-out "
            f"cross-validation (score = useful + unanswerable refused - wrong; cross-validated: useful {chosen['cv']['useful']:.1%}, "
            f"answerable refused {chosen['cv']['answerable_refused']:.1%}, unanswerable refused {chosen['cv']['unanswerable_refused']:.1%}, "
            f"wrong {chosen['cv']['wrong']:.1%}; fitted on all of dev: {chosen['dev']['useful']:.1%} / {chosen['dev']['answerable_refused']:.1%} / "
            f"{chosen['dev']['unanswerable_refused']:.1%} / {chosen['dev']['wrong']:.1%}). A draft that declined or states only "
            f"claims the papers do not (the model disowned the answer) is replaced by the best paper's quoted sentences when its "
            f"probability reaches `overrule`, any other failed draft (empty, bare citation, restating, only not verified) when it "
            f"reaches `quote`."
        ) + kept_notes
        shipped["thresholds"].update(stored, list=list_bar)
        shipped["fitted"] = note + list_note(listed, list_report)
        RELEVANCE.write_text(json.dumps(shipped, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
