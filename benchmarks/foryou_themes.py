"""Freeze the simulated readers' themes of the "for you" benchmark into dev and test (run once, before tuning).

A theme is one of HF's machine keywords (lower-cased, exact) with at least MIN papers before the
cut-off date and MIN after it, and at most MAX in all (the very broad ones such as "large language
models" are not a reader's interest). Themes go to dev or test by a hash of their name, so the split
does not depend on anything that was tuned. Writes benchmarks/foryou_themes.json.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from benchmarks.foryou_data import load_rows

CUTOFF = "2026-01-01"
MIN, MAX = 8, 150
OUT = Path(__file__).resolve().parent / "foryou_themes.json"


def main() -> None:
    rows = load_rows()
    before = Counter(k.lower() for r in rows if r["list_date"] < CUTOFF for k in set(r["hf_ai_keywords"]))
    after = Counter(k.lower() for r in rows if r["list_date"] >= CUTOFF for k in set(r["hf_ai_keywords"]))
    themes = sorted(k for k in before if before[k] >= MIN and after[k] >= MIN and before[k] + after[k] <= MAX)
    split: dict[str, list[str]] = {"dev": [], "test": []}
    for t in themes:
        split["test" if int(hashlib.sha256(t.encode()).hexdigest(), 16) % 2 else "dev"].append(t)
    OUT.write_text(json.dumps({"cutoff": CUTOFF, "min": MIN, "max": MAX, **split}, indent=1) + "\n")
    print(f"{len(split['dev'])} dev, {len(split['test'])} test themes -> {OUT}")


if __name__ == "__main__":
    main()
