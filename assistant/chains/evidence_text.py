"""What of an abstract the compare, digest and takeaway chains may show a model or check claims against.

Abstracts are untrusted input: one can be a megabyte long, carry instructions aimed at the model
("ignore previous instructions ...") or Markdown images and links. Each paper is replaced by a
copy whose abstract is (1) flattened to plain text (images and links keep only their text),
(2) stripped of sentences that are not about the paper (cosine with the paper's core below
`GroundingConfig.off_topic_floor`, the core being the title plus the half of the sentences closest to it; calibrated on the HF Daily Papers abstracts by
`benchmarks/calibrate_offtopic.py`), and (3) sentence-selected to a character budget (the
opening sentences, then the closing one, where results usually are). Prompts and support checks
both see this copy, so an instruction dropped here can neither be followed nor support a claim.
Cached per content hash.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence

import numpy as np

from assistant.chains.grounding_config import GROUNDING
from assistant.citations import split_sentences
from assistant.errors import StoreError
from assistant.papers import MAX_TITLE_CHARS, Paper
from assistant.store import Store

log = logging.getLogger(__name__)

EmbedFn = Callable[[list[str]], np.ndarray]

CACHE_KIND = "evidence_text"
VERSION = "1"

_IMAGE = re.compile(r"!\[([^\]\n]{0,300})\]\([^)\n]{0,2000}\)")
_LINK = re.compile(r"\[([^\]\n]{0,300})\]\([^)\n]{0,2000}\)")
_TAG = re.compile(r"</?[A-Za-z][^<>\n]{0,300}>")
_URL = re.compile(r"\b(?:https?|javascript|data):\S+", re.IGNORECASE)


def flatten_markup(text: str) -> str:
    """Plain text: Markdown images and links keep their text, HTML tags and URLs are removed."""
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _TAG.sub(" ", text)
    return " ".join(_URL.sub(" ", text).split())


def within_budget(sentences: Sequence[str], max_chars: int) -> list[str]:
    """The opening sentences that fit `max_chars`, plus the closing sentence when it fits too."""
    if sum(len(s) + 1 for s in sentences) <= max_chars:
        return list(sentences)
    last = sentences[-1] if len(sentences[-1]) < max_chars // 3 else ""
    room = max_chars - len(last)
    kept: list[str] = []
    for s in sentences[:-1]:
        if len(s) + 1 > room:
            break
        kept.append(s)
        room -= len(s) + 1
    if not kept:  # one giant first sentence: its head
        kept = [sentences[0][: max(room, 0)].rsplit(" ", 1)[0] + " \u2026"]
    return [*kept, last] if last else kept


def topic_scores(vectors: np.ndarray) -> np.ndarray:
    """Per sentence, cosine with the paper's core; `vectors` = title then sentences, unit rows.

    The core is the title plus the half of the sentences closest to it, so that a few off-topic
    sentences (an injected payload and its companions) do not pull the reference towards them.
    """
    title, sents = vectors[0], vectors[1:]
    closest = np.argsort(-(sents @ title))[: max(1, len(sents) // 2)]
    core = title + sents[closest].sum(axis=0)
    return np.asarray(sents @ (core / max(float(np.linalg.norm(core)), 1e-12)))


def on_topic(title: str, sentences: Sequence[str], embed: EmbedFn) -> list[bool]:
    """Per sentence: is it about the paper (see `topic_scores`)? Short abstracts are kept whole."""
    if len(sentences) < GROUNDING.min_sentences_to_filter:
        return [True] * len(sentences)
    vecs = np.asarray(embed([title, *sentences]), dtype=np.float32)
    vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    return [bool(x >= GROUNDING.off_topic_floor) for x in topic_scores(vecs)]


def clean_abstract(paper: Paper, embed: EmbedFn, max_chars: int = GROUNDING.evidence_abstract_chars) -> str:
    """The abstract as the chains may use it (see the module docstring)."""
    raw = flatten_markup(paper.abstract[: 20 * max_chars])
    sentences = split_sentences(raw) or ([raw] if raw else [])
    if not sentences:
        return ""
    candidates = within_budget(sentences, 2 * max_chars)
    keep = on_topic(flatten_markup(paper.title), candidates, embed)
    return " ".join(within_budget([s for s, k in zip(candidates, keep) if k] or candidates[:1], max_chars))


def evidence_papers(papers: Sequence[Paper], embed: EmbedFn, store: Store | None = None) -> list[Paper]:
    """Copies of `papers` with cleaned abstracts (and capped titles), cached per content hash."""
    out = []
    for paper in papers:
        key = f"{paper.content_hash}|{VERSION}|{GROUNDING.evidence_abstract_chars}"
        cached = store.cache_get(CACHE_KIND, key) if store is not None else None
        if isinstance(cached, str):
            abstract = cached
        else:
            abstract = clean_abstract(paper, embed)
            if store is not None:
                try:
                    store.cache_put(CACHE_KIND, key, abstract)
                except StoreError as exc:  # a busy or read-only store: the text is still used, just not kept
                    log.info("cleaned abstract of %s not cached: %s", paper.paper_id, exc)
        out.append(paper.model_copy(update={"abstract": abstract, "title": paper.title[:MAX_TITLE_CHARS]}))
    return out
