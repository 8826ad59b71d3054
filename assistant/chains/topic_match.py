"""Which retrieved papers are about a comparison topic: every part stated as the paper's own work,
then a calibrated relevance model.

Called by `chains.compare.choose_papers` for `assistant compare QUERY`. A paper qualifies when its
title and the abstract sentences about its own work (`answerable.sentence_roles`; an acronym there
counts with the long form the abstract defines for it) state every part of the topic (`about`: names
and acronyms, possibly spelled out, and every other content word), and a logistic regression over its
search score and the topic's cosine with its title, each also as its gap to the best paper stating the
topic (`FEATURES`), gives it a probability at or above the
threshold fitted with it (`compare_topic.json`, refit with `benchmarks/fit_compare_topic.py` on the dev
queries of benchmarks/compare/ only). A paper that names the topic only as background ("post-training
quantization needs no training data" before its own quantization-aware training method) or that only
shares the topic's words ("consistency" and "model" in unrelated sentences) is left out. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.chains.answerable import key_terms, method_name, sentence_roles
from assistant.chains.calibration import load
from assistant.chains.grounding import EmbedFn, coverage, missing_terms
from assistant.citations import claim_body, split_sentences
from assistant.papers import Hit, Paper

FEATURES = ("score", "title_cosine", "score_gap", "title_cosine_gap")
"""Per (topic, paper): its hybrid search score and the cosine of the topic with its title, and how far
each falls below the best of the papers stating the topic (a paper far behind the topic's best match is
usually about something else that shares its words; cross-validated on the dev queries, the gaps cut
both off-topic choices and wrong refusals)."""

_DEFINED = re.compile(r"\(([A-Z][A-Za-z]{1,7}?)s?\)")
_WORD = re.compile(r"[^\W\d_]+")

MODEL = "compare_topic"


@dataclass(frozen=True)
class TopicMatch:
    """One retrieved paper judged against the topic."""

    hit: Hit
    probability: float
    qualifies: bool
    signals: dict[str, float]


def about(query: str, text: str) -> bool:
    """Does the text state every part of the query? Its names and acronyms (`LLM`, `ImageNet`) must be
    stated (an acronym may be spelled out), and every other content word must occur (crudely stemmed)."""
    names = {t.lower() for t in key_terms(claim_body(query))}
    rest = " ".join(w for w in query.split() if w.strip(".,;:!?\"'()").lower() not in names)
    words_ok = not rest.strip() or coverage(rest, text) >= 1.0 or not any(c.isalpha() for c in rest)
    return words_ok and not missing_terms(query, text)


def acronym_definitions(text: str) -> dict[str, str]:
    """Acronyms the text defines, with their long form: "large language models (LLMs)" -> {"LLM": ...}."""
    out: dict[str, str] = {}
    for m in _DEFINED.finditer(text):
        acronym = m.group(1)
        letters = [c.lower() for c in acronym if c.isupper()]
        before = list(_WORD.finditer(text, max(0, m.start() - 200), m.start()))[-3 * len(letters) :]
        k = len(letters) - 1
        for word in reversed(before):
            if word.group(0)[0].lower() == letters[k]:
                k -= 1
                if k < 0:
                    out[acronym] = text[word.start() : m.start()].strip()
                    break
    return out


def own_work_text(paper: Paper) -> str:
    """The title and the abstract's sentences about the paper's own work, plus the long forms the
    abstract defines for the acronyms they use ("RLHF" there states "human feedback")."""
    sents = split_sentences(paper.abstract) or [paper.abstract]
    roles = sentence_roles(sents, method_name(paper.title))
    own = " ".join([paper.title, *(s for s, r in zip(sents, roles) if r == "own")])
    used = [long for acronym, long in acronym_definitions(paper.abstract).items() if re.search(rf"\b{acronym}s?\b", own)]
    return " ".join([own, *used])


def topic_signals(query: str, hits: Sequence[Hit], embed: EmbedFn) -> list[dict[str, float]]:
    """The signals of `FEATURES` for each hit, gaps taken to the best of `hits` (one embedding call:
    the topic and the titles)."""
    if not hits:
        return []
    vectors = np.asarray(embed([query, *(h.paper.title for h in hits)]), dtype=np.float32)
    raw = [
        {"score": float(hit.score), "title_cosine": float(title_vector @ vectors[0])}
        for hit, title_vector in zip(hits, vectors[1:])
    ]
    best = {name: max(r[name] for r in raw) for name in ("score", "title_cosine")}
    return [{**r, **{f"{name}_gap": r[name] - top for name, top in best.items()}} for r in raw]


def match_topic(query: str, hits: Sequence[Hit], embed: EmbedFn) -> list[TopicMatch]:
    """Every hit whose own work states each part of the topic, judged by the calibrated model (search order)."""
    stated = [h for h in hits if about(query, own_work_text(h.paper))]
    if not stated:
        return []
    model = load(MODEL)
    feats = topic_signals(query, stated, embed)
    probs = model.scores(np.array([[f[name] for name in model.features] for f in feats]))
    threshold = model.thresholds["qualify"]
    return [
        TopicMatch(h, round(float(p), 4), bool(p >= threshold), {k: round(v, 4) for k, v in f.items()})
        for h, f, p in zip(stated, feats, probs)
    ]
