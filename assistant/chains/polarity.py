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
from functools import lru_cache
from pathlib import Path

from assistant.chains.answerable import content_stems, stem, words
from assistant.errors import ConfigError

OPPOSITES = Path(__file__).with_name("opposites.json")
_NEGATIONS = frozenset("not no never without cannot none neither nor lack lacks lacking fail fails failed unable non".split())
NEGATION_SCOPE = 4
"""Words after a negation that it turns around ("does not require large batches"); set once, not tuned."""


def negated_stems(text: str) -> dict[str, bool]:
    """Each word's stem and whether a negation comes at most `NEGATION_SCOPE` words before it."""
    out: dict[str, bool] = {}
    last = -NEGATION_SCOPE - 1
    for k, w in enumerate(words(text)):
        if w in _NEGATIONS or w.endswith("n't"):
            last = k
            continue
        s = stem(w)
        out[s] = out.get(s, False) or k - last <= NEGATION_SCOPE
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

