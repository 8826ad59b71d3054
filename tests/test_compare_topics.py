"""On-topic comparisons (#16 item 5): a topic's papers must be about every part of it as their own work,
too few is said plainly, no shown sentence carries one paper's numbers or names under another's
citation, and table cells state what the paper does rather than its background."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.chains.aspects import quick_extraction
from assistant.chains.compare import Comparison, choose_papers
from assistant.chains.contrast import clauses, is_contrast, takeaway_contrast
from assistant.chains.support import reader_sentences
from assistant.chains.takeaway import Takeaway
from assistant.chains.topic_match import (
    FEATURES,
    about,
    acronym_definitions,
    match_topic,
    own_work_text,
    statement_signals,
    topic_parts,
    topic_signals,
)
from assistant.errors import InputError
from assistant.chains.grounding import check_claim
from assistant.papers import Hit, Paper
from assistant.service import Assistant
from conftest import make_settings
from digest_fakes import PromptFake, app_for, corpus_papers, ingested_store, private_copy, respond


def paper(pid: str, title: str, abstract: str) -> Paper:
    return Paper(paper_id=pid, title=title, abstract=abstract, dates=["2024-06-03"])


PTQ = [
    paper("2406.10001", "RoundLLM: Learnable Rounding for Post-Training Quantization of Large Language Models",
          "Large language models are expensive to serve. We propose RoundLLM, a post-training quantization method "
          "for LLMs that learns a rounding offset per weight from 128 calibration samples. RoundLLM quantizes "
          "LLaMA-2 weights to 3 bits and keeps perplexity within 0.4 of the full-precision model."),
    paper("2406.10002", "GridQ: Post-Training Weight Quantization of LLMs with Per-Channel Grids",
          "Memory bandwidth limits LLM decoding. We introduce GridQ, a post-training quantization scheme for "
          "large language models that fits a per-channel grid without any fine-tuning. GridQ reaches 4-bit "
          "weights with a 2.1x decoding speed-up on OPT-66B."),
    paper("2406.10003", "SaliencyQuant: Mixed-Precision Post-Training Quantization for LLMs",
          "Uniform bit widths waste memory. We present SaliencyQuant, a post-training quantization method for "
          "LLMs that gives salient output features 8 bits and the rest 4 bits, computed once after training. "
          "SaliencyQuant loses 0.9 accuracy points on MMLU at 4.4 bits per weight."),
    paper("2406.10004", "LoQAT: Quantization-Aware Training of Large Language Models with Low-Rank Adapters",
          "Post-training quantization (PTQ) of large language models (LLMs) is cheap but loses accuracy at "
          "low bit widths. Quantization-aware training is more accurate but costly. We propose LoQAT, a "
          "quantization-aware training method for LLMs that learns quantization step sizes inside low-rank "
          "adapters during fine-tuning. LoQAT trains LLaMA-7B at 3 bits within 5% of the 16-bit model."),
    paper("2406.10005", "ConvPTQ: Post-Training Quantization of Convolutional Networks by Gradient Boosting",
          "We propose ConvPTQ, which picks post-training quantization settings of convolutional neural networks "
          "with gradient-boosted trees; ResNet-50 keeps 75.1% top-1 accuracy at 8 bits."),
]


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingested_store(tmp_path_factory.mktemp("compare-topics"), corpus_papers() + PTQ)


@pytest.fixture
def app(store_dir: Path, tmp_path: Path) -> Assistant:
    return app_for(private_copy(store_dir, tmp_path / "data"))


# ---------------------------------------------------------------------------- choosing the papers


def test_acronyms_in_own_work_count_with_the_long_form_the_abstract_defines() -> None:
    defs = acronym_definitions(PTQ[3].abstract)
    assert defs["PTQ"] == "Post-training quantization" and defs["LLM"] == "large language models"
    dpo = paper("2305.00001", "Direct Preference Optimization",
                "Reinforcement learning from human feedback (RLHF) is complex and unstable. We replace RLHF "
                "with a classification loss on preference pairs.")
    assert "human feedback" in own_work_text(dpo)  # "RLHF" in the own-work sentence
    assert "post-training quantization" not in own_work_text(PTQ[3]).lower()  # named only as background


def test_a_method_the_paper_only_compares_itself_with_is_not_its_own_work() -> None:
    """An own-work sentence that measures the paper against another method ("faster than the
    quantization-aware training method") does not make that method the paper's topic."""
    ptq = paper("2401.00002", "PointPTQ: Post-Training Quantization for 3D Detection",
                "Detectors are costly on edge devices. We propose PointPTQ, a post-training quantization method. "
                "Our PointPTQ is 30 times faster than the quantization-aware training method.")
    text = own_work_text(ptq)
    assert "30 times faster" in text and "aware" not in text
    assert not about("quantization-aware training", text) and about("post-training quantization", text)


def test_topic_signals_measure_each_paper_against_the_topics_best_match() -> None:
    """The gaps say how far a paper falls behind the best paper stating the topic (the best is at 0)."""
    def embed(texts: list[str]) -> np.ndarray:  # the topic and three titles, at falling cosines
        return np.array([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8], [0.0, 1.0]][: len(texts)])

    hits = [Hit(paper=p, score=s) for p, s in zip(PTQ[:3], (0.5, 0.9, 0.2))]
    feats = topic_signals("LLM post-training quantization", hits, embed)
    assert all(set(f) == set(FEATURES) for f in feats)
    assert [round(f["title_cosine_gap"], 2) for f in feats] == [0.0, -0.2, -0.8]
    assert [round(f["score_gap"], 2) for f in feats] == [-0.4, 0.0, -0.7]
    assert topic_signals("anything", [], embed) == []


