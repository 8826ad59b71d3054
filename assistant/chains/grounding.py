"""Grounding: whether a paper's abstract states a claim.

The one support check of the app. The QA chain (the check of the model's draft, the "which papers"
lines), comparisons and digests all call it; every threshold is in `GroundingConfig`. It reads texts
with the words, names and numbers of `chains/answerable.py` (the judge of a question reads the
question with the same ones: one tokenizer, one stop list). Pure functions, no I/O: the embedding
function is injected (tests pass a fake).

Public entry points: `check_claim` (one claim against one paper), `check_answer` (a cited
draft against its evidence), `missing_terms` / `coverage` (what of a claim a text states).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from assistant.chains.answerable import (
    Role, content_stems, key_terms, method_name, numbers_in, own_work_marks, sentence_roles, term_in,
)
from assistant.chains.calibration import load
from assistant.chains.grounding_config import GROUNDING, GroundingConfig
from assistant.chains.polarity import direction_conflicts, negation_flips, opposite_swaps, unstated_restriction
from assistant.citations import claim_body, keep_citations, parse_citations, split_sentences
from assistant.papers import Citation, Hit, Paper, Sentence

log = logging.getLogger(__name__)

EmbedFn = Callable[[list[str]], np.ndarray]
"""Texts -> one L2-normalised row per text (cosine similarity is a dot product)."""


# ---------------------------------------------------------------------------- what of a claim a text states


def coverage(claim: str, text: str) -> float:
    """Share of the claim's content words (stemmed) that the text states."""
    need = content_stems(claim)
    return len(need & content_stems(text)) / len(need) if need else 0.0


def missing_terms(sentence: str, abstract_text: str) -> list[str]:
    """The key terms of a sentence that the abstract text never states (sorted)."""
    numbers = numbers_in(abstract_text)
    return sorted(t for t in key_terms(claim_body(sentence)) if not term_in(t, abstract_text, numbers))


# ---------------------------------------------------------------------------- one claim, one paper

SUPPORT_FEATURES = (
    "cosine", "coverage", "best_coverage", "window_coverage", "prior_words", "negation", "opposite", "unattributed",
    "direction", "negated_near", "restriction",
)
"""Per (claim, paper): cosine with the closest title or own-work sentence; shares of the content words it
says of the paper stated by the paper's own work, by the single sentence stating most of them, by the best
window of two adjacent allowed sentences, and only where the abstract speaks of other work (background,
prior work, "than ..." / "outperforming previous ..." clauses); the share of its words that the sentence
stating most of them negates and the claim does not, or the reverse (`negation_flips`); whether that
sentence or the closest one says an opposite of a claim's word in its place (`opposite_swaps`: WordNet's
antonyms by meaning, with derived and graded forms, "widen" / "narrow", "larger" / "smaller"); whether
neither that sentence nor the closest one is the title or says it is the paper's own work (`own_work_marks`);
whether one of the sentences closest to the claim (any role, `near_sentences`) says the opposite way of a shared
word ("decreases the risk" against "the highest risk", `direction_conflicts`) or negates a word of it the claim does
not (or the reverse); and whether the claim narrows itself with "only" / "every" / "same" where neither that sentence
nor the closest one does (`unstated_restriction`). Tried and
weighted zero or no better out of fold on dev (left out): whether those sentences only ask what the claim asserts
("we explore whether X alleviates Y"), a direction the claim gives a word those sentences state without one,
the direction cue on the two sentences alone next to it on the closest ones, closeness to a background sentence, words the
abstract never states, a hand-written lexicon of opposite words, one learned from SciFact's contradicting claims, a
logistic head on the claim's and the sentence's embeddings ([u*v, |u-v|], fitted on SciFact train), and an
opposite counted only when a neighbouring word of it is a neighbour in the sentence too."""


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
    probability: float = 0.0
    """The `support` model's probability that the paper states the claim (0 when a key term is missing)."""
    features: dict[str, float] = field(default_factory=dict)
    unverified: bool = False
    """Not supported, but not shown as unsupported either: every key term is stated and the probability is
    between `unverified_probability` and `support_probability` (a paraphrase the check cannot confirm)."""


