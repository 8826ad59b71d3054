"""Answers that are not one model draft: "which papers …" lists and comparisons asked in the chat.

Called by the QA pipeline (`chains/qa.py`) once the router (`chains/routing.py`) has named the
question's kind. A list names every answering paper (up to the list size) with one checked line on
what it does that matters to the question: the paper's own-work sentence closest to the question,
compressed to one clause like a takeaway and kept only if the support check passes (else quoted as
is). A comparison is the comparison chain's result (`chains/compare.py`) turned into an `Answer`
whose `[n]` are the compared papers, in the order of its table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from assistant.chains.answerable import Verdict
from assistant.chains.one_line import compress
from assistant.chains.support import short_title
from assistant.grounding import check_claim
from assistant.papers import Answer, Citation, Hit, Sentence

EmbedFn = Callable[[list[str]], np.ndarray]

LIST_SIZE = 6
"""Papers retrieved for a "which papers" question and listed at most."""


def paper_line(hit: Hit, n: int, sentence: str, embed: EmbedFn) -> Sentence:
    """`Title: what it does [n].` — the compressed sentence when the abstract supports it, else the sentence itself."""
    short = compress(sentence).rstrip(" .\u2026")
    quoted = sentence.rstrip().rstrip(".")
    body = short if short and check_claim(short, hit.paper, embed).supported else quoted
    return Sentence(text=f"{short_title(hit.paper.title)}: {body} [{n}].", cites=[n], supported=True)


def paper_list(verdict: Verdict, hits: Sequence[Hit], embed: EmbedFn, model: str) -> Answer:
    """One line per answering paper, in retrieval order (the caller checked that the verdict answers)."""
    picks = sorted(verdict.answering[:LIST_SIZE], key=lambda s: s.n)
    sentences = [paper_line(hits[s.n - 1], s.n, s.sentence, embed) for s in picks]
    return Answer(
        answer="\n".join(f"- {s.text}" for s in sentences),
        refused=False,
        citations=[citation(s.n, hits[s.n - 1], True) for s in picks],
        model=model,
        sentences=sentences,
        evidence=list(hits),
    )


def citation(n: int, hit: Hit, supported: bool) -> Citation:
    return Citation(n=n, paper_id=hit.paper.paper_id, title=hit.paper.title, url=hit.paper.link, supported=supported)


def cited_answer(
    sentences: list[Sentence], citations: list[Citation], hits: list[Hit], model: str, removed: Sequence[int] = ()
) -> Answer:
    """Checked sentences as an answer; `hits[i]` is `[i+1]` (a comparison's table row, or the evidence)."""
    return Answer(
        answer=" ".join(s.text for s in sentences),
        refused=False,
        citations=citations,
        model=model,
        sentences=sentences,
        evidence=hits,
        removed_citations=list(removed),
    )