def test_where_a_paper_states_the_topic_is_measured_part_by_part() -> None:
    """A paper about the topic states its parts in the title and the whole topic in many sentences; one
    that names it once, as background, states neither in its title."""
    assert topic_parts("LLM post-training quantization") == ["LLM", "post-training", "quantization"]
    assert topic_parts("learning with noisy labels") == ["learning", "noisy", "labels"]
    about_it = statement_signals("LLM post-training quantization", PTQ[0])  # RoundLLM
    background = statement_signals("LLM post-training quantization", PTQ[3])  # LoQAT: PTQ named as background
    assert about_it["parts_in_title"] == 1.0 and background["parts_in_title"] == pytest.approx(2 / 3)
    assert about_it["stated_share"] == pytest.approx(2 / 4)  # the title and "We propose RoundLLM, a ... for LLMs"
    assert background["stated_share"] == pytest.approx(1 / 5)  # only the background sentence
    conv = statement_signals("LLM post-training quantization", PTQ[4])  # ConvPTQ: not about LLMs
    assert conv["stated_share"] == 0.0 and conv["parts_in_title"] == pytest.approx(2 / 3)


def test_a_paper_naming_the_topic_only_as_background_is_not_chosen(app: Assistant) -> None:
    """The user's failure: quantized *training* chosen for "LLM post-training quantization"."""
    papers, query = choose_papers(["LLM post-training quantization"], app.store, app.search, n=4, embed=app.embed_sentences)
    ids = {p.paper_id for p in papers}
    assert query == "LLM post-training quantization"
    assert "2406.10004" not in ids  # LoQAT: PTQ only in its background
    assert "2406.10005" not in ids  # ConvPTQ: not about LLMs
    assert len(ids) >= 2 and ids <= {"2406.10001", "2406.10002", "2406.10003"}


