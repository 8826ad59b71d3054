"""Summaries and the markdown report of the answer benchmark (benchmarks/results/answers.md)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.answers_grade import UNANSWERABLE

TARGETS = {
    "useful": ">= 75% (embedded), >= 95% (oracle)",
    "answerable_refused": "<= 10%",
    "unanswerable_refused": ">= 90%",
    "wrong_answers": "<= 3% of answers",
    "paraphrase_recall5": ">= 0.9",
    # Capped (found / min(10, relevant), BEIR's R_cap@10): the uncapped share counts a top 10 of right papers as a
    # miss when a case has more than 10 (dev ceiling 0.984; benchmarks/results/which_papers_recall.md).
    "which_recall10_capped": ">= 0.95",
    "first_token_p95_s": "<= 8 s (embedded)",
    "full_answer_p95_s": "<= 20 s (embedded)",
    "peak_rss_mb": "<= 3072",
}

HOW_TO_RUN = """\
How to run (from the repo root; the store is built once under `<ASSISTANT_DATA_DIR>-bench/answers`):

```bash
python -m benchmarks.answers_bench --split dev --backend fake        # app logic + overhead, minutes
python -m benchmarks.answers_bench --split dev --backend oracle      # a perfect model behind the app
python -m benchmarks.answers_bench --split dev --backend embedded    # the packaged model (slow)
python -m benchmarks.answers_bench --split test --backend embedded   # the "after" figure: run once, at the end
python -m benchmarks.answers_bench --split test --retrieval-only     # recall@5 / recall@10 only
```

Tune on dev only; the test split is frozen (benchmarks/answers/README.md). Quality figures are
deterministic for fake/oracle; latency depends on the machine's load (recorded per run).
Verdicts and the wrong-answer proxy are defined in benchmarks/answers_grade.py."""


def _pct(num: int, den: int) -> float | None:
    return round(100 * num / den, 1) if den else None


def _quantile(values: Sequence[float], q: float) -> float | None:
    if len(values) < 2:
        return round(values[0], 3) if values else None
    return round(statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1], 3)


def _block(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ans = [r for r in rows if r["type"] not in UNANSWERABLE]
    una = [r for r in rows if r["type"] in UNANSWERABLE]
    answered = [r for r in rows if r.get("refused") is False]
    count = {v: sum(r["verdict"] == v for r in ans) for v in ("useful", "partial", "not_useful", "refused", "error")}
    return {
        "cases": len(rows),
        "answerable": len(ans),
        "useful": _pct(count["useful"], len(ans)),
        "partial": _pct(count["partial"], len(ans)),
        "not_useful": _pct(count["not_useful"], len(ans)),
        "answerable_refused": _pct(count["refused"], len(ans)),
        "errors": sum(r["verdict"] == "error" for r in rows),
        "unanswerable": len(una),
        "unanswerable_refused": _pct(sum(r["verdict"] == "refused" for r in una), len(una)),
        "answers": len(answered),
        "wrong_answers": _pct(sum(bool(r["wrong"]) for r in answered), len(answered)),
    }


def summarize(entry: dict[str, Any]) -> dict[str, Any]:
    rows, retrieval = entry["rows"], entry["retrieval"]
    by_type = {t: _block([r for r in rows if r["type"] == t]) for t in sorted({r["type"] for r in rows})}

    def lat(key: str) -> dict[str, float | None]:
        vals = [r[key] for r in rows if r.get(key) is not None]
        return {"p50": _quantile(vals, 0.5), "p95": _quantile(vals, 0.95), "n": len(vals)}

    def recall(kind: str, key: str = "recall") -> float | None:
        vals = [r.get(key, r["recall"]) for r in retrieval if r["type"] == kind]
        return round(statistics.mean(vals), 3) if vals else None

    return {
        "overall": _block(rows) if rows else {},
        "by_type": by_type,
        "paraphrase_recall5": recall("paraphrase"),
        "which_recall10": recall("which_papers"),
        "which_recall10_capped": recall("which_papers", "recall_capped"),
        "which_recall10_before_audit": recall("which_papers", "recall_before_audit"),
        "latency_s": {"evidence": lat("evidence_s"), "first_token": lat("first_token_s"), "full_answer": lat("total_s")},
    }


def merge_results(results: Path, name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """Add/replace entry `name` in answers.json; return all entries."""
    path = results / "answers.json"
    entries = json.loads(path.read_text(encoding="utf-8"))["entries"] if path.exists() else {}
    entries[name] = entry
    path.write_text(json.dumps({"entries": entries}, indent=1), encoding="utf-8")
    return entries


def _fmt(x: Any, unit: str = "") -> str:
    return "—" if x is None else f"{x}{unit}"


def _which(s: dict[str, Any]) -> str:
    """"Which papers" recall@10 on the audited labels, with the capped figure and the earlier labels' one."""
    if s.get("which_recall10_capped") is None:
        return _fmt(s.get("which_recall10"))
    return f"{_fmt(s['which_recall10'])} (capped {_fmt(s['which_recall10_capped'])}; earlier labels {_fmt(s['which_recall10_before_audit'])})"


