"""Kept sentence vectors: a paper's title and sentences are embedded once per store, never go stale,
are the very vectors the judge would compute, and a store from before they were kept still answers."""

from __future__ import annotations

import json
import time
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.chains.answerable import paper_texts
from assistant.chains.evidence import Evidence
from assistant.citations import split_sentences
from assistant.cli import cli
from assistant.config import Settings
from assistant.embeddings import LocalEmbedder, SentenceCache
from assistant.papers import Paper, make_paper_id
from assistant.service import Assistant
from tests.conftest import make_settings

QUESTION = "How does Immiscible Diffusion pair noise with images during training?"


def _record(monkeypatch: pytest.MonkeyPatch, app: Assistant) -> list[str]:
    """Every text `app`'s embedder embeds from now on (set before its first question)."""
    embedded: list[str] = []
    embed: Callable[..., np.ndarray] = app.embedder.embed

    def recording(texts: list[str], bulk: bool = False) -> np.ndarray:
        embedded.extend(texts)
        return embed(texts, bulk)

    monkeypatch.setattr(app.embedder, "embed", recording)
    return embedded


def _judged(evidence: Evidence) -> list[tuple[str, float, str]]:
    assert evidence.verdict is not None
    return [(h.paper.paper_id, s.probability, s.sentence) for h, s in zip(evidence.hits, evidence.verdict.supports)]


def test_a_vector_does_not_depend_on_the_texts_embedded_with_it() -> None:
    """What makes kept vectors safe: the int8 ONNX output of a text is the same alone or in any batch."""
    e = LocalEmbedder(bulk="onnx")
    text = "Immiscible diffusion assigns each image the noise closest to it within a mini-batch."
    others = ["Short.", "A much longer sentence about quantized LiDAR detectors, " * 6, "Mirror prox for Nash games."]
    alone = e.embed([text])[0]
    assert np.array_equal(alone, e.embed([others[0], text, *others[1:]])[1])
    assert np.array_equal(alone, e.embed([*others, text])[3])


