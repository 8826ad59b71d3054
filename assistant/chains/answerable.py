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

The words, names and numbers a text states (`content_stems`, `key_terms`, `numbers_in`, `term_in`)
and whose work each abstract sentence states (`sentence_roles`) live here, below the decision: the
judge reads the question with them, and the support check (`chains/grounding.py`), the "which papers"
lines and the digest's takeaways read claims and abstracts with the same ones (one tokenizer, one
stop list, one number reader). Longer than our usual module on purpose: every rule that decides
which words, names and numbers a text states lives here, so that the question's reading stays with
the decision that uses it and no other module grows its own tokenizer or stop list.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np

from assistant.chains.calibration import load
from assistant.chains.grounding_config import GROUNDING
from assistant.chains.routing import Route
from assistant.citations import split_sentences
from assistant.papers import Hit, Paper
from assistant.store.keywords import english_stemmer, fold, joined_names, pair_texts

EmbedFn = Callable[[list[str]], np.ndarray]
"""Texts -> one L2-normalised row per text (cosine similarity is a dot product)."""

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
a detail question than in a description).

Beside them each paper's `asked_stated` signal (not a feature of the relevance model): the rarity-weighted
share of the question's words beyond the paper's title that the paper states (1 when the question asks
nothing beyond the title). The pipeline reads it after the model declined (`qa.finalize_events`)."""


@dataclass
class Support:
    """One evidence paper (`[n]`): its probability of answering and the sentence to quote from it."""

    n: int
    sentence: str
    probability: float
    answers: bool
    signals: dict[str, float] = field(default_factory=dict)
    quotes: list[str] = field(default_factory=list)
    """The paper's own-work sentences to quote, closest to the question first (`sentence` is the first;
    `quote_sentences`, at most `GroundingConfig.quoted_sentences`)."""


@dataclass
class Verdict:
    """Whether the evidence answers the question, each paper's support (evidence order)."""

    question: str
    supports: list[Support]
    threshold: float
    quote_threshold: float
    """The quote bar after a draft that failed without declining (empty, a bare citation, a restatement,
    nothing supported)."""
    overrule_threshold: float
    """The quote bar after the model declined ("not in the papers") or wrote only claims the papers do not
    state: overruling it needs clearer evidence."""
    detail: float = 0.0
    """The router's probability that the question asks for a specific detail."""
    list_threshold: float = 0.0
    """Probability the best paper needs for a "which papers" question to be answered with a list (the papers
    listed are those that answer): below it the neighbours a question about something the store lacks brings
    up are no answer (fitted on dev, `benchmarks/fit_overrule.py`)."""
    judge_threshold: float = 0.5
    """The model's own probability that the best paper's abstract answers (`confirmation.answers_probability`) that
    overrules a disowned draft in place of the `overrule` bar, when the endpoint gives one (fitted on the
    packaged model's dev declines, `benchmarks/fit_judge.py`)."""

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

    def quote_bar(self, disowned: bool) -> float:
        """Probability the best paper needs for the app to quote it in place of a failed draft: higher when
        the model declined or claimed what the papers do not state (`disowned`), since a relevant paper may
        lack the asked detail and then the model is right not to find it (both bars fitted on the packaged
        model's dev drafts, `benchmarks/fit_overrule.py`). Never after a disowned draft when the best answering
        paper states none of the words the question asks beyond its title (`asked_stated`): the model is right
        that the papers lack what is asked (a GPU count, a paper the store lacks)."""
        if disowned and self.answering and self.answering[0].signals.get("asked_stated", 1.0) <= 0.0:
            return math.inf
        return self.overrule_threshold if disowned else self.quote_threshold

    def quotes(self, disowned: bool, confirm: Callable[[], float | None]) -> bool:
        """Whether the app quotes the best answering paper in place of a failed draft. After a disowned draft
        the model is asked once whether that paper's abstract answers (`confirm`: its probability of "true",
        None when the endpoint gives no token probabilities): it overrules from the `judge` bar, separating
        wrong declines from absent details far better than relevance does; without it, the `quote_bar`."""
        bar = self.quote_bar(disowned)
        if not self.asks_model(disowned):
            return self.best >= bar
        says = confirm()
        return self.best >= bar if says is None else says >= self.judge_threshold

    def asks_model(self, disowned: bool) -> bool:
        """Whether `quotes` asks the model its own check of the best paper (seconds with the packaged model, so the UI says so)."""
        return bool(self.answering) and disowned and self.quote_bar(disowned) != math.inf

    @property
    def lists(self) -> bool:
        """Whether a "which papers" question is answered with the answering papers' list."""
        return self.answerable and self.best >= self.list_threshold