def render(entries: dict[str, Any]) -> str:
    out = ["# Answer quality on unseen questions (benchmarks/answers_bench.py)", "", HOW_TO_RUN, ""]
    out += ["## Summary", "", "| run | cases | useful | partial | not useful | answerable refused | unanswerable refused "
            "| wrong answers | paraphrase R@5 | which R@10 | first token p50/p95 | full p50/p95 | peak RSS | load (before/max) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, e in sorted(entries.items()):
        s, o = e["summary"], e["summary"]["overall"]
        lat = s["latency_s"]
        out.append(
            f"| {name} | {o.get('cases', 0)} | {_fmt(o.get('useful'), '%')} | {_fmt(o.get('partial'), '%')} "
            f"| {_fmt(o.get('not_useful'), '%')} | {_fmt(o.get('answerable_refused'), '%')} "
            f"| {_fmt(o.get('unanswerable_refused'), '%')} | {_fmt(o.get('wrong_answers'), '%')} "
            f"| {_fmt(s['paraphrase_recall5'])} | {_which(s)} "
            f"| {_fmt(lat['first_token']['p50'])} / {_fmt(lat['first_token']['p95'])} s "
            f"| {_fmt(lat['full_answer']['p50'])} / {_fmt(lat['full_answer']['p95'])} s "
            f"| {_fmt(e['peak_rss_mb'], ' MB')} | {e['load1']['before']} / {e['load1']['max']} |"
        )
    out += ["", "Targets: " + "; ".join(f"{k} {v}" for k, v in TARGETS.items()), ""]
    for name, e in sorted(entries.items()):
        out += [f"## {name} ({e['when']}, {e.get('limit_note', 'all cases of the split')})", "",
                "| type | cases | useful | partial | not useful | refused (answerable) | refused (unanswerable) | wrong answers |",
                "|---|---|---|---|---|---|---|---|"]
        for t, b in e["summary"]["by_type"].items():
            out.append(
                f"| {t} | {b['cases']} | {_fmt(b['useful'], '%')} | {_fmt(b['partial'], '%')} | {_fmt(b['not_useful'], '%')} "
                f"| {_fmt(b['answerable_refused'], '%')} | {_fmt(b['unanswerable_refused'], '%')} | {_fmt(b['wrong_answers'], '%')} |"
            )
        out.append("")
        if e["rows"] and not name.split(":")[1].startswith("test"):
            out += ["<details><summary>per case (dev only)</summary>", ""]
            for r in e["rows"]:
                wrong = "; ".join(w["reasons"][0] for w in r["wrong"])
                out.append(f"- {r['id']} {r['type']} **{r['verdict']}**: {r['question']}" + (f" — WRONG: {wrong}" if wrong else ""))
            out += ["", "</details>", ""]
    return "\n".join(out) + "\n"
