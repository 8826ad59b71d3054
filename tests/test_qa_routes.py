"""Question kinds through the real QA chain with a fake model: comparisons in the chat, "which papers"
lists, paraphrased and casual questions, a compared paper that is not in the store, and the router.

Everything runs the real retrieval, router, answerability decision and support check over the seed
pages; only the chat model is a recording fake.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assistant.chains.grounding_config import GROUNDING
from assistant.chains.routing import classify, compared_items
from assistant.citations import split_sentences
from assistant.cli import cli
from assistant.papers import Paper, make_paper_id
from assistant.service import Assistant
from assistant.prompts import CANNOT_ANSWER
from tests.conftest import cli_env
from tests.fake_openai import FakeOpenAI
from tests.test_qa import RecordingChat, human_text, with_model

SHRINK = make_paper_id("Shrinking Class Space for Enhanced Certainty in Semi-Supervised Learning")
SIMMATCH = make_paper_id("SimMatchV2: Semi-Supervised Learning with Graph Consistency")
COMPOSED = "ShrinkMatch seeks a shrunk class space for uncertain samples [1]. SimMatchV2 formulates various consistency regularizations between labeled and unlabeled data from the graph [2]."


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("compare ShrinkMatch and SimMatchV2", "compare"),
        ("dpo vs cgpo for rlhf", "compare"),
        ("which papers use semi-supervised learning?", "which"),
        ("how many language pairs does ACES cover", "detail"),
        ("explain ShrinkMatch in two sentences", "explain"),
    ],
)
def test_the_router_names_the_kind_from_the_question_vector(shared: Assistant, question: str, kind: str) -> None:
    assert classify(shared.embed_sentences([question])[0]).kind == kind


def test_compared_items_are_the_two_named_things() -> None:
    assert compared_items("dpo vs cgpo for rlhf") == ["dpo", "cgpo for rlhf"]
    assert compared_items("compare consistent-teacher with HSSDA") == ["consistent-teacher", "HSSDA"]
    assert compared_items("how does iCT differ from the latent consistency paper?") == ["iCT", "the latent consistency paper"]
    assert compared_items("which is better") == []
    assert compared_items("how do lq-lora and l4q differ?") == ["lq-lora", "l4q"]
    # a "how" question that names a second thing without comparing: answered as a question
    assert compared_items("How does ShrinkMatch handle uncertain samples with consistency regularization?") == []


def test_compare_in_the_chat_runs_the_comparison_chain_and_shows_its_table(shared: Assistant) -> None:
    app, model = with_model(shared, COMPOSED)
    evts = list(app.ask_stream("compare ShrinkMatch and SimMatchV2"))
    kinds = [k for k, _ in evts]
    assert kinds[0] == "evidence" and "comparison" in kinds and kinds[-1] == "answer"
    comparison = dict(evts)["comparison"]
    answer = evts[-1][1]
    ids = [h.paper.paper_id for h in answer.evidence]
    assert ids == [SHRINK, SIMMATCH]
    assert [r.paper_id for r in comparison.table] == ids and all(r.cells for r in comparison.table)
    assert not answer.refused and {c.paper_id for c in answer.citations if c.supported} == {SHRINK, SIMMATCH}
    assert all(1 <= n <= len(ids) for s in answer.sentences for n in s.cites), "every [n] is a retrieved paper"
    # the local-model path: no extraction call per paper, one compose call whose focus is the question
    assert len(model.seen) == 1 and "compare ShrinkMatch and SimMatchV2" in str(model.seen[0][-1].content)


def test_compare_in_the_chat_states_what_each_paper_does_in_its_own_words(shared: Assistant) -> None:
    """Each compared paper gets a line: its title and the sentences the app would quote from it for the
    question, cited; the model's checked comparison follows (here the fake's composed sentences)."""
    app, _ = with_model(shared, COMPOSED)
    answer = app.ask("compare ShrinkMatch and SimMatchV2")
    papers = [h.paper for h in answer.evidence]
    lines = answer.sentences[:2]
    for n, (line, paper) in enumerate(zip(lines, papers), start=1):
        assert line.cites == [n] and line.supported and line.text.startswith(f"{paper.title}: ")
        body = line.text[len(paper.title) + 2 :].removesuffix(f" [{n}].")
        assert body and all(s.rstrip(".") in paper.abstract for s in split_sentences(body)), "quoted, not written"
    assert len(answer.sentences) > 2, "the model's checked comparison follows the lines"


def test_compare_in_the_chat_with_the_packaged_model_makes_no_model_call(shared: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """The packaged model's compose call took minutes on two cores and rarely passed the check: the
    answer is the quoted lines, the table comes from the abstracts, and the model is never started."""
    def no_model(*_args: object) -> None:
        raise AssertionError("the packaged model was started for a comparison")

    monkeypatch.setattr("assistant.llm.make_chat_model", no_model)
    app = Assistant(shared.settings, embedder=shared.embedder, check_model=shared.check_model)
    evts = list(app.ask_stream("compare ShrinkMatch and SimMatchV2"))
    comparison, answer = dict(evts)["comparison"], evts[-1][1]
    assert comparison.table and comparison.fallback
    assert not answer.refused and [s.cites for s in answer.sentences] == [[1], [2]]
    assert [c.paper_id for c in answer.citations if c.supported] == [SHRINK, SIMMATCH]
    assert all(s.text.startswith(f"{h.paper.title}: ") for s, h in zip(answer.sentences, answer.evidence))


def test_compare_with_a_paper_that_is_not_in_the_store_is_refused_without_the_model(shared: Assistant) -> None:
    app, model = with_model(shared, COMPOSED)
    answer = app.ask("compare ShrinkMatch with AgentKernelArena")
    assert answer.refused and "AgentKernelArena" in answer.answer and model.seen == []
    assert all(not c.supported for c in answer.citations)


def test_which_papers_lists_each_relevant_paper_with_a_checked_line(shared: Assistant) -> None:
    app, model = with_model(shared, "unused")
    answer = app.ask("which papers use semi-supervised learning?")
    assert not answer.refused and model.seen == [], "a list costs no model call"
    assert len(answer.sentences) >= 2 and len(answer.citations) == len(answer.sentences)
    assert {SIMMATCH} <= {c.paper_id for c in answer.citations}
    for sentence, cite in zip(answer.sentences, answer.citations):
        assert sentence.supported and sentence.cites == [cite.n]
        assert answer.evidence[cite.n - 1].paper.paper_id == cite.paper_id


def test_a_paper_described_in_other_words_is_found_and_answered(shared: Assistant) -> None:
    question = "a semi-supervised classifier that, for unsure pseudo-labels, drops the confusing classes and learns on the rest"
    app, _ = with_model(shared, "It detects and removes the confusion classes of uncertain samples [1].")
    answer = app.ask(question)
    assert not answer.refused
    assert answer.citations[0].paper_id == SHRINK and answer.citations[0].supported


def test_a_casual_lower_case_question_is_answered(shared: Assistant) -> None:
    app, _ = with_model(shared, "ShrinkMatch seeks a shrunk class space for each uncertain sample [1].")
    answer = app.ask("shrinkmatch what does it do w/ uncertain samples")
    assert not answer.refused and any(c.paper_id == SHRINK and c.supported for c in answer.citations)


def test_cli_ask_prints_the_comparison_table(seeded_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(lambda _messages: COMPOSED) as server:
        cli_env(monkeypatch, seeded_copy, server.base_url)
        out = CliRunner().invoke(cli, ["ask", "compare ShrinkMatch and SimMatchV2"], catch_exceptions=False)
        assert out.exit_code == 0, out.output
        assert "Side by side:" in out.output and "[2] SimMatchV2" in out.output
        data = CliRunner().invoke(cli, ["ask", "compare ShrinkMatch and SimMatchV2", "--json"], catch_exceptions=False)
        doc = json.loads(data.stdout)
        assert [r["paper_id"] for r in doc["comparison"]["table"]] == [SHRINK, SIMMATCH]


# A declined draft on evidence that answers: the app quotes the relevant paper when its probability
# reaches the verdict's bar, which is lower for a question that describes a paper than for one that
# asks for a detail (a relevant paper may not state the detail, and then the model declines rightly).


def test_a_paraphrased_paper_the_model_declines_is_answered_from_its_own_sentences(shared: Assistant) -> None:
    question = "a semi-supervised classifier that, for unsure pseudo-labels, drops the confusing classes and learns on the rest"
    app, model = with_model(shared, CANNOT_ANSWER)
    verdict = app.evidence_for(question).verdict
    assert verdict is not None and verdict.best >= verdict.quote_bar(disowned=True)
    answer = app.ask(question)
    assert len(model.seen) == 2, "the model was asked first, then the check of the best paper (no probabilities: relevance decides)"
    assert not answer.refused and answer.extractive
    assert answer.citations[0].paper_id == SHRINK and answer.citations[0].supported


def test_a_yes_no_question_the_model_declines_is_answered_from_the_paper(shared: Assistant) -> None:
    app, _ = with_model(shared, CANNOT_ANSWER)
    answer = app.ask("does shrinkmatch remove the confusion classes of uncertain samples?")
    assert not answer.refused and answer.extractive
    assert answer.citations[0].paper_id == SHRINK and answer.citations[0].supported


def test_an_absent_detail_the_model_declines_is_still_refused(shared: Assistant) -> None:
    question = "what learning rate and batch size did shrinkmatch use?"
    app, _ = with_model(shared, CANNOT_ANSWER)
    verdict = app.evidence_for(question).verdict
    assert verdict is not None and verdict.detail > 0.5
    answer = app.ask(question)
    assert answer.refused and not answer.extractive


def test_a_decline_stands_when_the_paper_states_nothing_the_question_asks_beyond_its_title(shared: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """An absent detail asked of a paper named by its title's words ("how many GPUs did <title words> use"): the
    paper answers as far as relevance goes, but states none of what is asked beyond its title, so the model's
    decline is not overruled by a quote, even with the bar at the paper's probability. A question whose words
    the paper states is overruled at the same bars."""
    from assistant.chains.calibration import load

    question = "how many GPUs did the shrinking class space semi-supervised learning paper use"
    verdict = shared.evidence_for(question).verdict
    assert verdict is not None and verdict.answerable and verdict.answering[0].signals["asked_stated"] == 0.0
    bars = load("relevance").thresholds
    monkeypatch.setitem(bars, "overrule", verdict.best)
    app, model = with_model(shared, CANNOT_ANSWER)
    answer = app.ask(question)
    assert len(model.seen) == 1 and answer.refused and not answer.extractive
    assert all(not c.supported for c in answer.citations)
    stated = "a semi-supervised classifier that, for unsure pseudo-labels, drops the confusing classes and learns on the rest"
    monkeypatch.setitem(bars, "overrule", min(verdict.best, shared.evidence_for(stated).verdict.best))  # type: ignore[union-attr]
    answer = with_model(shared, CANNOT_ANSWER)[0].ask(stated)
    assert not answer.refused and answer.extractive and answer.citations[0].paper_id == SHRINK


def test_the_yes_no_check_after_a_decline_is_announced_before_it_runs(shared: Assistant) -> None:
    """A ("checking", title) event comes just before the model is asked whether the best paper answers (the UI
    shows it during those seconds), and only then: not when the paper states nothing asked beyond its title."""
    stated = "a semi-supervised classifier that, for unsure pseudo-labels, drops the confusing classes and learns on the rest"
    app, model = with_model(shared, CANNOT_ANSWER)
    seen_before: list[int] = []
    events = []
    for kind, value in app.ask_stream(stated):
        events.append((kind, value))
        if kind == "checking":
            seen_before.append(len(model.seen))
    kinds = [k for k, _ in events]
    assert kinds[-2:] == ["checking", "answer"] and "Shrinking Class Space" in events[-2][1]
    assert seen_before == [1] and len(model.seen) == 2  # announced after the draft, before the yes/no call
    title_only = "how many GPUs did the shrinking class space semi-supervised learning paper use"
    app, model = with_model(shared, CANNOT_ANSWER)
    assert "checking" not in [k for k, _ in app.ask_stream(title_only)] and len(model.seen) == 1


def test_a_which_papers_question_no_paper_clearly_answers_is_refused_with_the_neighbours_as_evidence(shared: Assistant) -> None:
    """Out of corpus, asked as "which papers": a neighbour clears the per-paper bar, but the best paper is under
    the list bar, so the answer says the papers do not cover it (no list, no model call) and shows the closest
    papers as evidence, none cited as supporting; a topic the store covers is still listed."""
    question = "which papers benchmark furniture assembly with vision-language models"
    assert classify(shared.embed_sentences([question])[0]).kind == "which"
    verdict = shared.evidence_for(question, GROUNDING.list_size).verdict
    assert verdict is not None and verdict.answerable and not verdict.lists
    app, model = with_model(shared, "unused")
    answer = app.ask(question)
    assert answer.refused and model.seen == [] and answer.answer.startswith("The ingested papers do not say")
    assert answer.citations and all(not c.supported for c in answer.citations)
    listed = app.ask("which papers do video object segmentation")
    assert not listed.refused and model.seen == [] and all(c.supported for c in listed.citations)


def test_a_disowned_answer_is_overruled_only_from_the_higher_bar_an_empty_draft_from_the_lower(shared: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the best paper's probability between the two bars, a declined draft and one whose only claim the
    papers do not state (an invented number) are refused (the model may be right that the papers lack the
    answer), while a draft that says nothing (a bare "[1]") is quoted from the same paper; above both bars
    the decline is overruled too."""
    from assistant.chains.calibration import load

    question = "a semi-supervised classifier that, for unsure pseudo-labels, drops the confusing classes and learns on the rest"
    verdict = shared.evidence_for(question).verdict
    assert verdict is not None and verdict.answerable
    bars = load("relevance").thresholds
    monkeypatch.setitem(bars, "quote", verdict.best - 0.01)
    monkeypatch.setitem(bars, "overrule", verdict.best + 0.01)
    declined, model = with_model(shared, CANNOT_ANSWER)
    answer = declined.ask(question)
    assert len(model.seen) == 2 and answer.refused and not answer.extractive  # the draft, the check of the best paper (no probabilities)
    invented = with_model(shared, "ShrinkMatch trains on 4096 GPUs with a learning rate of 0.7 [1].")[0].ask(question)
    assert invented.refused and "4096" not in invented.answer
    bare, _ = with_model(shared, "[1]")
    answer = bare.ask(question)
    assert not answer.refused and answer.extractive and answer.citations[0].paper_id == SHRINK
    monkeypatch.setitem(bars, "overrule", verdict.best)
    answer = with_model(shared, CANNOT_ANSWER)[0].ask(question)
    assert not answer.refused and answer.extractive and answer.citations[0].paper_id == SHRINK