def test_a_paper_lifted_by_similar_papers_is_judged_on_its_own_search_score(store_dir: Path, tmp_path: Path) -> None:
    """Neighbour smoothing lifts a paper that sits among papers about the topic (LiDAR-PTQ among QAT papers
    for "quantization-aware training" crossed the bar so): the topic model reads the query's own score of
    each paper, so how strongly search smooths does not change which papers qualify or their probability."""
    query = "LLM post-training quantization"
    judged = {}
    for weight in (0.0, 0.9):
        app = Assistant(make_settings(private_copy(store_dir, tmp_path / f"w{weight}"), smooth_weight=weight),
                        chat_model=PromptFake())
        found = app.search(query, k=30)
        matches = match_topic(query, found, app.embed_sentences)
        papers, _ = choose_papers([query], app.store, app.search, n=4, embed=app.embed_sentences)
        judged[weight] = ({m.hit.paper.paper_id: (m.probability, m.signals["score"]) for m in matches},
                          sorted(p.paper_id for p in papers))
        app.close()
        if weight:
            lifted = [m for m in matches if m.hit.score > m.hit.relevance + 1e-3]
            assert lifted  # smoothing did lift a paper the topic model judges
            assert all(m.signals["score"] == pytest.approx(m.hit.relevance, abs=1e-4) for m in matches)
    assert judged[0.9] == judged[0.0]


def test_fewer_than_two_papers_about_the_topic_is_said_plainly(app: Assistant) -> None:
    with pytest.raises(InputError) as err:
        choose_papers(["quantization-aware training of LLMs"], app.store, app.search, n=4, embed=app.embed_sentences)
    message = str(err.value)
    assert "only 1 stored paper is about 'quantization-aware training of LLMs'" in message
    assert "LoQAT" in message and "needs at least 2" in message
    with pytest.raises(InputError, match="no stored paper is about every part of 'protein folding'"):
        app.compare(["protein folding"])


# ---------------------------------------------------------------------------- one paper's facts under another's citation


def test_another_papers_numbers_or_names_under_a_citation_are_never_shown(app: Assistant) -> None:
    ids = ["2406.10001", "2406.10002"]  # [1] RoundLLM (3 bits, 128 samples), [2] GridQ (4-bit, 2.1x, OPT-66B)

    def mixing(prompt: str) -> str:
        if "Comparison (3 to 5" in prompt:
            return (
                "RoundLLM learns a rounding offset per weight from calibration samples [1]. "
                "RoundLLM reaches a 2.1x decoding speed-up [1]. "  # GridQ's number under [1]
                "GridQ quantizes OPT-66B to 3 bits with 128 calibration samples [2]. "  # RoundLLM's numbers under [2]
                "RoundLLM also runs on OPT-66B [1]. "  # GridQ's model under [1]
                "Both papers reach 4-bit weights with a 2.1x speed-up [1][2]."  # true of [2] only
            )
        return respond(prompt)

    c = app_for(app.settings.data_dir, PromptFake(responder=mixing)).compare(ids)
    shown = {text: cites for s in c.sentences for text, cites in clauses(s.text)}  # a contrast: per clause
    assert not any("2.1x" in t and 1 in cites for t, cites in shown.items())
    assert not any("OPT-66B" in t and 1 in cites for t, cites in shown.items())
    assert not any("128" in t and 2 in cites for t, cites in shown.items())
    reasons = {d.text: d.reason for d in c.dropped}
    assert any("2.1x" in r for t, r in reasons.items() if t.startswith("RoundLLM reaches"))
    assert any("OPT-66B" in r for t, r in reasons.items() if t.startswith("RoundLLM also"))
    assert any("128" in r or "3 bits" in r for t, r in reasons.items() if t.startswith("GridQ quantizes"))
    both = [cites for t, cites in shown.items() if t.startswith("Both papers")]
    assert all(cites == [2] for cites in both)  # kept only under the paper that states it, if at all


# ---------------------------------------------------------------------------- cells state the paper's own work


def test_quick_cells_quote_the_papers_own_work_not_its_background() -> None:
    p = paper("2406.20001", "ShiftNet: Multiplication-Free Layers",
              "Existing multiplication-free networks achieve state-of-the-art accuracy and outperform dense "
              "baselines by 2%, improving speed. However, they need training from scratch. We propose ShiftNet, "
              "which replaces multiplications of a pretrained model by shifts after training. ShiftNet keeps "
              "accuracy within 1% on ImageNet.")
    q = quick_extraction(p)
    assert q.method.startswith("We propose ShiftNet")
    assert q.result.startswith("ShiftNet keeps accuracy")  # not the prior-work sentence full of result cues
    assert "Existing" not in q.data + q.method + q.result


