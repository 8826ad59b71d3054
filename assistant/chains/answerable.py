"""Decide from the evidence whether it answers a question: a calibrated relevance model per paper.

Called by the QA pipeline (`chains/qa.py`) before the model runs. For each retrieved paper a few
evidence signals are measured — its hybrid score and its distance to the best one, the cosine of
the question with the paper's closest sentence and with its title, the share of the question's
(rarity-weighted) words and of its names the paper states, and the rarest question word it lacks —
and a logistic regression fitted on the dev cases (`relevance.json`, refit with
`benchmarks/fit_answerable.py`) turns them into the probability that this paper answers. The
question is answerable when one paper clears the calibrated threshold; otherwise the app refuses
without asking the model. A question about a paper that is not in the store, or about a detail
its abstract does not state, leaves a rare word unmatched and is refused rather than answered
from a neighbour. Pure functions, no I/O.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from assistant.chains.calibration import load
from assistant.chains.routing import classify
from assistant.citations import split_sentences
from assistant.grounding import STOP_WORDS, EmbedFn, key_terms, method_name, numbers_in, sentence_roles, stem, term_in
from assistant.papers import Hit

TermWeights = Callable[[list[str]], list[dict[str, float]]]
"""Texts -> each text's keyword tokens with their rarity in the store (`Retriever.term_weights`)."""

FEATURES = (
    "score", "gap", "sentence_cosine", "title_cosine", "coverage", "missing_rarity", "names", "detail", "find",
    "detail_missing",
)
"""Per (question, paper): the paper's hybrid score and its distance to the best one; cosines of the
question with the paper's closest abstract sentence and with its title; the rarity-weighted share of
the question's words the paper states; the rarity of the rarest one it lacks; the share of the
question's names and numbers it states; the router's probability that the question asks for a detail
or describes a paper to find, and the first times the missing rarity (a missing word matters more in
a detail question than in a description)."""

FUZZY_MATCH = 0.85
"""A question word absent from a paper still counts as stated when one of the paper's words is this
close (difflib ratio): names typed with a typo ("shrinkmach") or without their diacritics."""

FUZZY_MIN_LENGTH = 5
"""Shorter words are matched exactly only (short words are too close to one another)."""


def fold(text: str) -> str:
    """The text without diacritics ("TÜLU" -> "TULU"), so a name typed without them matches."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


@dataclass
class Support:
    """One evidence paper (`[n]`): its probability of answering and the sentence to quote from it."""

    n: int
    sentence: str
    probability: float
    answers: bool
    signals: dict[str, float] = field(default_factory=dict)
    runner_up: str = ""
    """The paper's next own-work sentence closest to the question ("" if none): quoted with `sentence`."""


@dataclass
class Verdict:
    """Whether the evidence answers the question, each paper's support (evidence order)."""

    question: str
    supports: list[Support]
    threshold: float
    quote_threshold: float
    """Probability above which a draft with nothing supported is replaced by a quote."""
    overrule_threshold: float
    """Probability above which a model's explicit decline is overruled by a quote."""

    @property
    def answerable(self) -> bool:
        return any(s.answers for s in self.supports)

    @property
    def answering(self) -> list[Support]:
        """The answering papers, most probable first."""
        return sorted((s for s in self.supports if s.answers), key=lambda s: -s.probability)

    @property
    def best(self) -> float:
        return max((s.probability for s in self.supports), default=0.0)


@lru_cache(maxsize=1)
def _stop_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in STOP_WORDS)


def _stated(word: str, vocabulary: set[str]) -> bool:
    if word in vocabulary:
        return True
    if len(word) < FUZZY_MIN_LENGTH:
        return False
    return bool(difflib.get_close_matches(word, vocabulary, n=1, cutoff=FUZZY_MATCH))


LEXICAL_WEIGHT = 0.8
"""Weight of the rarity-weighted share of the question's words a sentence states, added to its cosine
with the question, when picking a paper's answering sentence: MiniLM's cosines of one abstract's
sentences are often within a few hundredths of each other, and the sentence that states the asked
words ("random labels") is the answer. Calibrated on the dev cases with `benchmarks/fit_quotes.py`
(2026-12-06): the best of its grid for how often the quotes and the model's window state the key facts."""


