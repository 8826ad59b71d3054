"""A field model for the clustering to use (tried in session 31, not adopted: `topics_fieldsignal.py`).

A multinomial logistic regression (L2, classes balanced, `topics_fields.FieldModel`) over a paper's
all-MiniLM-L6-v2 vector (title + abstract), fitted here, at benchmark time, on:

- vision, robotics, language, machine learning: the shared arXiv listing's primary categories, mapped as
  in `topics_fields.CATEGORY_FIELD` (the HF papers that are also in the listing are left out, so the
  topic benchmark's check of its own classifier on them stays held out);
- science (biology, chemistry, materials) and structured data (time series, tabular data, recommendation,
  graphs), fields the listing lacks: HF Daily Papers whose machine keywords (`hf_ai_keywords`, which
  nobody here wrote) name them (`EXTRA`), from the weeks outside the topic benchmark's frozen test half only.

Had it been adopted, only its coefficients (6 classes x 385 numbers) would have been shipped, no data
rows: a derived artefact, as `keyphrases.json` is (the shared data's READMEs allow internal evaluation:
arXiv metadata CC0, abstracts under their authors' arXiv licences, HF rows not to be redistributed, which
a regression's weights do not do). It is the same kind of model as the benchmark's own field measure,
on the same listing: a clustering that uses it is no longer judged independently by that measure.

    python -m benchmarks.topics_fieldmodel    # prints what it was fitted on and its cross-validated figures
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from datetime import date

import numpy as np

from assistant.config import Settings
from assistant.embeddings import make_embedder
from assistant.papers import Paper
from benchmarks.topics_data import CACHE, DATA, frozen_split
from benchmarks.topics_fields import FIELDS, FieldModel, cross_validate, listing_vectors, load_listing

CLASSES = (*FIELDS, "science", "structured data", "audio")
# Fields a reader would not separate share one column of `probabilities`: robots and world models are vision's
# family, speech and audio language's (as the hand check counts them).
COLUMNS = ("vision", "language", "machine learning", "science", "structured data")
MERGED = {"robotics": "vision", "audio": "language"}
# An HF paper is of an extra field when one of its machine keywords matches (first match wins); a paper
# whose keywords also name images, video or robots is left out (a tool of the field, not the field).
EXTRA = {
    "science": re.compile(r"\b(protein|molecul|drug|chemi|biolog|genom|single-cell|materials? (science|discovery|design)|enzyme|antibod|dna\b|rna\b|crystal)"),
    "structured data": re.compile(r"time[- ]series|forecast|recommend|tabular|graph neural|node classification|click-through"),
    "audio": re.compile(r"\b(speech|audio|spoken|asr\b|text-to-speech|tts\b|voice|music|speaker|acoustic|sound)"),
}
NOT_EXTRA = re.compile(r"\b(image|video|vision|visual|robot|text-to)")
L2 = 1.0


def extra_papers(fields: tuple[str, ...] = tuple(EXTRA)) -> list[tuple[Paper, str]]:
    """(paper, extra field of `fields`) for the HF papers outside the frozen test weeks whose keywords name one."""
    test = set(frozen_split()["test"])
    out: dict[str, tuple[Paper, str]] = {}
    with gzip.open(DATA, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            y, w, _ = date.fromisoformat(row["list_date"]).isocalendar()
            kws = " ; ".join(row.get("hf_ai_keywords") or []).lower()
            if f"{y}-W{w:02d}" in test or not kws or NOT_EXTRA.search(kws):
                continue
            field = next((name for name, pat in EXTRA.items() if name in fields and pat.search(kws)), None)
            if field:
                paper = Paper(paper_id=str(row["arxiv_id"]), title=" ".join(str(row["title"]).split()),
                              abstract=" ".join(str(row["abstract"]).split()))
                out.setdefault(paper.paper_id, (paper, field))
    return [out[i] for i in sorted(out)]


def embed_cached(texts: list[str], embed) -> np.ndarray:  # noqa: ANN001 - any embed(texts) -> rows
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    cache = CACHE / f"field_extra_vectors_{key}.npy"
    if cache.exists():
        return np.load(cache)
    CACHE.mkdir(parents=True, exist_ok=True)
    mat = np.asarray(embed(texts), dtype=np.float32)
    mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
    np.save(cache, mat)
    return mat


def training_rows(audio: bool = True) -> tuple[np.ndarray, np.ndarray, str]:
    """(vectors, class indices into CLASSES, what they are); `audio=False`: no audio class (session 31's model)."""
    embed = make_embedder(Settings(_env_file=None)).embed
    listing = load_listing()
    with gzip.open(DATA, "rt") as fh:
        hf_ids = {str(json.loads(line)["arxiv_id"]) for line in fh}
    keep = np.array([i not in hf_ids for i in listing.ids])
    extra = extra_papers(tuple(EXTRA) if audio else ("science", "structured data"))
    xe = embed_cached([p.text for p, _ in extra], embed)
    x = np.vstack([listing_vectors(listing, embed)[keep], xe])
    y = np.concatenate([listing.fields[keep], [CLASSES.index(f) for _, f in extra]])
    counts = np.bincount(y, minlength=len(CLASSES))
    what = (f"{int(keep.sum())} arXiv listing papers (HF papers left out) and {len(extra)} HF papers of non-test weeks "
            f"by their machine keywords; per class {dict(zip(CLASSES, counts.tolist()))}")
    return x, y, what


def fit(audio: bool = True) -> tuple[FieldModel, str]:
    """(the model fitted on every training row, what it was fitted on and its 5-fold cross-validated figures)."""
    x, y, what = training_rows(audio)
    k = len(CLASSES) - (not audio)  # audio is the last class
    proba = cross_validate(x, y, l2=L2, classes=k)
    acc = float(np.mean(proba.argmax(axis=1) == y))
    per = {c: round(float(np.mean(proba[y == j].argmax(axis=1) == j)), 3) for j, c in enumerate(CLASSES[:k])}
    note = (f"softmax regression (L2 {L2}, classes balanced) on {what}; 5-fold cross-validated accuracy {acc:.3f}, "
            f"recall per class {per}")
    return FieldModel(x, y, L2, classes=k), note


def probabilities(model: FieldModel, x: np.ndarray) -> np.ndarray:
    """Per (unit) paper vector, the probability of each field of COLUMNS (merged fields summed)."""
    proba = model.proba(x)
    out = np.zeros((len(x), len(COLUMNS)))
    for k, c in enumerate(CLASSES[: proba.shape[1]]):
        out[:, COLUMNS.index(MERGED.get(c, c))] += proba[:, k]
    return out


def main() -> None:
    print(fit()[1])

if __name__ == "__main__":
    main()
