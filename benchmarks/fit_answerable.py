"""Refit the answer engine's two calibrated models on the DEV cases only, and write them as package data.

    python -m benchmarks.fit_answerable            # needs the answer benchmark's store (built on first use)

1. `assistant/chains/question_kinds.json`: a multinomial logistic regression over the question's
   all-MiniLM-L6-v2 vector, fitted on the dev questions (their case type mapped to a kind, see
   `TYPE_KIND`) plus the hand-written `benchmarks/answers/kind_examples.jsonl`, classes balanced.
2. `assistant/chains/relevance.json`: a logistic regression over `answerable.FEATURES`, one row per
   (dev question, retrieved paper), label 1 when the question is answerable and the paper is one of
   its expected papers. Its threshold is chosen on 5-fold cross-validated probabilities (folds by
   question): the largest one that keeps answerable dev questions refused under `MAX_FALSE_REFUSALS`,
   i.e. refusals of unanswerable ones come second to not refusing what can be answered. Its
   `quote` and `overrule` thresholds (the two ends of the quote bar, `answerable.Verdict.quote_bar`)
   are kept: they are fitted on the packaged model's recorded dev drafts by `benchmarks/fit_overrule.py`
   (rerun it after a refit).

The test split is never read. Each file records the date, the data and the cross-validated figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.answers_bench import CASES_DIR, SHARED, bench_settings, default_data_dir, ensure_store, load_cases

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "assistant" / "chains"
K = 5
"""Papers retrieved per question when fitting (the app retrieves `top_k`, 3 by default, and more for lists)."""

MAX_FALSE_REFUSALS = 0.05
"""Share of answerable dev questions (expected paper retrieved) the chosen threshold may refuse."""

MAX_ASK_REFUSALS = 0.01
"""The same share for the `ask` threshold (a model whose declines are respected is asked from it): such a
model says itself when the evidence does not answer, so the app should hardly ever refuse for it."""

TYPE_KIND = {
    "detail": "detail", "acronym": "detail", "casual": "detail", "yes_no": "detail", "hf_summary": "detail",
    "name_variant": "detail", "absent_detail": "detail", "paraphrase": "find", "explain": "explain",
    "tldr": "overview", "whats_new": "overview", "which_papers": "which", "compare": "compare",
}
"""Dev case type -> question kind (`out_of_corpus` questions come in every shape and are left out)."""


def fit_logistic(x: np.ndarray, y: np.ndarray, classes: int, l2: float, sample_weight: np.ndarray | None = None,
                 steps: int = 2000, lr: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(mean, scale, weights, bias) of an L2-regularised logistic regression by full-batch gradient descent.

    `classes` == 2: binary (one weight row); otherwise softmax. Inputs are standardised first.
    """
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.maximum(scale, 1e-3)  # a constant feature must not blow up once rounded to 6 decimals
    z = (x - mean) / scale
    n, d = z.shape
    sw = np.ones(n) if sample_weight is None else sample_weight / sample_weight.mean()
    rows = 1 if classes == 2 else classes
    w, b = np.zeros((rows, d)), np.zeros(rows)
    onehot = y[:, None].astype(float) if classes == 2 else np.eye(classes)[y]
    for _ in range(steps):
        logits = z @ w.T + b
        if classes == 2:
            p = 1.0 / (1.0 + np.exp(-logits))
        else:
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            p = e / e.sum(axis=1, keepdims=True)
        g = (p - onehot) * sw[:, None]
        w -= lr * (g.T @ z / n + l2 * w)
        b -= lr * g.mean(axis=0)
    return mean, scale, w, b


def predict(params: tuple[np.ndarray, ...], x: np.ndarray, classes: int) -> np.ndarray:
    mean, scale, w, b = params
    logits = ((x - mean) / scale) @ w.T + b
    if classes == 2:
        return 1.0 / (1.0 + np.exp(-logits[:, 0]))
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def folds(groups: np.ndarray, n_folds: int = 5) -> list[np.ndarray]:
    """Boolean test masks, whole groups (questions) per fold."""
    unique = sorted(set(groups.tolist()))
    return [np.isin(groups, [g for i, g in enumerate(unique) if i % n_folds == f]) for f in range(n_folds)]


