"""Ingest, store and search: seed counts, idempotence, updates, chunking, filters, consistency."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from assistant.errors import StoreError
from assistant.ingest import chunk_paper, reindex
from assistant.papers import Paper, make_paper_id
from assistant.service import Assistant
from tests.conftest import SEED_YEAR, SEEDS, make_settings


def paper(title: str, abstract: str, dates: list[str], **kw: object) -> Paper:
    return Paper(paper_id=make_paper_id(title, kw.pop("arxiv", None)), title=title, abstract=abstract, dates=dates, **kw)  # type: ignore[arg-type]


def test_seed_pages_give_310_papers_with_all_dates(seeded_dir: Path) -> None:
    app = Assistant(make_settings(seeded_dir))
    stats = app.stats()
    assert stats["papers"] == 310
    assert stats["chunks"] >= 310
    assert stats["first_date"].startswith(str(SEED_YEAR))
    from assistant.sources import parse_file

    expected: dict[str, set[str]] = {}
    for page in sorted(SEEDS.glob("*.txt")):
        for entry in parse_file(page, year=SEED_YEAR).papers:
            expected.setdefault(entry.paper_id, set()).update(entry.dates)
    stored = {p.paper_id: p.dates for p in app.store.iter_papers()}
    assert stored == {pid: sorted(d) for pid, d in expected.items()}  # one paper, every date it was listed
    assert sum(len(d) > 1 for d in stored.values()) > 25


def test_reingest_is_a_no_op_and_embeds_nothing(seeded_copy: Path) -> None:
    app = Assistant(make_settings(seeded_copy))
    before = app.embedder.calls
    report = app.ingest([SEEDS], year=SEED_YEAR, progress=False)
    assert (report.parsed, report.new, report.updated, report.unchanged) == (351, 0, 0, 310)
    assert app.embedder.calls == before
    assert app.stats()["papers"] == 310


def test_changed_abstract_updates_in_place(settings) -> None:  # type: ignore[no-untyped-def]
    app = Assistant(settings)
    long = " ".join(f"Sentence number {i} describes the quantization of LiDAR detectors in detail." for i in range(60))
    app.ingest_papers([paper("LiDAR-PTQ study", long, ["2025-06-02"])], progress=False)
    chunks_long = app.stats()["chunks"]
    assert chunks_long > 1
    report = app.ingest_papers([paper("LiDAR-PTQ study", "A short new abstract about LiDAR-PTQ.", ["2025-06-03"])], progress=False)
    assert (report.new, report.updated) == (0, 1)
    stats = app.stats()
    assert stats["papers"] == 1 and stats["chunks"] == 1  # stale chunks deleted
    (stored,) = app.store.iter_papers()
    assert stored.abstract == "A short new abstract about LiDAR-PTQ."
    assert stored.dates == ["2025-06-02", "2025-06-03"]
    hits = app.search("LiDAR-PTQ", k=3)
    assert [h.paper.paper_id for h in hits] == [stored.paper_id]


def test_new_date_or_upvotes_update_metadata_without_embedding(settings) -> None:  # type: ignore[no-untyped-def]
    app = Assistant(settings)
    p = paper("Mirror prox for games", "We study mirror prox.", ["2025-06-02"], arxiv="2506.00001", upvotes=3)
    app.ingest_papers([p], progress=False)
    calls = app.embedder.calls
    q = p.model_copy(update={"dates": ["2025-06-05"], "upvotes": 9})
    report = app.ingest_papers([q], progress=False)
    assert report.updated == 1 and app.embedder.calls == calls
    (stored,) = app.store.iter_papers()
    assert stored.upvotes == 9 and stored.dates == ["2025-06-02", "2025-06-05"]


def test_chunks_split_on_sentences_and_keep_offsets(settings) -> None:  # type: ignore[no-untyped-def]
    app = Assistant(settings)
    abstract = " ".join(f"Claim {i} is about graph neural networks and message passing." for i in range(80))
    p = paper("Long abstract", abstract, [])
    chunks = chunk_paper(p, app.embedder.count_tokens)
    assert len(chunks) > 1
    for c in chunks:
        piece = p.text[c.start : c.end]
        assert c.text.endswith(piece) and c.text.startswith(p.title)
        assert piece.startswith("Claim") and piece.endswith(".")
        assert app.embedder.count_tokens(c.text) <= 256
    short = chunk_paper(paper("Short", "One sentence.", []), app.embedder.count_tokens)
    assert len(short) == 1 and short[0].text == "Short\n\nOne sentence."
    # Chroma keeps no texts: what search shows is rebuilt from the paper row and the offsets.
    app.ingest_papers([p, paper("Short", "One sentence.", [])], progress=False)
    assert app.retriever.passages([p.paper_id], None)[p.paper_id] == [c.text for c in chunks]
    assert app.search("Short One sentence", k=1)[0].passages == ["Short\n\nOne sentence."]


def test_token_counts_are_exact(settings) -> None:  # type: ignore[no-untyped-def]
    """The chunker's word-cached count equals the tokenizer's own count (the 256-piece window holds)."""
    from tokenizers import Tokenizer

    from assistant.embeddings import tokenizer_path
    from assistant.sources import parse_file

    ref = Tokenizer.from_file(str(tokenizer_path()))
    ref.no_truncation()
    ref.no_padding()
    count = Assistant(settings).embedder.count_tokens
    papers = [p for page in sorted(SEEDS.glob("*.txt")) for p in parse_file(page, year=SEED_YEAR).papers]
    texts = [p.text for p in papers] + [s for p in papers for s in p.abstract.split(". ")]
    texts += ["", "  ", "naïve café ℓ_∞ R^{n×d} 中文测试 🙂 x\u00a0y a\u2003b", "e.g., (GPT-4o-mini)'s 3.5x-faster"]
    assert [count(t) for t in texts] == [len(ref.encode(t).ids) for t in texts]


def test_search_finds_rare_terms_and_filters_dates(seeded_dir: Path) -> None:
    app = Assistant(make_settings(seeded_dir))
    top = app.search("NLHF", k=3)[0].paper
    assert "Nash" in top.title
    hits = app.search("semi-supervised text spotting", k=5)
    assert len(hits) == 5 and len({h.paper.paper_id for h in hits}) == 5
    dates = sorted({d for p in app.store.iter_papers() for d in p.dates})
    day = dates[0]
    filtered = app.search("learning", k=50, since=day, until=day)
    assert filtered and all(day in h.paper.dates for h in filtered)
    assert app.search("learning", k=5, since="1999-01-01", until="1999-01-02") == []


def test_search_and_ingest_make_no_network_connections(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    attempts: list[object] = []
    real = socket.socket.connect

    def record(self, address):  # type: ignore[no-untyped-def]
        attempts.append(address)
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", record)
    app = Assistant(settings)
    app.ingest([SEEDS / "000_211f387303ee8c8f.txt"], year=SEED_YEAR, progress=False)
    assert app.search("mirror prox", k=3)
    assert attempts == []


def test_embedding_model_mismatch_is_a_clear_error(settings) -> None:  # type: ignore[no-untyped-def]
    from assistant.store import Store

    app = Assistant(settings)
    app.ingest_papers([paper("A", "Some abstract.", [])], progress=False)
    app.close()
    with pytest.raises(StoreError, match="reindex --embeddings"):
        Store(settings, "other-model", 768).stats()  # Chroma opens on first use


def test_reindex_repairs_orphans_and_missing_chunks(settings) -> None:  # type: ignore[no-untyped-def]
    app = Assistant(settings)
    papers = [paper(f"Paper {i}", f"Abstract {i} about topic {i}.", ["2025-01-0%d" % (i + 1)]) for i in range(3)]
    app.ingest_papers(papers, progress=False)
    vec = app.embedder.embed(["x"])
    from assistant.papers import Chunk

    app.store.upsert_chunks(
        [Chunk(chunk_id="ghost#0", paper_id="ghost", text="ghost", start=0, end=5)], vec, {"ghost": "h"}
    )
    app.store.delete_chunks([f"{papers[0].paper_id}#0"])
    result = reindex(app.store, app.embedder, progress=False)
    assert result == {"papers": 3, "reembedded": 1, "orphans_deleted": 1, "keyword_docs": 3}
    assert app.stats()["chunks"] == 3
    assert app.search("Abstract 0 about topic 0", k=1)[0].paper.paper_id == papers[0].paper_id


def test_keyword_index_rebuilds_when_stale(settings) -> None:  # type: ignore[no-untyped-def]
    app = Assistant(settings)
    app.ingest_papers([paper("Alpha paper", "About AdaWAC weighting.", [])], progress=False)
    # Simulate a crash after the paper table moved on but before the index was rebuilt.
    app.store.save_papers([(paper("Beta paper", "About zebra finches.", []), 1)])
    fresh = Assistant(settings)
    assert [pid for pid, _ in fresh.store.keyword_index().search("zebra", 5)] == [make_paper_id("Beta paper")]


def test_keyword_index_analyses_only_new_or_changed_papers(seeded_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.store import KeywordIndex

    app = Assistant(make_settings(seeded_copy))
    before = {q: app.store.keyword_index().search(q, 10) for q in ("semi-supervised text spotting", "NLHF", "LiDAR-PTQ")}
    analysed: list[int] = []
    real = KeywordIndex.tokenize.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(KeywordIndex, "tokenize", classmethod(lambda cls, texts: analysed.append(len(texts)) or real(cls, texts)))
    app.ingest_papers([paper("Zebra finch song learning", "We study zebra finches learning songs.", [])], progress=False)
    assert sum(analysed) == 1, analysed  # 310 cached token lists reused, one new paper analysed
    kw = app.store.keyword_index()
    assert [pid for pid, _ in kw.search("zebra finches", 3)][:1] == [make_paper_id("Zebra finch song learning")]
    # the same index as one built from scratch over all texts
    monkeypatch.undo()
    papers = list(app.store.iter_papers())
    scratch = KeywordIndex.build([p.paper_id for p in papers], [p.text for p in papers])
    for q in before:
        assert [pid for pid, _ in kw.search(q, 10)] == [pid for pid, _ in scratch.search(q, 10)]