def signals(
    question: str, hits: Sequence[Hit], embed: EmbedFn, term_weights: TermWeights
) -> tuple[list[dict[str, float]], list[list[str]], list[np.ndarray]]:
    """The evidence signals of each paper for `question` (see `FEATURES`), its sentences and each
    sentence's closeness to the question (cosine plus `LEXICAL_WEIGHT` x the question's words it states).

    One embedding call for the question, every title and every abstract sentence (the process's
    sentence cache makes papers seen before free).
    """
    sentences = [split_sentences(h.paper.abstract) or [h.paper.abstract] for h in hits]
    texts = [question] + [t for h, sents in zip(hits, sentences) for t in (h.paper.title, *sents)]
    vectors = np.asarray(embed(texts), dtype=np.float32)
    qvec = vectors[0]
    q = fold(question)
    flat = [fold(t) for sents in sentences for t in sents]
    weights = term_weights([q, q.replace("-", " ").replace("/", " ")] + [fold(h.paper.text) for h in hits] + flat)
    per_sentence, weights = weights[2 + len(hits) :], weights[: 2 + len(hits)]
    # A hyphenated name is also indexed joined ("LiDAR-PTQ" -> "lidarptq"); a joined form no paper
    # contains ("power-law" typed by a reader, "powerlaw") is not a missing name when its parts are plain words.
    asked = {t: w for t, w in weights[0].items() if t not in _stop_stems() and (t in weights[1] or w < 1.0)}
    papers = weights[2:]
    names = key_terms(question)
    kinds = classify(qvec).probabilities
    top = hits[0].score if hits else 0.0
    mass = sum(asked.values())
    out: list[dict[str, float]] = []
    closeness: list[np.ndarray] = []
    offset = 1
    for hit, sents, vocab in zip(hits, sentences, papers):
        sims = vectors[offset : offset + 1 + len(sents)] @ qvec
        offset += 1 + len(sents)
        said, per_sentence = per_sentence[: len(sents)], per_sentence[len(sents) :]
        lexical = np.array([sum(w for t, w in asked.items() if t in sent) / mass if mass > 0 else 0.0 for sent in said])
        words = set(vocab)
        stated = {w: _stated(w, words) for w in asked}
        text = hit.paper.text.replace("\\%", "%")
        numbers = numbers_in(text)
        out.append({
            "score": float(hit.score),
            "gap": float(top - hit.score),
            "sentence_cosine": float(sims[1:].max()) if len(sims) > 1 else float(sims[0]),
            "title_cosine": float(sims[0]),
            "coverage": sum(w for t, w in asked.items() if stated[t]) / mass if mass > 0 else 1.0,
            "missing_rarity": max((w for t, w in asked.items() if not stated[t]), default=0.0),
            "names": sum(term_in(t, text, numbers) for t in names) / len(names) if names else 1.0,
            "detail": kinds["detail"],
            "find": kinds["find"],
        })
        out[-1]["detail_missing"] = out[-1]["detail"] * out[-1]["missing_rarity"]
        closeness.append(sims[1:] + LEXICAL_WEIGHT * lexical)
    return out, sentences, closeness


def quote_sentences(sentences: list[str], cosines: np.ndarray, name: str = "", n: int = 2) -> list[str]:
    """The `n` sentences to quote from a paper, closest to the question first, among those stating the
    paper's own work (its contribution or a finding), never its background or its account of prior work."""
    roles = sentence_roles(sentences, name)
    own = [i for i, r in enumerate(roles) if r == "own"] or list(range(len(sentences)))
    ranked = sorted(own, key=lambda i: -float(cosines[i]))
    # Past the closest, only sentences closer to the question than the paper's average, and no pointers
    # ("code is available at https://..."): a second quote must add an answer, not length.
    mean = float(np.mean(cosines)) if len(cosines) else 0.0
    rest = [i for i in ranked[1:] if float(cosines[i]) >= mean and "://" not in sentences[i]]
    return [sentences[i] for i in (ranked[:1] + rest)[:n]]


def judge(question: str, hits: Sequence[Hit], embed: EmbedFn, term_weights: TermWeights) -> Verdict:
    """Each evidence paper's probability of answering `question` (`[n]` = hits[n-1]) and its quote."""
    model = load("relevance")
    threshold, quote, overrule = (model.thresholds[k] for k in ("answer", "quote", "overrule"))
    if not hits:
        return Verdict(question, [], threshold, quote, overrule)
    feats, sentences, cosines = signals(question, hits, embed, term_weights)
    probs = model.scores(np.array([[f[name] for name in model.features] for f in feats]))
    supports = []
    for n, (hit, f, sents, sims, p) in enumerate(zip(hits, feats, sentences, cosines, probs), start=1):
        quotes = quote_sentences(sents, sims, method_name(hit.paper.title)) + ["", ""]
        supports.append(Support(n, quotes[0], round(float(p), 4), bool(p >= threshold), {k: round(v, 4) for k, v in f.items()}, quotes[1]))
    return Verdict(question, supports, threshold, quote, overrule)
