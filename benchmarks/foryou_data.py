"""The offline data of the "for you" ranking benchmark: HF Daily Papers rows that carry HF's keywords.

Only rows with `hf_ai_keywords` are used, so every paper of a week has a known relevance to a
simulated user's theme. Paper vectors are made once with the packaged embedder (title + abstract,
one text per paper, as the store's single-chunk papers) and cached under artifacts/ (git-ignored:
the shared data is never copied into the repo).
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "hf_daily_papers" / "hf_daily_papers.jsonl.gz"
CACHE = ROOT / "artifacts" / "foryou" / "vectors.npz"


def load_rows() -> list[dict]:
    """One row per paper (first listing wins), keyword rows only, in list-date order."""
    seen: dict[str, dict] = {}
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("hf_ai_keywords") and row["arxiv_id"] not in seen:
                seen[row["arxiv_id"]] = row
    return sorted(seen.values(), key=lambda r: (r["list_date"], r.get("rank_in_list") or 0))


def vectors(rows: list[dict]) -> np.ndarray:
    """Unit vectors of the rows (cached by arXiv id)."""
    from assistant.embeddings import LocalEmbedder
    from assistant.papers import normalize_text, paper_text

    ids = [r["arxiv_id"] for r in rows]
    if CACHE.exists():
        cached = np.load(CACHE)
        if list(cached["ids"]) == ids:
            return cached["vectors"]
    t0 = time.perf_counter()
    texts = [paper_text(normalize_text(r["title"]), normalize_text(r["abstract"])) for r in rows]
    emb = LocalEmbedder(bulk="auto")
    out = []
    for start in range(0, len(texts), 256):
        out.append(emb.embed(texts[start : start + 256], bulk=True))
        print(f"embedded {start + len(out[-1])}/{len(texts)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    vecs = np.concatenate(out)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, ids=np.array(ids), vectors=vecs)
    return vecs


if __name__ == "__main__":
    rows = load_rows()
    print(len(rows), vectors(rows).shape)
