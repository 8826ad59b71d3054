"""Polarity: the words that turn a sentence around, for the support check (`chains.grounding`).

Two lexical cues of a contradiction written with the abstract's own words: a negation in one text and
not the other ("does not require large batches"), and an opposite word in place of the abstract's
("increases" for "decreases", "same" for "different", "larger" for "smaller", "reliable" for
"unreliability"). The opposites are WordNet 3.0's antonyms, read by meaning and carried over to derived and
graded forms (assistant/chains/opposites.json, written by `benchmarks/build_opposites.py`); how much each
cue counts is the support model's fit (`benchmarks/fit_support.py`), not decided here. Pure functions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from assistant.chains.answerable import content_stems, stem, words
from assistant.chains.grounding_config import GROUNDING
from assistant.errors import ConfigError

OPPOSITES = Path(__file__).with_name("opposites.json")
_NEGATIONS = frozenset("not no never without cannot none neither nor lack lacks lacking fail fails failed unable non".split())


def negated_stems(text: str) -> dict[str, bool]:
    """Each word's stem and whether a negation comes at most `GroundingConfig.negation_scope` words before it."""
    out: dict[str, bool] = {}
    last = -GROUNDING.negation_scope - 1
    for k, w in enumerate(words(text)):
        if w in _NEGATIONS or w.endswith("n't"):
            last = k
            continue
        s = stem(w)
        out[s] = out.get(s, False) or k - last <= GROUNDING.negation_scope
    return out


def negation_flips(claim: str, sentence: str) -> float:
    """Share of the claim's content words that the sentence also states, negated where the claim is not
    or the reverse ("requires large batches" against "does not require large batches")."""
    said, stated = negated_stems(claim), negated_stems(sentence)
    shared = [m for m in content_stems(claim) if m in said and m in stated]
    return sum(said[m] != stated[m] for m in shared) / len(shared) if shared else 0.0


@lru_cache(maxsize=1)
def opposites() -> dict[str, frozenset[str]]:
    """Stem -> the stems of its WordNet opposites (stemmed with the app's stemmer; pairs whose stems meet dropped)."""
    try:
        pairs = json.loads(OPPOSITES.read_text(encoding="utf-8"))["pairs"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{OPPOSITES} is missing or invalid ({exc}); rebuild it with `python -m benchmarks.build_opposites`") from exc
    out: dict[str, set[str]] = {}
    for pair in pairs:
        a, b = (stem(w) for w in pair.split())
        if a != b:
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
    return {k: frozenset(v) for k, v in out.items()}


def opposite_swaps(claim: str, sentence: str) -> float:
    """1.0 when the claim says a word the sentence does not, and the sentence says its opposite, which the
    claim does not ("uses unidirectional attention" against "employs bidirectional attention"); a word the
    claim negates does not count ("not the same" agrees with "different"). Else 0.0."""
    said, stated = negated_stems(claim), set(negated_stems(sentence))
    table = opposites()
    for m, negated in said.items():
        if not negated and m not in stated and any(o in stated and o not in said for o in table.get(m, ())):
            return 1.0
    return 0.0


_UP = frozenset(
    """increase increases increased increasing increasingly higher highest more most greater greatest larger largest
    improve improves improved improving improvement improvements better best outperform outperforms outperformed
    outperforming exceed exceeds exceeded enhance enhances enhanced boost boosts boosted raise raises raised rise rises
    gain gains stronger strongest faster fastest superior significant significantly important major elevated elevates
    promote promotes promoted accelerate accelerates accelerated surpass surpasses surpassed encourage encourages
    encouraged exacerbate exacerbates exacerbated worsen worsens worsened induce induces induced""".split()
)
_DOWN = frozenset(
    """decrease decreases decreased decreasing lower lowest less least fewer fewest smaller smallest worse worst
    underperform underperforms underperformed degrade degrades degraded decline declines declined drop drops dropped
    weaker weakest slower slowest inferior minor negligible insignificant diminish diminishes diminished suppress
    suppresses suppressed inhibit inhibits inhibited impair impairs impaired reduce reduces reduced reducing reduction
    attenuate attenuates attenuated alleviate alleviates alleviated rescue rescues rescued prevent prevents prevented
    delay delays delayed block blocks blocked""".split()
)
"""Words that say which way a quantity goes (up: more, higher, improves, outperforms; down: fewer, lower, reduces);
a negation in the `GroundingConfig.negation_scope` words before one turns it around ("does not improve"). Set once from the
words of comparisons and effects, not tuned per pair."""


def _directions(text: str) -> tuple[list[str], dict[int, int]]:
    """A text's word stems and, by position, +1 / -1 for each up / down word (turned around after a negation)."""
    tokens = words(text)
    marks: dict[int, int] = {}
    last = -GROUNDING.negation_scope - 1
    for k, w in enumerate(tokens):
        if w in _NEGATIONS or w.endswith("n't"):
            last = k
        elif w in _UP or w in _DOWN:
            sign = 1 if w in _UP else -1
            marks[k] = -sign if k - last <= GROUNDING.negation_scope else sign
    return [stem(w) for w in tokens], marks


def _ways(stems: list[str], marks: dict[int, int], anchor: str) -> set[int]:
    """The directions of the nearest direction word (within `GroundingConfig.direction_window`) of each occurrence of `anchor`."""
    out: set[int] = set()
    for k, s in enumerate(stems):
        if s != anchor or k in marks:
            continue
        near = [(abs(j - k), d) for j, d in marks.items() if abs(j - k) <= GROUNDING.direction_window]
        if near:
            closest = min(d for d, _ in near)
            out |= {d for gap, d in near if gap == closest}
    return out


def direction_conflicts(claim: str, sentences: Sequence[str]) -> float:
    """The highest share, over the sentences, of the content words claim and sentence share, each with a
    direction word near it in both, whose directions disagree ("decreases the risk of bleeding" against "the
    highest bleeding risk"; "less robust than dense counterparts" against "outperform dense counterparts in ...
    robustness"). The claim's direction marks are read once for all the sentences."""
    c_stems, c_marks = _directions(claim)
    if not c_marks:
        return 0.0
    content = content_stems(claim)
    worst = 0.0
    for sentence in sentences:
        s_stems, s_marks = _directions(sentence)
        if not s_marks:
            continue
        judged = conflicts = 0
        for m in content & set(s_stems):
            said, stated = _ways(c_stems, c_marks, m), _ways(s_stems, s_marks, m)
            if said and stated:
                judged += 1
                conflicts += not (said & stated)
        worst = max(worst, conflicts / judged if judged else 0.0)
    return worst


_RESTRICTIVE = frozenset("only solely exclusively always every same entirely purely sole never".split())
"""Words that narrow a claim to all or nothing ("only works for inference", "the same bit-width to every feature")."""


def unstated_restriction(claim: str, sentence: str) -> float:
    """1.0 when the claim narrows itself with a `_RESTRICTIVE` word the sentence does not say, else 0.0."""
    return float(bool((_RESTRICTIVE & set(words(claim))) - set(words(sentence))))

