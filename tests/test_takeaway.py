"""Takeaways: one checked line per paper saying what it does, cached per content hash, shown in
the digest, its exports and `assistant search`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.chains.one_line import MAX_WORDS, compress, third_person
from assistant.chains.takeaway import contribution_sentence, takeaways
from assistant.cli import cli
from assistant.embeddings import make_embedder
from assistant.export import render
from assistant.papers import Paper, make_paper_id
from assistant.service import Assistant
from digest_fakes import PromptFake, corpus_papers
from tests.conftest import make_settings

ABSTRACT = (
    "Large language models are expensive to serve because attention is quadratic in the context length. "
    "In this paper, we propose SketchAttn, a sparse attention kernel that compresses attention maps with learned "
    "low-rank sketches. SketchAttn speeds up decoding by 2.1x on LongBench with no loss in accuracy."
)


@pytest.fixture(scope="module")
def embed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_embedder(make_settings(tmp_path_factory.mktemp("emb"))).embed


def paper(abstract: str = ABSTRACT, **extra: object) -> Paper:
    return Paper(paper_id="2406.00001", title="SketchAttn: sparse attention", abstract=abstract, extra=dict(extra))


def test_compress_heads_the_line_with_what_the_paper_does() -> None:
    assert compress("In this paper, we propose X, a kernel for Y [2].") == "Proposes X, a kernel for Y."
    assert compress("Motivated by Z, we introduce PiD, a decoder.") == "Introduces PiD, a decoder."
    assert compress("This work also studies why W fails.") == "Studies why W fails."
    assert compress("In this paper we present SliceGPT, a new scheme.") == "Presents SliceGPT, a new scheme."
    assert compress("In this work, we further show that X holds.") == "Shows that X holds."
    assert third_person("study") == "studies" and third_person("approach") == "approaches"
    assert third_person("proposed") == "proposed" and third_person("focus") == "focuses"
    assert [third_person(v) for v in ("have", "Are", "were", "do", "can", "will", "did")] == ["has", "Is", "was", "does", "can", "will", "did"]
    assert compress("We have reviewed 90 papers on KGs.") == "Has reviewed 90 papers on KGs."  # not "Haves reviewed"
    assert compress("We can train X on one GPU.") == "Can train X on one GPU."  # not "Cans train"
    long = "We propose " + ", ".join(f"component number {i} of the system" for i in range(20)) + "."
    assert len(compress(long).split()) <= MAX_WORDS


def test_a_line_never_speaks_as_the_authors() -> None:
    assert compress("Experiments show our framework's gains, and we further find that it helps us.") == (
        "Experiments show its framework's gains, and the paper further finds that it helps the authors."
    )
    assert compress("Our method achieves 5% gains.") == "The method achieves 5% gains."
    assert compress("It is a phenomenon we term decay, which we are the first to explain.") == (
        "It is a phenomenon the paper terms decay, which the paper is the first to explain."
    )
    assert compress("Which model should we use for classification?") == "Which model should the paper use for classification?"
    assert compress("Surprisingly, we find that models fail.") == "Finds that models fail."


def test_a_first_person_contribution_becomes_a_supported_third_person_line(embed) -> None:  # type: ignore[no-untyped-def]
    abstract = (
        "Dense retrieval is costly at scale. Our framework, PruneRAG, prunes the retrieval index with a learned "
        "scorer, and we show that it keeps 98% of recall on MS MARCO."
    )
    line = takeaways([paper(abstract=abstract)], embed)["2406.00001"]
    assert line.supported and not re.search(r"\b(?:we|our|us)\b", line.text, re.IGNORECASE)
    assert "PruneRAG" in line.text and "the paper shows" in line.text


def test_takeaway_states_the_contribution_is_checked_and_cached(embed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = Assistant(make_settings(tmp_path / "data"), chat_model=PromptFake())
    p = paper(ai_summary="SketchAttn makes attention cheap.")
    calls: list[int] = []

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return embed(texts)

    first = takeaways([p], counting, app.store)[p.paper_id]
    assert first.text.startswith("Proposes SketchAttn") and first.supported
    assert "quadratic" not in first.text  # the motivation is not the takeaway
    assert first.hf_summary == "SketchAttn makes attention cheap."
    n_calls = len(calls)
    again = takeaways([p], counting, app.store)[p.paper_id]
    assert again == first and len(calls) == n_calls  # cached per content hash: no embedding at all
    changed = paper(ABSTRACT.replace("2.1x", "3x"))
    takeaways([changed], counting, app.store)
    assert len(calls) > n_calls  # new content, new line
    app.close()


def test_unsupported_line_is_not_claimed(embed) -> None:  # type: ignore[no-untyped-def]
    # An abstract with no sentence at all: the title is all there is, and it is not marked supported.
    line = takeaways([paper(abstract="")], embed)["2406.00001"]
    assert line.source == "title" and not line.supported


def test_digest_and_search_show_takeaways(tmp_path: Path) -> None:
    data = tmp_path / "data"
    app = Assistant(make_settings(data), chat_model=PromptFake())
    no_arxiv = Paper(paper_id=make_paper_id("SketchAttn: sparse attention"), title="SketchAttn: sparse attention",
                     abstract=ABSTRACT, dates=["2024-01-03"])
    app.ingest_papers([*corpus_papers(), no_arxiv], progress=False)
    digest = app.digest(week="2024-W01")
    papers = [p for t in digest.topics for p in t.papers]
    assert papers and all(p.takeaway for p in papers)
    assert all(len(p.takeaway.split()) <= MAX_WORDS + 1 for p in papers)
    md = render(digest, "md")
    assert papers[0].takeaway.split(" ")[0] in md
    assert no_arxiv.paper_id in {p.paper_id for p in papers}
    assert not re.search(r"\bt:[0-9a-f]{16}", md + render(digest, "html"))  # no bare title-hash ids
    app.close()
    env = {"ASSISTANT_DATA_DIR": str(data)}
    out = CliRunner().invoke(cli, ["search", "attention", "--k", "3", "--json"], env=env, catch_exceptions=False)
    doc = json.loads(out.output)
    assert doc["results"] and all(r["takeaway"]["text"] for r in doc["results"])
    text = CliRunner().invoke(cli, ["search", "attention", "--k", "3"], env=env, catch_exceptions=False).output
    assert "\u2192 " in text


def test_compress_keeps_an_adverb_before_the_verb_and_real_ly_verbs() -> None:
    assert compress("We surprisingly find that most models fail to transfer.") == "Surprisingly finds that most models fail to transfer."
    assert compress("We apply sparse attention to video models.") == "Applies sparse attention to video models."


def test_background_is_never_the_takeaway_when_the_paper_states_its_own_work(embed) -> None:  # type: ignore[no-untyped-def]
    paper = Paper(
        paper_id="2401.00900",
        title="GripWorld: World Models for Robot Grasping",
        abstract=(
            "A growing body of work improves robot grasping by integrating world models into action generation. "
            "GripWorld predicts the next camera frame and the grasp from a single image with a small transformer. "
            "On real robot arms GripWorld runs in real time."
        ),
    )
    line = takeaways([paper], embed)[paper.paper_id]
    assert line.supported and not line.text.startswith("A growing body"), line.text


def test_a_fragment_the_sentence_splitter_cut_off_is_never_a_takeaways_sentence() -> None:
    """"T[i, ., . , i+m-1]" in an abstract splits after "., ."; the piece starting with a comma is no sentence."""
    paper = Paper(paper_id="x", title="Faster Pattern Distances",
                  abstract="We study the distance between P and T[i, ., . , i+m-1] for every shift i, under the "
                           "Word-RAM model. It is classic.")
    assert contribution_sentence(paper) in ("It is classic.", "We study the distance between P and T[i, ., .")