def test_an_endpoints_decline_is_respected_unless_the_setting_says_otherwise(shared: Assistant) -> None:
    """`overrule_declines=auto` overrules only the packaged model: a capable endpoint declines honestly."""
    question = "a semi-supervised classifier that, for unsure pseudo-labels, drops the confusing classes and learns on the rest"
    for backend, policy, refused in (("openai", "auto", True), ("openai", "always", False), ("embedded", "never", True)):
        settings = shared.settings.model_copy(update={"llm_backend": backend, "overrule_declines": policy})
        app = Assistant(settings, chat_model=RecordingChat(responses=[CANNOT_ANSWER]), check_model=shared.check_model, embedder=shared.embedder)
        app.store, app.retriever = shared.store, shared.retriever
        answer = app.ask(question)
        assert answer.refused is refused, (backend, policy)
        assert answer.extractive is not refused


def _with_backend(shared: Assistant, backend: str, reply: str) -> tuple[Assistant, RecordingChat]:
    settings = shared.settings.model_copy(update={"llm_backend": backend, "overrule_declines": "auto"})
    model = RecordingChat(responses=[reply])
    app = Assistant(settings, chat_model=model, check_model=shared.check_model, embedder=shared.embedder)
    app.store, app.retriever = shared.store, shared.retriever
    return app, model


