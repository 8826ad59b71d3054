"""One paper, one record (issue 17, item 6): page text (id from the title) and the HF API (arXiv id)
give the same paper in either order, and every spelling of an arXiv id is one id.

Real local embedder and store; files written the way users save them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.ingest import check_consistency
from assistant.papers import clean_arxiv_id, make_paper_id
from assistant.service import Assistant
from tests.conftest import make_settings

TITLE = "Shrinking Class Space for Enhanced Certainty in Semi-Supervised Learning"
ABSTRACT = (
    "Semi-supervised learning is attracting blooming attention, due to its success in combining unlabeled data. "
    "We propose a novel method dubbed ShrinkMatch to learn uncertain samples. For each uncertain sample, it "
    "adaptively seeks a shrunk class space. Our method exhibits impressive performance on widely adopted benchmarks."
)
OTHER = ("Segment Any Text for Robust Sentence Segmentation", "We introduce a model that segments text into sentences "
         "without relying on punctuation, and adapts to new domains with parameter-efficient fine-tuning.")


def page_file(folder: Path, day: str = "Jun 6") -> Path:
    """A saved Daily Papers page listing the paper (no arXiv id) and one other (title spacing as pasted)."""
    path = folder / f"page-{day.replace(' ', '')}.txt"
    path.write_text(f"{day}\n\n  {TITLE.upper()}  \n\n{ABSTRACT}\n\n{OTHER[0]}\n\n{OTHER[1]}\n")
    return path


def api_file(folder: Path, day: str = "2025-06-09", arxiv: str = "2408.05555v2") -> Path:
    """The HF API's list for `day` with the same paper under its arXiv id."""
    paper = {"id": arxiv, "title": TITLE, "summary": ABSTRACT, "authors": [{"name": "Lihe Yang"}], "upvotes": 7}
    path = folder / f"{day}.json"
    path.write_text(json.dumps([{"paper": paper, "publishedAt": f"{day}T00:00:00.000Z"}]))
    return path


def one_record(app: Assistant) -> None:
    papers = {p.paper_id: p for p in app.store.iter_papers()}
    assert make_paper_id(TITLE) not in papers
    assert set(papers) == {"2408.05555", make_paper_id(OTHER[0])}
    merged = papers["2408.05555"]
    assert merged.dates == ["2025-06-06", "2025-06-09"]
    assert (merged.title, merged.upvotes, merged.authors) == (TITLE, 7, ["Lihe Yang"])  # the API record's fields
    assert app.store.chunk_hashes().keys() == {"2408.05555#0", f"{make_paper_id(OTHER[0])}#0"}  # one set of chunks
    assert check_consistency(app.store) == {
        "papers": 2, "orphan_chunks": 0, "papers_missing_chunks": 0, "keyword_index_mismatch": 0,
    }
    hits = app.search("ShrinkMatch uncertain samples shrunk class space", k=5)
    assert [h.paper.paper_id for h in hits].count("2408.05555") == 1
    assert all(not h.paper.paper_id == make_paper_id(TITLE) for h in hits)


@pytest.mark.parametrize("order", ["page first", "api first", "together"])
def test_page_text_and_api_records_become_one_paper(order: str, tmp_path: Path) -> None:
    app = Assistant(make_settings(tmp_path / "data"))
    page, api = page_file(tmp_path), api_file(tmp_path)
    runs = {"page first": [[page], [api]], "api first": [[api], [page]], "together": [[page, api]]}[order]
    for paths in runs:
        report = app.ingest(paths, year=2025, progress=False)
        assert report.errors == []
    one_record(app)
    # re-running any ingest changes nothing and keeps one record
    for paths in ([page], [api], [page, api]):
        again = app.ingest(paths, year=2025, progress=False)
        assert (again.new, again.updated) == (0, 0)
    one_record(app)
    app.close()


