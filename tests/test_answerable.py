"""The answerability judge: what a question asks for, and whether the evidence states it.

Unit tests on question shapes, then the judge over the seed papers with the real embedder, and
the QA chain's use of it: no model call for unanswerable evidence, quoted sentences when the
model declines answerable evidence.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.chains.answerable import analyse, judge
from assistant.papers import make_paper_id
from assistant.prompts import CANNOT_ANSWER
from assistant.service import Assistant
from tests.conftest import make_settings
from tests.test_qa import RecordingChat, with_model

NASH = make_paper_id("Accelerating Nash Learning from Human Feedback via Mirror Prox")
ACES = make_paper_id("Machine Translation Meta Evaluation through Translation Accuracy Challenge Sets")


@pytest.mark.parametrize(
    ("question", "asked", "names", "number"),
    [
        ("What learning rate was used when fine-tuning with Nash-MP?", ["learn", "rate"], {"Nash-MP"}, False),
        ("How many language pairs does the ACES challenge set span?", ["languag", "pair"], {"ACES"}, True),
        ("What FID does Immiscible Diffusion reach on CelebA?", [], {"FID", "Immiscible", "Diffusion", "CelebA"}, True),
        ("By how many BLEU points does PowerNorm beat layer normalization?", [], {"BLEU", "PowerNorm"}, True),
        ("Which papers use mixup-style data augmentation?", [], set(), False),
        ("What does ShrinkMatch do with uncertain samples?", [], {"ShrinkMatch"}, False),  # no asked span
        ("How does SinKD measure the difference between teacher and student?", [], {"SinKD"}, False),
    ],
)
def test_analyse_finds_what_is_asked(question: str, asked: list[str], names: set[str], number: bool) -> None:
    q = analyse(question)
    assert q.asked == asked
    assert q.names == names
    assert q.wants_number is number


@pytest.fixture(scope="module")
def shared(seeded_dir: Path) -> Iterator[Assistant]:
    app = Assistant(make_settings(seeded_dir))
    app.retriever  # noqa: B018
    yield app
    app.close()


def _verdict(app: Assistant, question: str):  # type: ignore[no-untyped-def]
    hits = app.search(question, k=3)
    return hits, judge(question, hits, app.embedder.embed)


def test_stated_number_is_answerable_by_its_paper(shared: Assistant) -> None:
    hits, v = _verdict(shared, "How many language pairs does the ACES translation challenge set span?")
    assert v.answerable
    best = v.answering[0]
    assert hits[best.n - 1].paper.paper_id == ACES
    assert "146 language pairs" in best.sentence


@pytest.mark.parametrize(
    "question",
    [
        "What learning rate was used when fine-tuning language models with Nash-MP?",  # detail not stated
        "What batch size did SimMatchV2 use for its ImageNet experiments?",
        "What mAP does LiDAR-PTQ achieve on the Waymo Open Dataset?",  # dataset never named
        "Which papers predict protein structures from amino-acid sequences?",  # off-topic corpus
    ],
)
def test_unstated_details_are_not_answerable(shared: Assistant, question: str) -> None:
    _hits, v = _verdict(shared, question)
    assert not v.answerable, [(s.n, s.sentence, s.coverage, s.similarity) for s in v.supports]


def test_unanswerable_question_is_refused_without_calling_the_model(shared: Assistant) -> None:
    app, model = with_model(shared, "Nash-MP uses a learning rate of 1e-6 [1].")
    evts = list(app.ask_stream("What learning rate was used when fine-tuning language models with Nash-MP?"))
    answer = evts[-1][1]
    assert answer.refused and model.seen == []
    assert not [v for k, v in evts if k == "token"]
    assert any(c.paper_id == NASH for c in answer.citations), "the refusal names the closest papers"


def test_declined_answerable_question_quotes_the_answering_sentence(shared: Assistant) -> None:
    app, model = with_model(shared, CANNOT_ANSWER)
    answer = app.ask("What convergence rate does Nash-MP achieve?")
    assert isinstance(app.chat_model, RecordingChat) and len(model.seen) == 1
    assert not answer.refused and answer.extractive
    assert answer.citations and answer.citations[0].paper_id == NASH and answer.citations[0].supported
    assert "linear convergence" in answer.answer
    # only the answering papers reached the model, each with its answering sentence
    prompt = "\n".join(str(m.content) for m in model.seen[0] if m.type == "human")
    verdict = app.evidence_for("What convergence rate does Nash-MP achieve?").verdict
    assert verdict is not None
    shown = [line for line in prompt.splitlines() if line.startswith("[")]
    assert len(shown) == len(verdict.answering) < len(answer.evidence)
    assert all(s.sentence in prompt for s in verdict.answering)
