"""The model-as-reranker trial (benchmarks/which_papers_rerank.py): reading P(true), re-ranking, leave-one-out, AUC."""

from __future__ import annotations

import math
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from assistant.chains.confirmation import true_probability
from assistant.papers import Paper
from benchmarks.which_papers_rerank import auc_of, loo_weights, own_work_probability, paper_text, recalls


class TrueFalseChat(FakeListChatModel):
    """Answers with one token and its top log-probabilities: P("True") = p, P(" false") = 1 - p."""

    p: float = 0.5
    prompts: list[str] = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def, override]
        self.prompts.append(messages[-1].content)
        top = [{"token": "True", "logprob": math.log(self.p)}, {"token": " false", "logprob": math.log(1 - self.p)},
               {"token": "To", "logprob": -3.0}]
        message = AIMessage(content="True", response_metadata={"logprobs": {"content": [{"token": "True", "top_logprobs": top}]}})
        return ChatResult(generations=[ChatGeneration(message=message)])


def p_true(top: list[dict[str, Any]]) -> float | None:
    return true_probability(AIMessage(content="", response_metadata={"logprobs": {"content": [{"top_logprobs": top}]}}))


def test_p_true_sums_cases_and_spacings_and_ignores_other_tokens() -> None:
    top = [{"token": "True", "logprob": math.log(0.3)}, {"token": " true", "logprob": math.log(0.1)},
           {"token": "False", "logprob": math.log(0.4)}, {"token": "false", "logprob": math.log(0.2)}, {"token": "To", "logprob": -1.0}]
    assert abs(p_true(top) - 0.4) < 1e-9  # type: ignore[operator]
    assert p_true([{"token": "Maybe", "logprob": -0.1}]) is None


def test_the_question_comes_before_the_paper_so_the_prompt_prefix_is_shared() -> None:
    paper = Paper(paper_id="p1", title="FineQuant: weight-only quantization", abstract="We quantize weights after training.")
    model = TrueFalseChat(responses=["x"], p=0.8, prompts=[])
    got = own_work_probability(model, "which papers propose post-training quantization methods", paper_text(paper, "We quantize."))
    assert abs(got - 0.8) < 1e-9  # type: ignore[operator]
    prompt = model.prompts[0]
    assert prompt.index("post-training quantization") < prompt.index("FineQuant") < prompt.index("We quantize.")
    assert own_work_probability(FakeListChatModel(responses=["true"]), "q", "Title: t") is None  # no log-probabilities


def _case(name: str, p_missed: float) -> dict[str, Any]:
    # 10 non-relevant papers above the relevant one, scores 0.1 apart; the model gives them 0.2, it p_missed
    rows = [{"pid": f"x{i}", "score": 2.0 - i / 10, "title": 0.2} for i in range(10)]
    rows.append({"pid": "hit", "score": 0.95, "title": p_missed})
    return {"case": name, "expected": ["hit"], "rows": rows}


def test_a_weight_lifts_the_missed_paper_and_leave_one_out_picks_it_from_the_other_cases() -> None:
    data = [_case("a", 0.9), _case("b", 0.9), _case("c", 0.1)]
    assert recalls(data, None, {"a": 0.0, "b": 0.0, "c": 0.0}, 20) == (0.0, 0.0)
    assert recalls(data, "title", {"a": 1.0, "b": 1.0, "c": 1.0}, 20)[1] == 2 / 3
    weights = loo_weights(data, "title", 20)
    assert weights["c"] > 0 and recalls(data, "title", weights, 20)[1] == 2 / 3
    assert recalls(data, "title", weights, 10)[1] == 0.0  # only the top 10 re-ranked: the same ten papers
    assert auc_of(data[:1], lambda r: r["title"]) == 1.0 and auc_of(data[2:], lambda r: r["title"]) == 0.0
