"""Decide from the evidence alone whether it answers a question, and find the sentences that do.

Called by the QA chain (`assistant/chains/qa.py`) before the model runs. The packaged 1.5B model
wrongly declines about half of the answerable questions and, asked for a detail an abstract does
not state (a learning rate, a GPU count), invents one. So the app decides: a paper can answer when
it states every name and number of the question, and one of its sentences (with the title) states
what the question asks for and most of its other words. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from assistant.citations import split_sentences
from assistant.grounding import STOP_WORDS, EmbedFn, key_terms, numbers_in, sentence_roles, stem, term_in, words
from assistant.papers import Hit

MIN_COVERAGE = 0.6
"""Share of the question's content words a sentence (with its paper's title) must state."""

MIN_SIMILARITY = 0.3
"""Cosine (all-MiniLM-L6-v2) below which a sentence is too far from the question to answer it."""

CLOSE_SIMILARITY = 0.6
"""Cosine at which a sentence answers even with fewer of the question's words (paraphrases)."""

_WORD = re.compile(r"[^\W_]+(?:[-'\u2019][^\W_]+)*")
_AUX = r"(?:does|do|did|is|are|was|were|can|could|has|have|had|will|would)"
_ASKED = [
    # "What learning rate was used ...", "Which dataset does X use" (not "Which papers ...").
    re.compile(
        r"^(?:what|which)\s+(?!papers?\b|works?\b|methods?\b|approaches\b|" + _AUX + r"\b)(.+?)\s+" + _AUX + r"\b",
        re.IGNORECASE,
    ),
    # "How many GPUs were needed ...", "How much GPU memory does ...".
    re.compile(
        r"^(?:by\s+)?how\s+(?:many|much)\s+(?!of\b)(.+?)\s+" + _AUX + r"\b",
        re.IGNORECASE,
    ),
    # "What is MixLLM's inference latency in milliseconds on an A100?"
    re.compile(r"^what\s+(?:is|are|was|were)\s+\S+?['\u2019]s?\s+(.+?)(?:\s+(?:on|in|for|with|at)\b|[?.]|$)", re.IGNORECASE),
]
_COUNTING = re.compile(r"^(?:how\s+(?:many|much|long|fast|large|small|big|often)|by\s+how\s+(?:many|much))\b", re.IGNORECASE)
_QUANTITY_WORDS = frozenset(
    "accuracy score scores ratio perplexity speedup size percentage percent cost "
    "latency memory parameters tokens".split()
)
_NUMBER_CUE = re.compile(r"\d|\b(?:half|twice|double|triple|times|fold|once)\b", re.IGNORECASE)


def _stems(text: str) -> set[str]:
    return {stem(w) for w in words(text)}


def _content_stems(text: str, skip: set[str]) -> list[str]:
    """Content words of a question (stemmed, in order), without stop words and the named terms."""
    out: list[str] = []
    for w in _WORD.findall(text):
        bare = re.sub(r"['\u2019]s$", "", w)
        lw = bare.lower()
        if lw in STOP_WORDS or bare in skip or lw.isdigit() or len(lw) < 2:
            continue
        for part in [lw] if "-" not in lw else [p for p in lw.split("-") if p and p not in STOP_WORDS]:
            st = stem(part)
            if st not in out:
                out.append(st)
    return out


@dataclass
class Question:
    """What a question mentions (names, numbers) and asks for (`asked` stems, `asked_names`)."""

    text: str
    names: set[str]
    asked: list[str]
    asked_names: set[str]
    content: list[str]
    wants_number: bool


def analyse(question: str) -> Question:
    """Split a question into its named terms, the thing it asks for and its other content words."""
    q = question.strip()
    names = key_terms(q)
    name_words = {w for n in names for w in _WORD.findall(n)} | names
    asked_text = ""
    for pattern in _ASKED:
        m = pattern.search(q)
        if m:
            asked_text = m.group(1)
            break
    asked = _content_stems(asked_text, name_words)
    asked_names = {n for n in names if n in asked_text} if asked_text else set()
    content = _content_stems(q, name_words)
    wants_number = (
        bool(_COUNTING.search(q))
        or bool(asked_names - {n for n in names if any(c.isdigit() for c in n)})  # "What FID", "What mAP"
        or any(stem(w) in asked for w in _QUANTITY_WORDS)
    )
    return Question(q, names, asked, asked_names, content, wants_number)


@dataclass
class Support:
    """The best sentence of one evidence paper for the question, and whether it answers it."""

    n: int
    sentence: str
    answers: bool
    coverage: float
    similarity: float
    missing_names: list[str] = field(default_factory=list)
    missing_asked: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """Whether the evidence answers the question, with each paper's best sentence (best first)."""

    question: Question
    supports: list[Support]

    @property
    def answerable(self) -> bool:
        return any(s.answers for s in self.supports)

    @property
    def answering(self) -> list[Support]:
        return [s for s in self.supports if s.answers]


