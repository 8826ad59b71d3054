"""What kind of question this is, from its embedding: a calibrated classifier, not question-shape rules.

Kinds: `detail` (a number, dataset, name the abstract states), `find` (a paper described in other
words), `explain` (how a method works), `overview` (tl;dr, what is new), `which` (which papers do X)
and `compare` (X versus Y). The QA pipeline (`chains.qa`) routes `which` to a per-paper list and
`compare` to the comparison chain; every kind goes through the same answerability decision. The
classifier is a multinomial logistic regression over the question's all-MiniLM-L6-v2 vector, fitted
by `benchmarks/fit_answerable.py` on the dev cases' types and hand-written examples
(`question_kinds.json`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from assistant.chains.calibration import load

Kind = Literal["detail", "find", "explain", "overview", "which", "compare"]
KINDS: tuple[Kind, ...] = ("detail", "find", "explain", "overview", "which", "compare")


@dataclass(frozen=True)
class Route:
    """The question's kind and the classifier's probability per kind."""

    kind: Kind
    probabilities: dict[str, float]


def classify(vector: np.ndarray) -> Route:
    """The kind of a question, from its (unit) embedding."""
    model = load("question_kinds")
    probs = model.scores(np.asarray(vector, dtype=np.float64))[0]
    best = int(np.argmax(probs))
    return Route(model.classes[best], {c: round(float(p), 4) for c, p in zip(model.classes, probs)})  # type: ignore[arg-type]


_LEAD = re.compile(r"^\s*(?:please\s+)?(?:compare|contrast|how\s+(?:does|do|is|are)|what(?:'s| is| are)\s+the\s+differences?\s+between)\s+", re.I)
_HOW = re.compile(r"^\s*(?:please\s+)?how\s", re.I)
_COMPARATIVE = re.compile(r"\b(?:vs\.?|versus|differ\w*|compared?|contrast)\b", re.I)
_TAIL = re.compile(r"\s*(?:[:?;]|\b(?:differ|compare)\b).*$", re.I)
_SEPARATORS = (
    re.compile(r"\s+(?:vs\.?|versus)\s+", re.I),
    re.compile(r"\s+(?:differ(?:s)?\s+from|compared?\s+(?:with|to))\s+", re.I),
    re.compile(r"\s+(?:and|with|to)\s+", re.I),
)


def compared_items(question: str) -> list[str]:
    """The two things a comparison question names ("dpo vs cgpo for rlhf" -> ["dpo", "cgpo for rlhf"]).

    Parsing, not routing: it only runs once the classifier said `compare`, and an empty list
    (no two named things) makes the pipeline answer it as an ordinary question.
    """
    if _HOW.match(question) and not _COMPARATIVE.search(question):
        return []  # "how does X handle Y with Z" asks about X; "how does X differ from Y" compares
    text = _LEAD.sub("", question.strip())
    for sep in _SEPARATORS:
        parts = sep.split(text, maxsplit=1)
        if len(parts) == 2:
            first = _TAIL.sub("", parts[0]).strip(" ,.?")
            second = _TAIL.sub("", parts[1]).strip(" ,.?")
            if first and second:
                return [first, second]
    return []
