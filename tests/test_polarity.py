"""Polarity cues of the support check: WordNet opposites (built from WordNet's data files) and negation."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.chains.answerable import stem
from assistant.chains.grounding import check_claim
from assistant.chains.polarity import direction_conflicts, opposite_swaps, opposites, unstated_restriction
from assistant.papers import Paper
from benchmarks.build_opposites import antonym_pairs, graded
from tests.test_citations import fake_embed, probability_with

SENTENCE = "We propose SlimRoute, whose router minimizes the divergence between experts and uses bidirectional attention."


def test_an_opposite_word_in_place_of_the_sentences_is_a_swap() -> None:
    assert opposite_swaps("SlimRoute maximizes the divergence between experts.", SENTENCE) == 1.0
    assert opposite_swaps("SlimRoute uses unidirectional attention.", SENTENCE) == 1.0
    assert opposite_swaps("SlimRoute minimizes the divergence between experts.", SENTENCE) == 0.0


def test_a_negated_or_restated_opposite_is_not_a_swap() -> None:
    assert opposite_swaps("SlimRoute does not maximize the divergence.", SENTENCE) == 0.0  # agrees with "minimizes"
    # the claim says both words: a comparison, not a swap
    assert opposite_swaps("SlimRoute uses bidirectional rather than unidirectional attention.", SENTENCE) == 0.0


def test_the_packaged_opposites_are_wordnets_stemmed() -> None:
    table = opposites()
    assert stem("decrease") in table[stem("increase")] and stem("different") in table[stem("same")]
    assert stem("narrows") in table[stem("widens")] and stem("smaller") in table[stem("larger")]
    assert stem("unreliability") in table[stem("reliable")]
    assert all(k not in v for k, v in table.items())


def test_antonym_pairs_are_read_from_wordnets_data_files(tmp_path: Path) -> None:
    """Two verb synsets pointing at each other by word number (every word of one meaning against the other's),
    the nouns derived from them, two adjective pairs (graded forms of the short one, "(a)" markers dropped)
    and a multi-word lemma (dropped): the data line format of wndb(5WN)."""
    verbs = [
        "  1 This is a license header line",
        "00000001 30 v 02 increase 0 raise 0 002 ! 00000002 v 0101 + 00000100 n 0101 | become bigger",
        "00000002 30 v 01 decrease 0 002 ! 00000001 v 0101 + 00000200 n 0101 | become smaller",
    ]
    nouns = [
        "00000100 04 n 01 increment 0 001 + 00000001 v 0101 | an increase",
        "00000200 04 n 01 decrement 0 001 + 00000002 v 0101 | a decrease",
    ]
    adjs = [
        "00000010 00 a 01 same(a) 0 002 ! 00000020 a 0101 & 00000030 s 0000 | identical",
        "00000020 00 a 01 different 0 001 ! 00000010 a 0101 | not alike",
        "00000030 00 s 01 one_and_the_same 0 001 ! 00000020 a 0101 | same",
        "00000040 00 a 01 big 0 001 ! 00000050 a 0101 | large",
        "00000050 00 a 01 small 0 001 ! 00000040 a 0101 | little",
    ]
    (tmp_path / "data.verb").write_text("\n".join(verbs) + "\n", encoding="latin-1")
    (tmp_path / "data.noun").write_text("\n".join(nouns) + "\n", encoding="latin-1")
    (tmp_path / "data.adj").write_text("\n".join(adjs) + "\n", encoding="latin-1")
    (tmp_path / "data.adv").write_text("  1 header\n", encoding="latin-1")
    (tmp_path / "adj.exc").write_text("worse bad\n", encoding="latin-1")
    assert antonym_pairs(tmp_path) == [
        ("big", "small"), ("bigger", "smaller"), ("biggest", "smallest"), ("decrease", "increase"),
        ("decrease", "raise"), ("decrement", "increment"), ("different", "same"),
    ]


def test_graded_forms_follow_english_spelling() -> None:
    exceptions = {"far": ["farther", "farthest"]}
    assert [graded(a, exceptions) for a in ("large", "easy", "big", "narrow", "far")] == [
        ("larger", "largest"), ("easier", "easiest"), ("bigger", "biggest"), ("narrower", "narrowest"),
        ("farther", "farthest")]


ROUTER = Paper(paper_id="2405.00007", title="SlimRoute: Small Routers for Mixture of Experts", abstract=(
    "Routers of mixture-of-experts models are large. We propose SlimRoute, which decreases the router's "
    "parameters by half and keeps the accuracy of dense routing."))


def test_a_shared_word_going_the_other_way_is_a_direction_conflict() -> None:
    """Up and down words near a word both texts say ("decreases the risk" / "the highest risk"), a negation
    turning one around ("not associated with an increased risk"); words without a direction never conflict."""
    assert direction_conflicts("Dexamethasone decreases risk of bleeding.", ["Dexamethasone had the highest bleeding risk."]) == 1.0
    assert direction_conflicts("Pruned networks are less robust than dense counterparts.",
                               ["Pruned networks outperform dense counterparts in robustness."]) == 1.0
    assert direction_conflicts("The drug increases the risk of events.",
                               ["Use of the drug was not associated with an increased risk of events."]) == 1.0
    assert direction_conflicts("The method reduces memory usage.", ["Our method lowers memory usage by 30%."]) == 0.0
    assert direction_conflicts("The method reduces memory usage.", ["Our method needs memory for the cache."]) == 0.0


def test_the_direction_conflict_of_several_sentences_is_their_highest() -> None:
    claim = "The method reduces memory usage."
    agree, disagree, neutral = "Our method lowers memory usage by 30%.", "The method increases memory usage.", "It needs memory."
    assert direction_conflicts(claim, [agree, disagree, neutral]) == 1.0
    assert direction_conflicts(claim, [agree, neutral]) == 0.0
    assert direction_conflicts(claim, []) == 0.0


def test_a_restriction_the_sentence_does_not_say_is_marked() -> None:
    sentence = "Superpipeline can be applied to large language models, vision-language models and vision models."
    assert unstated_restriction("Superpipeline only works for vision models.", sentence) == 1.0
    assert unstated_restriction("Superpipeline works for vision models.", sentence) == 0.0
    assert unstated_restriction("MixLLM uses only 4 bits.", "MixLLM uses only 4 bits for most weights.") == 0.0


TESTER = Paper(paper_id="2405.00008", title="Effects of RouteDrug on Bleeding", abstract=(
    "We study RouteDrug in 500 patients. RouteDrug was associated with the highest bleeding risk after surgery."))


@pytest.mark.parametrize(("feature", "paper", "claim", "faithful", "turned"), [
    ("opposite", ROUTER, "SlimRoute {} the router's parameters by half [1].", "decreases", "increases"),
    ("direction", TESTER, "RouteDrug {} the risk of bleeding after surgery [1].", "increases", "decreases"),
])
def test_a_claim_that_turns_the_abstract_around_is_less_supported(
        feature: str, paper: Paper, claim: str, faithful: str, turned: str) -> None:
    """An opposite word in place of the abstract's, or a word going the other way than the abstract says."""
    kept, flipped = (check_claim(claim.format(verb), paper, fake_embed) for verb in (faithful, turned))
    assert (kept.features[feature], flipped.features[feature]) == (0.0, 1.0)
    assert flipped.probability < kept.probability and not flipped.supported
    assert flipped.probability < probability_with(flipped.features, **{feature: 0.0})  # the fit counts the cue against it