def fit_kinds(app: Any, cases: list[dict[str, Any]]) -> dict[str, Any]:
    from assistant.chains.routing import KINDS

    examples = [json.loads(line) for line in (CASES_DIR / "kind_examples.jsonl").read_text().splitlines() if line.strip()]
    rows = [(c["question"], TYPE_KIND[c["type"]]) for c in cases if c["type"] in TYPE_KIND]
    rows += [(e["question"], e["kind"]) for e in examples]
    x = np.asarray(app.embedder.embed([q for q, _ in rows]), dtype=np.float64)
    y = np.array([KINDS.index(k) for _, k in rows])
    counts = np.bincount(y, minlength=len(KINDS))
    weight = (len(y) / (len(KINDS) * counts))[y]
    l2 = 1e-3
    correct = 0
    for test in folds(np.arange(len(y))):
        params = fit_logistic(x[~test], y[~test], len(KINDS), l2, weight[~test])
        correct += int((predict(params, x[test], len(KINDS)).argmax(axis=1) == y[test]).sum())
    mean, scale, w, b = fit_logistic(x, y, len(KINDS), l2, weight)
    note = (
        f"{datetime.now(timezone.utc):%Y-%m-%d} by benchmarks/fit_answerable.py: softmax regression (L2 {l2}, classes "
        f"balanced) on {len(rows) - len(examples)} dev questions + {len(examples)} hand-written examples; "
        f"5-fold cross-validated accuracy {correct / len(y):.3f}; per kind {dict(zip(KINDS, counts.tolist()))}"
    )
    return {"features": [f"e{i}" for i in range(x.shape[1])], "classes": list(KINDS), "mean": mean.round(6).tolist(),
            "scale": scale.round(6).tolist(), "weights": w.round(6).tolist(), "bias": b.round(6).tolist(),
            "thresholds": {}, "fitted": note}


