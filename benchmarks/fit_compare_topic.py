"""Refit the compare topic model (`assistant/chains/compare_topic.json`) on the DEV topic queries only.

    python -m benchmarks.fit_compare_topic        # needs the compare benchmark's store (built on first use)

One row per (dev query, retrieved paper whose own work states every part of the query, `topic_match.about`
of `own_work_text`), with
the signals of `topic_match.FEATURES`; label 1 when the paper is in the query's `expected` or `acceptable`
list (benchmarks/compare/dev.jsonl, written before any tuning). A logistic regression (L2) is fitted;
its `qualify` threshold is chosen on 5-fold cross-validated probabilities (folds by query) by simulating
the paper choice (the most probable qualifying papers, up to 4): the threshold with the fewest wrongly
refused queries among those whose chosen papers are at least `MIN_PRECISION` on topic. The test split is
never read. The file records the date, the data and the cross-validated figures.
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


def topic_rows(app: Any, cases: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from assistant.chains.topic_match import FEATURES, about, own_work_text, topic_signals

    xs, ys, groups = [], [], []
    for i, case in enumerate(cases):
        ok = set(case["expected"]) | set(case.get("acceptable", []))
        hits = [h for h in app.search(case["query"], k=K) if about(case["query"], own_work_text(h.paper))]
        for hit, f in zip(hits, topic_signals(case["query"], hits, app.embed_sentences)):
            xs.append([f[name] for name in FEATURES])
            ys.append(int(hit.paper.paper_id in ok))
            groups.append(i)
    return np.array(xs), np.array(ys), np.array(groups)


def simulate(probs: np.ndarray, y: np.ndarray, groups: np.ndarray, cases: list[dict[str, Any]], t: float) -> dict[str, float]:
    """Paper choice at threshold t: precision of chosen papers, wrongly refused and correctly refused queries."""
    chosen = on = false_refused = right_refused = 0
    for g, case in enumerate(cases):
        mask = groups == g
        p, lab = probs[mask], y[mask]
        picked = np.argsort(-p)[: N_PAPERS]
        picked = [i for i in picked if p[i] >= t]
        refused = len(picked) < 2
        should_refuse = len(case["expected"]) < 2
        false_refused += int(refused and not should_refuse)
        right_refused += int(refused and should_refuse)
        if not refused:
            chosen += len(picked)
            on += int(lab[picked].sum())
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
        x, y, groups = topic_rows(app, cases)
    finally:
        app.close()
    cv = np.zeros(len(y))
    for test in folds(groups):
        cv[test] = predict(fit_logistic(x[~test], y[~test], 2, L2), x[test], 2)
    grid = [round(t, 2) for t in np.arange(0.05, 0.96, 0.01)]
    results = {t: simulate(cv, y, groups, cases, t) for t in grid}
    good = [t for t in grid if results[t]["precision"] >= MIN_PRECISION]
    threshold = min(good, key=lambda t: (results[t]["false_refusals"], t)) if good else max(grid, key=lambda t: results[t]["precision"])
    mean, scale, w, b = fit_logistic(x, y, 2, L2)
    r = results[threshold]
    note = (
        f"{datetime.now(timezone.utc):%Y-%m-%d} by benchmarks/fit_compare_topic.py: logistic regression (L2 {L2}) on "
        f"{len(y)} (dev query, paper stating every part) pairs of {len(cases)} dev queries ({int(y.sum())} on topic); "
        f"threshold {threshold} on 5-fold cross-validated probabilities: chosen papers on topic {r['precision']:.3f} "
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
