"""The frozen case splits the quality benchmarks read: `<cases_dir>/dev.jsonl` and `test.jsonl`.

Used by answers_bench and compare_bench (and the fits built on them), so a split is read and
checked one way: one JSON object a line, blank lines skipped, a case missing a field stops the run
naming the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_split(split: str, cases_dir: Path, filled: str, present: str) -> list[tuple[str, dict[str, Any]]]:
    """(split name, case) for the cases of `split` (`dev`, `test` or `all`, which is both in that order).

    Each case needs a non-empty `filled` field and a `present` key (which may be empty).
    """
    cases = []
    for name in ["dev", "test"] if split == "all" else [split]:
        path = cases_dir / f"{name}.jsonl"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                case = json.loads(line)
                if not case.get(filled) or present not in case:
                    raise SystemExit(f"{path}:{i}: a case needs `{filled}` and `{present}`")
                cases.append((name, case))
    return cases
