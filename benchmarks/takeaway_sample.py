"""Takeaways for hand grading: a seeded sample of papers from three HF Daily Papers weeks.

Prints (and writes to benchmarks/results/takeaway_sample.md) each paper's title, its takeaway,
whether the support check passed, and HF's machine summary for reference, so a person can grade
"states the contribution" and "supported by the abstract". Reads the shared HF data in place.
Usage: python -m benchmarks.takeaway_sample [--per-week 17] [--weeks W ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import time
from datetime import date
from pathlib import Path

from assistant.chains.takeaway import takeaways
from assistant.config import Settings
from assistant.embeddings import make_embedder
from assistant.papers import Paper

WEEKS = ("2024-W23", "2025-W10", "2026-W20")
OUT = Path(__file__).resolve().parent / "results" / "takeaway_sample.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-week", type=int, default=17)
    parser.add_argument("--weeks", nargs="*", default=list(WEEKS), help="ISO weeks to sample (default: the first graded three)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/hf_daily_papers/hf_daily_papers.jsonl.gz"))
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"{args.data} not found: this benchmark reads the shared HF Daily Papers data")
    by_week: dict[str, list[dict[str, object]]] = {w: [] for w in args.weeks}
    for line in gzip.open(args.data, "rt"):
        row = json.loads(line)
        y, w, _ = date.fromisoformat(row["list_date"]).isocalendar()
        key = f"{y}-W{w:02d}"
        if key in by_week:
            by_week[key].append(row)
    embed = make_embedder(Settings(_env_file=None)).embed
    lines = ["# Takeaway sample for hand grading", "", f"load average {os.getloadavg()[0]:.1f}", ""]
    start = time.perf_counter()
    n = 0
    for week, rows in by_week.items():
        sample = random.Random(week).sample(rows, min(args.per_week, len(rows)))
        papers = [
            Paper(paper_id=str(r["arxiv_id"]), title=str(r["title"]), abstract=" ".join(str(r["abstract"]).split()),
                  extra={"ai_summary": r.get("hf_ai_summary")} if r.get("hf_ai_summary") else {})
            for r in sample
        ]
        lines += [f"## {week} ({len(rows)} papers, {len(papers)} sampled)", ""]
        for p, t in zip(papers, takeaways(papers, embed).values()):
            n += 1
            lines.append(f"{n}. **{' '.join(p.title.split())}** ({p.paper_id}) — {t.text} "
                         f"[supported: {t.supported}, {len(t.text.split())} words]")
        lines.append("")
    lines.insert(3, f"{n} papers in {time.perf_counter() - start:.1f} s (uncached, ONNX embedder)")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