MIN_LEXICAL = 0.25
"""Share of content words below which a sentence is not even embedded (it cannot reach CLOSE_SIMILARITY)."""

MAX_EMBEDDED = 6
"""Sentences per paper embedded at most. "Which papers use X?" lets every sentence of a paper about X
pass the word checks; the six stating most of the question's words are enough (on the 79 QA
cases only one non-answering paper's best sentence changed) and cut the judge's embeddings by 26%."""


@dataclass
class _Lexical:
    """The word checks of one paper's sentences (no embeddings yet)."""

    sentences: list[str]
    missing_names: list[str]
    checks: list[tuple[list[str], float, bool]]  # (missing asked, coverage, lexically plausible)
    own: list[bool]  # whether the sentence states the paper's own work (`grounding.sentence_roles`)

    @cached_property
    def plausible(self) -> list[int]:
        """Sentences worth embedding: those passing the word checks, at most MAX_EMBEDDED (most words first)."""
        at = [i for i, c in enumerate(self.checks) if c[2]]
        if len(at) > MAX_EMBEDDED:
            at = sorted(sorted(at, key=lambda i: -self.checks[i][1])[:MAX_EMBEDDED])
        return at


def _lexical(q: Question, hit: Hit) -> _Lexical:
    """Which sentences of a paper state the question's names, what is asked and enough of its words."""
    paper = hit.paper
    text = paper.text.replace("\\%", "%")
    numbers = numbers_in(text)
    missing_names = sorted(t for t in q.names if not term_in(t, text, numbers))
    sentences = split_sentences(paper.abstract) or [paper.abstract]
    title_stems = _stems(paper.title)
    stems = [_stems(s) for s in sentences]
    checks: list[tuple[list[str], float, bool]] = []
    for i, sentence in enumerate(sentences):
        local = stems[i] | title_stems
        window = local | (stems[i - 1] if i else set())
        local_text = f"{paper.title}. {sentence}".replace("\\%", "%")
        missing_asked = [a for a in q.asked if a not in local]
        if q.asked_names:
            local_numbers = numbers_in(local_text)
            missing_asked += sorted(t for t in q.asked_names if not term_in(t, local_text, local_numbers))
        coverage = sum(1 for c in q.content if c in window) / len(q.content) if q.content else 1.0
        plausible = (
            not missing_names
            and not missing_asked
            and coverage >= MIN_LEXICAL
            and (not q.wants_number or bool(_NUMBER_CUE.search(sentence)))
        )
        checks.append((missing_asked, coverage, plausible))
    own = [r == "own" for r in sentence_roles(sentences)]
    return _Lexical(sentences, missing_names, checks, own)


def _best_support(n: int, lex: _Lexical, sims: np.ndarray) -> Support:
    """The paper's best sentence: one that answers if any, of its own work rather than its background
    (the quoted fall-back must state the contribution), then the highest coverage + similarity.

    A sentence answers when it passed the word checks, is not far from the question, and either
    states most of the question's content words (with the sentence before it) or is very close.
    """
    best: Support | None = None
    best_rank: tuple[bool, bool, float] = (False, False, 0.0)
    for sentence, sim, own, (missing_asked, coverage, plausible) in zip(lex.sentences, sims, lex.own, lex.checks):
        answers = (
            plausible
            and float(sim) >= MIN_SIMILARITY
            and (coverage >= MIN_COVERAGE or float(sim) >= CLOSE_SIMILARITY)
        )
        cand = Support(n, sentence, answers, round(coverage, 3), round(float(sim), 3), lex.missing_names, missing_asked)
        rank = (cand.answers, own, cand.coverage + cand.similarity)
        if best is None or rank > best_rank:
            best, best_rank = cand, rank
    assert best is not None
    return best


def judge(question: str, hits: list[Hit], embed: EmbedFn) -> Verdict:
    """Each evidence paper's best sentence for `question` and whether it answers it (`[n]` = hits[n-1]).

    Only sentences that pass the word checks are embedded, all papers' in one call with the
    question: that keeps a question's CPU cost to the few sentences that may answer.
    """
    q = analyse(question)
    if not hits:
        return Verdict(q, [])
    lexical = [_lexical(q, hit) for hit in hits]
    texts = [question] + [lex.sentences[i] for lex in lexical for i in lex.plausible]
    vectors = np.asarray(embed(texts), dtype=np.float32)
    qvec, offset = vectors[0], 1
    supports = []
    for n, lex in enumerate(lexical, start=1):
        sims = np.zeros(len(lex.sentences), dtype=np.float32)
        at = lex.plausible
        if at:
            sims[at] = vectors[offset : offset + len(at)] @ qvec
            offset += len(at)
        supports.append(_best_support(n, lex, sims))
    return Verdict(q, supports)