_COMPARED = frozenset(
    "than unlike compared previous previously prior existing baseline baselines counterpart counterparts conventional "
    "traditional outperform outperforms outperforming surpass surpasses surpassing instead rather whereas".split()
)
"""Words after which a clause speaks of other work, not the paper's own ("outperforming the previous
state of the art (FID 6.47)", "friendlier than non-uniform counterparts", "instead of KL divergence")."""

_CLAUSE = re.compile(r"(\([^)]*\)|[,;])")


def own_clauses(sentence: str) -> tuple[str, str]:
    """A sentence split into what it says of the paper's own work and what of other work: the text from
    a `_COMPARED` word to the end of its clause (and a parenthesis right after it) is other work."""
    own: list[str] = []
    other: list[str] = []
    compared = False
    for part in _CLAUSE.split(sentence):
        if part.startswith("("):
            (other if compared else own).append(part)
            continue
        compared = False
        if part in (",", ";"):
            continue
        tokens = part.split()
        cut = next((i for i, t in enumerate(tokens) if t.lower().strip(".:!?\"'") in _COMPARED), None)
        if cut is not None:
            compared = True
            other.append(" ".join(tokens[cut:]))
            tokens = tokens[:cut]
        own.append(" ".join(tokens))
    return " ".join(own), " ".join(other)


@dataclass(frozen=True)
class _PaperText:
    sentences: list[str]  # the title first, then the abstract's sentences
    roles: list[Role]
    stems: list[set[str]]  # content stems each states of the paper's own work (all, in background/prior ones)
    other: list[set[str]]  # content stems each states only of other work (compared clauses)
    marked: list[bool]  # the title, and each sentence that says it is the paper's own work (`own_work_marks`)
    numbers: list[tuple[float, str]]


@lru_cache(maxsize=4096)
def _paper_text(title: str, abstract: str) -> _PaperText:
    sents = split_sentences(abstract) or ([abstract] if abstract.strip() else [])
    sentences = [title, *sents]
    parts = [own_clauses(s) for s in sentences]
    name = method_name(title)
    return _PaperText(
        sentences, ["title", *sentence_roles(sents, name)], [content_stems(o) for o, _ in parts],
        [content_stems(x) for _, x in parts], [True, *own_work_marks(sents, name)], numbers_in(f"{title}. {abstract}"),
    )


_REFERS = frozenset("paper work study approach method framework technique algorithm authors it its they their this we our proposed".split())
"""Words that, among a claim's first three, make it a statement about the cited paper ("The method uses ...")."""


def about_paper(claim: str, text: _PaperText) -> bool:
    """Whether a claim speaks of the cited paper's work (then only its own work may support it) rather than
    of what its abstract says of anyone ("Model merging combines several models [3]."): a citation marker or
    a word like "paper", "method", "it", "this" among its first three words, or a name the title or an
    own-work sentence states and no background or prior-work sentence does (the paper's method, "Nash-MP")."""
    head = claim.split()[:3]
    if any(parse_citations(w) for w in head) or _REFERS & {w.lower().strip(",.:;") for w in head}:
        return True
    own = " ".join(t for t, r in zip(text.sentences, text.roles) if r in ("title", "own"))
    other = " ".join(t for t, r in zip(text.sentences, text.roles) if r not in ("title", "own"))
    named = key_terms(claim_body(claim))
    return any(term_in(t, own, []) and not term_in(t, other, []) for t in named if not t[0].isdigit())


_OWN: frozenset[Role] = frozenset({"title", "own"})
_STATED: frozenset[Role] = frozenset({"title", "own", "background"})
_ALL: frozenset[Role] = frozenset({"title", "own", "background", "prior"})