@lru_cache(maxsize=1)
def _stop_stems() -> frozenset[str]:
    return frozenset(stem(w) for w in STOP_WORDS)


def _spread(term: str, sentences: Sequence[Container[str]]) -> float:
    """How few of an abstract's sentences state `term` (an inverse sentence frequency, smoothed): 1 when none
    does, falling to 0 when all do."""
    n = len(sentences)
    return math.log((n + 1) / (sum(term in s for s in sentences) + 1)) / math.log(n + 1)


def _close(word: str, words: Collection[str]) -> bool:
    """Whether `word` is typed within `GroundingConfig.fuzzy_match` of one of `words` (a typo, missing diacritics)."""
    return len(word) >= GROUNDING.fuzzy_min_length and bool(difflib.get_close_matches(word, words, n=1, cutoff=GROUNDING.fuzzy_match))


def _stated(word: str, typed: Collection[str], vocabulary: set[str], written: set[str]) -> bool:
    """Whether a paper states a question word (stem `word`, typed as `typed`): exactly, or one of its words is
    close (`_close`), stem to stem or as typed to as written (`written`): the stemmer cuts a typo elsewhere than
    the word it misspells ("evopres" -> "evopr", EvoPress -> "evopress")."""
    return word in vocabulary or _close(word, vocabulary) or any(_close(w, written) for w in typed if w not in written)


def paper_texts(paper: Paper) -> list[str]:
    """What the judge embeds of a paper: its title, then its abstract's sentences (the abstract if it has none)."""
    return [paper.title, *(split_sentences(paper.abstract) or [paper.abstract])]


_ADDRESS = re.compile(r"\S+://\S+")
"""A web address: not words a sentence states (its path often repeats the paper's name)."""


@dataclass(frozen=True)
class Closeness:
    """How close each sentence of one paper is to a question (`signals`): its cosine with the question and
    the rarity-weighted share of the question's asked words it states, its web addresses aside."""

    cosines: np.ndarray
    lexical: np.ndarray
    stated: list[frozenset[str]]
    """Per sentence: the asked words it states (beyond the title's)."""

    @property
    def scores(self) -> np.ndarray:
        """Cosine plus `GroundingConfig.lexical_weight` x the share of asked words: what ranks the quotes."""
        return self.cosines + GROUNDING.lexical_weight * self.lexical


