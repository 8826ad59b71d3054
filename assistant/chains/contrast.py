"""How compared papers differ, in sentences whose every clause is checked against the paper it cites.

Called by `chains.compare.compare` to edit the composed comparison. A contrast sentence cites several
papers, one per clause ("RoundLLM learns a rounding offset per weight [1], whereas GridQ fits a
per-channel grid [2]."). The answer check (`grounding.check_answer`) keeps a sentence that one cited
paper supports and drops the other citations, which would leave the other paper's clause under the
first one's number. So a sentence citing several papers is cut at its citation markers and each clause
is checked (`grounding.check_claim`, the paper's own work only) against every paper it cites, and
nothing else: the sentence is shown only when every clause holds for every paper it cites. Sentences
citing one paper go through `support.reader_sentences` as before. When no contrast survives, the app
writes one from the papers' checked takeaways (`chains.takeaway`), so the comparison always says how
the papers differ when it can; a sentence on one paper that says what its clause there says (both read
from the same abstract sentence) is then left out (`repeated_in_contrast`), not said twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.chains.support import Dropped, Edited, EmbedFn, first_person, reader_sentences, short_title
from assistant.chains.takeaway import Takeaway
from assistant.citations import CITE_RE, claim_body, parse_citations, split_sentences
from assistant.chains.grounding import check_claim
from assistant.chains.one_line import lower_first, verb_headed
from assistant.papers import Paper, Sentence

_MARKERS = re.compile(rf"(?:\s*{CITE_RE.pattern})+")
_RELATIVE = re.compile(r"\b(?:that|which)\s+(?P<what>(?!is\b|are\b|was\b)[a-z]+s\b.*)")
_PROPOSES = re.compile(
    r"(?i:proposes|introduces|presents)\s+(?P<name>[A-Z][^\s,]*(?:\s+[A-Z0-9][^\s,]*){0,3}),?\s+(?:[-\u2013\u2014]\s+)?"
    r"(?P<rest>(?i:an?|the)\s.+)"
)
"""A takeaway naming the paper's method: "Proposes RoundLLM, a method that ..." (the name is capitalised)."""


def clauses(sentence: str) -> list[tuple[str, list[int]]]:
    """The sentence cut after each run of citation markers, with the numbers each piece cites.

    `A does X [1], whereas B does Y [2].` -> `[("A does X [1]", [1]), (", whereas B does Y [2].", [2])]`.
    Words after the last marker ("." or an uncited tail) join the last clause when they hold no claim,
    else they are a clause citing nothing.
    """
    out: list[tuple[str, list[int]]] = []
    start = 0
    for m in _MARKERS.finditer(sentence):
        piece = sentence[start : m.end()]
        if claim_body(piece) or not out:
            out.append((piece, parse_citations(piece)))
        else:
            text, cites = out[-1]
            out[-1] = (text + piece, list(dict.fromkeys(cites + parse_citations(piece))))
        start = m.end()
    tail = sentence[start:]
    if claim_body(tail) or not out:
        out.append((tail, []))
    else:
        out[-1] = (out[-1][0] + tail, out[-1][1])
    return out


def is_contrast(sentence: Sentence) -> bool:
    """Whether a shown sentence sets different papers side by side (clauses citing different papers)."""
    return len({tuple(cites) for _, cites in clauses(sentence.text) if cites}) >= 2


def check_multi(sentence: str, papers: Sequence[Paper], embed: EmbedFn) -> Sentence | Dropped:
    """A sentence citing several papers: shown only when each clause holds for every paper it cites."""
    if first_person(sentence):
        return Dropped(text=sentence, reason="quotes an abstract in the first person")
    cited: list[int] = []
    for text, cites in clauses(sentence):
        body = claim_body(text)
        if not cites:
            return Dropped(text=sentence, reason=f"the clause {body!r} cites no paper")
        for n in cites:
            if not 1 <= n <= len(papers):
                return Dropped(text=sentence, reason=f"[{n}] is not one of the compared papers")
            support = check_claim(text, papers[n - 1], embed, phrase=True)
            if not support.supported:
                why = (
                    "names or numbers it does not state: " + ", ".join(support.missing_terms)
                    if support.missing_terms
                    else f"no sentence about its own work says this (closest similarity {support.similarity:.2f})"
                )
                return Dropped(text=sentence, reason=f"[{n}] does not support the clause {body!r}: {why}")
        cited += cites
    return Sentence(text=sentence, cites=list(dict.fromkeys(cited)), supported=True)