def _measure(body: str, text: _PaperText, embed: EmbedFn, allowed: frozenset[Role]) -> tuple[dict[str, float], int, float]:
    """`SUPPORT_FEATURES` of a claim body against a paper's text (supported only by sentences whose role is
    `allowed`), the index of its closest allowed sentence and the claim's best cosine with any sentence."""
    idx = [j for j, s in enumerate(text.sentences) if s.strip()]
    vecs = np.asarray(embed([body, *(text.sentences[j] for j in idx)]), dtype=np.float32)
    sims = dict(zip(idx, (vecs[1:] @ vecs[0]).tolist()))
    own = [j for j in idx if text.roles[j] in allowed]
    own_work = allowed == _OWN
    other = [j for j in idx if j not in own]
    best = max(own, key=lambda j: sims[j]) if own else max(idx, key=lambda j: sims[j])
    cosine = sims[best] if own else 0.0
    # What the claim says of other work ("outperforms the previous best") may be stated anywhere; of the paper, as its own.
    said = own_clauses(body)[0]
    need = content_stems(said) or content_stems(body)
    # Unless the claim is about the paper's own work, every clause of an allowed sentence counts.
    stems = text.stems if own_work else [a | b for a, b in zip(text.stems, text.other)]
    own_stems = set().union(*(stems[j] for j in own)) if own else set()
    other_stems = set().union(*(stems[j] for j in other), *(text.other[j] for j in idx if own_work))
    share = (lambda have: len(need & have) / len(need)) if need else (lambda have: 0.0)
    # A paraphrase often joins the sentence that names the method to the next one, which says what it
    # does ("... dubbed ShrinkMatch. For each uncertain sample, it adaptively seeks a shrunk class space").
    allowed_set = set(own)
    windows = [stems[j] | (stems[j + 1] if j + 1 in allowed_set else set()) for j in own]
    worded = max(own, key=lambda j: (share(stems[j]), sims[j])) if own else best
    top = max(sims.values())
    ranked = sorted(idx, key=lambda j: -sims[j])[:GROUNDING.near_sentences]
    near = {worded, best, *(j for j in ranked if sims[j] >= top - GROUNDING.near_margin)}
    feats = {
        "cosine": cosine,
        "coverage": share(own_stems),
        "best_coverage": share(stems[worded]),
        "window_coverage": max(map(share, windows), default=0.0),
        "prior_words": share(other_stems - own_stems),
        # Word by word against the sentence stating most of the claim's words ("does not require ... a predictor network").
        "negation": negation_flips(body, text.sentences[worded]),
        "opposite": max(opposite_swaps(body, text.sentences[j]) for j in {worded, best}),
        "unattributed": float(not (text.marked[best] or text.marked[worded])),
        "direction": direction_conflicts(body, [text.sentences[j] for j in near]),
        "negated_near": max(float(negation_flips(body, text.sentences[j]) > 0) for j in near),
        "restriction": min(unstated_restriction(body, text.sentences[j]) for j in {worded, best}),
    }
    return feats, best, top


def _allowed(claim: str, text: _PaperText, own_work: bool, phrase: bool) -> frozenset[Role]:
    """The sentence roles that may support a claim: own work for a claim about the paper (and for a
    phrase, when `own_work`); also the background for a claim about the field; anything without `own_work`.
    Never the abstract's account of prior work for a claim checked with `own_work`."""
    if not own_work:
        return _ALL
    return _OWN if phrase or about_paper(claim, text) else _STATED


