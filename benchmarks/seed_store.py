"""The one builder of the seed store the benchmarks run on: the five seed pages, ingested once.

`ensure_seed_store` ingests `examples/daily-papers` into a data dir and leaves a `.complete`
marker; later runs reuse the store. A run killed half way resumes (ingest is idempotent).
Used by qa_bench, compare_bench and ui_bench.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from assistant.config import Settings

SEED_PAGES = Path(__file__).resolve().parent.parent / "examples" / "daily-papers"


def ensure_seed_store(settings: Settings, year: int, progress: bool = True) -> dict[str, Any]:
    """The seed pages (dates read as `year`) in `settings.data_dir`, built unless already complete."""
    from assistant.service import Assistant

    data = settings.data_dir
    marker = data / ".complete"
    if marker.exists():
        try:
            built = json.loads(marker.read_text(encoding="utf-8"))
        except ValueError:
            built = {}
        return {"reused": True, **built}
    data.mkdir(parents=True, exist_ok=True)
    if settings.read_after_ingest == "background":  # no reader left running behind a benchmark's timings
        settings = settings.model_copy(update={"read_after_ingest": "off"})
    started = time.perf_counter()
    app = Assistant(settings)
    try:
        report = app.ingest([SEED_PAGES], year=year, progress=progress)
        papers = app.stats().get("papers")
    finally:
        app.close()
    built = {"papers": papers, "seconds": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(built), encoding="utf-8")
    return {"reused": False, **built, "report": str(report)}