def test_a_store_holding_both_records_is_merged_by_the_next_ingest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stores written before the merge existed hold both records; any ingest of either repairs them."""
    import assistant.ingest

    app = Assistant(make_settings(tmp_path / "data"))
    with monkeypatch.context() as old_version:  # ingest as before the merge: by id only
        old_version.setattr(assistant.ingest, "one_record_per_title", lambda papers, store: (papers, {}))
        app.ingest([page_file(tmp_path), api_file(tmp_path)], year=2025, progress=False)
    assert app.stats()["papers"] == 3
    report = app.ingest([page_file(tmp_path)], year=2025, progress=False)
    assert (report.new, report.updated) == (0, 1)
    one_record(app)
    app.close()


def test_two_arxiv_papers_with_one_title_take_no_page_record(tmp_path: Path) -> None:
    """A page title matching two arXiv ids cannot say which paper it was: nothing is merged."""
    app = Assistant(make_settings(tmp_path / "data"))
    app.ingest([api_file(tmp_path, "2025-06-09", "2408.05555"), api_file(tmp_path, "2025-06-10", "2408.06666")],
               progress=False)
    app.ingest([page_file(tmp_path)], year=2025, progress=False)
    ids = {p.paper_id for p in app.store.iter_papers()}
    assert {"2408.05555", "2408.06666", make_paper_id(TITLE)} <= ids
    app.close()


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("2401.00001V2", "2401.00001"),
        ("/pdf/2401.00001v1", "2401.00001"),
        ("arXiv:2401.00001", "2401.00001"),
        ("ARXIV:2401.00001v3", "2401.00001"),
        ("arXiv:2401.00001v2 [cs.CL]", "2401.00001"),
        ("https://arxiv.org/abs/2401.00001", "2401.00001"),
        ("https://arxiv.org/abs/2401.00001v2", "2401.00001"),
        ("https://arxiv.org/pdf/2401.00001", "2401.00001"),
        ("https://arxiv.org/pdf/2401.00001v1.pdf", "2401.00001"),
        ("http://export.arxiv.org/abs/2401.00001v1", "2401.00001"),
        ("https://www.arxiv.org/abs/2401.00001?context=cs", "2401.00001"),
        ("arxiv.org/pdf/2401.00001.pdf", "2401.00001"),
        ("0704.0001", "0704.0001"),
        ("hep-th/9901001", "hep-th/9901001"),
        ("hep-th/9901001v2", "hep-th/9901001"),
        ("arXiv:hep-th/9901001", "hep-th/9901001"),
        ("https://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001"),
        ("https://arxiv.org/pdf/hep-th/9901001", "hep-th/9901001"),
        ("HEP-TH/9901001", "hep-th/9901001"),
        ("math.GT/0309136", "math.GT/0309136"),
        ("hello", None),
        ("2401.0001x", None),
        ("https://example.org/abs/2401.00001", None),
        ("2401.00001 and more", None),
    ],
)
def test_every_arxiv_spelling_is_one_id(spelling: str, expected: str | None) -> None:
    assert clean_arxiv_id(spelling) == expected


def test_ids_and_urls_in_every_spelling_make_one_paper(tmp_path: Path) -> None:
    rows = [
        {"arxiv_id": "2401.00001V2", "title": TITLE, "abstract": ABSTRACT, "date": "2025-06-02"},
        {"url": "https://arxiv.org/pdf/2401.00001v1", "title": TITLE, "abstract": ABSTRACT, "date": "2025-06-03"},
        {"id": "/pdf/2401.00001v1", "title": TITLE, "abstract": ABSTRACT, "date": "2025-06-04"},
        {"arxiv_id": "arXiv:2401.00001", "title": TITLE, "abstract": ABSTRACT, "date": "2025-06-05"},
    ]
    path = tmp_path / "papers.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    app = Assistant(make_settings(tmp_path / "data"))
    report = app.ingest([path], progress=False)
    assert (report.parsed, report.new, report.errors) == (4, 1, [])
    (stored,) = app.store.iter_papers()
    assert stored.paper_id == "2401.00001" and stored.dates == [f"2025-06-0{d}" for d in range(2, 6)]
    app.close()
