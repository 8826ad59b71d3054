"""The one place the compare, digest and takeaway chains ask whether cited text is supported.

Wraps the project's public support check (today `citations.verify_answer`), so that swapping in
the grounding module changes one call. `evidence[i]` is the paper cited as `[i+1]`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from assistant.citations import AnswerCheck, verify_answer
from assistant.papers import Hit, Paper

EmbedFn = Callable[[list[str]], np.ndarray]


def check_claims(text: str, evidence: Sequence[Paper], embed: EmbedFn) -> AnswerCheck:
    """Every sentence of `text` checked against the abstracts it cites (`[n]` = `evidence[n-1]`)."""
    return verify_answer(text, [Hit(paper=p, score=0.0) for p in evidence], embed)
