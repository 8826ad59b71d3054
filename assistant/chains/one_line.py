"""Compressing an abstract sentence into one line headed by what the paper does.

Used by takeaways (`chains.takeaway`) and by the summary editing in `chains.support`, which
rewrites first-person quotes ("we propose X") to name their paper.
"""

from __future__ import annotations

import re

from assistant.citations import strip_citations

MAX_WORDS = 30

_SUBJECT = re.compile(r"\b(?:we|this (?:paper|work|study|article|report))\s+(?:(?:also|further|then|first|here|still|thus|therefore|finally)\s+)?", re.I)


def third_person(verb: str) -> str:
    """`propose` → `proposes`, `study` → `studies`; past or already inflected forms are left alone."""
    low = verb.lower()
    if not low.isalpha() or low.endswith("ed") or (low.endswith("s") and not low.endswith(("ss", "us"))):
        return verb
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _subject(text: str) -> re.Match[str] | None:
    m = _SUBJECT.search(text)
    return m if m and (m.start() <= 12 or text[: m.start()].rstrip().endswith((",", ":"))) else None


def verb_headed(sentence: str) -> bool:
    """Whether `compress` heads this sentence's line with the paper's verb ("We propose X" -> "Proposes X")."""
    text = " ".join(strip_citations(sentence).split())
    m = _subject(text)
    verb, _, tail = text[m.end() :].partition(" ") if m else ("", "", "")
    return bool(m and verb.isalpha() and tail)


def compress(sentence: str, max_words: int = MAX_WORDS) -> str:
    """One clause of at most `max_words` words, headed by what the paper does.

    "In this paper, we propose X, which ..." → "Proposes X, which ..." (a lead-in clause before
    "we" is dropped); a longer sentence is cut
    at the last clause boundary (comma, semicolon, dash) that keeps at least half the budget,
    else at the word limit with an ellipsis.
    """
    text = " ".join(strip_citations(sentence).split()).rstrip(" .")
    m = _subject(text)
    if m:
        rest = text[m.end() :]
        verb, _, tail = rest.partition(" ")
        if verb.isalpha() and tail:
            adverb = ""
            if verb.lower().endswith("ly") and not verb.lower().endswith("ply") and verb.lower() not in ("rely", "fly") and " " in tail:  # "we surprisingly find" -> "Surprisingly finds"
                adverb, (verb, _, tail) = f"{verb} ", tail.partition(" ")
            text = f"{adverb}{third_person(verb)} {tail}"
    text = text[:1].upper() + text[1:]
    words = text.split()
    if len(words) <= max_words:
        return text + "."
    head = " ".join(words[:max_words])
    cut = max(head.rfind(", "), head.rfind("; "), head.rfind(" \u2014 "), head.rfind(" - "))
    if cut >= len(head) // 2:
        return head[:cut].rstrip(" ,;") + "."
    return head.rstrip(" ,;:") + " \u2026"
