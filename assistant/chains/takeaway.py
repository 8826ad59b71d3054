"""One-line takeaways: what each paper does or finds, in at most `MAX_WORDS` words, checked and cached.

Called by the digest (every listed paper), the library and search views (CLI `search`, the UI)
and the personal feed. Extractive, so it costs no model call: the abstract's contribution
sentence (the method sentence of `quick_extraction`, else its result sentence, else the first
sentence about its own work; never background while such a sentence exists) compressed to
one clause ("We propose X that ..." → "Proposes X that ...", never in the authors' voice: a later
"we"/"our" becomes "the paper"/"its"), then checked against the abstract
with the same support check as answers. A compressed line that fails the check falls back to
the next candidate. Cached per content hash, so a week is paid once. When the source supplied
HF's machine summary it is kept alongside, labelled as HF's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel

from assistant.chains.aspects import quick_extraction
from assistant.chains.evidence_text import evidence_papers
from assistant.chains.support import check_claims
from assistant.chains.one_line import compress
from assistant.citations import split_sentences
from assistant.errors import StoreError
from assistant.chains.answerable import method_name, sentence_roles
from assistant.papers import Paper
from assistant.store import Store

log = logging.getLogger(__name__)

EmbedFn = Callable[[list[str]], np.ndarray]

CACHE_KIND = "takeaway"
VERSION = "6"  # bump when the selection or compression changes: cached lines are then recomputed


class Takeaway(BaseModel):
    """A paper's one line. `source`: `abstract` (compressed contribution sentence) or `title` (no abstract)."""

    paper_id: str
    text: str
    sentence: str  # the abstract sentence it was made from (what the check compared it with)
    supported: bool
    source: Literal["abstract", "title"] = "abstract"
    hf_summary: str | None = None  # HF's machine-written one-liner, shown labelled as HF's


def _candidates(paper: Paper) -> list[str]:
    """The cue-word method and result sentences and the first sentence about the paper's own work
    (`answerable.sentence_roles`), then the opening sentence; sentences of its own work first."""
    quick = quick_extraction(paper)
    sentences = split_sentences(paper.abstract)
    roles = dict(zip(sentences, sentence_roles(sentences, method_name(paper.title))))
    first_own = [s for s in sentences if roles[s] == "own"][:1]
    picked = (quick.method, quick.result, *first_own, *sentences[:1])
    # not a fragment the splitter cut off mid-sentence (", i+m-1] for every shift i ..." after "T[i, ., .")
    ordered = list(dict.fromkeys(s for s in picked if s.strip() and s.lstrip()[:1] not in ",;:.)]}"))
    def own(candidate: str) -> bool:  # quick sentences may be shortened: match on their start
        head = candidate.rstrip(" \u2026")
        return next((roles[x] for x in sentences if x.startswith(head)), "own") == "own"

    return sorted(ordered, key=lambda s: not own(s))


def contribution_sentence(paper: Paper) -> str:
    """The abstract sentence a takeaway starts from (the first candidate, before the support check):
    what the paper does, not its background. Cheap (no embedding), so the digest can cluster on it."""
    return next(iter(_candidates(paper)), "")


def _hf_summary(paper: Paper) -> str | None:
    value = paper.extra.get("ai_summary")
    return " ".join(str(value).split()) or None if value else None


def make_takeaway(paper: Paper, embed: EmbedFn) -> Takeaway:
    """The first candidate whose compressed line the abstract supports (see the module docstring)."""
    hf = _hf_summary(paper)
    candidates = _candidates(paper)
    if not candidates:
        return Takeaway(
            paper_id=paper.paper_id, text=compress(paper.title), sentence=paper.title, supported=False,
            source="title", hf_summary=hf,
        )
    for sentence in candidates:
        line = compress(sentence)
        check = check_claims(line.rstrip(" .\u2026") + " [1].", [paper], embed)
        if check.sentences and all(s.supported for s in check.sentences):
            return Takeaway(paper_id=paper.paper_id, text=line, sentence=sentence, supported=True, hf_summary=hf)
    return Takeaway(
        paper_id=paper.paper_id, text=compress(candidates[0]), sentence=candidates[0], supported=False, hf_summary=hf
    )


def takeaways(papers: Sequence[Paper], embed: EmbedFn, store: Store | None = None) -> dict[str, Takeaway]:
    """Takeaways by paper id; with a store, cached per (content hash, version) and written as made."""
    out: dict[str, Takeaway] = {}
    for paper in papers:
        key = f"{paper.content_hash}|{VERSION}"
        cached = store.cache_get(CACHE_KIND, key) if store is not None else None
        if isinstance(cached, dict):
            out[paper.paper_id] = Takeaway(**(cached | {"paper_id": paper.paper_id, "hf_summary": _hf_summary(paper)}))
            continue
        made = make_takeaway(evidence_papers([paper], embed, store)[0], embed)
        if store is not None:
            try:
                store.cache_put(CACHE_KIND, key, made.model_dump(exclude={"paper_id", "hf_summary"}))
            except StoreError as exc:  # a busy or read-only store: the line is still shown, just not kept
                log.info("takeaway of %s not cached: %s", paper.paper_id, exc)
        out[paper.paper_id] = made
    return out