def test_a_later_process_embeds_only_the_question(seeded_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = Assistant(make_settings(seeded_copy))
    before = first.evidence_for(QUESTION)
    kept = first.store.sentence_vectors(first.embedder.vector_space)
    assert kept.count() >= sum(len(paper_texts(h.paper)) for h in before.hits)
    first.close()

    later = Assistant(make_settings(seeded_copy), embedder=first.embedder)  # a new process: nothing in memory
    embedded = _record(monkeypatch, later)
    after = later.evidence_for(QUESTION)
    assert embedded == [QUESTION]  # the papers' titles and sentences came from the store
    assert _judged(after) == _judged(before)
    later.close()


def test_questions_are_never_kept(tmp_path: Path) -> None:
    """Only texts passed to `keep` (paper texts) reach the store; whatever else is embedded stays in memory."""
    app = Assistant(make_settings(tmp_path / "data"))
    kept = app.store.sentence_vectors(app.embedder.vector_space)
    cache = SentenceCache(app.embedder.embed, kept)
    cache(["what does the paper do?", "a draft sentence [1]."])
    assert kept.count() == 0
    cache.keep(["A title", "An abstract sentence."])
    assert set(kept.get(["A title", "An abstract sentence.", "what does the paper do?"])) == {"A title", "An abstract sentence."}
    app.close()


def _paper(abstract: str) -> Paper:
    title = "Frobnicator networks for speech"
    return Paper(paper_id=make_paper_id(title, "2611.00042"), title=title, abstract=abstract, dates=["2026-11-02"])


FROB_QUESTION = "How many residual blocks do frobnicator networks stack?"


def _asked_then_changed(settings: Settings) -> tuple[Assistant, Paper, Paper]:
    """A paper asked about (its sentences are kept), then re-ingested with a new abstract: (app, old, new)."""
    old = _paper("We propose frobnicator networks for speech. They gate seventeen layers with learned masks.")
    new = _paper("We propose frobnicator networks for speech. They stack forty residual blocks without gating.")
    app = Assistant(settings)
    app.ingest_papers([old], progress=False)
    app.evidence_for(FROB_QUESTION)
    app.ingest_papers([new], progress=False)
    return app, old, new


def test_a_changed_abstract_is_judged_from_its_new_sentences(tmp_path: Path) -> None:
    """Re-ingest with a new abstract: the judge reads the new sentences, in this process and the next one,
    never vectors kept for the old text."""
    settings = make_settings(tmp_path / "data")
    question = FROB_QUESTION  # asked again below, in this process and the next
    app, _, new = _asked_then_changed(settings)
    fresh = app.embedder.embed([question, *paper_texts(new)])  # no cache involved
    best = float((fresh[2:] @ fresh[0]).max())
    for asker in (app, Assistant(settings, embedder=app.embedder)):
        (support,) = asker.evidence_for(question).verdict.supports  # type: ignore[union-attr]
        assert support.sentence in split_sentences(new.abstract) and "forty" in support.sentence
        assert support.signals["sentence_cosine"] == pytest.approx(best, abs=1e-4)
        asker.close()


def test_a_store_from_before_kept_vectors_still_answers_and_fills_them(seeded_copy: Path) -> None:
    app = Assistant(make_settings(seeded_copy))
    expected = _judged(app.evidence_for(QUESTION))
    app.close()
    db = sqlite3.connect(seeded_copy / "papers.sqlite")
    db.execute("DROP TABLE IF EXISTS sentence_vectors")  # as an older version left it
    db.commit()
    db.close()

    old = Assistant(make_settings(seeded_copy), embedder=app.embedder)
    assert _judged(old.evidence_for(QUESTION)) == expected  # computed on the fly
    assert old.store.sentence_vectors(old.embedder.vector_space).count() > 0  # and kept for the next question
    old.close()


def test_kept_vectors_that_cannot_be_read_or_written_never_fail_a_question(tmp_path: Path) -> None:
    """A store whose table is missing after it was opened (read-only, an older version's) answers from the embedder."""
    app = Assistant(make_settings(tmp_path / "data"))
    kept = app.store.sentence_vectors(app.embedder.vector_space)
    app.store.table.db.execute("DROP TABLE sentence_vectors")
    cache = SentenceCache(app.embedder.embed, kept)
    cache.keep(["A title", "An abstract sentence."])  # nothing kept, nothing raised
    assert kept.get(["A title"]) == {} and kept.count() == 0
    assert np.array_equal(cache(["A title"])[0], app.embedder.embed(["A title"])[0])
    app.close()


def test_reindex_drops_the_vectors_of_old_abstracts_and_other_embedders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Kept rows are never rewritten, so `assistant reindex` prunes what no stored paper reads any more:
    the old abstract's sentences and another vector space's rows go, the current paper's stay."""
    settings = make_settings(tmp_path / "data")
    app, old, new = _asked_then_changed(settings)
    app.evidence_for(FROB_QUESTION)
    kept = app.store.sentence_vectors(app.embedder.vector_space)
    other = app.store.sentence_vectors("another embedder")
    other.put({t: np.ones(3, dtype=np.float32) for t in paper_texts(new)})
    current = set(paper_texts(new))
    stale = set(paper_texts(old)) - current
    assert stale and set(kept.get(list(stale))) == stale
    app.close()

    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE_DIR", str(settings.models_dir))
    result = CliRunner().invoke(cli, ["reindex", "--json"], obj={}, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["sentence_vectors_pruned"] == len(stale) + len(current)
    after = Assistant(settings)
    kept = after.store.sentence_vectors(after.embedder.vector_space)
    assert set(kept.get(list(current | stale))) == current
    assert after.store.sentence_vectors("another embedder").get(list(current)) == {}
    after.close()


# --- reading ahead: an ingest keeps its papers' vectors, so a first question about them embeds only itself

def _two_papers() -> list[Paper]:
    old = Paper(paper_id="2601.00001", title="Gated frobnicators", abstract="We gate frobnicators. They win.", dates=["2026-01-02"])
    return [old, _paper("We propose frobnicator networks for speech. They stack forty residual blocks without gating.")]


def test_an_ingest_that_waits_reads_its_papers_newest_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path / "data", read_after_ingest="wait")
    app = Assistant(settings)
    papers = _two_papers()
    app.ingest_papers(papers, progress=False)
    assert app.store.ids_newest_first() == [papers[1].paper_id, papers[0].paper_id]
    texts = [t for p in papers for t in paper_texts(p)]
    assert set(app.store.sentence_vectors(app.embedder.vector_space).get(texts)) == set(texts)
    assert app.read_papers() == 0  # nothing left to read

    later = Assistant(settings, embedder=app.embedder)  # a first question, in another process
    embedded = _record(monkeypatch, later)
    later.evidence_for(FROB_QUESTION)
    assert embedded == [FROB_QUESTION]
    later.close()
    app.close()


def test_the_reader_reads_each_paper_once_and_then_the_ones_ingested_meanwhile(tmp_path: Path) -> None:
    """A second pass looks only at papers new or changed since the first, not at every paper's texts again."""
    app = Assistant(make_settings(tmp_path / "data", read_after_ingest="off"))
    papers = _two_papers()
    app.ingest_papers(papers, progress=False)
    meanwhile = Paper(paper_id="2601.00003", title="Frobnicator pruning", abstract="We prune frobnicators.", dates=["2026-01-03"])
    read: list[str] = []

    def texts_of(paper: Paper) -> list[str]:
        read.append(paper.paper_id)
        if len(read) == 1:  # an ingest while the reader reads
            app.ingest_papers([meanwhile], progress=False)
        return paper_texts(paper)

    from assistant.reading import read_until_done

    embedded = read_until_done(app.store, app.embedder, texts_of)
    assert sorted(read) == sorted([*(p.paper_id for p in papers), meanwhile.paper_id])
    texts = [t for p in [*papers, meanwhile] for t in paper_texts(p)]
    assert embedded == len(set(texts))
    assert set(app.store.sentence_vectors(app.embedder.vector_space).get(texts)) == set(texts)
    assert read_until_done(app.store, app.embedder, texts_of) == 0  # a new reader: every text is kept
    app.close()


def test_the_background_reader_keeps_the_same_vectors_and_exits(tmp_path: Path) -> None:
    """The default: ingest returns, a detached reader (another process, given these very settings) reads."""
    settings = make_settings(tmp_path / "data", read_after_ingest="background")
    app = Assistant(settings)
    papers = _two_papers()
    app.ingest_papers(papers, progress=False)
    texts = [t for p in papers for t in paper_texts(p)]
    kept = app.store.sentence_vectors(app.embedder.vector_space)
    deadline = time.monotonic() + 120
    while len(kept.get(texts)) < len(texts) and time.monotonic() < deadline:
        time.sleep(0.2)
    found = kept.get(texts)
    assert set(found) == set(texts)
    assert all(np.array_equal(found[t], v) for t, v in zip(texts, app.embedder.embed(texts)))
    lock = app.store.read_lock()
    while time.monotonic() < deadline:  # the reader lets go of its lock when it has nothing left to read
        try:
            lock.acquire()
            break
        except TimeoutError:
            time.sleep(0.2)
    assert lock.is_locked
    lock.release()
    app.close()
