"""The model's own check of one paper: does this abstract answer the question? One token, read as a probability.

Called by the QA pipeline (`chains/qa.py`) only after the model declined or wrote only claims the papers do
not state, when the app may still quote the best paper (`answerable.Verdict.quotes`); the bar is fitted on the
packaged model's dev declines by `benchmarks/fit_judge.py`.
"""

from __future__ import annotations

import logging
import math

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from assistant.chains.grounding_config import GROUNDING
from assistant.errors import LLMError
from assistant.papers import Paper
from assistant.prompts import load_prompt

log = logging.getLogger(__name__)

JUDGE_VARS = frozenset({"abstract", "question", "title"})

JUDGE_REPLIES = ("true", "false")
"""The one-token replies `prompts/judge.md` asks for, the first meaning the abstract answers: a statement about the
abstract judged true or false. Asked "yes or no", the packaged model answered yes/no and "how do you" questions
itself ("does X need retraining?" -> "no") instead of judging the abstract (benchmarks/results/judge_dev.md)."""


def answers_probability(llm: BaseChatModel, question: str, paper: Paper) -> float | None:
    """The model's probability that `paper`'s abstract answers `question`: one token asked for (`JUDGE_REPLIES`,
    `prompts/judge.md`), P(true) / (P(true) + P(false)) from its top log-probabilities. None when the endpoint
    gives none (a fake, a server without `logprobs`), neither word is among them, or it refuses the request:
    then the caller decides without it."""
    chain = load_prompt("judge", JUDGE_VARS) | llm.bind(max_tokens=1, logprobs=True, top_logprobs=10)
    try:
        reply = chain.invoke({"title": paper.title, "abstract": paper.abstract[:GROUNDING.judge_abstract_chars], "question": question})
    except LLMError as exc:  # e.g. an endpoint that rejects `logprobs`; the draft is already in
        log.warning("the check of the best paper was not answered (%s); deciding from relevance", exc)
        return None
    return true_probability(reply)


def true_probability(reply: BaseMessage) -> float | None:
    """P(true) / (P(true) + P(false)) over the top log-probabilities of a one-token reply's token (`JUDGE_REPLIES`,
    any case or spacing); None when the reply carries none or neither word is among them."""
    content = (reply.response_metadata.get("logprobs") or {}).get("content") or []
    top = (content[0].get("top_logprobs") or []) if content else []
    said = dict.fromkeys(JUDGE_REPLIES, 0.0)
    for entry in top:
        word = str(entry.get("token", "")).strip().lower()
        if word in said:
            said[word] += math.exp(float(entry.get("logprob", -math.inf)))
    total = sum(said.values())
    return said[JUDGE_REPLIES[0]] / total if total > 0 else None
