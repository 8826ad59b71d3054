"""Parse the `[n]` citations of a model answer and check each cited sentence against the cited abstract.

Called by the chains (qa, compare, digest) right after generation, and by the CLI/UI to render
warnings. Pure functions, no I/O: the embedding function is injected (tests pass a fake).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from assistant.papers import Citation, Hit, Sentence

log = logging.getLogger(__name__)

EmbedFn = Callable[[list[str]], np.ndarray]
"""Texts -> one L2-normalised row per text (cosine similarity is a dot product)."""

DEFAULT_THRESHOLD = 0.69
"""Minimum cosine (all-MiniLM-L6-v2) between a cited sentence and its best title/abstract sentence.

Chosen by `benchmarks/calibrate_support.py`: best F0.5 on SciFact dev claims vs topically close
non-supporting abstracts (support recall 0.73, close negatives passed 0.16; with the key-term check
0.56 / 0.12). On machine-written one-line summaries of ML papers the full check keeps 0.85 of true
summaries and passes 0.05 of summaries cited to the nearest wrong paper. Details in
benchmarks/results/support_calibration.md. A real paraphrase may fall below it: precision first.
"""

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


def _rewrite_markers(text: str, keep: Callable[[int], bool]) -> str:
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


def split_sentences(text: str) -> list[str]:
    """Sentences of an answer or abstract; citation markers stay with the sentence they follow.

    Robust to `e.g.`, `i.e.`, `et al.`, `Fig. 2`, decimals, hard-wrapped lines, bullet lists and
    `[1].` / `. [1]` at a sentence end. A sentence never starts with a lowercase letter (so
    `... stable. mBERT ...` stays one sentence: a merge is safer than a wrong split).
    """
    return [s for block in _blocks(text) for s in _split_block(block)]


# ---------------------------------------------------------------------------- key terms

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+\u2212]?\d+)?"
_NUMBER_TOKEN = re.compile(rf"[-+\u2212]?({_NUM})\s*(%|x|\u00d7)?", re.IGNORECASE)
_RANGE_TOKEN = re.compile(rf"({_NUM})[-\u2013]({_NUM})(%)?")
_MAGNITUDE_TOKEN = re.compile(r"(\d+(?:\.\d+)?)([kmbt])", re.IGNORECASE)
_MAGNITUDE_WORDS = {"k": "thousand", "m": "million", "b": "billion", "t": "trillion"}

_COMMON = frozenset(
    """the we this these that those paper papers it its they their our us in on for by with to and or
    but nor a an as at of from into however moreover furthermore additionally overall both first second
    third finally also then thus therefore hence here there yes no not note notably answer summary
    source sources reference references abstract abstracts title study studies authors author work
    results result method methods model models approach approaches framework figure table section
    appendix based according specifically while when unlike compared each all some many most other
    another one two three key main i you which what how why who where if so since because although
    instead rather please see evidence question proposed experiments introduction conclusion
    conclusions contributions contribution findings limitations overview background fig figs eq eqs
    sec ai ml ok""".split()
)
_STRIP_LEAD = "\"'\u201c\u201d\u2018\u2019([{<*_~$\u2248`"
_STRIP_TRAIL = "\"'\u201c\u201d\u2018\u2019)]}>*_`.,;:!?"


def _body(sentence: str) -> str:
    """The claim itself: no markers, list bullets or markdown emphasis."""
    text = _LIST_MARK.sub("", strip_citations(sentence))
    text = re.sub(r"\s+", " ", re.sub(r"[*`#]+", "", text)).strip()
    return text if re.search(r"[^\W_]", text) else ""


def _clean_token(raw: str) -> str:
    tok = raw.strip(_STRIP_LEAD + _STRIP_TRAIL)
    tok = re.sub(r"['\u2019]s$", "", tok)
    return tok.strip(_STRIP_LEAD + _STRIP_TRAIL)


def _trim_suffix(tok: str) -> str:
    """`CLIP-based` -> `CLIP`, `4-bit` -> `4`: trailing lowercase hyphen parts describe, they do not name."""
    parts = tok.split("-")
    while len(parts) > 1 and parts[-1].isalpha() and parts[-1].islower():
        parts.pop()
    return "-".join(parts)


def key_terms(sentence: str) -> set[str]:
    """Numbers and named things (methods, datasets, acronyms, models) the cited abstract must contain.

    A number is any numeric token (`3.5`, `40%`, `1e-4`, `2x`, `1,000`); a name is a token with a
    digit (`GPT-4`, `7B`), an inner capital (`ImageNet`, `LiDAR-PTQ`, `BERT`, `AdaWAC`) or a capital
    mid-sentence (`Adam`). Sentence-initial capitalised words and common words are ignored.
    """
    terms: set[str] = set()
    initial = True
    for raw in _body(sentence).replace("/", " ").split():
        tok = _trim_suffix(_clean_token(raw))
        was_initial, initial = initial, raw.endswith(":") or (initial and not tok)
        if not tok:
            continue
        if _NUMBER_TOKEN.fullmatch(tok) or _RANGE_TOKEN.fullmatch(tok):
            terms.add(tok)
        elif any(c.isdigit() for c in tok):
            terms.add(tok)
        elif any(c.isupper() for c in tok) and sum(c.isalpha() for c in tok) >= 2:
            if tok.lower() in _COMMON or tok.rstrip("s").lower() in _COMMON:
                continue
            ordinary = tok[0].isupper() and tok[1:] == tok[1:].lower()
            if not (ordinary and was_initial):
                terms.add(tok)
    return terms


# ---------------------------------------------------------------------------- term matching

_NUMBER_WORDS = {
    w: float(i)
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_NUMBER_WORDS |= {"thirty": 30.0, "forty": 40.0, "fifty": 50.0, "hundred": 100.0, "thousand": 1e3}
_NUM_IN_TEXT = re.compile(
    rf"(?<![\d.])({_NUM})(\s*(?:%|percent\b|\u00d7|x\b|times\b|-?fold\b))?", re.IGNORECASE
)
_POWER_IN_TEXT = re.compile(
    r"(?:(\d+(?:\.\d+)?)\s*(?:\u00d7|x|\\times|\*)\s*)?10\s*\^\s*\{?\s*([-\u2212]?\d+)\s*\}?", re.IGNORECASE
)
_WORD_NUM_IN_TEXT = re.compile(
    r"\b(" + "|".join(_NUMBER_WORDS) + r")(\s*(?:%|percent\b|times\b|-?fold\b))?", re.IGNORECASE
)
_FUNCTION_WORDS = frozenset("of for from and the with in on to a an via by based".split())


def _to_float(num: str) -> float:
    return float(num.replace(",", "").replace("\u2212", "-"))


def _unit(suffix: str | None) -> str:
    s = (suffix or "").strip().lower()
    if s in ("%", "percent"):
        return "%"
    return "x" if s else ""


def _numbers_in(text: str) -> list[tuple[float, str]]:
    """Every number stated in a text as (value, unit) with unit in {"", "%", "x"}."""
    found = [(_to_float(m.group(1)), _unit(m.group(2))) for m in _NUM_IN_TEXT.finditer(text)]
    for m in _POWER_IN_TEXT.finditer(text):
        found.append(((float(m.group(1)) if m.group(1) else 1.0) * 10.0 ** int(m.group(2).replace("\u2212", "-")), ""))
    found += [(_NUMBER_WORDS[m.group(1).lower()], _unit(m.group(2))) for m in _WORD_NUM_IN_TEXT.finditer(text)]
    if re.search(r"\btwice\b|\bdoubl", text, re.IGNORECASE):
        found.append((2.0, "x"))
    return found


def _number_in(value: float, unit: str, numbers: list[tuple[float, str]]) -> bool:
    """Same value (3e-4 == 0.0003, 3 != 30); a unit on the claim must be there too (40% != 40x)."""
    return any(math.isclose(value, v, rel_tol=1e-9, abs_tol=1e-12) and unit in ("", u) for v, u in numbers)


def _text_pattern(term: str) -> re.Pattern[str]:
    """`LiDAR-PTQ` matches `lidar ptq`, `LiDARPTQ`; `GPT-4` matches `GPT4`; plural/singular tolerated."""
    stem = term[:-1] if len(term) > 3 and term.endswith("s") and not term.endswith("ss") else term
    parts = re.findall(r"\d+(?:\.\d+)*|[^\W\d_]+", stem.lower())
    body = r"[\W_]{0,3}".join(re.escape(p) for p in parts)
    return re.compile(rf"(?<![^\W_]){body}(?:e?s|['\u2019]s)?(?![^\W_])", re.IGNORECASE)


def _acronym_in(acronym: str, text: str) -> bool:
    """`RLHF` is backed by "reinforcement learning from human feedback" (function words may be skipped)."""
    letters = acronym.lower()
    words = re.findall(r"[^\W\d_]+", text.lower())
    for i, first in enumerate(words):
        if first[0] != letters[0]:
            continue
        k, j = 0, i
        while j < len(words) and k < len(letters):
            if words[j][0] == letters[k]:
                k += 1
            elif words[j] not in _FUNCTION_WORDS:
                break
            j += 1
        if k == len(letters):
            return True
    return False


def _term_in(term: str, text: str, numbers: list[tuple[float, str]]) -> bool:
    """Whether a key term is stated in a text (numbers as numbers, names case/hyphen/plural-tolerant)."""
    num = _NUMBER_TOKEN.fullmatch(term)
    if num:
        return _number_in(_to_float(num.group(1)), _unit(num.group(2)), numbers)
    rng = _RANGE_TOKEN.fullmatch(term)
    if rng:
        unit = _unit(rng.group(3))
        return all(_number_in(_to_float(rng.group(g)), unit, numbers) for g in (1, 2))
    if _text_pattern(term).search(text):
        return True
    mag = _MAGNITUDE_TOKEN.fullmatch(term)
    if mag:
        word = _MAGNITUDE_WORDS[mag.group(2).lower()]
        return bool(re.search(rf"(?<![\d.]){re.escape(mag.group(1))}\s*{word}\b", text, re.IGNORECASE))
    letters = term[:-1] if term.endswith("s") else term
    if 2 <= len(letters) <= 8 and letters.isalpha() and letters.isupper():
        return _acronym_in(letters, text)
    return False


def missing_terms(sentence: str, abstract_text: str) -> list[str]:
    """The key terms of a sentence that the abstract text never states (sorted)."""
    numbers = _numbers_in(abstract_text)
    return sorted(t for t in key_terms(sentence) if not _term_in(t, abstract_text, numbers))


# ---------------------------------------------------------------------------- support checks


def _best(sentence_vec: np.ndarray, abstract_vecs: np.ndarray) -> tuple[int, float]:
    sims = abstract_vecs @ sentence_vec
    i = int(np.argmax(sims))
    return i, float(sims[i])


def check_support(
    sentence: str,
    abstract_sentences: list[str],
    abstract_text: str,
    embed: EmbedFn,
    threshold: float = DEFAULT_THRESHOLD,
) -> tuple[bool, float, str]:
    """Whether one abstract supports one sentence: (supported, best_similarity, best_abstract_sentence).

    Supported iff every key term of the sentence is stated in `abstract_text` and the sentence
    (citations stripped) has cosine >= threshold with one of `abstract_sentences` (pass the title too).
    """
    body = _body(sentence)
    candidates = [s for s in abstract_sentences if s.strip()]
    if not body or not candidates:
        return False, 0.0, ""
    vecs = np.asarray(embed([body, *candidates]), dtype=np.float32)
    i, sim = _best(vecs[0], vecs[1:])
    ok = sim >= threshold and not missing_terms(sentence, abstract_text)
    return ok, sim, candidates[i]


@dataclass
class PairCheck:
    """One (answer sentence, cited paper) check, kept for logs, benchmarks and debugging."""

    sentence: int
    n: int
    supported: bool
    similarity: float
    best_match: str
    missing_terms: list[str]


@dataclass
class AnswerCheck:
    """Everything `check_answer` found; `dropped` lists (sentence index, n) cites removed as unsupporting."""

    sentences: list[Sentence]
    citations: list[Citation]
    removed: list[int]
    dropped: list[tuple[int, int]] = field(default_factory=list)
    pairs: list[PairCheck] = field(default_factory=list)


def _embed_unique(embed: EmbedFn, texts: list[str]) -> dict[str, np.ndarray]:
    """One embedding call for all distinct texts (none when there is nothing to check)."""
    unique = list(dict.fromkeys(texts))
    return dict(zip(unique, np.asarray(embed(unique), dtype=np.float32))) if unique else {}


_KEY_STOP = frozenset(
    """the and for with from that this these those which their there then than into over under also
    such been being were have has had not but are was can our its they them more most both each
    other using used use based via paper papers method methods model models approach results""".split()
)


def _word_keys(text: str) -> set[str]:
    """Content words of a text, crudely stemmed (first 6 letters), for a cheap overlap test."""
    return {w[:6] for w in re.findall(r"[^\W\d_]{3,}", text.lower()) if w not in _KEY_STOP}


def paper_sentences(hit: Hit) -> list[str]:
    """What a cited sentence is compared with: the title and each abstract sentence."""
    return [hit.paper.title, *split_sentences(hit.paper.abstract)]


MAX_REFERENCES = 4
"""Abstract sentences a claim is compared with at most (besides the title), most shared words first."""


def _references(claim_keys: set[str], refs: list[str], ref_keys: list[set[str]]) -> list[str]:
    """The title (refs[0]) and the sentences sharing ≥ 2 content words with the claim, at most MAX_REFERENCES."""
    if not refs:
        return []
    shared = {j: len(claim_keys & keys) for j, keys in enumerate(ref_keys) if j}
    closest = sorted((j for j, n in shared.items() if n >= 2), key=lambda j: -shared[j])[:MAX_REFERENCES]
    return [refs[0], *(refs[j] for j in sorted(closest))]


def check_answer(
    raw: str, evidence: list[Hit], embed: EmbedFn, threshold: float = DEFAULT_THRESHOLD
) -> AnswerCheck:
    """Check a model answer against its evidence: checked sentences, citations, and what was removed.

    Citations come one per distinct valid cited number, in order of first appearance; `supported`
    means the paper supports at least one sentence that cites it. Rules: `evidence[i]` is `[i+1]`; numbers outside 1..len(evidence) are removed from the text and
    reported; a sentence without a valid citation is unsupported (no inheritance from the sentence
    before); a sentence is supported iff at least one cited paper supports it, and then only the
    supporting citations stay on it (the others are reported in `dropped`). An unsupported sentence
    keeps its valid citations so the reader sees what was claimed.
    """
    texts = split_sentences(raw)
    valid = range(1, len(evidence) + 1)
    removed = _unique(n for t in texts for n in parse_citations(t) if n not in valid)
    cleaned = [_rewrite_markers(t, lambda n: n in valid) for t in texts]
    cites = [parse_citations(t) for t in cleaned]
    bodies = [_body(t) for t in cleaned]

    cited_papers = _unique(n for c in cites for n in c)
    refs = {n: [s for s in paper_sentences(evidence[n - 1]) if s.strip()] for n in cited_papers}
    numbers = {n: _numbers_in(evidence[n - 1].paper.text) for n in cited_papers}
    # Compare a claim only with the title and the MAX_REFERENCES sentences that share most words with
    # it: a sentence with little in common does not reach the threshold, and not embedding it keeps
    # a check cheap. Fewer references can only turn "supported" into "unsupported", never the reverse.
    keys = {b: _word_keys(b) for b, c in zip(bodies, cites) if b and c}
    ref_keys = {n: [_word_keys(r) for r in rs] for n, rs in refs.items()}
    candidates = {(b, n): _references(keys[b], refs[n], ref_keys[n]) for b, c in zip(bodies, cites) if b and c for n in c}
    vectors = _embed_unique(embed, list(keys) + [r for rs in candidates.values() for r in rs])

    sentences: list[Sentence] = []
    pairs: list[PairCheck] = []
    dropped: list[tuple[int, int]] = []
    for i, (text, body, sent_cites) in enumerate(zip(cleaned, bodies, cites)):
        terms = key_terms(text)
        supporting: list[int] = []
        for n in sent_cites if body else []:
            pool = candidates[(body, n)]
            if not pool:
                continue
            j, sim = _best(vectors[body], np.stack([vectors[s] for s in pool]))
            paper_text = evidence[n - 1].paper.text
            missing = sorted(t for t in terms if not _term_in(t, paper_text, numbers[n]))
            ok = sim >= threshold and not missing
            pairs.append(PairCheck(i, n, ok, sim, pool[j], missing))
            if ok:
                supporting.append(n)
        if supporting:
            dropped += [(i, n) for n in sent_cites if n not in supporting]
            text = _rewrite_markers(text, lambda n: n in supporting)
            sentences.append(Sentence(text=text, cites=supporting, supported=True))
        else:
            sentences.append(Sentence(text=text, cites=sent_cites, supported=False))

    supported_papers = {p.n for p in pairs if p.supported}
    citations = [
        Citation(
            n=n,
            paper_id=evidence[n - 1].paper.paper_id,
            title=evidence[n - 1].paper.title,
            url=evidence[n - 1].paper.link,
            supported=n in supported_papers,
        )
        for n in cited_papers
    ]
    if removed or dropped:
        log.info("citations: removed out-of-range %s, dropped unsupporting %s", removed, dropped)
    return AnswerCheck(sentences, citations, removed, dropped, pairs)


def render_marked(sentences: list[Sentence], mark: str = "\u26a0 unsupported") -> str:
    """The answer as text for the CLI, each unsupported sentence suffixed with ` [mark]`."""
    out: list[str] = []
    for i, s in enumerate(sentences):
        if i:
            prev = sentences[i - 1].text
            new_line = _LIST_MARK.match(s.text) or _starts_with_cited_text(s.text)
            out.append("\n" if new_line or prev.startswith("#") or prev.endswith(":") else " ")
        out.append(s.text if s.supported else f"{s.text} [{mark}]")
    return "".join(out)
