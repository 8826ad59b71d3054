"""Compressing an abstract sentence into one line headed by what the paper does.

Used by takeaways (`chains.takeaway`) and by the summary editing in `chains.support`, which
rewrites first-person quotes ("we propose X") to name their paper. A line never speaks as the
authors: "we"/"our"/"us" left after the subject is rewritten become "the paper"/"its"/"the authors".
"""

from __future__ import annotations

import re

from assistant.citations import strip_citations

MAX_WORDS = 30

# The subject a line drops: "we", "this paper", or both ("in this paper we present X": not "Wes present X").
_DOC = r"this (?:paper|work|study|article|report)"
_SUBJECT = re.compile(
    rf"\b(?:(?:{_DOC},?\s+)?we|{_DOC})\s+(?:(?:also|further|then|first|here|still|thus|therefore|finally)\s+)?", re.I
)


_AUX = {"are": "is", "were": "was", "have": "has", "do": "does", "am": "is"}
_MODAL = frozenset("can could may might must shall should will would cannot".split())
_FIXED = _MODAL | {"did", "does", "has", "had", "is", "was"}  # the same after "we" and after "the paper"
_ADVERBS = frozenset("also further then first here still thus therefore finally additionally now instead".split())


def _adverb(word: str) -> bool:
    low = word.lower().strip(",")
    return low in _ADVERBS or (low.endswith("ly") and not low.endswith("ply") and low not in ("rely", "fly", "apply", "reply"))


def third_person(verb: str) -> str:
    """`propose` → `proposes`, `study` → `studies`, `have` → `has`; modals ("can"), past or already
    inflected forms are left alone."""
    low = verb.lower()
    if low in _AUX:
        return _AUX[low].capitalize() if verb[:1].isupper() else _AUX[low]
    if not low.isalpha() or low in _FIXED or low.endswith("ed") or (low.endswith("s") and not low.endswith(("ss", "us"))):
        return verb
    if low.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if low.endswith("y") and len(low) > 1 and low[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _we_clause(words: list[str], i: int) -> tuple[list[str], int]:
    """`words[i]` is "we": ("the paper" and the adverbs and verb after it, the index past them); the
    verb goes to the third person unless a modal or auxiliary came first ("should we use")."""
    after_modal = i > 0 and words[i - 1].lower() in _FIXED | set(_AUX)
    j = i + 1
    while j < len(words) - 1 and _adverb(words[j]):
        j += 1
    out = ["The paper" if words[i][0].isupper() else "the paper", *words[i + 1 : j]]
    if j < len(words):
        verb = words[j]
        core = re.match(r"[A-Za-z]*", verb).group()  # type: ignore[union-attr]  # "uncover--and" -> "uncover"
        if not after_modal and core and core.islower():
            verb = third_person(core) + verb[len(core) :]
        out.append(verb)
        j += 1
    return out, j


def no_first_person(text: str) -> str:
    """The text with the authors' voice replaced: "we find" → "the paper finds", "our model" → "its model"
    ("The model" when it opens the text), "us" → "the authors"."""
    words = text.split()
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        core = word.strip("\"'(\u201c\u2018").rstrip(",.;:?!\"')\u201d\u2019")
        low = core.lower()
        lead, tail = word[: word.find(core)], word[word.find(core) + len(core) :]
        if low == "we" and not tail:
            clause, i = _we_clause(words, i)
            out += [lead + clause[0], *clause[1:]]
            continue
        if low == "we":  # "we," or "we." ends a phrase: no verb to inflect
            out.append(lead + ("The paper" if core[0].isupper() else "the paper") + tail)
        elif low in ("our", "ours"):
            mine = "its" if low == "our" else "its own"
            mine = ("The" if low == "our" else "Its own") if not out else mine
            out.append(lead + mine + tail)
        elif low == "us":
            out.append(lead + "the authors" + tail)
        else:
            out.append(word)
        i += 1
    return " ".join(out)


def lower_first(text: str) -> str:
    """`text` to follow a lead-in ("in one paper, a key ingredient ..."): its first letter lower-cased
    unless its first word is an acronym or a name ("LLMs", "GridQ")."""
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first[1:].islower() or first == "A" else text


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
            if _adverb(verb) and " " in tail:  # "we surprisingly find" -> "Surprisingly finds"
                adverb, (verb, _, tail) = f"{verb} ", tail.partition(" ")
            text = f"{adverb}{third_person(verb)} {tail}"
    text = no_first_person(text)
    text = text[:1].upper() + text[1:]
    words = text.split()
    if len(words) <= max_words:
        return text if text.endswith(("?", "!")) else text + "."
    head = " ".join(words[:max_words])
    cut = max(head.rfind(", "), head.rfind("; "), head.rfind(" \u2014 "), head.rfind(" - "))
    if cut >= len(head) // 2:
        return head[:cut].rstrip(" ,;") + "."
    return head.rstrip(" ,;:") + " \u2026"