def signals(
    question: str, hits: Sequence[Hit], embed: EmbedFn, term_weights: TermWeights, route: Route
) -> tuple[list[dict[str, float]], list[list[str]], list[Closeness]]:
    """The evidence signals of each paper for `question` (see `FEATURES`), its sentences and each
    sentence's closeness to the question (`Closeness`: cosine plus `GroundingConfig.lexical_weight` x the question's words it states).

    One embedding call for the question, every title and every abstract sentence (the process's
    sentence cache makes papers seen before free).
    """
    read = [paper_texts(h.paper) for h in hits]
    sentences = [texts[1:] for texts in read]
    texts = [question] + [t for paper in read for t in paper]
    vectors = np.asarray(embed(texts), dtype=np.float32)
    qvec = vectors[0]
    q = fold(question)
    flat = [_ADDRESS.sub(" ", fold(t)) for sents in sentences for t in sents]
    weights = term_weights(
        [q, q.replace("-", " ").replace("/", " ")] + [fold(h.paper.text) for h in hits] + [fold(h.paper.title) for h in hits] + flat
    )
    per_sentence, titles, weights = weights[2 + 2 * len(hits) :], weights[2 + len(hits) : 2 + 2 * len(hits)], weights[: 2 + len(hits)]
    # A hyphenated name is also indexed joined ("LiDAR-PTQ" -> "lidarptq"); a joined form no paper
    # contains ("power-law" typed by a reader, "powerlaw") is not a missing name when its parts are plain words.
    asked = {t: w for t, w in weights[0].items() if t not in _stop_stems() and (t in weights[1] or w < 1.0)}
    papers = weights[2:]
    names = key_terms(question)
    typed: dict[str, set[str]] = {}  # each asked stem's words as the reader typed them
    for w in words(q):
        typed.setdefault(stem(w), set()).add(w)
    pairs = pair_texts(question)
    joined = joined_names(term_weights(pairs)) if pairs else []
    kinds = route.probabilities
    top = hits[0].score if hits else 0.0
    mass = sum(asked.values())
    out: list[dict[str, float]] = []
    closeness: list[Closeness] = []
    offset = 1
    for hit, sents, vocab, title in zip(hits, sentences, papers, titles):
        sims = vectors[offset : offset + 1 + len(sents)] @ qvec
        offset += 1 + len(sents)
        said, per_sentence = per_sentence[: len(sents)], per_sentence[len(sents) :]
        # Which of its sentences answers: the question's words the title states (the paper's name, its
        # topic) say which paper, not which sentence, so they are left out here (none left: the cosine decides);
        # so, in part, does a word many of its sentences state (a name the title lacks: "CoPrompt"), weighted
        # down by its spread over the abstract (`_spread`).
        answer_words = {t: w * _spread(t, said) for t, w in asked.items() if t not in title}
        answer_mass = sum(answer_words.values())
        stated_words = [frozenset(t for t, w in answer_words.items() if t in sent and w > 0) for sent in said]
        lexical = np.array([sum(answer_words[t] for t in ws) / answer_mass if answer_mass > 0 else 0.0 for ws in stated_words])
        stems = set(vocab)
        named = {part for whole, parts in joined if whole in stems for part in parts}
        written = set(words(fold(hit.paper.text)))
        stated = {w: w in named or _stated(w, typed.get(w, ()), stems, written) for w in asked}
        beyond = {t: w for t, w in asked.items() if t not in title}  # what the question asks beyond naming the paper
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
            "asked_stated": sum(w for t, w in beyond.items() if stated[t]) / sum(beyond.values()) if sum(beyond.values()) > 0 else 1.0,
        })
        out[-1]["detail_missing"] = out[-1]["detail"] * out[-1]["missing_rarity"]
        closeness.append(Closeness(sims[1:], lexical, stated_words))
    return out, sentences, closeness


def quote_sentences(sentences: list[str], closeness: Closeness, name: str = "", n: int = GROUNDING.quoted_sentences) -> list[str]:
    """The `n` sentences to quote from a paper, closest to the question first, among those stating the
    paper's own work (its contribution or a finding), never its background or its account of prior work."""
    roles = sentence_roles(sentences, name)
    own = [i for i, r in enumerate(roles) if r == "own"] or list(range(len(sentences)))
    # A pointer ("code is available at https://...") answers only a question about what it points to: it is
    # quoted for an asked word that it alone states, the address aside ("does X release code"), else never
    # (unless nothing else is left).
    told = set().union(*(closeness.stated[i] for i in own if "://" not in sentences[i]))
    own = [i for i in own if "://" not in sentences[i] or closeness.stated[i] - told] or own
    scores = closeness.scores
    ranked = sorted(own, key=lambda i: -float(scores[i]))
    # Past the closest, only sentences closer to the question than the paper's average: a further quote
    # must add an answer, not length.
    mean = float(np.mean(scores)) if len(scores) else 0.0
    rest = [i for i in ranked[1:] if float(scores[i]) >= mean]
    return [sentences[i] for i in (ranked[:1] + rest)[:n]]


