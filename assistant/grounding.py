"""Grounding: whether a paper's abstract states a claim, and the words and numbers that decide it.

The one support check of the app. The QA chain (the answerability decision, the check of the
model's draft, the quoted fall-back), comparisons and digests all call it: one tokenizer
(`content_stems`), one stop list (`STOP_WORDS`), every threshold in `GroundingConfig`. Pure
functions, no I/O: the embedding function is injected (tests pass a fake).

Public entry points: `check_claim` (one claim against one paper), `check_answer` (a cited
draft against its evidence), `sentence_roles` (which abstract sentences state this paper's own
work), `key_terms` / `missing_terms` (names and numbers a claim needs the abstract to state).

Longer than our usual module on purpose: every rule that decides "the paper states this" lives
here, so that no other module grows its own tokenizer, stop list or cut-off.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

from assistant.citations import claim_body, keep_citations, parse_citations, split_sentences
from assistant.papers import Citation, Hit, Paper, Sentence

log = logging.getLogger(__name__)

EmbedFn = Callable[[list[str]], np.ndarray]
"""Texts -> one L2-normalised row per text (cosine similarity is a dot product)."""


@dataclass(frozen=True)
class GroundingConfig:
    """Every threshold of the support check and the answerability decision, with how it was set."""

    support_similarity: float = 0.69
    """Minimum cosine (all-MiniLM-L6-v2) between a claim and its best title/abstract sentence.
    `benchmarks/calibrate_support.py`: best F0.5 on SciFact dev claims vs topically close
    non-supporting abstracts (support recall 0.73, close negatives passed 0.16; with the key-term
    check 0.56 / 0.12). Details in benchmarks/results/support_calibration.md."""

    phrase_coverage: float = 0.75
    """Share of a short phrase's content words the abstract must state when its cosine is low
    (short phrases score low cosines against long sentences even when copied from them); the
    cut-off the comparison table's cells were checked with since they were introduced."""

    max_references: int = 4
    """Abstract sentences a claim is compared with at most (besides the title), most shared content
    words first. Fewer references can only turn "supported" into "unsupported", never the reverse."""

    min_shared_words: int = 2
    """Content words a sentence must share with a claim to be compared with it at all."""


GROUNDING = GroundingConfig()

# ---------------------------------------------------------------------------- words

STOP_WORDS = frozenset(
    """a an the of in on at to for from by with without about into over under between among via as
    and or but nor not no than then so if is are was were be been being do does did done doing has
    have had having can could may might must shall should will would it its this that these those
    there their them they he she his her we our us you your i me my what which who whom whose when
    where why how many much any some all each every both either neither other others such same own
    only just also very more most less least few several get gets got make makes made take takes
    took used using use uses say says said tell show shows shown reach reaches reached achieve
    achieves achieved give gives given according actually really exactly paper papers work works
    study studies article authors author approach approaches method methods technique techniques
    kind kinds type types way ways value values number numbers amount share fraction part one point
    points here however also based explain explained briefly brief tldr tl dr sentence sentences
    summary summarize summarise whats new compare compared comparison versus vs differ differs
    difference differences""".split()
)
"""Words that carry no content a claim or question must share with a sentence (the last line: words
that only say how to answer, "explain briefly", "tl;dr", "compare")."""

_WORD = re.compile(r"[^\W_]+(?:[-'\u2019][^\W_]+)*")


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer  # PyStemmer, the stemmer of the keyword index

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased words of a text; a hyphenated word counts whole, joined and as its parts."""
    out: list[str] = []
    for w in _WORD.findall(text.lower()):
        w = re.sub(r"['\u2019]s$", "", w)
        out.append(w)
        if "-" in w:
            parts = [p for p in w.split("-") if p]
            out += parts
            out.append("".join(parts))
    return out


def content_stems(text: str) -> set[str]:
    """Stems of a text's content words (no stop words, no bare numbers, no single letters)."""
    kept = [w for w in words(text) if w not in STOP_WORDS and len(w) > 1 and not w.isdigit()]
    return set(_stemmer().stemWords(kept))


def stem(word: str) -> str:
    return str(_stemmer().stemWord(word.lower()))


def coverage(claim: str, text: str) -> float:
    """Share of the claim's content words (stemmed) that the text states."""
    need = content_stems(claim)
    return len(need & content_stems(text)) / len(need) if need else 0.0


# ---------------------------------------------------------------------------- key terms

_NOT_NAMES = STOP_WORDS | frozenset(
    """moreover furthermore additionally overall first second third finally thus therefore hence yes
    note notably answer summary source sources reference references abstract abstracts title model
    models results result framework figure table section appendix specifically while unlike
    compared another two three key main since because although instead rather please see evidence
    question proposed experiments introduction conclusion conclusions contributions contribution
    findings limitations overview background fig figs eq eqs sec ai ml ok""".split()
)
"""Capitalised words that are never the name of a method, dataset or model ("Results", "Table")."""

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+\u2212]?\d+)?"
_NUMBER_TOKEN = re.compile(rf"[-+\u2212]?({_NUM})\s*(%|x|\u00d7)?", re.IGNORECASE)
_RANGE_TOKEN = re.compile(rf"({_NUM})[-\u2013]({_NUM})(%)?")
_MAGNITUDE_TOKEN = re.compile(r"(\d+(?:\.\d+)?)([kmbt])", re.IGNORECASE)
_MAGNITUDE_WORDS = {"k": "thousand", "m": "million", "b": "billion", "t": "trillion"}

