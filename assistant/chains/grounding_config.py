"""Every threshold of the support check, the answerability decision and the answer path, in one object.

Read by `chains/answerable.py` (the judge's word matching, the quotes), `chains/polarity.py` (the
contradiction cues), `chains/grounding.py` (the support check), `chains/qa.py` (the draft, the lists),
`chains/evidence.py` (the papers shown to the model), `chains/confirmation.py` (the model's check),
`chains/evidence_text.py` (what of an abstract the chains show and check against), `chains/aspects.py` and
`chains/compare.py` (the comparison's cells and summary).
A module of its own below all of them because `grounding.py` reads texts with `answerable.py`'s words:
the config cannot live in either without a circular import. Each field says how it was set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.chains.calibration import load


@dataclass(frozen=True)
class GroundingConfig:
    """Every threshold of the support check, the answerability decision and the answer path, with how it was set."""

    support_probability: float = field(default_factory=lambda: load("support").thresholds["supported"])
    """Probability of the `support` model a claim needs to be labelled supported, from support.json
    (`benchmarks/fit_support.py`, 2026-12-07 evening: 0.88): the lowest at which, each pair scored by a model
    fitted without its paper or claim (5 folds, 10 fold assignments), the hand DEV pairs reach 97% mean
    precision (the issue's 95% plus about one standard error on ~65 pairs), the hand dev pairs and SciFact
    TRAIN claims together 95%, with 97% of the oracle's gold sentences kept (0.973 / 0.951, hand recall 0.484;
    SciFact alone reaches 95% only at 0.91, hand recall 0.327). Fitted on hand dev pairs and SciFact TRAIN;
    the hand test, held-out and held-out-2 pairs and SciFact dev are only reported (`benchmarks/support_bench.py`)."""

    unverified_probability: float = field(default_factory=lambda: load("support").thresholds["unverified"])
    """From it a claim below `support_probability` is *not verified* (neutral, quoting the closest sentence),
    not unsupported (⚠); support.json, same fit (0.53): the highest below which ≥ 85% of the out-of-fold
    hand dev pairs are truly unsupported (first assignment: 56 of 66; the band: 74, 55 truly supported)."""

    support_similarity: float = 0.69
    """Cosine (all-MiniLM-L6-v2) at which a claim "matches" a sentence: a phrase (table cell) needs it
    with its closest own-work sentence unless it states `phrase_coverage` of its words, and a claim
    closer than it to a background or prior-work sentence only is `attributed_elsewhere`.
    `benchmarks/calibrate_support.py`: best F0.5 on SciFact dev claims vs topically close
    non-supporting abstracts (support recall 0.73, close negatives passed 0.16; with the key-term
    check 0.56 / 0.12). Details in benchmarks/results/support_calibration.md."""

    near_sentences: int = 3
    """How many sentences closest to a claim (any role) the cues `direction` and `negated_near` also read (set once,
    not tuned): a conclusion often contradicts a claim copying the title ("not associated with an increased risk")."""

    near_margin: float = 0.1
    """How much less close than the closest sentence those may be (a verbatim copy's neighbours do not count); set once."""

    phrase_coverage: float = 0.75
    """Share of a short phrase's content words the abstract must state when its cosine is low
    (short phrases score low cosines against long sentences even when copied from them); the
    cut-off the comparison table's cells were checked with since they were introduced."""


    # --- answer path: the judge's reading of a question, the quotes, the draft, the "which papers" list

    fuzzy_match: float = 0.85
    """A question word absent from a paper still counts as stated when one of the paper's words is this
    close (difflib ratio), stem to stem or as typed to as written (`answerable._stated`): names typed with a
    typo ("shrinkmach", "evopres" for EvoPress, whose stems the stemmer cuts apart: "evopr" / "evopress") or
    without their diacritics. Set once with the relevance model (b14b8fd, 2026-12-05), not tuned; the model's
    coefficients were fitted with it (stem to stem only; the typed forms were added 2026-12-08, see below)."""

    fuzzy_min_length: int = 4
    """Shorter question words are matched exactly only (short words are too close to one another). Set to 5
    with `fuzzy_match` (b14b8fd); 4 since 2026-12-08 (issue #18, `benchmarks/results/refusals_unseen.md`), when
    typed forms were compared too: replaying the relevance verdict of all 452 dev questions (no model call),
    5 -> 4 changes the answering papers of one case (d429, "semietts totl-text": "totl" is one letter short of
    Total-Text's "total"), 4 letters still match only a word one insertion or deletion away, and no unanswerable
    case gains or loses an answering paper or crosses a bar; 3 was not tried (one edit is a third of the word)."""

    lexical_weight: float = 1.5
    """Weight of the rarity-weighted share of the question's words a sentence states (leaving out the words
    the paper's title states), added to its cosine with the question, when picking a paper's answering
    sentence: MiniLM's cosines of one abstract's sentences are often within a few hundredths of each
    other, and the sentence that states the asked words ("random labels") is the answer. Calibrated on the
    dev cases with `benchmarks/fit_quotes.py` (2026-12-06): the best of its grid for how often the quotes
    and the model's window state the key facts (153 dev pairs: 83.7% / 76.5%; at the former 0.8 with the
    title's words counted and two quotes: 71.9% of the quotes). Not refit after 2026-12-07, when each word
    was weighted down by its spread over the abstract (same measure, 154 pairs: quotes 83.8% -> 85.7%; the
    model's window, now with the quotes, 90.3% -> 92.2%)."""

    quoted_sentences: int = 3
    """Sentences of a paper the app quotes when it answers in the model's place: the closest own-work
    sentences. `benchmarks/fit_quotes.py` on the dev cases (2026-12-06, 153 pairs): the quotes state every
    key fact the expected paper's abstract states for 59.5% of the pairs with one sentence, 76.5% with two,
    83.7% with three (the model's 3-sentence window: 76.5%)."""

    answer_max_tokens: int = 160
    """Tokens a draft answer may take: an answer is 1-3 short sentences (~100 tokens); the cap bounds a
    rambling draft at ~15 s on 2 cores. Set once from that estimate (056778e, 2026-12-01), not tuned."""

    repeated_citations: int = 4
    """The same citation marker this many times in a row with no word between them: the draft has
    degenerated (the small model's "Title [1]. [1]. [1]. ..." until the token cap), so the app stops reading
    it (closing the stream stops the model) and judges what came before, as it would have judged the whole
    draft. A list of different markers ("[1][2][3][4]") is not a repetition and is read on. Set once from the
    degenerate drafts seen (2d6c2c9, 2026-12-06), not tuned."""

    shown_papers: int = 3
    """Answering papers shown to the model at most, the most probable first (`chains.evidence`): a small prompt is
    a fast first token (DESIGN's measure on 2 cores: the 3 best papers x their 3 closest sentences, first token
    ~5-6 s; 5 whole abstracts ~25 s). Set once with the relevance model (b14b8fd, 2026-12-05), not tuned."""

    list_size: int = 6
    """Papers retrieved for a "which papers" question and listed at most; set once with the router
    (9b5cd90, 2026-12-05), not tuned (recall@10 of the list is measured by benchmarks/answers_bench.py)."""

    judge_abstract_chars: int = 1920
    """The abstract shown to the model's own check of the best paper at most (`chains.confirmation`): arXiv's own
    limit, so an over-long abstract cannot slow the one-token call (reading the prompt is its whole cost) or fill
    the context. Set once with the check (cf19530, 2026-12-07), not tuned."""

    # --- what of an abstract the compare, digest and takeaway chains show and check against (`chains.evidence_text`)

    off_topic_floor: float = 0.2
    """Cosine with the paper's core below which an abstract sentence is not about the paper (an injected
    instruction) and is dropped before prompts and checks. `benchmarks/calibrate_offtopic.py` on 250 HF abstracts
    (2026-12-05, benchmarks/results/offtopic_calibration.md): 2.9% of normal sentences dropped, 88.8% of 400
    injected payloads caught (0.15: 1.3% / 79.2%; 0.25: 4.6% / 94.5%)."""

    min_sentences_to_filter: int = 3
    """Abstracts with fewer sentences are kept whole: "the rest of the abstract" needs a few sentences to mean
    anything. Set once with the floor (346a423, 2026-12-05), not tuned."""

    evidence_abstract_chars: int = 3000
    """Characters of a cleaned abstract the chains show a model and check claims against: about 750 tokens, so six
    papers fit the packaged model's 4,096-token context with room to answer. Set once from that budget (346a423,
    2026-12-05), not tuned."""

    # --- the comparison (`chains.aspects`, `chains.compare`)

    quick_sentence_chars: int = 300
    """A sentence quoted as a paper's aspect without a model (`aspects.quick_extraction`) is shortened past this
    many characters. Set once (dad6cef, 2026-11-23), not tuned."""

    cell_chars: int = 240
    """Characters of a comparison table cell at most (longer ones end in "…"); set once (dad6cef, 2026-11-23), not tuned."""

    summary_sentences: int = 6
    """Sentences of the model's comparison kept at most before they are checked (as many as the papers compared at
    most); set once (dad6cef, 2026-11-23), not tuned."""

    # --- the support check's polarity cues (`chains.polarity`)

    negation_scope: int = 4
    """Words after a negation that it turns around ("does not require large batches"); set once (9455145,
    2026-12-07), not tuned: the support model's fit decides how much the cue counts."""

    direction_window: int = 6
    """Words between a content word and the direction word that says which way it goes ("less influential
    factors consist of dataset quality"); set once (e3ddf62, 2026-12-07), not tuned."""


GROUNDING = GroundingConfig()