# ---------------------------------------------------------------------------- where the papers differ


def test_clauses_cut_a_sentence_at_its_citation_markers() -> None:
    assert clauses("A learns X [1], whereas B fits Y [2].") == [("A learns X [1]", [1]), (", whereas B fits Y [2].", [2])]
    assert clauses("Both quantize weights [1][2].") == [("Both quantize weights [1][2].", [1, 2])]
    assert clauses("A learns X [1] and runs fast.") == [("A learns X [1]", [1]), (" and runs fast.", [])]


def _shown_clauses_hold(c: Comparison, app: Assistant) -> None:
    """Every shown sentence is cited, and each of its clauses is stated by every paper it cites."""
    assert c.sentences and all(s.cites and s.supported for s in c.sentences)
    for s in c.sentences:
        for text, cites in clauses(s.text):
            assert cites, s.text
            assert all(check_claim(text, c.papers[n - 1], app.embed_sentences, phrase=True).supported for n in cites), text


def test_the_summary_says_how_the_papers_differ_each_clause_under_its_own_paper(app: Assistant) -> None:
    ids = ["2406.10001", "2406.10002"]  # [1] RoundLLM (rounding offsets, 128 samples), [2] GridQ (per-channel grid)
    good = ("RoundLLM learns a rounding offset per weight from calibration samples [1], whereas GridQ fits a "
            "per-channel grid without any fine-tuning [2].")

    def contrasting(prompt: str) -> str:
        if "Comparison (3 to 5" in prompt:
            return (
                "Both are post-training quantization methods for large language models [1][2]. " + good + " "
                "RoundLLM learns a rounding offset per weight [1], whereas GridQ learns its grid from 128 calibration samples [2]. "
                "RoundLLM learns rounding offsets while GridQ fits per-channel grids [1][2]."
            )
        return respond(prompt)

    c = app_for(app.settings.data_dir, PromptFake(responder=contrasting)).compare(ids)
    shown = {s.text: s.cites for s in c.sentences}
    assert shown[good] == [1, 2] and not c.fallback
    assert shown["Both are post-training quantization methods for large language models [1][2]."] == [1, 2]
    reasons = {d.text[:40]: d.reason for d in c.dropped}
    assert "[2] does not support the clause" in reasons["RoundLLM learns a rounding offset per we"]  # 128 is [1]'s
    assert "GridQ" in reasons["RoundLLM learns rounding offsets while G"]  # two papers' work under both numbers
    assert len(c.sentences) == 2  # the model's contrast holds: no app-made one is added
    _shown_clauses_hold(c, app)


@pytest.mark.parametrize("reply", ["per paper", "NOT_IN_PAPERS"])
def test_without_a_contrast_from_the_model_the_app_sets_the_papers_side_by_side(app: Assistant, reply: str) -> None:
    def per_paper(prompt: str) -> str:  # respond() writes one method sentence per paper, no contrast
        return ("NOT_IN_PAPERS" if reply != "per paper" else respond(prompt)) if "Comparison (3 to 5" in prompt else respond(prompt)

    c = app_for(app.settings.data_dir, PromptFake(responder=per_paper)).compare(
        ["2406.10001", "2406.10002", "2406.10003"]
    )
    contrasts = [s for s in c.sentences if is_contrast(s)]
    assert len(contrasts) == 1 and contrasts[0].cites == [1, 2, 3]
    parts = clauses(contrasts[0].text)
    assert [cites for _, cites in parts] == [[1], [2], [3]]
    for (text, _), name in zip(parts, ["RoundLLM", "GridQ", "SaliencyQuant"]):
        assert name in text and not any(other in text for other in {"RoundLLM", "GridQ", "SaliencyQuant"} - {name})
    assert c.fallback == (reply != "per paper")
    _shown_clauses_hold(c, app)


