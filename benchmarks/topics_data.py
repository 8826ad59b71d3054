"""The HF Daily Papers weeks the topic benchmark reads, their paper vectors and HF keyword vectors.

Reads the shared data in place (never copied into the repo); paper vectors are embedded once with
the configured embedder and cached outside the repo, keyed by the texts they embed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from assistant.papers import Paper

DATA = Path("/work/shared/data/hf_daily_papers/hf_daily_papers.jsonl.gz")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "paper-digest-bench"
SPLIT = Path(__file__).resolve().parent / "topics_split.json"
MIN_KEYWORDED = 30  # a week counts when at least this many of its papers carry HF keywords


@dataclass
class Week:
    label: str
    papers: list[Paper]
    keywords: list[list[str]]  # HF's machine keywords per paper ([] when HF gave none)


def load_weeks(path: Path = DATA, min_keyworded: int = MIN_KEYWORDED) -> list[Week]:
    """The ISO weeks of `path` with at least `min_keyworded` keyworded papers, papers deduplicated by arXiv id."""
    if not path.exists():
        raise SystemExit(f"{path} not found: the topic benchmark reads the shared HF Daily Papers data there")
    rows: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
    with gzip.open(path, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            y, w, _ = date.fromisoformat(row["list_date"]).isocalendar()
            rows[f"{y}-W{w:02d}"].setdefault(str(row["arxiv_id"]), row)
    weeks = []
    for label in sorted(rows):
        items = sorted(rows[label].values(), key=lambda r: str(r["arxiv_id"]))
        if sum(bool(r.get("hf_ai_keywords")) for r in items) < min_keyworded:
            continue
        papers = [
            Paper(paper_id=str(r["arxiv_id"]), title=" ".join(str(r["title"]).split()),
                  abstract=" ".join(str(r["abstract"]).split()), upvotes=r.get("upvotes"))
            for r in items
        ]
        weeks.append(Week(label, papers, [list(r.get("hf_ai_keywords") or []) for r in items]))
    return weeks


def paper_vectors(weeks: list[Week], embed) -> dict[str, np.ndarray]:  # noqa: ANN001 - any embed(texts) -> rows
    """Unit vectors of every paper's title + abstract, cached under the bench cache directory."""
    papers = {p.paper_id: p for w in weeks for p in w.papers}
    ids = sorted(papers)
    key = hashlib.sha256("\n".join(papers[i].text for i in ids).encode()).hexdigest()[:16]
    cache = CACHE / f"hf_vectors_{key}.npy"
    if cache.exists():
        mat = np.load(cache)
    else:
        CACHE.mkdir(parents=True, exist_ok=True)
        mat = np.asarray(embed([papers[i].text for i in ids]), dtype=np.float32)
        np.save(cache, mat)
    return dict(zip(ids, mat))


_STOP = frozenset("a an and as at by for from in into of on or the to via with without using based".split())


def _keyword_terms(keywords: list[str]) -> set[str]:
    """The words of HF's keywords (lower-case, plural s dropped, stop words out) and each whole keyword.

    Whole keywords alone rarely match between papers (HF writes them per paper); their words do.
    """
    out: set[str] = set()
    for k in keywords:
        words = [re.sub(r"(?<=[a-z]{3})s$", "", w) for w in re.findall(r"[a-z0-9]+", k.lower())]
        out |= {w for w in words if w not in _STOP and len(w) > 1}
        out.add(" ".join(words))
    return out


def keyword_matrix(weeks: list[Week]) -> dict[str, np.ndarray]:
    """Per week, one idf-weighted unit row of HF keyword terms per paper (zero rows for papers without keywords).

    idf is counted over every week, so a keyword every paper carries ("large language model") weighs little.
    """
    terms = {w.label: [_keyword_terms(kws) for kws in w.keywords] for w in weeks}
    df = Counter(t for w in weeks for ts in terms[w.label] for t in ts)
    n_docs = sum(bool(kws) for w in weeks for kws in w.keywords)
    out: dict[str, np.ndarray] = {}
    for w in weeks:
        in_week = Counter(t for ts in terms[w.label] for t in ts)
        vocab = sorted(t for t, c in in_week.items() if c >= 2)  # a term no other paper of the week has links nothing
        index = {k: i for i, k in enumerate(vocab)}
        mat = np.zeros((len(w.papers), max(1, len(vocab))), dtype=np.float32)
        for row, ts in enumerate(terms[w.label]):
            for k in ts & index.keys():
                mat[row, index[k]] = np.log(n_docs / df[k])
        norms = np.linalg.norm(mat, axis=1, keepdims=True)
        out[w.label] = mat / np.maximum(norms, 1e-12)
    return out


def frozen_split() -> dict[str, list[str]]:
    """{"dev": [...], "test": [...]} week labels, from the file written before any tuning."""
    return json.loads(SPLIT.read_text())