def test_a_capable_endpoint_is_asked_where_the_app_alone_would_refuse_and_its_decline_still_counts(shared: Assistant) -> None:
    """The relevance model scores the paper under its `answer` bar ("explain SinKD in two sentences": a
    question whose words say how to answer, not what): the packaged model is not asked and the app refuses;
    an endpoint whose declines are respected is asked from the lower `ask` bar, its right answer is shown
    (checked as usual) and its decline is a refusal."""
    question = "explain SinKD in two sentences"
    probe = shared.evidence_for(question).verdict
    assert probe is not None and not probe.answerable  # the app's own bar refuses it
    sinkd = next(h for h in shared.evidence_for(question).hits if "Sinkhorn" in h.paper.title)

    packaged, model = _with_backend(shared, "embedded", "unused")
    assert packaged.ask(question).refused and model.seen == []  # the packaged model is not even asked

    endpoint, model = _with_backend(shared, "openai", "unused")
    evidence = endpoint.evidence_for(question)
    assert evidence.verdict is not None and evidence.verdict.answerable
    n = [h.paper.paper_id for h in evidence.hits].index(sinkd.paper.paper_id) + 1
    assert f"[{n}] {sinkd.paper.title}" in evidence.render()
    gold = next(s for s in sinkd.paper.abstract.split(". ") if "Sinkhorn distance" in s)
    endpoint, model = _with_backend(shared, "openai", f"{gold.rstrip('.')} [{n}].")
    answer = endpoint.ask(question)
    assert len(model.seen) == 1 and not answer.refused and not answer.extractive
    assert [c.paper_id for c in answer.citations if c.supported] == [sinkd.paper.paper_id]

    declining, model = _with_backend(shared, "openai", CANNOT_ANSWER)
    assert declining.ask(question).refused and len(model.seen) == 1


