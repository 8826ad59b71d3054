"""The one place the compare, digest and takeaway chains ask whether cited text is supported,
and the editing that keeps only supported, reader-worthy sentences in summaries.

Wraps the project's one support check (`grounding.check_answer`). `evidence[i]` is the paper cited as `[i+1]`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from assistant.chains.grounding import AnswerCheck, check_answer
from assistant.papers import Hit, Paper, Sentence
from assistant.chains.one_line import compress, lower_first, verb_headed

EmbedFn = Callable[[list[str]], np.ndarray]


def check_claims(text: str, evidence: Sequence[Paper], embed: EmbedFn) -> AnswerCheck:
    """Every sentence of `text` checked against the abstracts it cites (`[n]` = `evidence[n-1]`)."""
    return check_answer(text, [Hit(paper=p, score=0.0) for p in evidence], embed)


class Dropped(BaseModel):
    """A sentence left out of a reader-facing summary, and why (kept in the JSON export)."""

    text: str
    reason: str


def short_title(title: str, max_words: int = 6) -> str:
    """`ConvLLaVA: Hierarchical Backbones ...` → `ConvLLaVA`; long titles are cut."""
    head = title.split(":", 1)[0].strip()
    if ":" in title and 0 < len(head.split()) <= 4:
        return head
    words = title.split()
    return title if len(words) <= max_words else " ".join(words[:max_words]) + " \u2026"


def first_person(text: str) -> bool:
    """Whether a sentence speaks as the authors ("we", "our"): a quote, not a summary."""
    return any(w.lower().strip(",.;:") in ("we", "our", "us") for w in text.split())


def _reason(check: AnswerCheck, i: int, sentence: Sentence) -> str:
    if not sentence.cites:
        return "cites no paper"
    pairs = [p for p in check.pairs if p.sentence == i]
    missing = sorted({t for p in pairs for t in p.support.missing_terms})
    if missing:
        return "names or numbers not in the cited abstract: " + ", ".join(missing)
    best = max((p.support.similarity for p in pairs), default=0.0)
    return f"no sentence of the cited abstract says this (closest similarity {best:.2f})"


@dataclass
class Edited:
    """`reader_sentences`' result: what to show, what was left out, out-of-range `[n]` removed."""

    sentences: list[Sentence]
    dropped: list[Dropped]
    removed: list[int]


def reader_sentences(text: str, evidence: Sequence[Paper], embed: EmbedFn) -> Edited:
    """Checked sentences fit for a reader, and the ones dropped with the reason.

    A sentence is dropped when the check does not support it, or when it calls one cited paper
    "these papers". A supported sentence quoted in the first person ("we propose X") is
    rewritten to name its paper ("ShortTitle proposes X"; "In ShortTitle, ..." when the sentence does not
    open with the authors doing something), or dropped when that is not enough.
    """
    check = check_claims(text, evidence, embed)
    kept: list[Sentence] = []
    dropped: list[Dropped] = []
    for i, s in enumerate(check.sentences):
        plural = any(p in s.text.lower() for p in ("these papers", "both papers", "these works", "all papers"))
        if not s.supported:
            dropped.append(Dropped(text=s.text, reason=_reason(check, i, s)))
        elif plural and len(s.cites) < 2:
            dropped.append(Dropped(text=s.text, reason="describes one paper as several"))
        elif first_person(s.text) and len(s.cites) == 1:
            # Only the subject changes (and compress may shorten): still supported by the same check.
            n = s.cites[0]
            name = short_title(evidence[n - 1].title)
            body = compress(s.text, max_words=40).rstrip(" .\u2026")
            if verb_headed(s.text):  # "Proposes X" -> "ShortTitle proposes X"
                subject = "One paper" if name.lower() in body.lower() else name
                text = f"{subject} {body[:1].lower()}{body[1:]} [{n}]."
            else:  # "Despite X, its findings show Y" -> "In ShortTitle, despite X, ..."
                text = f"In {name}, {lower_first(body)} [{n}]."
            if first_person(text):
                dropped.append(Dropped(text=s.text, reason="quotes the abstract in the first person"))
            else:
                kept.append(Sentence(text=text, cites=[n], supported=True))
        else:
            kept.append(s)
    return Edited(kept, dropped, check.removed)
