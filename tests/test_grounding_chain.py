"""Grounding failure modes through the real QA chain (real embedder and retrieval, a fake chat model):
the quoted fall-back states the paper's contribution, not its background, and a claim the abstract
attributes to prior work is never labelled as the paper's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.language_models import FakeListChatModel

from assistant.papers import Paper
from assistant.prompts import CANNOT_ANSWER
from assistant.service import Assistant
from tests.conftest import make_settings

ROUTE = Paper(
    paper_id="2405.00001",
    title="SparseRoute: Hash Routing for Mixture of Experts",
    abstract=(
        "How to route tokens to experts is an open problem of mixture-of-experts models. "
        "Existing methods train a reward model from pairwise preferences to balance the experts. "
        "We propose SparseRoute, which assigns each token to an expert by a learned hash and needs no auxiliary "
        "balancing loss. SparseRoute matches dense routing quality at half the training compute."
    ),
    dates=["2025-06-02"],
)
OTHERS = [
    Paper(
        paper_id="2405.00002",
        title="Tactile Grasping with Diffusion Policies",
        abstract="We train a diffusion policy on touch and vision to grasp fragile objects with a robot hand.",
        dates=["2025-06-02"],
    ),
    Paper(
        paper_id="2405.00003",
        title="Cheap Speech Recognition for Low-Resource Languages",
        abstract="We fine-tune a small speech model on 20 hours of audio per language and halve the word error rate.",
        dates=["2025-06-02"],
    ),
]
SHARD = Paper(
    paper_id="2405.00004",
    title="ShardCache: Sharded Key-Value Caches for Long-Context Inference",
    abstract=(
        "Long-context inference is limited by the memory of the key-value cache. "
        "We propose ShardCache, which splits the key-value cache across devices by attention head. "
        "ShardCache decreases the peak memory per device by 60% and keeps the latency of single-device decoding."
    ),
    dates=["2025-06-02"],
)
QUESTION = "How does SparseRoute route tokens to experts?"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data = tmp_path_factory.mktemp("grounding") / "data"
    app = Assistant(make_settings(data))
    app.ingest_papers([ROUTE, SHARD, *OTHERS], progress=False)
    app.close()
    yield data


def ask(data: Path, draft: str, question: str = QUESTION) -> tuple[str, list[tuple[str, bool]]]:
    app = Assistant(make_settings(data), chat_model=FakeListChatModel(responses=[draft]))
    try:
        answer = app.ask(question, k=3)
    finally:
        app.close()
    assert not answer.refused
    return answer.answer, [(s.text, s.supported) for s in answer.sentences]


def test_the_quoted_fallback_states_the_contribution_not_the_background(corpus: Path) -> None:
    text, _ = ask(corpus, CANNOT_ANSWER)  # the model declines: the app quotes the answering sentence
    assert "open problem" not in text  # the background sentence is the closest to the question
    assert "[1]" in text and "SparseRoute" in text.split(":", 2)[-1]


def test_prior_work_is_not_attributed_to_the_paper(corpus: Path) -> None:
    _, sentences = ask(corpus, "SparseRoute trains a reward model from pairwise preferences to balance the experts [1].")
    assert not any(ok and "reward model" in s for s, ok in sentences)


def test_the_papers_own_claim_is_supported(corpus: Path) -> None:
    _, sentences = ask(corpus, "SparseRoute assigns each token to an expert by a learned hash and needs no auxiliary balancing loss [1].")
    assert sentences and all(ok for _, ok in sentences)


def test_a_claim_with_the_opposite_word_is_not_supported(corpus: Path) -> None:
    question = "What does ShardCache do to the peak memory per device?"
    _, right = ask(corpus, "ShardCache decreases the peak memory per device by 60% [1].", question)
    _, wrong = ask(corpus, "ShardCache increases the peak memory per device by 60% [1].", question)
    assert right and all(ok and "decreases" in s for s, ok in right)
    assert not any(ok and "increases" in s for s, ok in wrong)