def test_what_an_acronym_stands_for_is_answered_not_refused_for_the_word_stand(shared: Assistant) -> None:
    """"stand for" only says how to answer: the abstract that names the acronym answers, though it never says "stand"."""
    wina = make_paper_id("WINA: Weight Informed Neuron Activation for Accelerating Large Language Model Inference")
    app, model = with_model(shared, "WINA is a training-free sparse activation framework [1].")
    evidence = app.evidence_for("what does WINA stand for")
    assert evidence.verdict is not None and evidence.verdict.answerable
    best = evidence.verdict.answering[0]
    assert evidence.hits[best.n - 1].paper.paper_id == wina
    assert best.signals["coverage"] == 1.0 and best.signals["missing_rarity"] == 0.0, "no question word is missing"
    answer = app.ask("what does WINA stand for")
    assert len(model.seen) == 1 and not answer.refused
    assert any(c.paper_id == wina and c.supported for c in answer.citations)


def test_the_model_is_shown_every_sentence_the_app_would_quote(shared: Assistant) -> None:
    """A two-part question's second answer is often not next to the first: the prompt shows the quotes too."""
    question = "how does shrinkmatch treat uncertain samples, and what does it gain on benchmarks?"
    app, model = with_model(shared, "ShrinkMatch seeks a shrunk class space for each uncertain sample [1].")
    evidence = app.evidence_for(question)
    assert evidence.verdict is not None and evidence.verdict.answering
    app.ask(question)
    prompt = human_text(model.seen[0])
    for support in evidence.verdict.answering[:3]:
        assert support.quotes and all(q in prompt for q in support.quotes)
        assert all(q in evidence.sentences[support.n - 1] for q in support.quotes)