_STRIP_LEAD = "\"'\u201c\u201d\u2018\u2019([{<*_~$\u2248`"
_STRIP_TRAIL = "\"'\u201c\u201d\u2018\u2019)]}>*_`.,;:!?"


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
    for raw in claim_body(sentence).replace("/", " ").split():
        tok = _trim_suffix(_clean_token(raw))
        was_initial, initial = initial, raw.endswith(":") or (initial and not tok)
        if not tok:
            continue
        if _NUMBER_TOKEN.fullmatch(tok) or _RANGE_TOKEN.fullmatch(tok):
            terms.add(tok)
        elif any(c.isdigit() for c in tok):
            terms.add(tok)
        elif any(c.isupper() for c in tok) and sum(c.isalpha() for c in tok) >= 2:
            if tok.lower() in _NOT_NAMES or tok.rstrip("s").lower() in _NOT_NAMES:
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
"""Words an acronym's expansion may skip ("RLHF" = reinforcement learning *from* human feedback)."""


def _to_float(num: str) -> float:
    return float(num.replace(",", "").replace("\u2212", "-"))


def _unit(suffix: str | None) -> str:
    s = (suffix or "").strip().lower()
    if s in ("%", "percent"):
        return "%"
    return "x" if s else ""


def numbers_in(text: str) -> list[tuple[float, str]]:
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


def term_in(term: str, text: str, numbers: list[tuple[float, str]]) -> bool:
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
    numbers = numbers_in(abstract_text)
    return sorted(t for t in key_terms(sentence) if not term_in(t, abstract_text, numbers))




# ---------------------------------------------------------------------------- whose work a sentence states

Role = Literal["title", "background", "own", "prior"]

_OWN_WORK = frozenset("we our ours us here propose proposes introduce introduces present presents".split())
_THIS_WORK = re.compile(r"\bthis (?:paper|work|study|article|report)\b|\bthe proposed\b", re.IGNORECASE)
_PRIOR_WORK = frozenset(
    "existing previous previously prior recent recently conventional traditional current earlier".split()
)


def _is_own(sentence: str) -> bool:
    return bool(_OWN_WORK & set(words(sentence))) or bool(_THIS_WORK.search(sentence))


def method_name(title: str) -> str:
    """The name a paper gives its own work: `Yarrow: Compressing Attention` -> `Yarrow` ("" if none)."""
    head = title.split(":", 1)[0].strip()
    return head if ":" in title and 0 < len(head.split()) <= 3 and head != head.lower() else ""


def sentence_roles(sentences: list[str], name: str = "") -> list[Role]:
    """Whose work each abstract sentence states, from the abstract's structure.

    An abstract opens with background and motivation, then turns to the paper's own work at its
    first "we ..." / "this paper ..." sentence or the first one naming its method (`name`, see
    `method_name`). A sentence about "existing" / "previous" / "recent" work that speaks neither
    of "we" nor of the paper's method is `prior`; other sentences before the turn are
    `background`, the rest `own`. An abstract that never says "we" is all `own`.
    """
    named = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)") if name else None
    owns = [_is_own(s) or bool(named and named.search(s)) for s in sentences]
    first_own = next((i for i, own in enumerate(owns) if own), 0)
    roles: list[Role] = []
    for i, (s, own) in enumerate(zip(sentences, owns)):
        if not own and _PRIOR_WORK & set(words(s)):
            roles.append("prior")
        elif i < first_own:
            roles.append("background")
        else:
            roles.append("own")
    return roles


# ---------------------------------------------------------------------------- one claim, one paper


@dataclass
class Support:
    """Whether a paper supports a claim, and why: the closest sentence, what was missing."""

    supported: bool
    similarity: float
    """Cosine with the closest sentence of this paper's own work (or its title)."""
    best_sentence: str
    missing_terms: list[str] = field(default_factory=list)
    coverage: float = 0.0
    attributed_elsewhere: bool = False
    """The claim matches a background or prior-work sentence, not one about this paper's work."""


@dataclass(frozen=True)
class _PaperText:
    sentences: list[str]  # the title first, then the abstract's sentences
    roles: list[Role]
    stems: list[set[str]]
    numbers: list[tuple[float, str]]


@lru_cache(maxsize=4096)
def _paper_text(title: str, abstract: str) -> _PaperText:
    sents = split_sentences(abstract) or ([abstract] if abstract.strip() else [])
    sentences = [title, *sents]
    return _PaperText(sentences, ["title", *sentence_roles(sents, method_name(title))], [content_stems(s) for s in sentences], numbers_in(f"{title}. {abstract}"))


