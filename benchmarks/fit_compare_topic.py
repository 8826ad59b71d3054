"""Refit the compare topic model (`assistant/chains/compare_topic.json`) on the DEV topic queries only.

    python -m benchmarks.fit_compare_topic        # needs the compare benchmark's store (built on first use)

One row per (dev query, retrieved paper whose own work states every part of the query, `topic_match.about`
of `own_work_text`), with
the signals of `topic_match.FEATURES`; label 1 when the paper is in the query's `expected` or `acceptable`
list (benchmarks/compare/dev.jsonl, written before any tuning). A logistic regression (L2) is fitted;
its `qualify` threshold is chosen on leave-one-query-out probabilities (each query's papers scored by a model
fitted on the other queries) by simulating
the paper choice of `choose_papers` (qualifying papers, most probable first, diversified by MMR, up to 4): among
the thresholds whose chosen papers are at least `MIN_PRECISION` on topic, the one with the fewest refusal
mistakes (queries with two expected papers refused, queries with fewer not refused), then the most chosen
papers on topic (a tie is not settled at the edge of the precision bar). The test split is never read. The file records the date, the data and the cross-validated figures.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.compare_bench import N_PAPERS, bench_settings, default_data_dir, ensure_store, load_cases
from benchmarks.fit_answerable import fit_logistic, folds, predict

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assistant" / "chains" / "compare_topic.json"
K = 30
"""Papers retrieved per query (what `choose_papers` retrieves for n = 4)."""
L2 = 1e-2
MIN_PRECISION = 0.93
"""Cross-validated share of chosen dev papers on topic the threshold must keep: the target (0.9 on the
frozen test queries) plus a margin; a higher bar refuses more dev queries that have two papers about them."""


def topic_rows(app: Any, cases: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], dict[str, Any]]:
    """Signals, labels, query index and paper id per row, and the paper vectors (for MMR, as in `choose_papers`)."""
    from assistant.chains.topic_match import FEATURES, about, own_work_text, topic_signals

    xs, ys, groups, ids = [], [], [], []
    for i, case in enumerate(cases):
        ok = set(case["expected"]) | set(case.get("acceptable", []))
        hits = [h for h in app.search(case["query"], k=K) if about(case["query"], own_work_text(h.paper))]
        for hit, f in zip(hits, topic_signals(case["query"], hits, app.embed_sentences)):
            xs.append([f[name] for name in FEATURES])
            ys.append(int(hit.paper.paper_id in ok))
            groups.append(i)
            ids.append(hit.paper.paper_id)
    return np.array(xs), np.array(ys), np.array(groups), ids, app.store.paper_vectors(sorted(set(ids)))


def simulate(probs: np.ndarray, y: np.ndarray, groups: np.ndarray, ids: list[str], vectors: dict[str, Any],
             cases: list[dict[str, Any]], t: float) -> dict[str, float]:
    """The paper choice of `choose_papers` at threshold t (qualifying papers, most probable first, MMR):
    precision of chosen papers, wrongly refused and correctly refused queries."""
    from assistant.chains.compare import mmr

    chosen = on = false_refused = right_refused = 0
    for g, case in enumerate(cases):
        rows = sorted((i for i in np.flatnonzero(groups == g) if probs[i] >= t), key=lambda i: -probs[i])
        refused = len(rows) < 2
        false_refused += int(refused and len(case["expected"]) >= 2)
        right_refused += int(refused and len(case["expected"]) < 2)
        if not refused:
            label = {ids[i]: y[i] for i in rows}
            picked = mmr([ids[i] for i in rows], vectors, N_PAPERS)
            chosen += len(picked)
            on += int(sum(label[pid] for pid in picked))
    return {"precision": on / chosen if chosen else 1.0, "false_refusals": false_refused,
            "correct_refusals": right_refused, "chosen": chosen}


def main(argv: list[str] | None = None) -> int:
    from assistant.chains.topic_match import FEATURES
    from assistant.service import Assistant

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args(argv)
    data = args.data or default_data_dir()
    ensure_store(data)
    cases = load_cases("dev")
    app = Assistant(bench_settings(data))
    try:
        x, y, groups, ids, vectors = topic_rows(app, cases)
    finally:
        app.close()
    cv = np.zeros(len(y))
    for test in folds(groups, n_folds=len(cases)):
        cv[test] = predict(fit_logistic(x[~test], y[~test], 2, L2), x[test], 2)
    grid = [round(t, 2) for t in np.arange(0.05, 0.96, 0.01)]
    results = {t: simulate(cv, y, groups, ids, vectors, cases, t) for t in grid}
    should_refuse = sum(len(case["expected"]) < 2 for case in cases)

    def refusal_errors(t: float) -> int:
        return results[t]["false_refusals"] + should_refuse - results[t]["correct_refusals"]

    good = [t for t in grid if results[t]["precision"] >= MIN_PRECISION]
    threshold = (min(good, key=lambda t: (refusal_errors(t), -results[t]["precision"], t)) if good
                 else max(grid, key=lambda t: results[t]["precision"]))
    mean, scale, w, b = fit_logistic(x, y, 2, L2)
    r = results[threshold]
    note = (
        f"{datetime.now(timezone.utc):%Y-%m-%d} by benchmarks/fit_compare_topic.py: logistic regression (L2 {L2}) on "
        f"{len(y)} (dev query, paper stating every part) pairs of {len(cases)} dev queries ({int(y.sum())} on topic); "
        f"threshold {threshold} on leave-one-query-out probabilities: chosen papers on topic {r['precision']:.3f} "
        f"({r['chosen']} chosen), {r['false_refusals']} dev queries wrongly refused, {r['correct_refusals']} correctly refused"
    )
    doc = {"features": list(FEATURES), "classes": ["no", "yes"], "mean": mean.round(6).tolist(),
           "scale": scale.round(6).tolist(), "weights": w.round(6).tolist(), "bias": b.round(6).tolist(),
           "thresholds": {"qualify": threshold}, "fitted": note}
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(note)
    for t in grid[::5]:
        print(t, results[t])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