def test_a_paraphrase_the_check_cannot_confirm_is_shown_not_verified_rather_than_refused(shared: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under the quote bar (raised here), a right answer in other words is shown as not verified, its closest
    sentence quoted; the same words after a decline are still refused."""
    from assistant.chains.calibration import load

    for bar in ("quote", "overrule"):
        monkeypatch.setitem(load("relevance").thresholds, bar, 1.01)
    question = "how many reweighting principles does shrinkmatch use for its uncertain loss"
    draft = "ShrinkMatch weights its uncertain-sample loss with two principles [1]."
    app, _ = with_model(shared, draft)
    answer = app.ask(question)
    assert not answer.refused and not answer.extractive
    sentence = answer.sentences[0]
    assert sentence.unverified and not sentence.supported and sentence.quote in answer.evidence[0].paper.abstract
    assert answer.citations[0].paper_id == SHRINK and not answer.citations[0].supported
    declined, _ = with_model(shared, f"{CANNOT_ANSWER}. {draft}")
    assert declined.ask(question).refused


class YesNoChat(RecordingChat):
    """A fake chat model that also answers the check of the best paper with token probabilities: P("True") = `p_yes`."""

    p_yes: float = 0.5

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[no-untyped-def, override]
        if not kwargs.get("logprobs"):
            return super()._generate(messages, stop, run_manager, **kwargs)
        import math

        from langchain_core.messages import AIMessage
        from langchain_core.outputs import ChatGeneration, ChatResult

        self.seen.append(list(messages))
        top = [{"token": "True", "logprob": math.log(self.p_yes)}, {"token": " false", "logprob": math.log(1 - self.p_yes)},
               {"token": "Yes", "logprob": -9.0}]
        message = AIMessage(content="True", response_metadata={"logprobs": {"content": [{"token": "True", "top_logprobs": top}]}})
        return ChatResult(generations=[ChatGeneration(message=message)])


def test_after_a_decline_the_models_true_false_on_the_best_paper_decides_whether_it_is_quoted(shared: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the best paper under the overrule bar, a declined draft is followed by one true/false question about that
    paper (its title, abstract and the question): P(true) at the `judge` bar overrules the decline with a quote,
    below it the decline stands, whatever relevance says; a model without token probabilities (the plain fake)
    leaves it to the overrule bar."""
    from assistant.chains.calibration import load

    question = "a semi-supervised classifier that, for unsure pseudo-labels, drops the confusing classes and learns on the rest"
    verdict = shared.evidence_for(question).verdict
    assert verdict is not None and verdict.answerable
    bars = load("relevance").thresholds
    monkeypatch.setitem(bars, "overrule", verdict.best + 0.01)
    yes = YesNoChat(responses=[CANNOT_ANSWER], p_yes=bars["judge"])
    answer = with_model(shared, model=yes)[0].ask(question)
    assert not answer.refused and answer.extractive and answer.citations[0].paper_id == SHRINK
    asked = human_text(yes.seen[-1])
    assert len(yes.seen) == 2 and question in asked and "Shrinking Class Space" in asked and "true or false" in asked
    no = YesNoChat(responses=[CANNOT_ANSWER], p_yes=bars["judge"] - 0.05)
    monkeypatch.setitem(bars, "overrule", verdict.best - 0.01)
    answer = with_model(shared, model=no)[0].ask(question)
    assert answer.refused and not answer.extractive and len(no.seen) == 2
    answer = with_model(shared, CANNOT_ANSWER)[0].ask(question)
    assert not answer.refused and answer.extractive


def test_answers_probability_reads_true_over_true_and_false_and_is_none_without_probabilities() -> None:
    """P(true) / (P(true) + P(false)) over the reply's top tokens, whatever their case or leading space (a "Yes"
    among them is not read); None when the model gives no token probabilities or the endpoint refuses the request
    (the caller then decides alone)."""
    from assistant.chains.confirmation import answers_probability
    from assistant.errors import LLMError

    paper = Paper(paper_id="t:0", title="ShrinkMatch", abstract="We shrink the class space for uncertain samples.")
    assert answers_probability(YesNoChat(responses=["x"], p_yes=0.8), "what does it do?", paper) == pytest.approx(0.8)
    assert answers_probability(RecordingChat(responses=["Yes"]), "what does it do?", paper) is None

    class Refusing(RecordingChat):
        def _call(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
            raise LLMError("the model endpoint refused the request (HTTP 400: logprobs not supported)")

    assert answers_probability(Refusing(responses=["x"]), "what does it do?", paper) is None