def relevance_rows(app: Any, cases: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
    from assistant.chains.answerable import FEATURES, signals
    from assistant.chains.routing import classify

    xs, ys, groups, meta = [], [], [], []
    for i, case in enumerate(cases):
        hits = app.search(case["question"], k=K)
        route = classify(app.embed_sentences([case["question"]])[0])
        feats, _s, _c = signals(case["question"], hits, app.embed_sentences, app.retriever.term_weights, route)
        answerable = case["type"] not in ("out_of_corpus", "absent_detail")
        for hit, f in zip(hits, feats):
            xs.append([f[name] for name in FEATURES])
            ys.append(int(answerable and hit.paper.paper_id in case["expected"]))
            groups.append(i)
        meta.append({"answerable": answerable, "found": answerable and any(h.paper.paper_id in case["expected"] for h in hits)})
    return np.array(xs), np.array(ys), np.array(groups), meta


def question_rates(probs: np.ndarray, y: np.ndarray, groups: np.ndarray, meta: list[dict[str, Any]], t: float) -> tuple[float, float]:
    """(answerable questions refused, unanswerable questions refused) at threshold t (answerable = an expected paper retrieved)."""
    refused_ans = refused_una = n_ans = n_una = 0
    for g, m in enumerate(meta):
        mask = groups == g
        if m["answerable"]:
            if not m["found"]:
                continue
            n_ans += 1
            refused_ans += not bool(((probs >= t) & (y == 1) & mask).any())
        else:
            n_una += 1
            refused_una += not bool(((probs >= t) & mask).any())
    return refused_ans / max(n_ans, 1), refused_una / max(n_una, 1)


def fit_relevance(app: Any, cases: list[dict[str, Any]]) -> dict[str, Any]:
    from assistant.chains.answerable import FEATURES

    x, y, groups, meta = relevance_rows(app, cases)
    l2 = 1e-2
    cv = np.zeros(len(y))
    for test in folds(groups):
        cv[test] = predict(fit_logistic(x[~test], y[~test], 2, l2), x[test], 2)
    grid = np.round(np.arange(0.05, 0.95, 0.01), 2)
    rates = {float(t): question_rates(cv, y, groups, meta, float(t)) for t in grid}
    ok = [t for t, (fa, _fu) in rates.items() if fa <= MAX_FALSE_REFUSALS]
    threshold = max(ok) if ok else float(grid[0])
    kept = json.loads((OUT / "relevance.json").read_text(encoding="utf-8")) if (OUT / "relevance.json").exists() else {}
    previous = kept.get("thresholds", {})
    quote, overrule = previous.get("quote", 0.9), previous.get("overrule", 0.95)
    kept_note = kept.get("fitted", "").split(" `quote`", 1)[1] if " `quote`" in kept.get("fitted", "") else ""
    mean, scale, w, b = fit_logistic(x, y, 2, l2)
    fa, fu = rates[threshold]
    note = (
        f"{datetime.now(timezone.utc):%Y-%m-%d} by benchmarks/fit_answerable.py: logistic regression (L2 {l2}) on "
        f"{len(y)} (question, paper) pairs of {len(cases)} dev questions, top {K} papers each, {int(y.sum())} positive. "
        f"`answer`: the largest threshold whose 5-fold cross-validated answerable refusals stay <= {MAX_FALSE_REFUSALS:.0%} "
        f"(there: answerable refused {fa:.1%}, unanswerable refused {fu:.1%})."
        + (f" `quote`{kept_note}" if kept_note else " `quote` and `overrule`: kept; refit them with benchmarks/fit_overrule.py")
    )
    return {"features": list(FEATURES), "classes": ["no", "yes"], "mean": mean.round(6).tolist(),
            "scale": scale.round(6).tolist(), "weights": w.round(6).tolist(), "bias": b.round(6).tolist(),
            "thresholds": {**previous, "answer": threshold, "quote": float(quote), "overrule": float(overrule)}, "fitted": note}


def fit_ask(app: Any, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The shipped relevance model with its `ask` threshold (re)chosen; its weights and other thresholds kept.

    `ask` is where the app asks a model whose declines it respects (`QA.model_judges`): the largest threshold
    whose 5-fold cross-validated answerable refusals stay <= `MAX_ASK_REFUSALS`. The folds are refitted on
    the dev cases the shipped model was fitted on (those not marked `after_freeze`), so the cross-validated
    probabilities estimate the shipped model's on questions it has not seen.
    """
    shipped = json.loads((OUT / "relevance.json").read_text(encoding="utf-8"))
    frozen = [c for c in cases if not c.get("after_freeze")]
    x, y, groups, meta = relevance_rows(app, frozen)
    cv = np.zeros(len(y))
    for test in folds(groups):
        cv[test] = predict(fit_logistic(x[~test], y[~test], 2, 1e-2), x[test], 2)
    grid = np.round(np.arange(0.01, 0.95, 0.01), 2)
    rates = {float(t): question_rates(cv, y, groups, meta, float(t)) for t in grid}
    ask = max([t for t, (fa, _fu) in rates.items() if fa <= MAX_ASK_REFUSALS], default=float(grid[0]))
    fa, fu = rates[ask]
    thresholds = dict(shipped["thresholds"])
    thresholds["ask"] = ask
    shipped["thresholds"] = {k: thresholds[k] for k in ("answer", "ask", "quote", "overrule", "list", "judge") if k in thresholds}
    note = (
        f" `ask`: {datetime.now(timezone.utc):%Y-%m-%d} by benchmarks/fit_answerable.py --only ask, the largest threshold "
        f"whose 5-fold cross-validated answerable refusals (folds refitted on the {len(frozen)} frozen dev questions) stay "
        f"<= {MAX_ASK_REFUSALS:.0%} (there: answerable refused {fa:.1%}, unanswerable refused {fu:.1%} by the app alone; "
        "the rest is the model's to decline)."
    )
    shipped["fitted"] = shipped["fitted"].split(" `ask`:", 1)[0] + note
    return shipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refit the question router and the relevance model on dev cases.")
    parser.add_argument("--data", type=Path, default=None, help="benchmark store dir (default: <data dir>-bench/answers)")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--only", choices=["kinds", "relevance", "ask"], default=None)
    args = parser.parse_args(argv)
    from assistant.chains import calibration
    from assistant.service import Assistant

    data = args.data or default_data_dir()
    ensure_store(data, args.shared)
    cases = load_cases("dev")
    app = Assistant(bench_settings(data))
    try:
        if args.only in (None, "kinds"):
            (OUT / "question_kinds.json").write_text(json.dumps(fit_kinds(app, cases)) + "\n", encoding="utf-8")
            calibration.load.cache_clear()
            print(json.loads((OUT / "question_kinds.json").read_text())["fitted"], file=sys.stderr)
        if args.only in (None, "relevance"):
            (OUT / "relevance.json").write_text(json.dumps(fit_relevance(app, cases), indent=1) + "\n", encoding="utf-8")
            print(json.loads((OUT / "relevance.json").read_text())["fitted"], file=sys.stderr)
        if args.only in (None, "relevance", "ask"):
            (OUT / "relevance.json").write_text(json.dumps(fit_ask(app, cases), indent=1) + "\n", encoding="utf-8")
            calibration.load.cache_clear()
            print(json.loads((OUT / "relevance.json").read_text())["fitted"], file=sys.stderr)
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
