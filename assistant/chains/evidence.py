"""The evidence a model is shown, and the citations the app attaches to what it writes from it.

Shared by the chains that write from retrieved papers: answers (`chains/qa.py`), comparisons
(`chains/compare.py`) and topic summaries (`chains/topic_summary.py`); below all of them, so none
imports another to get it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from assistant.chains.answerable import Verdict
from assistant.chains.grounding_config import GROUNDING
from assistant.citations import keep_citations, parse_citations, split_sentences
from assistant.papers import Hit

EmbedFn = Callable[[list[str]], np.ndarray]


@dataclass
class Evidence:
    """The papers shown to the model, numbered from 1, each with its sentences closest to the question."""

    hits: list[Hit]
    sentences: list[list[str]] = field(default_factory=list)
    verdict: Verdict | None = None
    """Whether (and by which sentences) the evidence answers the question; None outside QA."""

    @property
    def shown(self) -> set[int]:
        """The numbers `[n]` of the papers the prompt shows: the answering ones once a verdict is known."""
        if self.verdict is None:
            return set(range(1, len(self.hits) + 1))
        return {s.n for s in self.verdict.answering[:GROUNDING.shown_papers]}

    def render(self) -> str:
        """The numbered evidence for the prompt: only the answering papers once a verdict is known."""
        keep = self.shown
        lines = []
        for n, (hit, sents) in enumerate(zip(self.hits, self.sentences), start=1):
            if n not in keep:
                continue
            date = hit.paper.dates[-1] if hit.paper.dates else "undated"
            lines.append(f"[{n}] {hit.paper.title} ({date}): {' '.join(sents)}")
        return "\n".join(lines)


def attach_citations(raw: str, evidence: Evidence, embed: EmbedFn) -> str:
    """Give every uncited sentence the number of the evidence paper it is closest to.

    The small model often drops markers, or cites a number the prompt did not show (a paper the
    judge left out): such a marker is removed first. Attaching them here lets the support check
    decide, rather than throwing a correct sentence away.
    """
    shown = evidence.shown
    original = split_sentences(raw)
    sentences = [keep_citations(s, lambda n: n in shown) for s in original]
    uncited = [i for i, s in enumerate(sentences) if not parse_citations(s)]
    candidates = [(n, s) for n, sents in enumerate(evidence.sentences, start=1) if n in shown for s in sents]
    if not uncited or not candidates:
        return raw if sentences == original else " ".join(sentences)
    vecs = embed([sentences[i] for i in uncited] + [s for _, s in candidates])
    q, c = vecs[: len(uncited)], vecs[len(uncited) :]
    best = np.argmax(q @ c.T, axis=1)
    for row, i in enumerate(uncited):
        n = candidates[int(best[row])][0]
        s = sentences[i].rstrip()
        end = s[-1] if s and s[-1] in ".!?" else ""
        sentences[i] = f"{s[:-1] if end else s} [{n}]{end or '.'}"
    return " ".join(sentences)
