"""Which retrieved papers are about a comparison topic: every part stated as the paper's own work,
then a calibrated relevance model.

Called by `chains.compare.choose_papers` for `assistant compare QUERY`. A paper qualifies when its
title and the abstract sentences about its own work (`answerable.sentence_roles`, less their clauses
about other work: "faster than the quantization-aware training method"; an acronym there
counts with the long form the abstract defines for it) state every part of the topic (`about`: names
and acronyms, possibly spelled out, and every other content word), and a logistic regression over its
search score and the topic's cosine with its title, each also as its gap to the best paper stating the
topic, and over where it states the topic (how many of the topic's parts its title states, how many of
its sentences state the whole topic; `FEATURES`), gives it a probability at or above the
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

from assistant.chains.answerable import STOP_WORDS, key_terms, method_name, sentence_roles
from assistant.chains.calibration import load
from assistant.chains.grounding import EmbedFn, coverage, missing_terms, own_clauses
from assistant.citations import claim_body, split_sentences
from assistant.papers import Hit, Paper

FEATURES = ("score", "title_cosine", "score_gap", "title_cosine_gap", "parts_in_title", "stated_share")
"""Per (topic, paper): its own hybrid search score (`Hit.relevance`: before similar papers lift it, which says
how near the paper's neighbours are to the topic, not whether the paper is about it) and the cosine of the topic with its title, and how far
each falls below the best of the papers stating the topic (a paper far behind the topic's best match is
usually about something else that shares its words; cross-validated on the dev queries, the gaps cut
both off-topic choices and wrong refusals); the share of the topic's parts (`topic_parts`) that its title
states, and the share of its title and abstract sentences that state the whole topic (a paper that names
the topic once, as background or a baseline, or states its words only apart, scores low on both; they
raised the cross-validated dev ranking of on-topic over off-topic papers, AUC 0.89 -> 0.91)."""

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


def with_long_forms(text: str, definitions: dict[str, str]) -> str:
    """The text plus the long forms of the defined acronyms it uses ("RLHF" -> "... human feedback")."""
    used = [long for acronym, long in definitions.items() if re.search(rf"\b{re.escape(acronym)}s?\b", text)]
    return " ".join([text, *used])


def own_work_text(paper: Paper) -> str:
    """The title and the abstract's sentences about the paper's own work, without their clauses about other
    work (`grounding.own_clauses`: "30 times faster than the quantization-aware training method" states
    another method), plus the long forms the abstract defines for the acronyms they use ("RLHF" there
    states "human feedback")."""
    sents = split_sentences(paper.abstract) or [paper.abstract]
    roles = sentence_roles(sents, method_name(paper.title))
    own = " ".join([paper.title, *(own_clauses(s)[0] for s, r in zip(sents, roles) if r == "own")])
    return with_long_forms(own, acronym_definitions(paper.abstract))


def topic_parts(query: str) -> list[str]:
    """The topic's parts: its words other than stop words ("mixture-of-experts LLMs" -> both words;
    a hyphenated compound or a name is one part)."""
    return [w for w in query.split() if w.strip(".,;:!?\"'()").lower() not in STOP_WORDS] or [query]


def statement_signals(query: str, paper: Paper) -> dict[str, float]:
    """How much the paper is about the topic by where it states it: the share of the topic's parts its
    title states, and the share of its title and abstract sentences that state the whole topic."""
    definitions = acronym_definitions(paper.abstract)
    title = with_long_forms(paper.title, definitions)
    texts = [title, *(with_long_forms(s, definitions) for s in split_sentences(paper.abstract))]
    parts = topic_parts(query)
    return {
        "parts_in_title": sum(about(part, title) for part in parts) / len(parts),
        "stated_share": sum(about(query, text) for text in texts) / len(texts),
    }


def topic_signals(query: str, hits: Sequence[Hit], embed: EmbedFn) -> list[dict[str, float]]:
    """The signals of `FEATURES` for each hit, gaps taken to the best of `hits` (one embedding call:
    the topic and the titles; the statement signals read the texts only)."""
    if not hits:
        return []
    vectors = np.asarray(embed([query, *(h.paper.title for h in hits)]), dtype=np.float32)
    raw = [
        {"score": float(hit.relevance), "title_cosine": float(title_vector @ vectors[0])}
        for hit, title_vector in zip(hits, vectors[1:])
    ]
    best = {name: max(r[name] for r in raw) for name in ("score", "title_cosine")}
    return [
        {**r, **{f"{name}_gap": r[name] - top for name, top in best.items()}, **statement_signals(query, hit.paper)}
        for r, hit in zip(raw, hits)
    ]


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
