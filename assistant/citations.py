"""The text side of citations: `[n]` markers, sentence splitting, and rendering checked sentences.

Called by the grounding check (`assistant/chains/grounding.py`), the chains and the CLI/UI. Pure
functions on strings, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from assistant.papers import Sentence

MAX_RANGE = 20
"""`[a-b]` with a wider span is not expanded (only a and b are taken): guards against `[1-100000]`."""

# ---------------------------------------------------------------------------- citation markers

_SEP = r"(?:\s*,\s*and\s+|\s*[,;]\s*|\s*[-\u2010-\u2014]\s*|\s+and\s+)"
_GROUP = rf"\[\s*\d+(?:{_SEP}\d+)*\s*\]"
_GROUP_RE = re.compile(_GROUP)
CITE_RE = re.compile(rf"{_GROUP}(?:[ \t]*{_GROUP})*")
"""A run of citation markers: `[1]`, `[1, 2]`, `[1; 2]`, `[1][2]`, `[1] [2]`, `[1-3]`, `[1 and 2]`."""

_RANGE_RE = re.compile(r"(\d+)\s*[-\u2010-\u2014]\s*(\d+)")


def _group_numbers(group: str) -> list[int]:
    """Numbers of one bracket group, ranges expanded (`[1-3]` -> 1, 2, 3)."""
    out: list[int] = []
    for part in re.split(r"\s*(?:[,;]|\band\b)\s*", group.strip("[] \t")):
        rng = _RANGE_RE.fullmatch(part)
        if rng:
            lo, hi = sorted((int(rng.group(1)), int(rng.group(2))))
            out.extend(range(lo, hi + 1) if hi - lo <= MAX_RANGE else (lo, hi))
        elif part.isdigit():
            out.append(int(part))
    return out


def _marker_numbers(marker: str) -> list[int]:
    return [n for group in _GROUP_RE.findall(marker) for n in _group_numbers(group)]


def _unique(items: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(items))


def parse_citations(sentence: str) -> list[int]:
    """Cited numbers in order of first appearance, without duplicates (`[2][1, 2]` -> [2, 1])."""
    return _unique(n for m in CITE_RE.finditer(sentence) for n in _marker_numbers(m.group()))


def _tidy(text: str) -> str:
    """Repair spacing left behind by removed markers (`foo [9].` -> `foo.`), keeping newlines."""
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"[ \t]+([.,;:!?)])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def keep_citations(text: str, keep: Callable[[int], bool]) -> str:
    """Replace every marker run by `[a][b]` of the numbers kept (deduplicated), or nothing."""

    def repl(m: re.Match[str]) -> str:
        return "".join(f"[{n}]" for n in _unique(_marker_numbers(m.group())) if keep(n))

    return _tidy(CITE_RE.sub(repl, text))


def strip_citations(text: str) -> str:
    """The text without any citation marker, spacing repaired."""
    return _tidy(CITE_RE.sub("", text))


_FILLER = frozenset(
    """see refer referred to according source sources paper papers reference references ref refs cf
    answer answers is are the a an in and also for details detail more information info evidence
    abstract abstracts article articles please as described shown discussed mentioned by of given
    provided stated reported found be can it this that which here question study studies work
    document documents context above below following""".split()
)


def is_bare_citation(text: str) -> bool:
    """True when the text cites something but says nothing else (`[1]`, `[1][2]`, `See [1].`)."""
    if not CITE_RE.search(text):
        return False
    words = re.findall(r"[^\W_]+", strip_citations(text).lower())
    return all(w in _FILLER for w in words)


# ---------------------------------------------------------------------------- sentence splitting

_LIST_MARK = re.compile(r"^\s*(?:[-*\u2022\u2013]\s+|\d{1,2}[.)]\s+|#{1,6}\s+|>\s*)")
_TERMINATOR = re.compile(r"[.!?]+[\"'\u201d\u2019)]*")
_CITE_AFTER = re.compile(rf"\s*{CITE_RE.pattern}(?:\s*[.!?])?")
# Abbreviations whose period never ends a sentence, and those that do not when a number follows.
_ABBREV_ALWAYS = frozenset("e.g i.e al vs cf approx resp viz incl esp w.r.t a.k.a".split())
_ABBREV_BEFORE_NUMBER = frozenset("fig figs eq eqs sec secs tab tabs no nos ref refs ch app alg thm vol pp p".split())


def _starts_with_cited_text(line: str) -> bool:
    """`[1] Some title` (a reference-list line), as opposed to a line holding only markers."""
    m = CITE_RE.match(line.lstrip())
    return bool(m) and bool(re.search(r"\w", line.lstrip()[m.end() :]))


def _blocks(text: str) -> list[str]:
    """Join hard-wrapped lines; blank lines, list items, headings and `[n] ...` lines start new blocks."""
    blocks: list[list[str]] = []
    new_block = True
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            new_block = True
            continue
        if blocks and CITE_RE.search(line) and re.fullmatch(r"[\s.!?]*", CITE_RE.sub("", line)):
            blocks[-1].append(line)  # a line of markers belongs to the sentence above it
        elif new_block or not blocks or _LIST_MARK.match(line) or _starts_with_cited_text(line):
            blocks.append([line])
        else:
            blocks[-1].append(line)
        new_block = line.startswith("#") or line.endswith(":")
    return [re.sub(r"\s+", " ", " ".join(lines)) for lines in blocks]


_NEXT_CHAR = re.compile(r"\s*(\S)")


def _next_char(block: str, pos: int) -> str:
    """The first non-space character at or after `pos` ("" at the end)."""
    m = _NEXT_CHAR.match(block, pos)
    return m.group(1) if m else ""


def _is_abbreviation(block: str, dot: int) -> bool:
    """Whether the period at `dot` closes an abbreviation such as `e.g.`, `et al.`, `Fig. 2`."""
    m = re.search(r"(\S+)$", block[max(0, dot - 24) : dot])
    if not m:
        return False
    word = m.group(1).lstrip("([{\"'\u201c\u2018").lower()
    if word in _ABBREV_ALWAYS:
        return True
    nxt = _next_char(block, dot + 1)
    return word in _ABBREV_BEFORE_NUMBER and (nxt.isdigit() or nxt == "(")


def _split_block(block: str) -> list[str]:
    cuts: list[int] = []
    start = 0
    for m in _TERMINATOR.finditer(block):
        if m.start() < start:
            continue  # inside markers already attached to the previous sentence
        end = m.end()
        if m.group().rstrip("\"'\u201d\u2019)") == "." and _is_abbreviation(block, m.start()):
            continue
        if end - start <= 4 and re.fullmatch(r"\s*\d{1,2}\.", block[start:end]):
            continue  # `1. First item` is a list number, not a sentence
        markers = _CITE_AFTER.match(block, end)
        if markers:
            # `... end. [1] Next` -> the marker closes this sentence; `... end. [2] proposes` -> it opens the next.
            cut = end if _next_char(block, markers.end()).islower() else markers.end()
        else:
            nxt = _next_char(block, end)
            if not nxt:
                break
            if not block[end].isspace() or nxt.islower():
                continue
            cut = end
        cuts.append(cut)
        start = cut
    pieces = [block[a:b] for a, b in zip([0, *cuts], [*cuts, len(block)])]
    return [q.strip() for p in pieces for q in _split_at_markers(p) if q.strip()]


_MARKER_THEN_CAPITAL = re.compile(rf"{CITE_RE.pattern}(?=\s+[A-Z])")


def _split_at_markers(piece: str) -> list[str]:
    """`<junk> [1] Fact sentence [1].` is two claims: a marker followed by a capital ends one.

    Only after at least three words, so `In [1] BERT ...` stays whole.
    """
    out: list[str] = []
    start = 0
    for m in _MARKER_THEN_CAPITAL.finditer(piece):
        if len(re.findall(r"[^\W_]+", piece[start : m.start()])) >= 3:
            out.append(piece[start : m.end()])
            start = m.end()
    out.append(piece[start:])
    return out


def claim_body(sentence: str) -> str:
    """The claim itself: no markers, list bullets or markdown emphasis ("" when no word is left)."""
    text = _LIST_MARK.sub("", strip_citations(sentence))
    text = re.sub(r"\s+", " ", re.sub(r"[*`#]+", "", text)).strip()
    return text if re.search(r"[^\W_]", text) else ""


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer or abstract; citation markers stay with the sentence they follow.

    Robust to `e.g.`, `i.e.`, `et al.`, `Fig. 2`, decimals, hard-wrapped lines, bullet lists and
    `[1].` / `. [1]` at a sentence end. A sentence never starts with a lowercase letter (so
    `... stable. mBERT ...` stays one sentence: a merge is safer than a wrong split).
    """
    return [s for block in _blocks(text) for s in _split_block(block)]


UNVERIFIED_NOTE = "not verified against the cited abstract"


def unverified_note(sentence: Sentence) -> str:
    """The neutral note on a sentence the check could not verify, quoting the abstract's closest sentence."""
    return f"{UNVERIFIED_NOTE}; it says: \u201c{sentence.quote}\u201d" if sentence.quote else UNVERIFIED_NOTE


def render_marked(sentences: list[Sentence], mark: str = "\u26a0 unsupported") -> str:
    """The answer as text for the CLI, each unsupported sentence suffixed with ` [mark]`, each unverified
    one with what the abstract says instead (neutral: the check could not confirm it, nothing more)."""
    out: list[str] = []
    for i, s in enumerate(sentences):
        if i:
            prev = sentences[i - 1].text
            new_line = _LIST_MARK.match(s.text) or _starts_with_cited_text(s.text)
            out.append("\n" if new_line or prev.startswith("#") or prev.endswith(":") else " ")
        if s.supported:
            out.append(s.text)
        elif s.unverified:
            out.append(f"{s.text} [{unverified_note(s)}]")
        else:
            out.append(f"{s.text} [{mark}]")
    return "".join(out)
