"""Comparisons: extraction parsing, per-paper caching, the checked table, the checked summary,
choosing papers by id or query, input errors and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.chains.compare import choose_papers, mmr
from assistant.chains.support import short_title
from assistant.chains.aspects import ASPECTS, quick_extraction
from assistant.chains.extract import check_aspects, parse_extraction
from assistant.cli import cli
from assistant.errors import InputError
from assistant.service import Assistant
from digest_fakes import PromptFake, app_for, corpus_papers, ingested_store, private_copy, respond, respond_messages, topic_paper
from fake_openai import FakeOpenAI
from tests.conftest import make_settings

IDS = ["2401.00100", "2401.00200", "2401.00300"]  # video, reasoning, robots


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingested_store(tmp_path_factory.mktemp("compare-corpus"))


@pytest.fixture
def corpus(corpus_dir: Path, tmp_path: Path) -> Path:
    return private_copy(corpus_dir, tmp_path / "corpus")


# ---------------------------------------------------------------------------- extraction


def test_parse_extraction_is_robust_to_formats() -> None:
    plain = "Problem: slow decoding\nMethod: speculative drafts\nData: MT-Bench\nResult: 2x faster"
    assert parse_extraction(plain) == {
        "problem": "slow decoding", "method": "speculative drafts", "data": "MT-Bench", "result": "2x faster"
    }
    fancy = (
        "Here you go:\n1. **Problem:** slow decoding.\n- **Method**: speculative\n  drafts with a small model\n"
        "* Datasets - MT-Bench [1]\n**Key result:** \"2x faster\""
    )
    parsed = parse_extraction(fancy)
    assert parsed["problem"] == "slow decoding"
    assert parsed["method"] == "speculative drafts with a small model"
    assert parsed["data"] == "MT-Bench"  # the model's own [n] is dropped: the app attaches them
    assert parsed["result"] == "2x faster"
    as_json = '```json\n{"problem": "x", "method": "y", "data/benchmarks": "N/A", "key_result": "z"}\n```'
    assert parse_extraction(as_json) == {"problem": "x", "method": "y", "data": "", "result": "z"}
    assert parse_extraction("Data: not stated in the abstract.")["data"] == ""
    assert parse_extraction("I cannot help with that.") == {}


def test_quick_extraction_picks_sentences_by_cue_words() -> None:
    paper = topic_paper("reasoning", 0, "2024-01-01")
    q = quick_extraction(paper)
    assert q.problem.startswith("Large language models still make")
    assert q.method.startswith("We propose StepRL")
    assert "GSM8K and MATH" in q.data
    assert "raises math reasoning accuracy" in q.result
    bare = paper.model_copy(update={"abstract": "A short note without any cue."})
    assert quick_extraction(bare).data == ""


def test_check_aspects_rejects_invented_names_and_numbers(tmp_path: Path) -> None:
    paper = topic_paper("video", 0, "2024-01-01")
    checks = check_aspects(
        paper,
        {
            "method": "video diffusion model with temporal attention between frames",
            "data": "ImageNet-21k and COCO",
            "result": "improves temporal consistency by 42%",
        },
        Assistant(make_settings(tmp_path / "data")).embedder.embed,
    )
    assert checks["method"].supported
    assert not checks["data"].supported and "ImageNet-21k" in checks["data"].missing_terms
    assert not checks["result"].supported and "42%" in checks["result"].missing_terms


# ---------------------------------------------------------------------------- compare


def test_compare_ids_gives_a_checked_table_whose_cells_cite_their_paper(corpus: Path) -> None:
    fake = PromptFake()
    c = app_for(corpus, fake).compare(IDS)
    assert fake.calls == 3 + 1  # one extraction per paper, one compose
    assert [r.paper_id for r in c.table] == IDS and [r.n for r in c.table] == [1, 2, 3]
    for row in c.table:
        assert set(row.cells) == set(ASPECTS)
        for cell in row.cells.values():
            assert cell.text.endswith(f"[{row.n}]")
            assert cell.supported and cell.source == "model"
    assert c.sentences and all(s.supported for s in c.sentences) and not c.fallback
    for s in c.sentences:
        assert s.cites and set(s.cites) <= {1, 2, 3}
    doc = c.to_json()
    assert {"summary", "table", "citations", "model"} <= set(doc)
    assert [x["paper_id"] for x in doc["citations"]] == IDS  # type: ignore[index]
    assert all(x["supported"] for x in doc["citations"])  # type: ignore[index]
    json.dumps(doc)


def test_invented_cells_are_replaced_by_the_closest_abstract_sentence(corpus: Path) -> None:
    def inventive(prompt: str) -> str:
        if "The four lines:" in prompt:
            return "Problem: flicker\nMethod: a video diffusion model\nData: ImageNet-21k and COCO\nResult: 42% better FID"
        return respond(prompt)

    c = app_for(corpus, PromptFake(responder=inventive)).compare(IDS[:2])
    for row in c.table:
        data, result = row.cells["data"], row.cells["result"]
        assert data.source == "abstract" and "ImageNet" not in data.text and data.text.endswith(f"[{row.n}]")
        assert result.source == "abstract" and "42%" not in result.text
        abstract = next(p for p in corpus_papers() if p.paper_id == row.paper_id).abstract
        assert data.text.removesuffix(f" [{row.n}]") in abstract  # a verbatim sentence


def test_unsupported_summary_sentences_are_dropped_with_the_reason(corpus: Path, corpus_dir: Path, tmp_path: Path) -> None:
    def overclaiming(prompt: str) -> str:
        if "Comparison (3 to 5" in prompt:
            return respond(prompt) + " Both reach 97% on ImageNet-21k with 8 GPUs [1][2]."
        return respond(prompt)

    c = app_for(corpus, PromptFake(responder=overclaiming)).compare(IDS[:2])
    assert not any("ImageNet" in s.text for s in c.sentences)
    assert c.sentences and all(s.supported for s in c.sentences) and "\u26a0" not in c.summary
    bad = [d for d in c.dropped if "ImageNet" in d.text]
    assert bad and "ImageNet-21k" in bad[0].reason
    assert c.to_json()["dropped"][0]["reason"] == bad[0].reason  # type: ignore[index]

    def useless(prompt: str) -> str:
        return "NOT_IN_PAPERS" if "Comparison (3 to 5" in prompt else respond(prompt)

    fresh = tmp_path / "fresh"  # injected fakes share one model label, hence one cache: start clean
    private_copy(corpus_dir, fresh)
    c = app_for(fresh, PromptFake(responder=useless)).compare(IDS[:2])
    assert c.fallback and c.sentences and all(s.supported for s in c.sentences)


def test_compare_cache_second_run_makes_no_model_call(corpus: Path) -> None:
    first = app_for(corpus).compare(IDS)
    fake = PromptFake()
    second = app_for(corpus, fake).compare(IDS)
    assert fake.calls == 0
    assert second.to_json() == first.to_json()


def test_compare_by_query_picks_relevant_diverse_papers(corpus: Path) -> None:
    app = app_for(corpus)
    papers, query = choose_papers(["video", "diffusion", "temporal", "consistency"], app.store, app.search, n=3, embed=app.embed_sentences)
    assert query == "video diffusion temporal consistency"
    assert len(papers) == 3 and len({p.paper_id for p in papers}) == 3
    assert sum("video" in p.title for p in papers) >= 2
    c = app.compare(["robot grasping policies"], n=2)
    assert c.query == "robot grasping policies" and len(c.table) == 2


def test_compare_by_query_keeps_only_papers_about_every_part(corpus: Path) -> None:
    app = app_for(corpus)
    papers, _ = choose_papers(["GSM8K math reasoning"], app.store, app.search, n=4, embed=app.embed_sentences)
    assert len(papers) >= 2 and all("GSM8K" in p.abstract for p in papers)
    # Video and robot papers are close in words ("diffusion", "policy") but not about both parts.
    with pytest.raises(InputError, match="about every part|is about"):
        choose_papers(["video diffusion robot grasping"], app.store, app.search, n=3, embed=app.embed_sentences)


def test_mmr_prefers_a_different_paper_over_a_near_duplicate() -> None:
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    near = np.array([0.999, 0.045]) / np.linalg.norm([0.999, 0.045])
    assert mmr(["a", "a2", "b"], {"a": a, "a2": near, "b": b}, 2) == ["a", "b"]
    assert mmr(["a", "b"], {"a": a, "b": b}, 4) == ["a", "b"]


def test_compare_input_errors(corpus: Path) -> None:
    app = app_for(corpus)
    for items in ([], ["2401.00100"], ["2401.00100", "2401.00100"], [f"2401.{i:05d}" for i in range(100, 107)]):
        with pytest.raises(InputError):
            app.compare(items)
    with pytest.raises(InputError, match="unknown paper id"):
        app.compare(["2401.00100", "2499.99999"])
    with pytest.raises(InputError):
        app.compare(["some query"], n=9)


def test_short_title() -> None:
    assert short_title("ConvLLaVA: Hierarchical Backbones as Visual Encoder") == "ConvLLaVA"
    assert short_title("A very long title that goes on and on forever") == "A very long title that goes …"


def test_cli_compare_json(corpus: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with FakeOpenAI(responder=respond_messages) as fake:
        monkeypatch.setenv("ASSISTANT_DATA_DIR", str(corpus))
        monkeypatch.setenv("ASSISTANT_LLM_BACKEND", "openai")
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "fake-model")
        run = CliRunner().invoke(cli, ["compare", *IDS[:2], "--json"], obj={}, catch_exceptions=False)
        assert run.exit_code == 0, run.output
        doc = json.loads(run.stdout)
        assert set(doc) >= {"summary", "table", "citations", "model"}
        assert doc["model"].startswith("openai:fake-model@127.0.0.1")
        assert len(doc["table"]) == 2 and len(fake.chat_requests) == 3

        out = tmp_path / "cmp.bib"
        run = CliRunner().invoke(cli, ["compare", *IDS[:2], "--format", "bib", "--out", str(out)], obj={})
        assert run.exit_code == 0 and out.read_text().count("@misc{") == 2

        bad = CliRunner().invoke(cli, ["compare", "2401.00100", "--json"], obj={})
        assert bad.exit_code == 2 and bad.stderr.startswith("error:")
