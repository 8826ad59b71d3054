"""Paper aspects (problem, method, data, result) and the model-free quick extraction.

Shared by `chains.extract` (model extraction falls back to these), `chains.takeaway`, the
compare table and the digest. Kept free of LangChain so search can show takeaways quickly.
`quick_extraction` picks, for each aspect, the abstract sentence with the most cue words.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel

from assistant.citations import split_sentences
from assistant.chains.answerable import method_name, sentence_roles
from assistant.chains.grounding_config import GROUNDING
from assistant.papers import Paper

ASPECTS: tuple[str, ...] = ("problem", "method", "data", "result")
ASPECT_LABELS = {"problem": "Problem", "method": "Method", "data": "Data / benchmarks", "result": "Key result"}

Source = Literal["model", "quick"]


class Extraction(BaseModel):
    """The four aspects of one paper; an empty string means "not stated in the abstract"."""

    paper_id: str
    problem: str = ""
    method: str = ""
    data: str = ""
    result: str = ""
    source: Source = "quick"

    def get(self, aspect: str) -> str:
        return str(getattr(self, aspect))


_CUES: dict[str, list[str]] = {
    "problem": [
        r"\bchalleng", r"\bproblem", r"\blimit", r"\bsuffer", r"\bstruggl", r"\black", r"\bdifficult",
        r"\bbottleneck", r"\bremains?\b", r"\bhowever\b", r"\bgap\b", r"\bcostly\b", r"\bexpensive\b",
        r"\bfail", r"\bhinder", r"\bunclear\b", r"\bunderexplored\b",
    ],
    "method": [
        r"\bwe (?:propose|introduce|present|develop|design|devise|build|release|construct|curate)",
        r"\bthis (?:paper|work|study) (?:propose|introduce|present|develop)",
        r"\bin this (?:paper|work)\b", r"\bour (?:method|approach|framework|model|system)\b",
        r"\b(?:called|named|dubbed|termed)\b", r"\bwe (?:train|leverage|use|formulate|frame)\b",
    ],
    "data": [
        r"\bdatasets?\b", r"\bbenchmarks?\b", r"\bcorpus\b", r"\bcorpora\b", r"\bevaluat",
        r"\bexperiments? (?:on|across|with)\b", r"\btrained on\b", r"\btested on\b",
    ],
    "result": [
        r"\boutperform", r"\bstate-of-the-art\b|\bSOTA\b", r"\bachiev", r"\bimprov", r"\bsurpass",
        r"\bresults? (?:show|demonstrate|indicate|reveal)", r"\d+(?:\.\d+)?\s*%", r"\bdemonstrat",
        r"\bgains?\b", r"\bfaster\b|\bspeed-?up\b", r"\breduc", r"\bcompetitive\b",
    ],
}
_CUE_RE = {a: [re.compile(p, re.IGNORECASE) for p in ps] for a, ps in _CUES.items()}


def _shorten(sentence: str, limit: int = GROUNDING.quick_sentence_chars) -> str:
    sentence = " ".join(sentence.split())
    if len(sentence) <= limit:
        return sentence
    cut = sentence[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + " …"


def quick_extraction(paper: Paper) -> Extraction:
    """Model-free aspects: for each aspect the abstract sentence with the most cue words; method, data
    and result only from the sentences about the paper's own work when it has any (not its background
    or its account of prior work).

    Sentences are quoted verbatim (shortened past `GroundingConfig.quick_sentence_chars`), so they are supported by
    construction. `data` stays empty when no sentence mentions data, benchmarks or evaluation.
    """
    sents = split_sentences(paper.abstract) or ([paper.abstract] if paper.abstract.strip() else [])
    if not sents:
        return Extraction(paper_id=paper.paper_id, source="quick")
    count = len(sents)
    scores = {a: [sum(bool(r.search(s)) for r in _CUE_RE[a]) for s in sents] for a in ASPECTS}
    position = {
        "problem": [-(i / count) for i in range(count)],  # earlier is better
        "method": [-abs(i - 1.5) / count for i in range(count)],
        "data": [0.0] * count,
        "result": [i / count for i in range(count)],  # later is better
    }
    roles = sentence_roles(sents, method_name(paper.title))
    own = [i for i in range(count) if roles[i] == "own"]
    chosen: dict[str, int] = {}
    for aspect in ("method", "result", "problem", "data"):
        # What the paper does, uses and finds comes from its own-work sentences; its problem may be background.
        pool = own if aspect != "problem" and own else range(count)
        ranked = sorted(pool, key=lambda i: (-scores[aspect][i], -position[aspect][i]))
        free = [i for i in ranked if i not in chosen.values()] or (ranked if pool is not own else [])
        if not free:
            continue  # its only own-work sentences already fill other cells: "not stated" beats background
        best = free[0]
        if aspect == "data" and scores["data"][best] == 0:
            continue
        if aspect == "problem" and scores["problem"][best] == 0:
            best = 0 if 0 not in chosen.values() or count == 1 else best
        chosen[aspect] = best
    values = {a: _shorten(sents[i]) for a, i in chosen.items()}
    return Extraction(paper_id=paper.paper_id, source="quick", **values)
