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
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from assistant.chains.answerable import Role, content_stems, key_terms, method_name, numbers_in, sentence_roles, term_in
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