def checked_summary(text: str, papers: Sequence[Paper], embed: EmbedFn) -> Edited:
    """The composed comparison's sentences fit to show, and those dropped with the reason (in order)."""
    kept: list[Sentence] = []
    dropped: list[Dropped] = []
    removed: list[int] = []
    for sentence in split_sentences(text):
        if len(parse_citations(sentence)) >= 2:
            result = check_multi(sentence, papers, embed)
            (kept if isinstance(result, Sentence) else dropped).append(result)  # type: ignore[arg-type]
            continue
        edited = reader_sentences(sentence, papers, embed)
        kept += edited.sentences
        dropped += edited.dropped
        removed += [n for n in edited.removed if n not in removed]
    return Edited(kept, dropped, removed)


def _clause(paper: Paper, line: Takeaway, n: int) -> str:
    """A takeaway ("Proposes RoundLLM, a method that ...") as a clause naming its paper, cited; one not
    headed by the paper's verb ("The method, PERP, cuts ...") follows the name as a lead-in ("in PERP, the method ...")."""
    name = short_title(paper.title)
    body = line.text.strip().rstrip(" .\u2026")
    m = _PROPOSES.fullmatch(body)
    if m:
        # "Proposes X, a method that learns Y" -> "X learns Y": what sets it apart, not the kind it shares.
        what = _RELATIVE.search(m.group("rest"))
        text = f"{m.group('name')} {what.group('what')}" if what else f"{m.group('name')} is {m.group('rest')}"
    elif body.lower().startswith(name.lower()):
        text = body
    elif verb_headed(line.sentence):
        text = f"{name} {body[:1].lower()}{body[1:]}"
    else:
        text = f"in {name}, {lower_first(body)}"
    return f"{text} [{n}]"


def takeaway_contrast(papers: Sequence[Paper], lines: dict[str, Takeaway], embed: EmbedFn) -> Sentence | None:
    """The app's own contrast: each paper's checked takeaway as one clause, set against the others
    ("A does X [1], whereas B does Y [2]."); checked clause by clause like a composed one."""
    parts = [
        _clause(p, lines[p.paper_id], n)
        for n, p in enumerate(papers, start=1)
        if p.paper_id in lines and lines[p.paper_id].supported
    ]
    if len(parts) < 2:
        return None
    text = (f"{parts[0]}, whereas {parts[1]}" if len(parts) == 2 else "; ".join(parts[:-1]) + f"; and {parts[-1]}") + "."
    text = text[:1].upper() + text[1:]  # a first clause may open with its lead-in ("in PERP, ...")
    result = check_multi(text, papers, embed)
    return result if isinstance(result, Sentence) else None


def repeated_in_contrast(
    sentences: Sequence[Sentence], papers: Sequence[Paper], lines: dict[str, Takeaway], embed: EmbedFn
) -> tuple[list[Sentence], list[Dropped]]:
    """(the sentences to keep beside the app's contrast, those it repeats): a sentence citing one paper
    that its title and the abstract sentence of its takeaway (its clause in the contrast) state on their
    own (`check_claim`, the calibrated support check)."""
    keep: list[Sentence] = []
    repeated: list[Dropped] = []
    for s in sentences:
        n = s.cites[0] if len(s.cites) == 1 else 0
        line = lines.get(papers[n - 1].paper_id) if 1 <= n <= len(papers) else None
        source = line.sentence.rstrip(" \u2026") if line and line.supported else ""
        alone = papers[n - 1].model_copy(update={"abstract": source}) if source else None
        if alone is not None and check_claim(s.text, alone, embed, own_work=False).supported:
            repeated.append(Dropped(text=s.text, reason=f"the comparison's contrast says this of [{n}] from the same abstract sentence"))
        else:
            keep.append(s)
    return keep, repeated
