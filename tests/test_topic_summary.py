"""Topic summaries that synthesise (issue #16 item 3): a shared sentence stated by several papers,
then where they differ (the topic's two sides named, papers of one side set against the other's,
each part checked); never one paper as "these papers", never a first-person quote, nothing
unsupported shown (the JSON keeps what was dropped and why)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from assistant.chains.takeaway import Takeaway, takeaways
from assistant.chains.topic_summary import clause_options, compose_topic, renumber, sides, stated_by
from assistant.citations import parse_citations
from assistant.export import render
from assistant.papers import Paper, Sentence
from digest_fakes import PromptFake, app_for, ingested_store, private_copy, respond, topic_paper

WEEK = "2024-W01"


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingested_store(tmp_path_factory.mktemp("summary-corpus"))


def digest_with(corpus_dir: Path, tmp_path: Path, responder=respond):  # noqa: ANN001, ANN201 - test helper
    return app_for(private_copy(corpus_dir, tmp_path / "data"), PromptFake(responder=responder)).digest(week=WEEK)


def _first_person(text: str) -> bool:
    return bool(re.search(r"\b(?:we|our|us)\b", text, re.IGNORECASE))


def test_every_sentence_cites_three_papers_and_says_what_they_share_and_how_they_differ(corpus_dir: Path, tmp_path: Path) -> None:
    d = digest_with(corpus_dir, tmp_path)
    real = [t for t in d.topics if not t.other]
    assert real
    for topic in real:
        assert len(topic.papers) >= 3
        assert not topic.fallback, [x.text for x in topic.dropped]  # the model's shared sentence was kept
        assert topic.sentences[0].text.startswith("They all")
        assert any(s.text.startswith("Where they differ: ") for s in topic.sentences)
        for s in topic.sentences:
            assert s.supported and len(set(s.cites)) >= 3, s
            assert set(parse_citations(s.text)) == set(s.cites)
            assert not _first_person(s.text) and "these papers" not in s.text.lower()
        # a contrast, not a list: two papers of one side, then ", whereas" one of the other side
        contrast = next(s for s in topic.sentences if ", whereas " in s.text)
        before, after = contrast.text.split(", whereas ")
        assert len(parse_citations(before)) == 2 and len(parse_citations(after)) == 1


def test_a_shared_sentence_only_one_paper_states_is_dropped_not_shown(corpus_dir: Path, tmp_path: Path) -> None:
    def one_paper(prompt: str) -> str:
        if "Topic line" not in prompt:
            return respond(prompt)
        first = re.search(r"^\[1\] ([^:]+): .* that (.+)$", prompt, re.M)
        assert first is not None
        return f"Topic: Something\nShared: {first.group(1)} is a method that {first.group(2)}."  # paper [1] only

    d = digest_with(corpus_dir, tmp_path, one_paper)
    doc = d.to_json()
    for topic, exported in zip((t for t in d.topics if not t.other), doc["topics"]):  # type: ignore[arg-type]
        assert topic.fallback
        reasons = [x["reason"] for x in exported["dropped"]]
        assert any(r.startswith("stated by 1 of the topic's papers") for r in reasons), reasons
        shared = topic.sentences[0]
        assert shared.text.endswith(".") and len(shared.cites) >= 3 and "papers here work on" in shared.text
    text = render(d, "md") + render(d, "html").split("<footer>")[0]  # the footer explains the mark in general
    assert "\u26a0" not in text


def test_a_first_person_or_made_up_shared_sentence_is_dropped(corpus_dir: Path, tmp_path: Path) -> None:
    def quoting(prompt: str) -> str:
        if "Topic line" not in prompt:
            return respond(prompt)
        return "Topic: Quoted\nShared: We propose a method that reaches 99.7% on ImageNet-21k."

    d = digest_with(corpus_dir, tmp_path, quoting)
    for topic in (t for t in d.topics if not t.other):
        assert topic.fallback and "ImageNet" not in topic.summary and not _first_person(topic.summary)
        assert [x.reason for x in topic.dropped][0] == "quotes an abstract in the first person"


def test_where_they_differ_names_each_side_and_cites_only_the_papers_stating_it(corpus_dir: Path, tmp_path: Path) -> None:
    # a topic made of two planted themes: the sides are the themes, each named by a term its own papers state
    app = app_for(private_copy(corpus_dir, tmp_path / "data"))
    ids = [topic_paper("video", i, "2024-01-01").paper_id for i in range(4)] + [
        topic_paper("robots", i, "2024-01-01").paper_id for i in range(3)
    ]
    stored = app.store.get_papers(ids)
    members = [stored[i] for i in ids]
    vectors = np.asarray(app.embedder.embed([p.text for p in members]))
    assert sorted(sorted(s) for s in sides(vectors)) == [[0, 1, 2, 3], [4, 5, 6]]
    lines = takeaways(members, app.embed_sentences, app.store)
    composed = compose_topic(
        members, vectors, lines, {}, [], lambda: PromptFake(), app.store, app.embed_sentences, "fake", app.embedder.name
    )
    differ = next(s for s in composed.sentences if s.text.startswith("Where they differ: some work on "))
    first, second = differ.text.removeprefix("Where they differ: some work on ").split(", others on ")
    assert set(parse_citations(first)) <= {1, 2, 3, 4} and set(parse_citations(second)) <= {5, 6, 7}
    assert len(differ.cites) >= 3
    for text, own, other in ((first, members[:4], members[4:]), (second, members[4:], members[:4])):
        term = re.sub(r"\s*\[.*", "", text)  # "diffusion baselines [1][2]" -> the side's term
        assert all(term in p.abstract.lower() for p in own) and not any(term in p.abstract.lower() for p in other)
    app.close()


def test_stated_by_checks_each_paper_on_its_own() -> None:
    def embed(texts: list[str]) -> np.ndarray:  # a bag-of-words embedder: same words, same vector
        vocab = sorted({w for t in texts for w in re.findall(r"[a-z]+", t.lower())})
        rows = np.array([[t.lower().count(w) for w in vocab] for t in texts], dtype=np.float32)
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9)

    papers = [
        Paper(paper_id="a", title="A", abstract="We speed up diffusion sampling with a learned schedule."),
        Paper(paper_id="b", title="B", abstract="We speed up diffusion sampling by caching features."),
        Paper(paper_id="c", title="C", abstract="We study protein folding with language models."),
    ]
    assert stated_by("speed up diffusion sampling", papers, embed) == [1, 2]


def test_renumber_orders_a_run_of_markers_and_keeps_cites_in_text_order() -> None:
    s = Sentence(text="Shared thing [1][2][3]. ", cites=[1, 2, 3], supported=True)
    out = renumber([s], {1: 9, 2: 4, 3: 6})[0]
    assert out.text.startswith("Shared thing [4][6][9]") and out.cites == [4, 6, 9]


def test_takeaway_type_is_what_clauses_are_made_from() -> None:
    # the clause builder relies on the takeaway keeping the abstract sentence it was made from
    assert "sentence" in Takeaway.model_fields and "supported" in Takeaway.model_fields


def test_a_clause_not_headed_by_the_papers_verb_reads_on_after_its_lead_in() -> None:
    """"in one paper, a key ingredient ..." (not "A key ingredient"); an acronym keeps its capitals."""
    paper = Paper(paper_id="a", title="Big models are strong learners", abstract="")

    def line(sentence: str) -> Takeaway:
        return Takeaway(paper_id="a", text=sentence, sentence=sentence, supported=True)

    assert clause_options(paper, line("A key ingredient of the approach is the use of big networks."), "one paper")[0] == (
        "in one paper, a key ingredient of the approach is the use of big networks")
    assert clause_options(paper, line("LLMs forget rare facts."), "another")[0] == "in another paper, LLMs forget rare facts"
    assert clause_options(paper, line("In this paper we present X, a decoder."), "another")[0] == "another presents X, a decoder"


def test_a_model_title_only_one_paper_states_gives_way_to_the_apps(corpus_dir: Path, tmp_path: Path) -> None:
    calls: list[str] = []

    def naming(prompt: str) -> str:
        reply = respond(prompt)
        if "Topic line" not in prompt:
            return reply
        calls.append(prompt)
        shared = reply.split("They all study ", 1)[1].rstrip(".")
        first = re.search(r"^\[1\] ([^:]+):", prompt, re.M)
        assert first is not None
        # the first topic is named by its first paper's own title, the others by the words most notes share
        return reply.replace(reply.splitlines()[0], f"Topic: {first.group(1) if len(calls) == 1 else shared}")

    d = digest_with(corpus_dir, tmp_path, naming)
    doc = d.to_json()
    kept = dropped = 0
    for topic, exported in zip((t for t in d.topics if not t.other), doc["topics"]):  # type: ignore[arg-type]
        reasons = [x["reason"] for x in exported["dropped"] if x["text"].startswith("Topic: ")]
        if reasons:
            dropped += 1
            assert reasons[0].startswith("title stated by") and not any(p.title == topic.title for p in topic.papers)
        else:
            kept += 1
    assert kept and dropped