def judge(
    question: str, hits: Sequence[Hit], embed: EmbedFn, term_weights: TermWeights, route: Route, model_judges: bool = False
) -> Verdict:
    """Each evidence paper's probability of answering `question` (`[n]` = hits[n-1]) and its quote.

    `route` is the question's kind as the pipeline classified it (`routing.classify`, once per question).
    A paper answers from the `answer` threshold when the app decides for the model (the packaged model,
    whose declines it overrules), from the lower `ask` threshold when the model judges (an endpoint whose
    declines are respected): then the app only spares the model evidence that cannot answer, and the
    model says whether it does."""
    model = load("relevance")
    threshold, quote, overrule = (model.thresholds[k] for k in ("ask" if model_judges else "answer", "quote", "overrule"))
    listed, confirmed = model.thresholds.get("list", threshold), model.thresholds["judge"]
    if not hits:
        return Verdict(question, [], threshold, quote, overrule, route.probabilities["detail"], listed, confirmed)
    feats, sentences, cosines = signals(question, hits, embed, term_weights, route)
    probs = model.scores(np.array([[f[name] for name in model.features] for f in feats]))
    supports = []
    for n, (hit, f, sents, sims, p) in enumerate(zip(hits, feats, sentences, cosines, probs), start=1):
        quotes = quote_sentences(sents, sims, method_name(hit.paper.title))
        supports.append(Support(n, quotes[0] if quotes else "", round(float(p), 4), bool(p >= threshold), {k: round(v, 4) for k, v in f.items()}, quotes))
    return Verdict(question, supports, threshold, quote, overrule, route.probabilities["detail"], listed, confirmed)


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
    difference differences stand stands mean means meaning acronym abbreviation""".split()
)
"""Words that carry no content a claim or question must share with a sentence (the last line: words
that only say how to answer, "explain briefly", "tl;dr", "compare", "what does X stand for")."""

_WORD = re.compile(r"[^\W_]+(?:[-'\u2019][^\W_]+)*")


_stemmer = lru_cache(maxsize=1)(english_stemmer)
"""The keyword index's stemmer, one kept for the words of questions, claims and abstracts."""


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
    mid-sentence (`Adam`). Sentence-initial capitalised words and common words are ignored. Takes
    a question or a claim's body: citation markers and list bullets are the caller's to remove
    (`citations.claim_body`), a question has none.
    """
    terms: set[str] = set()
    initial = True
    for raw in sentence.replace("/", " ").split():
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


# ---------------------------------------------------------------------------- whose work a sentence states

Role = Literal["title", "background", "own", "prior"]

_OWN_WORK = frozenset("we our ours us here propose proposes introduce introduces present presents".split())
_THIS_WORK = re.compile(r"\bthis (?:paper|work|study|article|report)\b|\bthe proposed\b", re.IGNORECASE)
_PRIOR_WORK = frozenset(
    "existing previous previously prior recent recently conventional traditional current earlier".split()
)
_COMPARED_WITH = re.compile(r"\b(?:outperform\w*|surpass\w*|beat\w*|exceed\w*|than|over|upon|against|compar\w*)\b", re.IGNORECASE)
"""Words that make prior work the object of a comparison ("it outperforms previous methods")."""


_PRIOR_WORD = re.compile(r"\b(?:%s)\b" % "|".join(sorted(_PRIOR_WORK)), re.IGNORECASE)


def _compares_with_prior(sentence: str) -> bool:
    """Whether the sentence's first prior-work word comes after a comparison word: a result of the paper
    measured against prior work, not an account of prior work."""
    prior = _PRIOR_WORD.search(sentence)
    found = _COMPARED_WITH.search(sentence)
    return prior is not None and found is not None and found.start() < prior.start()


def own_work_marks(sentences: list[str], name: str = "") -> list[bool]:
    """Whether each sentence says it states the paper's own work ("we", "our", "this paper", "propose", its `name`)."""
    named = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)") if name else None
    return [bool(_OWN_WORK & set(words(s))) or bool(_THIS_WORK.search(s)) or bool(named and named.search(s)) for s in sentences]


def method_name(title: str) -> str:
    """The name a paper gives its own work: `Yarrow: Compressing Attention` -> `Yarrow` ("" if none)."""
    head = title.split(":", 1)[0].strip()
    return head if ":" in title and 0 < len(head.split()) <= 3 and head != head.lower() else ""


def sentence_roles(sentences: list[str], name: str = "") -> list[Role]:
    """Whose work each abstract sentence states, from the abstract's structure.

    An abstract opens with background and motivation, then turns to the paper's own work at its
    first "we ..." / "this paper ..." sentence or the first one naming its method (`name`, see
    `method_name`). A sentence about "existing" / "previous" / "recent" work that speaks neither
    of "we" nor of the paper's method is `prior`, unless it comes after the turn and measures
    the paper against that work ("it outperforms previous methods by 8.7%"); other sentences before
    the turn are `background`, the rest `own`. An abstract that never says "we" is all `own`.
    """
    owns = own_work_marks(sentences, name)
    first_own = next((i for i, own in enumerate(owns) if own), 0)
    roles: list[Role] = []
    for i, (s, own) in enumerate(zip(sentences, owns)):
        if not own and _PRIOR_WORK & set(words(s)) and not (i > first_own and _compares_with_prior(s)):
            roles.append("prior")
        elif i < first_own:
            roles.append("background")
        else:
            roles.append("own")
    return roles