def test_the_apps_contrast_names_each_paper_then_what_sets_it_apart(app: Assistant) -> None:
    lines = {
        "2406.10001": "Proposes RoundLLM, a post-training quantization method for LLMs that learns a rounding offset per weight.",
        "2406.10002": "Introduces a post-training quantization scheme for large language models that fits a per-channel grid.",
    }
    sentences = {p.paper_id: p.abstract.split(". ")[1] for p in PTQ[:2]}  # "We propose RoundLLM ...", "We introduce GridQ ..."
    made = takeaway_contrast(
        PTQ[:2], {pid: Takeaway(paper_id=pid, text=t, sentence=sentences[pid], supported=True) for pid, t in lines.items()},
        app.embed_sentences,
    )
    assert made is not None and made.cites == [1, 2]
    assert made.text == (
        "RoundLLM learns a rounding offset per weight [1], whereas GridQ introduces a post-training quantization "
        "scheme for large language models that fits a per-channel grid [2]."
    )
    # a takeaway not headed by the paper's verb follows the name as a lead-in, not glued after it
    result = "GridQ reaches 4-bit weights with a 2.1x decoding speed-up on OPT-66B"
    lines["2406.10002"], sentences["2406.10002"] = f"{result}.", f"{result}."
    lines["2406.10001"] = sentences["2406.10001"] = "The method keeps perplexity within 0.4 of the full-precision model."
    made = takeaway_contrast(
        PTQ[:2], {pid: Takeaway(paper_id=pid, text=t, sentence=sentences[pid], supported=True) for pid, t in lines.items()},
        app.embed_sentences,
    )
    assert made is not None and made.text == (
        f"In RoundLLM, the method keeps perplexity within 0.4 of the full-precision model [1], whereas {result} [2]."
    )


def test_a_sentence_the_apps_contrast_repeats_is_left_out_and_one_it_does_not_is_kept(app: Assistant) -> None:
    said = {
        "RoundLLM learns a rounding offset per weight from calibration samples [1].": "repeated",  # its contribution sentence
        "RoundLLM keeps perplexity within 0.4 of the full-precision model [1].": "kept",  # its result: not in the contrast
        # a short clause of a long sentence is only "not verified" at the 97%-precision bar (0.78): a fuller one
        "GridQ fits a per-channel grid to quantize large language models without any fine-tuning [2].": "repeated",
    }

    def per_paper(prompt: str) -> str:
        return " ".join(said) if "Comparison (3 to 5" in prompt else respond(prompt)

    c = app_for(app.settings.data_dir, PromptFake(responder=per_paper)).compare(["2406.10001", "2406.10002"])
    contrasts = [s for s in c.sentences if is_contrast(s)]
    assert len(contrasts) == 1 and contrasts[0].cites == [1, 2]
    shown = [s.text for s in c.sentences if not is_contrast(s)]
    assert shown == [t for t, fate in said.items() if fate == "kept"]
    left_out = {d.text: d.reason for d in c.dropped}
    assert {t for t, fate in said.items() if fate == "repeated"} <= set(left_out)
    assert all("contrast" in left_out[t] for t, fate in said.items() if fate == "repeated")
    _shown_clauses_hold(c, app)


def test_a_first_person_sentence_is_retold_under_its_papers_name_and_still_reads(app: Assistant) -> None:
    """"We propose X" names its paper as the subject; a sentence that does not open with the authors
    doing something gets the name as a lead-in ("In RoundLLM, ..."), not glued before it."""
    edited = reader_sentences(
        "We propose RoundLLM, a post-training quantization method for LLMs that learns a rounding offset per weight [1]. "
        # (the whole result: its first half alone is only "not verified" at the 97%-precision bar, 0.82)
        "With 128 calibration samples, our method quantizes LLaMA-2 weights to 3 bits and keeps perplexity "
        "within 0.4 of the full-precision model [1].",
        PTQ[:1], app.embed_sentences,
    )
    assert [s.text for s in edited.sentences] == [
        "One paper proposes RoundLLM, a post-training quantization method for LLMs that learns a rounding offset per weight [1].",
        "In RoundLLM, with 128 calibration samples, its method quantizes LLaMA-2 weights to 3 bits and keeps "
        "perplexity within 0.4 of the full-precision model [1].",
    ]
