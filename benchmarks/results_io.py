"""The one writer of benchmark result files: `benchmarks/results/<name>.md` and, with data, `<name>.json`.

Every benchmark reports through `write_result`, so result files are written the same way (UTF-8,
one trailing newline, the directory created) and each records the load average it ran at.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def load_average() -> float:
    """The 1-minute load average, rounded: the machine is shared, so every result file records it."""
    return round(os.getloadavg()[0], 2)


def write_result(name: str, markdown: str | list[str], data: object = None, results: Path = RESULTS) -> Path:
    """Write `<name>.md` (and `<name>.json` when `data` is given) under `results`; returns the .md path."""
    results.mkdir(parents=True, exist_ok=True)
    if data is not None:
        (results / f"{name}.json").write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    text = markdown if isinstance(markdown, str) else "\n".join(markdown)
    path = results / f"{name}.md"
    path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return path


def rerender(name: str, render: Callable[[Any], str], results: Path = RESULTS) -> str:
    """Rewrite `<name>.md` from `<name>.json` (a benchmark's --render-only) and return the Markdown."""
    markdown = render(json.loads((results / f"{name}.json").read_text(encoding="utf-8")))
    write_result(name, markdown, results=results)
    return markdown