def claim_features(claim: str, paper: Paper, embed: EmbedFn, *, own_work: bool = True) -> dict[str, float]:
    """The `SUPPORT_FEATURES` of `claim` against `paper` (what the support model decides from; for fitting it)."""
    text = _paper_text(paper.title, paper.abstract)
    body = claim_body(claim)
    if not body or not any(s.strip() for s in text.sentences):
        return dict.fromkeys(SUPPORT_FEATURES, 0.0)
    return _measure(body, text, embed, _allowed(claim, text, own_work, False))[0]


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

    Never when a key term (a number, name or acronym) is not stated in the paper. Otherwise a sentence
    is supported when the calibrated `support` model (`SUPPORT_FEATURES`) gives it at least
    `config.support_probability`. With `own_work` (the default) a claim about the paper (see
    `about_paper`) is supported only by the title and own-work sentences, never by the background or
    the account of prior work; a claim that does not speak of the paper may be stated by any sentence.
    A `phrase` (e.g. a table cell) needs a cosine of `config.support_similarity` or
    `config.phrase_coverage` of its content words (too short for the model's features).
    """
    body = claim_body(claim)
    text = _paper_text(paper.title, paper.abstract)
    if not body or not any(s.strip() for s in text.sentences):
        return Support(False, 0.0, "")
    paper_all = f"{paper.title}. {paper.abstract}"
    missing = sorted(t for t in key_terms(body) if not term_in(t, paper_all, text.numbers))
    allowed = _allowed(claim, text, own_work, phrase)
    feats, best, closest = _measure(body, text, embed, allowed)
    sim = feats["cosine"]
    own_text = " ".join(s for s, r in zip(text.sentences, text.roles) if r in allowed)
    cover = coverage(body, own_text)
    unverified = False
    if phrase:
        passes = sim >= config.support_similarity or cover >= config.phrase_coverage
        probability = 0.0
    else:
        model = load("support")
        probability = float(model.scores(np.array([[feats[f] for f in model.features]]))[0])
        passes = probability >= config.support_probability
        unverified = not passes and not missing and probability >= config.unverified_probability
    return Support(
        supported=passes and not missing,
        similarity=round(sim, 4),
        best_sentence=text.sentences[best],
        missing_terms=missing,
        coverage=round(cover, 3),
        attributed_elsewhere=closest >= config.support_similarity and sim < config.support_similarity,
        probability=round(probability, 4) if not missing else 0.0,
        features={k: round(v, 4) for k, v in feats.items()},
        unverified=unverified,
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

    Numbers outside 1..len(evidence) are removed and reported; a sentence without a valid citation is
    unsupported (no inheritance); a sentence is supported iff a cited paper supports it, and then only
    the supporting citations stay (the others go to `dropped`). An unsupported sentence keeps its
    citations; it is `unverified` (shown neutrally, quoting the closest abstract sentence) when a cited
    paper's check is in the middle band. Citations: one per distinct valid number, in order of first
    appearance; `supported` = the paper supports a sentence that cites it.
    """
    texts = split_sentences(raw)
    valid = range(1, len(evidence) + 1)
    removed = list(dict.fromkeys(n for t in texts for n in parse_citations(t) if n not in valid))
    cleaned = [keep_citations(t, lambda n: n in valid) for t in texts]
    sentences: list[Sentence] = []
    pairs: list[PairCheck] = []
    dropped: list[tuple[int, int]] = []
    for i, text in enumerate(cleaned):
        sentence, checks, unsupporting = _checked_sentence(i, text, evidence, embed, config)
        sentences.append(sentence)
        pairs += checks
        dropped += unsupporting
    if removed or dropped:
        log.info("citations: removed out-of-range %s, dropped unsupporting %s", removed, dropped)
    return AnswerCheck(sentences, _citations(cleaned, evidence, pairs), removed, dropped, pairs)


def _checked_sentence(
    i: int, text: str, evidence: list[Hit], embed: EmbedFn, config: GroundingConfig
) -> tuple[Sentence, list[PairCheck], list[tuple[int, int]]]:
    """Sentence `i` of a draft (valid citations only) checked against each paper it cites: supported with only the
    supporting citations (the others returned as dropped), else not verified (quoting the closest sentence of the
    most probable paper) when a cited paper's check is in the middle band, else unsupported."""
    cites = parse_citations(text)
    pairs = [PairCheck(i, n, check_claim(text, evidence[n - 1].paper, embed, config=config)) for n in (cites if claim_body(text) else [])]
    supporting = [p.n for p in pairs if p.support.supported]
    unsure = [p.support for p in pairs if p.support.unverified]
    if supporting:
        sentence = Sentence(text=keep_citations(text, lambda n: n in supporting), cites=supporting, supported=True)
        return sentence, pairs, [(i, n) for n in cites if n not in supporting]
    if unsure:
        quote = max(unsure, key=lambda s: s.probability).best_sentence
        return Sentence(text=text, cites=cites, supported=False, unverified=True, quote=quote), pairs, []
    return Sentence(text=text, cites=cites, supported=False), pairs, []


def _citations(cleaned: list[str], evidence: list[Hit], pairs: list[PairCheck]) -> list[Citation]:
    """One citation per distinct valid number, in order of first appearance; `supported` when the paper supports
    a sentence that cites it, `unverified` when it supports none but a check of it is in the middle band."""
    supported_papers = {p.n for p in pairs if p.support.supported}
    unverified_papers = {p.n for p in pairs if p.support.unverified} - supported_papers
    cited = list(dict.fromkeys(n for t in cleaned for n in parse_citations(t)))
    return [
        Citation(
            n=n, paper_id=evidence[n - 1].paper.paper_id, title=evidence[n - 1].paper.title,
            url=evidence[n - 1].paper.link, supported=n in supported_papers, unverified=n in unverified_papers,
        )
        for n in cited
    ]
