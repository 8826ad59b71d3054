"""Hostile field sizes and characters at parse time: huge abstracts and titles, NUL and control characters.

Each test here failed before the parse-time caps and the linear chunk rebuild (issue 17, items 3 and 11).
"""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from assistant.papers import MAX_ABSTRACT_CHARS, MAX_TITLE_CHARS, chunk_text, make_paper_id, normalize_text
from assistant.sources import parse_file

SENTENCE = "We propose a method that improves accuracy on the benchmark by a wide margin. "


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_huge_abstract_is_cut_with_an_entry_naming_file_and_line(tmp_path: Path) -> None:
    huge = SENTENCE * (1_000_000 // len(SENTENCE))
    path = write_jsonl(
        tmp_path / "big.jsonl",
        [{"title": "Fine paper", "abstract": SENTENCE}, {"title": "Huge paper", "abstract": huge}],
    )
    result = parse_file(path)
    assert [p.title for p in result.papers] == ["Fine paper", "Huge paper"]
    big = result.papers[1]
    assert len(big.abstract) <= MAX_ABSTRACT_CHARS
    assert big.abstract.endswith(".")  # cut at a sentence end, not mid-word
    [issue] = result.errors
    assert issue.file == str(path) and issue.line == 2
    assert "abstract" in issue.reason and f"{MAX_ABSTRACT_CHARS:,}" in issue.reason


def test_huge_abstract_on_a_daily_page_names_its_line(tmp_path: Path) -> None:
    huge = "word " * 300_000
    page = tmp_path / "page.txt"
    page.write_text(f"Jun 6\n\nShort title here\n\n{SENTENCE * 3}\n\nSecond title here\n\n{huge}\n", encoding="utf-8")
    result = parse_file(page, year=2024)
    assert len(result.papers) == 2 and len(result.papers[1].abstract) <= MAX_ABSTRACT_CHARS
    [issue] = result.errors
    assert issue.line == 9 and "abstract" in issue.reason


def test_ten_thousand_char_title_is_capped(tmp_path: Path) -> None:
    title = "Scaling " + "very " * 2000 + "large models"
    path = write_jsonl(tmp_path / "t.jsonl", [{"title": title, "abstract": SENTENCE}])
    result = parse_file(path)
    [paper] = result.papers
    assert len(paper.title) <= MAX_TITLE_CHARS and paper.title.startswith("Scaling very")
    assert paper.paper_id == make_paper_id(paper.title)  # the id is the capped title's, whatever the source
    [issue] = result.errors
    assert issue.line == 1 and "title" in issue.reason


def test_nul_and_control_characters_are_stripped(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "nul.jsonl",
        [{"title": "Null\u0000 bytes\u0007 in\u001b titles", "abstract": "An\u0000 abstract with\u0000 NULs.\u007f"}],
    )
    [paper] = parse_file(path).papers
    assert paper.title == "Null bytes in titles"
    assert paper.abstract == "An abstract with NULs."
    assert normalize_text("a\x00b\tc\u0085d") == "ab c d"


def test_chunk_text_does_not_rebuild_the_whole_paper_per_chunk() -> None:
    """Rebuilding title + abstract for each chunk made chunking quadratic in the abstract length."""
    abstract = SENTENCE * (2_000_000 // len(SENTENCE))
    start = len("T") + 2 + 1_000_000
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        piece = chunk_text("T", abstract, start, start + 500)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert piece == "T\n\n" + abstract[start - 3 : start - 3 + 500]
    assert peak < 100_000, f"one chunk's text allocated {peak:,} bytes"