def check_claim(
    claim: str,
    paper: Paper,
    embed: EmbedFn,
    *,
    own_work: bool = True,
    phrase: bool = False,
    config: GroundingConfig = GROUNDING,
) -> Support:
    """Whether `paper`'s title and abstract state `claim` (citation markers in it are ignored).

    Supported when every key term of the claim (numbers, names, acronyms) is stated in the paper
    and the claim is close (cosine >= `config.support_similarity`) to the title or one of the
    sentences that share most of its words. With `own_work` (the default: "paper [n] does X"),
    only the title and sentences about the paper's own work count, never its background or its
    account of prior work. With `phrase` (a short extracted phrase, e.g. a table cell), stating
    `config.phrase_coverage` of its content words is enough.
    """
    body = claim_body(claim)
    text = _paper_text(paper.title, paper.abstract)
    if not body or not any(s.strip() for s in text.sentences):
        return Support(False, 0.0, "")
    paper_all = f"{paper.title}. {paper.abstract}"
    missing = sorted(t for t in key_terms(body) if not term_in(t, paper_all, text.numbers))
    claim_stems = content_stems(body)
    shared = {j: len(claim_stems & text.stems[j]) for j in range(1, len(text.sentences))}
    close = sorted((j for j, n in shared.items() if n >= config.min_shared_words), key=lambda j: -shared[j])
    pool = [0, *sorted(close[: config.max_references])]
    pool = [j for j in pool if text.sentences[j].strip()]
    vecs = np.asarray(embed([body, *(text.sentences[j] for j in pool)]), dtype=np.float32)
    sims = vecs[1:] @ vecs[0]
    allowed = [i for i, j in enumerate(pool) if not own_work or text.roles[j] in ("title", "own")]
    best = max(allowed, key=lambda i: sims[i]) if allowed else int(np.argmax(sims))
    sim = float(sims[best]) if allowed else 0.0
    cover = coverage(body, " ".join(text.sentences[j] for j in range(len(text.sentences)) if not own_work or text.roles[j] in ("title", "own")))
    close_enough = sim >= config.support_similarity or (phrase and cover >= config.phrase_coverage)
    elsewhere = float(sims.max()) >= config.support_similarity and not close_enough
    return Support(
        supported=close_enough and not missing,
        similarity=round(sim, 4),
        best_sentence=text.sentences[pool[best]],
        missing_terms=missing,
        coverage=round(cover, 3),
        attributed_elsewhere=elsewhere,
    )


# ---------------------------------------------------------------------------- a cited draft


@dataclass
class PairCheck:
    """One (answer sentence, cited paper) check, kept for logs, benchmarks and debugging."""

    sentence: int
    n: int
    support: Support


@dataclass
class AnswerCheck:
    """Everything `check_answer` found; `dropped` lists (sentence index, n) cites removed as unsupporting."""

    sentences: list[Sentence]
    citations: list[Citation]
    removed: list[int]
    dropped: list[tuple[int, int]] = field(default_factory=list)
    pairs: list[PairCheck] = field(default_factory=list)


def check_answer(raw: str, evidence: list[Hit], embed: EmbedFn, config: GroundingConfig = GROUNDING) -> AnswerCheck:
    """Check a cited draft against its evidence (`evidence[i]` is `[i+1]`) with `check_claim`.

    Numbers outside 1..len(evidence) are removed from the text and reported; a sentence without a
    valid citation is unsupported (no inheritance from the sentence before); a sentence is
    supported iff at least one cited paper supports it, and then only the supporting citations
    stay on it (the others are reported in `dropped`). An unsupported sentence keeps its valid
    citations so the reader sees what was claimed. Citations come one per distinct valid cited
    number, in order of first appearance; `supported` means the paper supports at least one
    sentence that cites it.
    """
    texts = split_sentences(raw)
    valid = range(1, len(evidence) + 1)
    removed = list(dict.fromkeys(n for t in texts for n in parse_citations(t) if n not in valid))
    cleaned = [keep_citations(t, lambda n: n in valid) for t in texts]
    sentences: list[Sentence] = []
    pairs: list[PairCheck] = []
    dropped: list[tuple[int, int]] = []
    for i, text in enumerate(cleaned):
        cites = parse_citations(text)
        supporting: list[int] = []
        for n in cites if claim_body(text) else []:
            support = check_claim(text, evidence[n - 1].paper, embed, config=config)
            pairs.append(PairCheck(i, n, support))
            if support.supported:
                supporting.append(n)
        if supporting:
            dropped += [(i, n) for n in cites if n not in supporting]
            sentences.append(Sentence(text=keep_citations(text, lambda n: n in supporting), cites=supporting, supported=True))
        else:
            sentences.append(Sentence(text=text, cites=cites, supported=False))
    supported_papers = {p.n for p in pairs if p.support.supported}
    cited = list(dict.fromkeys(n for t in cleaned for n in parse_citations(t)))
    citations = [
        Citation(
            n=n, paper_id=evidence[n - 1].paper.paper_id, title=evidence[n - 1].paper.title,
            url=evidence[n - 1].paper.link, supported=n in supported_papers,
        )
        for n in cited
    ]
    if removed or dropped:
        log.info("citations: removed out-of-range %s, dropped unsupporting %s", removed, dropped)
    return AnswerCheck(sentences, citations, removed, dropped, pairs)
