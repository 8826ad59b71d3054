"""Tests for the input parsers in `assistant.sources`: every format, auto-detection, bad input, merging.

The seed pages ship with the repo (examples/daily-papers); the real HF samples are read from
/work/shared/data and the tests that need them are skipped when it is absent.
"""

from __future__ import annotations

import collections
import csv
import gzip
import io
import json
import re
import shutil
import time
from datetime import date
from pathlib import Path

import pytest

import assistant.sources as sources
from assistant.errors import InputError
from assistant.papers import Paper, make_paper_id
from assistant.sources import FORMATS, find_input_files, merge_papers, parse_file

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "examples" / "daily-papers"
HF_DATA = Path("/work/shared/data/hf_daily_papers")
ARXIV_DATA = Path("/work/shared/data/arxiv_cs_abstracts")
ISO = re.compile(r"\d{4}-\d{2}-\d{2}")

ABSTRACT_A = (
    "We study a problem that matters. Our method is simple and it works well on three benchmarks, "
    "beating strong baselines by a wide margin while using less compute than before."
)
ABSTRACT_B = (
    "A second abstract that is long enough to read like one. It describes experiments, results and "
    "a released codebase, and ends with a sentence like abstracts usually do."
)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not found at {path}: these tests need the team's /work/shared/data")
    return path


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def reasons(result) -> str:
    return " | ".join(issue.reason for issue in result.errors)


def page(*paragraphs: str, header: bool = True) -> str:
    chrome = ["new", "Get trending papers in your email inbox!", "Subscribe", "byAK and the research community"]
    return "\n\n".join((chrome if header else []) + list(paragraphs))


# --- the public API ----------------------------------------------------------------------


def test_public_api() -> None:
    assert sources.__all__ == ["FORMATS", "find_input_files", "merge_papers", "parse_file"]
    assert FORMATS == ("auto", "daily-page", "hf-json", "jsonl", "csv")


def test_unknown_format_raises_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, "a.txt", page("Jun 6", "A Title", ABSTRACT_A))
    with pytest.raises(InputError, match="unknown format 'xml'"):
        parse_file(path, fmt="xml")


# --- daily papers page text: the five seed pages -------------------------------------------


@pytest.fixture(scope="module")
def seed_results():
    files = sorted(SEEDS.glob("*.txt"))
    assert len(files) == 5
    return {f.name: parse_file(f, year=2024) for f in files}


def test_seed_pages_hold_351_entries_without_errors(seed_results) -> None:
    assert sum(len(r.papers) for r in seed_results.values()) == 351
    assert [len(r.papers) for r in seed_results.values()] == [54, 69, 67, 109, 52]
    for name, result in seed_results.items():
        assert result.errors == [], name
        assert result.skipped == 0
        assert all(p.source == f"daily-page:{name}" for p in result.papers)


def test_seed_pages_merge_to_310_papers_with_all_their_dates(seed_results) -> None:
    entries = [p for r in seed_results.values() for p in r.papers]
    pages: dict[str, set[str]] = collections.defaultdict(set)
    dates: dict[str, set[str]] = collections.defaultdict(set)
    for name, result in seed_results.items():
        for p in result.papers:
            pages[p.paper_id].add(name)
            dates[p.paper_id].update(p.dates)
    merged = merge_papers(entries)
    assert len(merged) == 310
    assert len({p.paper_id for p in merged}) == 310
    assert sum(1 for names in pages.values() if len(names) > 1) == 34
    for p in merged:
        assert p.dates == sorted(dates[p.paper_id])
        assert p.paper_id == make_paper_id(p.title) and p.paper_id.startswith("t:")
    # Pages 001 and 003 are both "Mar 11", so some repeated titles have one date, others two or three.
    assert collections.Counter(len(p.dates) for p in merged) == {1: 279, 2: 26, 3: 5}


def test_seed_dates_are_iso_with_the_given_year(seed_results) -> None:
    firsts = {name: r.papers[0].dates for name, r in seed_results.items()}
    assert firsts == {
        "000_211f387303ee8c8f.txt": ["2024-06-06"],
        "001_c23ba3fdbb37d094.txt": ["2024-03-11"],
        "002_fb6fed882cdbfba2.txt": ["2024-03-13"],
        "003_7f30c1ef6baefa18.txt": ["2024-03-11"],
        "004_78886770ee207fa6.txt": ["2024-08-19"],
    }
    assert all(len(p.dates) == 1 for r in seed_results.values() for p in r.papers)


def test_seed_page_default_year_is_the_current_year() -> None:
    result = parse_file(SEEDS / "004_78886770ee207fa6.txt")
    assert {p.dates[0] for p in result.papers} == {f"{date.today().year}-08-19"}


def test_seed_page_text_is_kept_as_is(seed_results) -> None:
    papers = seed_results["000_211f387303ee8c8f.txt"].papers
    first = papers[0]
    assert first.title == "Accelerating Nash Learning from Human Feedback via Mirror Prox"
    assert first.abstract.startswith("Traditional Reinforcement Learning from Human Feedback (RLHF)")
    assert first.abstract.endswith("compatibility with existing methods.")
    assert any(p.title.endswith("with ell_infty Guarantee") for p in papers)
    assert any("Ain R^{ntimes d}" in p.abstract for p in papers)
    # Header chrome is never a paper.
    titles = {p.title for r in seed_results.values() for p in r.papers}
    assert not titles & {"new", "Subscribe", "Daily Papers", "byAK and the research community"}
    assert any(p.title.startswith("TÜLU 3") for p in seed_results["003_7f30c1ef6baefa18.txt"].papers)


def test_seed_pages_are_auto_detected_and_parse_the_same_with_explicit_format(tmp_path: Path) -> None:
    source = SEEDS / "002_fb6fed882cdbfba2.txt"
    renamed = tmp_path / "page"  # no extension: content sniffing
    shutil.copy(source, renamed)
    auto = parse_file(renamed, year=2024)
    explicit = parse_file(source, fmt="daily-page", year=2024)
    assert len(auto.papers) == len(explicit.papers) == 67
    assert [p.paper_id for p in auto.papers] == [p.paper_id for p in explicit.papers]


# --- daily papers page text: variants --------------------------------------------------------


def test_page_title_without_abstract_is_reported_with_its_line_and_skipped(tmp_path: Path) -> None:
    text = page("Jun 6", "Paper One", ABSTRACT_A, "Lonely Title", "Paper Two", ABSTRACT_B, "Trailing Title")
    result = parse_file(write(tmp_path, "p.txt", text), year=2024)
    assert [p.title for p in result.papers] == ["Paper One", "Paper Two"]
    assert result.skipped == 2
    assert [(e.line, e.file) for e in result.errors] == [(15, str(tmp_path / "p.txt")), (21, str(tmp_path / "p.txt"))]
    assert "'Lonely Title' has no abstract" in result.errors[0].reason
    assert "a title line, a blank line, then its abstract" in result.errors[0].reason


def test_page_title_without_abstract_before_a_date_line(tmp_path: Path) -> None:
    text = page("Jun 6", "Paper One", ABSTRACT_A, "No Abstract Here", "Jun 7", "Paper Two", ABSTRACT_B)
    result = parse_file(write(tmp_path, "p.txt", text), year=2024)
    assert [(p.title, p.dates) for p in result.papers] == [
        ("Paper One", ["2024-06-06"]),
        ("Paper Two", ["2024-06-07"]),
    ]
    assert result.skipped == 1 and result.errors[0].line == 15


def test_page_with_several_date_lines_paragraphs_and_hard_wraps(tmp_path: Path) -> None:
    wrapped = ABSTRACT_A.replace(". ", ".\n", 1)
    text = page(
        "Daily Papers",
        "Mar 11",
        "Paper One",
        wrapped,
        "A second paragraph of the same abstract, long enough that it cannot be a title of a paper and "
        "it ends like a sentence.",
        "Mar 12, 2023",
        "Paper   Two",
        ABSTRACT_B,
    )
    result = parse_file(write(tmp_path, "p.txt", text), year=2024)
    assert result.errors == []
    one, two = result.papers
    assert one.dates == ["2024-03-11"] and two.dates == ["2023-03-12"]
    assert one.abstract == f"{ABSTRACT_A} A second paragraph of the same abstract, long enough that it cannot be " \
        "a title of a paper and it ends like a sentence."
    assert two.title == "Paper Two"  # whitespace folded


def test_page_with_crlf_line_endings_and_a_bom(tmp_path: Path) -> None:
    text = "\ufeff" + page("Aug 19", "Paper One", ABSTRACT_A).replace("\n", "\r\n")
    result = parse_file(write(tmp_path, "p.txt", text), year=2024)
    assert result.errors == []
    assert [(p.title, p.abstract, p.dates) for p in result.papers] == [("Paper One", ABSTRACT_A, ["2024-08-19"])]


def test_page_title_ending_with_a_period(tmp_path: Path) -> None:
    text = page("Jun 6", "Paper One", ABSTRACT_A, "Code is at https://github.com/x/y.", "Attention Is Enough.",
                ABSTRACT_B + " " + ABSTRACT_B)
    result = parse_file(write(tmp_path, "p.txt", text), year=2024)
    assert result.errors == []
    assert [p.title for p in result.papers] == ["Paper One", "Attention Is Enough."]
    assert result.papers[0].abstract == ABSTRACT_A + " Code is at https://github.com/x/y."


def test_old_mac_line_endings(tmp_path: Path) -> None:
    text = page("Jun 6", "Paper One", ABSTRACT_A, "Paper Two").replace("\n", "\r")
    result = parse_file(write(tmp_path, "p.txt", text), year=2024)
    assert [p.title for p in result.papers] == ["Paper One"]
    assert [e.line for e in result.errors] == [15]  # lines counted as an editor shows them
    rows = _csv([["title", "abstract"], ["T", ABSTRACT_A], ["U", ABSTRACT_B]]).replace("\n", "\r")
    assert [p.title for p in parse_file(write(tmp_path, "mac.csv", rows)).papers] == ["T", "U"]


def test_page_date_that_does_not_exist_in_the_year(tmp_path: Path) -> None:
    text = page("Feb 29", "Paper One", ABSTRACT_A)
    ok = parse_file(write(tmp_path, "p.txt", text), year=2024)
    assert ok.papers[0].dates == ["2024-02-29"] and ok.errors == []
    bad = parse_file(write(tmp_path, "p.txt", text), year=2025)
    assert bad.papers[0].dates == []
    assert bad.errors[0].line == 9 and "'Feb 29' is not a date in 2025" in bad.errors[0].reason
    assert "--year" in bad.errors[0].reason


def test_latin1_page_is_parsed_and_noted(tmp_path: Path) -> None:
    text = page("Jun 6", "Café: Résumé Generation", "Un résumé déjà vu. " + ABSTRACT_A)
    path = write(tmp_path, "latin.txt", text.encode("latin-1"))
    result = parse_file(path, year=2024)
    assert [p.title for p in result.papers] == ["Café: Résumé Generation"]
    assert result.papers[0].abstract.startswith("Un résumé déjà vu.")
    assert len(result.errors) == 1
    assert "not valid UTF-8" in result.errors[0].reason and "save the file as UTF-8" in result.errors[0].reason


def test_page_text_before_the_first_title_is_reported(tmp_path: Path) -> None:
    text = page("Jun 6", ABSTRACT_A, "Paper One", ABSTRACT_B)
    result = parse_file(write(tmp_path, "p.txt", text), year=2024)
    assert [p.title for p in result.papers] == ["Paper One"]
    assert result.errors[0].line == 11 and "expected a paper title" in result.errors[0].reason


def test_page_with_only_chrome_has_no_papers(tmp_path: Path) -> None:
    result = parse_file(write(tmp_path, "p.txt", page("Jun 6")), year=2024)
    assert result.papers == []
    assert "no papers found" in reasons(result)


def test_page_titles_are_nfc_normalized(tmp_path: Path) -> None:
    decomposed = "Cafe\u0301 Models"
    result = parse_file(write(tmp_path, "p.txt", page("Jun 6", decomposed, ABSTRACT_A)), year=2024)
    assert result.papers[0].title == "Café Models"
    assert result.papers[0].paper_id == make_paper_id("Café Models")


# --- HF daily-papers API JSON --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "count"),
    [("2024-05-28.json", 15), ("2025-03-05.json", 12), ("2025-09-10.json", 11), ("2026-08-20.json", 15)],
)
def test_hf_raw_samples(name: str, count: int) -> None:
    path = need(HF_DATA / "raw_samples" / name)
    result = parse_file(path)
    assert result.errors == [] and result.skipped == 0
    assert len(result.papers) == count
    raw = json.loads(path.read_text())
    list_day = name.removesuffix(".json")
    for paper, item in zip(result.papers, raw):
        assert paper.paper_id == item["paper"]["id"]
        assert paper.url == f"https://arxiv.org/abs/{item['paper']['id']}"
        assert paper.dates == [list_day]
        assert paper.published == item["paper"]["publishedAt"][:10]
        assert paper.upvotes == item["paper"]["upvotes"]
        assert paper.github == item["paper"].get("githubRepo")
        assert "\n" not in paper.abstract and "  " not in paper.abstract
        assert paper.authors == [a["name"].strip() for a in item["paper"]["authors"] if not a.get("hidden")]
        assert paper.source == f"hf-json:{name}"
        if item["paper"].get("ai_summary"):
            assert paper.extra["ai_summary"] == item["paper"]["ai_summary"]
            assert paper.extra["ai_keywords"] == item["paper"]["ai_keywords"]
        else:
            assert "ai_summary" not in paper.extra


def test_hf_sample_fields() -> None:
    result = parse_file(need(HF_DATA / "raw_samples" / "2025-09-10.json"))
    first = result.papers[0]
    assert first.paper_id == "2509.07980"
    assert first.title == "Parallel-R1: Towards Parallel Thinking via Reinforcement Learning"
    assert first.abstract.startswith("Parallel thinking has emerged as a novel approach for enhancing the reasoning")
    assert first.authors[:2] == ["Tong Zheng", "Hongming Zhang"]
    assert (first.upvotes, first.published) == (54, "2025-09-09")
    assert first.github == "https://github.com/zhengkid/Parallel-R1"
    # The item title (as on the page and in the HF JSONL dataset) wins over the hard-wrapped paper.title.
    trans = [p for p in parse_file(HF_DATA / "raw_samples" / "2024-05-28.json").papers if "Trans-LoRA" in p.title]
    assert trans[0].title == "$\\textit{Trans-LoRA}$: towards data-free Transferable Parameter Efficient Finetuning"


def test_hf_list_date_without_a_dated_file_name(tmp_path: Path) -> None:
    # Newer responses carry paper.submittedOnDailyAt, which is the list day.
    newer = shutil.copy(need(HF_DATA / "raw_samples" / "2025-09-10.json"), tmp_path / "response.json")
    assert {p.dates[0] for p in parse_file(Path(newer)).papers} == {"2025-09-10"}
    # Older ones do not: the item's publishedAt (when it was posted to the list, UTC) is used.
    older = shutil.copy(HF_DATA / "raw_samples" / "2024-05-28.json", tmp_path / "old.json")
    assert {p.dates[0] for p in parse_file(Path(older)).papers} == {"2024-05-28"}


def _item(arxiv_id: str, title: str, **paper: object) -> dict:
    return {
        "paper": {
            "id": arxiv_id,
            "title": title.replace(" ", "\n  ", 1),
            "summary": ABSTRACT_A.replace(". ", ".\n"),
            "publishedAt": "2024-06-05T17:59:01.000Z",
            "upvotes": 7,
            "authors": [
                {"name": "Ann Lee", "hidden": False},
                {"name": "Hidden Person", "hidden": True},
                {"name": " Bo Chen "},
            ],
            **paper,
        },
        "title": title,
        "publishedAt": "2024-06-06T03:14:41.021Z",
        "numComments": 1,
    }


def test_hf_json_synthetic_items_and_shapes(tmp_path: Path) -> None:
    items = [
        _item("2406.01234", "First Paper"),
        _item("2406.05678v2", "Second Paper", submittedOnDailyAt="2024-06-07T00:00:00Z"),
    ]
    result = parse_file(write(tmp_path, "2024-06-06.json", json.dumps(items)))
    assert result.errors == []
    one, two = result.papers
    assert (one.paper_id, one.title, one.abstract) == ("2406.01234", "First Paper", ABSTRACT_A)
    assert one.authors == ["Ann Lee", "Bo Chen"]
    assert two.paper_id == "2406.05678" and two.dates == ["2024-06-06"]  # the file name wins
    renamed = parse_file(write(tmp_path, "day.json", json.dumps(items)))
    assert [p.dates for p in renamed.papers] == [["2024-06-06"], ["2024-06-07"]]
    wrapped = parse_file(write(tmp_path, "wrapped.json", json.dumps({"papers": items})))
    assert [p.paper_id for p in wrapped.papers] == ["2406.01234", "2406.05678"]
    plain = [{"id": "2406.01234", "title": "Plain", "summary": ABSTRACT_B, "publishedAt": "2024-06-05T00:00:00Z"}]
    flat = parse_file(write(tmp_path, "plain.json", json.dumps(plain)))
    assert [(p.paper_id, p.dates) for p in flat.papers] == [("2406.01234", ["2024-06-05"])]
    single = parse_file(write(tmp_path, "single.json", json.dumps(items[0])))
    assert [p.paper_id for p in single.papers] == ["2406.01234"]
    empty_day = parse_file(write(tmp_path, "2024-06-08.json", "[]"))
    assert empty_day.papers == [] and empty_day.errors == []


def test_hf_json_bad_items_are_reported(tmp_path: Path) -> None:
    no_summary = {"paper": {"id": "2406.09999", "title": "No Summary"}, "title": "No Summary"}
    items = [_item("2406.01234", "Good"), 42, no_summary]
    result = parse_file(write(tmp_path, "x.json", json.dumps(items)))
    assert [p.title for p in result.papers] == ["Good"]
    assert result.skipped == 2
    assert "item 2 is a number, not an object" in result.errors[0].reason
    assert "item 3 (2406.09999): no abstract" in result.errors[1].reason


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ('{"error": "Not found", "status": 404}', "found an object with keys 'error', 'status'"),
        ("[1, 2, 3]", "found a list whose first item is a number"),
        ('"just a string"', "found a string"),
        ("null", "found null"),
    ],
)
def test_json_of_another_shape(tmp_path: Path, content: str, found: str) -> None:
    result = parse_file(write(tmp_path, "other.json", content))
    assert result.papers == []
    assert len(result.errors) == 1
    assert result.errors[0].reason.startswith("JSON is not a list of daily-papers items: ")
    assert found in result.errors[0].reason


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    result = parse_file(write(tmp_path, "bad.json", '[\n  {"title": "x",\n  "summary": }\n]'))
    assert result.errors[0].line == 3 and "not valid JSON" in result.errors[0].reason


# --- JSONL -----------------------------------------------------------------------------------


def _sample_gz(source: Path, target: Path, every: int) -> list[dict]:
    """Copy every n-th row of a real .jsonl.gz into a small one (rows from all years)."""
    with gzip.open(source, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for i, line in enumerate(fh) if i % every == 0]
    with gzip.open(target, "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(r) + "\n" for r in rows)
    return rows


def test_hf_jsonl_gz_rows(tmp_path: Path) -> None:
    rows = _sample_gz(need(HF_DATA / "hf_daily_papers.jsonl.gz"), tmp_path / "hf.jsonl.gz", 250)
    result = parse_file(tmp_path / "hf.jsonl.gz")
    assert result.errors == [] and len(result.papers) == len(rows) == 40
    for paper, row in zip(result.papers, rows):
        assert paper.paper_id == row["arxiv_id"]
        assert paper.dates == [row["list_date"]]
        assert paper.published == row["published_at"][:10]
        assert paper.upvotes == row["upvotes"] and paper.github == row["github_repo"]
        assert paper.authors == row["authors"]
        assert paper.abstract == " ".join(row["abstract"].split())
        assert paper.source == "jsonl:hf.jsonl.gz"
        if row["hf_ai_summary"]:
            assert paper.extra["ai_summary"] == row["hf_ai_summary"]
    assert any("ai_keywords" in p.extra for p in result.papers)


def test_arxiv_jsonl_gz_rows_are_dated_by_publication(tmp_path: Path) -> None:
    rows = _sample_gz(need(ARXIV_DATA / "arxiv_cs_abstracts.jsonl.gz"), tmp_path / "ax.jsonl.gz", 400)
    result = parse_file(tmp_path / "ax.jsonl.gz")
    assert result.errors == [] and len(result.papers) == len(rows) == 10
    for paper, row in zip(result.papers, rows):
        assert paper.paper_id == row["arxiv_id"] and paper.dates == [row["published"]]
        assert paper.extra["categories"] == row["categories"]
        assert paper.extra["primary_category"] == row["primary_category"]


def test_jsonl_bad_lines_are_reported_and_the_rest_kept(tmp_path: Path) -> None:
    lines = [
        json.dumps({"arxiv_id": "2406.00001", "title": "One", "abstract": ABSTRACT_A, "list_date": "2024-06-06"}),
        "",
        "{not json",
        json.dumps({"title": "No abstract"}),
        json.dumps(["a", "list"]),
        json.dumps({"title": "Two", "summary": ABSTRACT_B, "published": "2024-06-01", "date": "junk"}),
        json.dumps({"abstract": ABSTRACT_B, "title": "   "}),
    ]
    result = parse_file(write(tmp_path, "rows.jsonl", "\n".join(lines) + "\n"))
    assert [p.title for p in result.papers] == ["One", "Two"]
    assert result.papers[1].dates == ["2024-06-01"]  # bad list date ignored, published date used
    assert result.skipped == 4
    assert [(e.line, e.reason.split(" (")[0].split(":")[0]) for e in result.errors] == [
        (3, "not valid JSON"),
        (4, "no abstract"),
        (5, "not a JSON object"),
        (6, "list date 'junk' is not a date like 2024-06-06; ignored it, kept the paper"),
        (7, "no title"),
    ]


def test_jsonl_round_trips_exported_papers(tmp_path: Path) -> None:
    paper = Paper(paper_id="2406.00001", title="One", abstract=ABSTRACT_A, dates=["2024-06-06", "2024-06-07"],
                  authors=["A B"], upvotes=3, github="https://github.com/x/y", url="https://arxiv.org/abs/2406.00001")
    result = parse_file(write(tmp_path, "export.jsonl", paper.model_dump_json() + "\n"))
    back = result.papers[0]
    assert back.model_dump(exclude={"source", "published"}) == paper.model_dump(exclude={"source", "published"})


def test_jsonl_without_list_date_uses_published(tmp_path: Path) -> None:
    row = {"id": "arXiv:2406.00002v3", "title": "T", "abstract": ABSTRACT_A, "published_at": "2024-05-30T10:00:00Z"}
    result = parse_file(write(tmp_path, "r.jsonl", json.dumps(row)))
    assert (result.papers[0].paper_id, result.papers[0].dates) == ("2406.00002", ["2024-05-30"])


def test_jsonl_of_hf_api_items(tmp_path: Path) -> None:
    lines = [json.dumps(_item("2406.01234", "From An Item", submittedOnDailyAt="2024-06-07T00:01:00Z"))]
    result = parse_file(write(tmp_path, "items.jsonl", "\n".join(lines)))
    assert [(p.title, p.dates, p.authors) for p in result.papers] == [
        ("From An Item", ["2024-06-07"], ["Ann Lee", "Bo Chen"])
    ]


def test_big_jsonl_file_is_streamed_fast(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    abstract = (ABSTRACT_A + " ") * 12
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        while fh.tell() < 50_000_000:
            fh.write(json.dumps({"arxiv_id": f"2406.{n:05d}", "title": f"Paper {n}", "abstract": abstract,
                                 "list_date": "2024-06-06", "authors": "A; B"}) + "\n")
            n += 1
    assert path.stat().st_size >= 50_000_000
    start = time.perf_counter()
    result = parse_file(path)
    elapsed = time.perf_counter() - start
    assert result.errors == [] and len(result.papers) == n
    assert elapsed < 30, f"parsing 50 MB of JSONL took {elapsed:.1f} s"


# --- CSV -------------------------------------------------------------------------------------


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return out.getvalue()


def test_csv_with_header_aliases(tmp_path: Path) -> None:
    text = _csv([
        ["Name", "Summary", "arXiv", "Day", "Authors", "Upvotes", "URL"],
        ["Paper One", ABSTRACT_A, "2406.00001v1", "2024-06-06", "Ann Lee; Bo Chen", "12", ""],
        ["Paper Two", ABSTRACT_B, "", "2024-06-07", "Cy Dee, Ed Fox", "n/a", "https://example.org/two"],
    ])
    result = parse_file(write(tmp_path, "list.csv", "\ufeff" + text))
    assert result.errors == []
    one, two = result.papers
    assert (one.paper_id, one.dates, one.upvotes) == ("2406.00001", ["2024-06-06"], 12)
    assert one.authors == ["Ann Lee", "Bo Chen"]
    assert one.url == "https://arxiv.org/abs/2406.00001"
    assert (two.paper_id, two.authors, two.upvotes, two.url) == (
        make_paper_id("Paper Two"), ["Cy Dee", "Ed Fox"], None, "https://example.org/two")
    assert one.source == "csv:list.csv"


@pytest.mark.parametrize(("name", "delimiter"), [("list.tsv", "\t"), ("semi.csv", ";")])
def test_csv_other_delimiters(tmp_path: Path, name: str, delimiter: str) -> None:
    rows = [["title", "abstract", "id", "list_date"], ["T, with comma", ABSTRACT_A, "2406.00001", "2024-06-06"]]
    text = _csv(rows, delimiter)
    result = parse_file(write(tmp_path, name, text))
    assert result.errors == []
    assert [(p.title, p.paper_id) for p in result.papers] == [("T, with comma", "2406.00001")]


def test_csv_rows_missing_fields_are_reported_with_their_line(tmp_path: Path) -> None:
    text = _csv([
        ["title", "abstract", "published"],
        ["Multi", ABSTRACT_A.replace(". ", ".\n"), "2024-06-01"],  # a quoted field over 2 lines
        ["No Abstract", "", ""],
        [],
        ["Good", ABSTRACT_B, "2024-06-02"],
        ["", ABSTRACT_B, ""],
    ])
    result = parse_file(write(tmp_path, "rows.csv", text))
    assert [(p.title, p.dates) for p in result.papers] == [("Multi", ["2024-06-01"]), ("Good", ["2024-06-02"])]
    assert [(e.line, e.reason.split(" (")[0]) for e in result.errors] == [(4, "no abstract"), (7, "no title")]
    assert result.skipped == 2


def test_csv_without_an_abstract_column(tmp_path: Path) -> None:
    result = parse_file(write(tmp_path, "x.csv", _csv([["title", "authors"], ["T", "A"]])))
    assert result.papers == []
    assert [(e.line, e.reason) for e in result.errors] == [
        (1, "CSV has no abstract column; expected one of: abstract, summary")
    ]


def test_csv_without_a_title_column(tmp_path: Path) -> None:
    result = parse_file(write(tmp_path, "x.csv", _csv([["id", "abstract"], ["1", ABSTRACT_A]])))
    assert [e.reason for e in result.errors] == ["CSV has no title column; expected one of: title, name"]


def test_csv_header_only_has_no_papers(tmp_path: Path) -> None:
    result = parse_file(write(tmp_path, "x.csv", "title,abstract\n"))
    assert result.papers == [] and "no papers found" in reasons(result)


# --- auto-detection ----------------------------------------------------------------------------

TWO_ROWS = "\n".join(json.dumps({"title": t, "abstract": a}) for t, a in [("T", ABSTRACT_A), ("U", ABSTRACT_B)])


@pytest.mark.parametrize(
    ("name", "content", "source"),
    [
        ("a.txt", page("Jun 6", "T", ABSTRACT_A), "daily-page"),
        ("page", page("T", ABSTRACT_A, header=False), "daily-page"),
        ("a.json", json.dumps([_item("2406.00001", "T")]), "hf-json"),
        ("a.txt", json.dumps([_item("2406.00001", "T")]), "hf-json"),
        ("a.json", TWO_ROWS, "jsonl"),
        ("a.ndjson", json.dumps({"title": "T", "abstract": ABSTRACT_A}), "jsonl"),
        ("a.dat", TWO_ROWS, "jsonl"),
        ("a.csv", _csv([["title", "abstract"], ["T", ABSTRACT_A]]), "csv"),
        ("a.txt", _csv([["title", "abstract"], ["T", ABSTRACT_A]]), "csv"),
        ("a.txt", _csv([["title", "abstract"], ["T", ABSTRACT_A]]) + "\n" + _csv([["U", ABSTRACT_B]]), "csv"),
    ],
)
def test_auto_detection(tmp_path: Path, name: str, content: str, source: str) -> None:
    result = parse_file(write(tmp_path, name, content), year=2024)
    assert result.errors == [], reasons(result)
    assert result.papers and result.papers[0].source == f"{source}:{name}"


def test_auto_detection_of_gzipped_files(tmp_path: Path) -> None:
    row = json.dumps({"title": "T", "abstract": ABSTRACT_A}) + "\n"
    for name, content, source in [
        ("a.jsonl.gz", row, "jsonl"),
        ("a.csv.gz", _csv([["title", "abstract"], ["T", ABSTRACT_A]]), "csv"),
        ("a.txt.gz", page("Jun 6", "T", ABSTRACT_A), "daily-page"),
        ("mislabelled.jsonl", row, "jsonl"),  # gzip found by its magic bytes, whatever the name
    ]:
        path = write(tmp_path, name, gzip.compress(content.encode()))
        result = parse_file(path, year=2024)
        assert result.errors == [] and result.papers[0].source == f"{source}:{name}", name


@pytest.mark.parametrize("name", ["notes.txt", "notes.md", "data"])
def test_unrecognised_text(tmp_path: Path, name: str) -> None:
    result = parse_file(write(tmp_path, name, "hello world\n"))
    assert [e.reason for e in result.errors] == [
        "not a recognised format (daily-page text, HF API JSON, JSONL or CSV): use --format to choose one"
    ]


def test_explicit_format_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path, "rows.txt", json.dumps({"title": "T", "abstract": ABSTRACT_A}) + "\n")
    assert parse_file(path, fmt="jsonl").papers[0].title == "T"
    assert parse_file(path, fmt="csv").errors[0].reason.startswith("CSV has no abstract column")


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_empty_file(tmp_path: Path, fmt: str) -> None:
    result = parse_file(write(tmp_path, "empty.txt", b""), fmt=fmt)
    assert result.papers == [] and [e.reason for e in result.errors] == ["file is empty: nothing to parse"]
    blank = parse_file(write(tmp_path, "blank.csv", b" \n\n\t\n"), fmt=fmt)
    assert [e.reason for e in blank.errors] == ["file is empty (only whitespace): nothing to parse"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_binary_file(tmp_path: Path, fmt: str) -> None:
    data = bytes(range(256)) * 40
    result = parse_file(write(tmp_path, "image.json", data), fmt=fmt)
    assert result.papers == [] and len(result.errors) == 1
    assert result.errors[0].reason.startswith("binary file (contains NUL bytes)")


def test_utf16_text_is_read(tmp_path: Path) -> None:
    text = page("Jun 6", "Paper One", ABSTRACT_A)
    result = parse_file(write(tmp_path, "u16.txt", text.encode("utf-16")), year=2024)
    assert result.errors == [] and [p.title for p in result.papers] == ["Paper One"]


def test_latin1_csv_is_parsed_and_noted(tmp_path: Path) -> None:
    text = _csv([["title", "abstract"], ["Über Modelle", "Ein Résumé. " + ABSTRACT_A]])
    result = parse_file(write(tmp_path, "x.csv", text.encode("latin-1")))
    assert [p.title for p in result.papers] == ["Über Modelle"]
    assert [(e.line, "not valid UTF-8" in e.reason) for e in result.errors] == [(2, True)]


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    path = write(tmp_path, "big.jsonl", json.dumps({"title": "T", "abstract": ABSTRACT_A}) * 10)
    result = parse_file(path, max_bytes=1000)
    assert result.papers == []
    assert [e.reason for e in result.errors] == [
        f"file is {path.stat().st_size / 1000:.1f} kB, over the 1 kB limit: "
        "split it into smaller files or raise the size limit"
    ]


def test_size_limit_message_in_megabytes(tmp_path: Path) -> None:
    path = tmp_path / "sparse.jsonl"
    with path.open("wb") as fh:  # a sparse 50 MB file: no need to write the bytes
        fh.truncate(50_000_000)
    result = parse_file(path, max_bytes=20_000_000)
    assert result.errors[0].reason.startswith("file is 50.0 MB, over the 20 MB limit")
    assert sources.detect.human_size(200_000_000, limit=True) == "200 MB"


def test_decompressed_size_is_limited_too(tmp_path: Path) -> None:
    row = json.dumps({"title": "T", "abstract": ABSTRACT_A}) + "\n"
    path = write(tmp_path, "bomb.jsonl.gz", gzip.compress((row * 2000).encode()))
    assert path.stat().st_size < 10_000
    result = parse_file(path, max_bytes=10_000)
    assert 0 < len(result.papers) < 2000
    assert "decompressed content is over the 10 kB limit" in reasons(result)


def test_truncated_gzip_is_reported(tmp_path: Path) -> None:
    rows = "\n".join(json.dumps({"title": f"T{i}", "abstract": ABSTRACT_A}) for i in range(500))
    data = gzip.compress(rows.encode())
    result = parse_file(write(tmp_path, "cut.jsonl.gz", data[: len(data) // 2]))
    assert "compressed file is damaged" in reasons(result)


def test_missing_path_and_directory(tmp_path: Path) -> None:
    missing = parse_file(tmp_path / "nope.txt")
    assert [(e.file, e.reason) for e in missing.errors] == [
        (str(tmp_path / "nope.txt"), "no such file or directory: check the path")
    ]
    assert parse_file(tmp_path).errors[0].reason.startswith("is a directory")


# --- find_input_files -------------------------------------------------------------------------------


def test_find_input_files(tmp_path: Path) -> None:
    names = ["b.txt", "a.json", "sub/c.jsonl.gz", "sub/deeper/d.csv", ".hidden.txt", ".git/e.txt"]
    for name in [*names, "README.md", "SHA256SUMS"]:
        write(tmp_path, name, "x")
    explicit = write(tmp_path, "elsewhere/notes.md", "x")
    files, issues = find_input_files([tmp_path / "sub", tmp_path, explicit, tmp_path / "missing.csv"])
    assert files == [
        tmp_path / "sub/c.jsonl.gz",
        tmp_path / "sub/deeper/d.csv",
        tmp_path / "a.json",
        tmp_path / "b.txt",
        explicit,
    ]
    assert [(i.file, i.line, i.reason) for i in issues] == [
        (str(tmp_path / "missing.csv"), None, "no such file or directory: check the path")
    ]


def test_find_input_files_on_the_seeds() -> None:
    files, issues = find_input_files([SEEDS])
    assert issues == [] and [f.name for f in files] == sorted(f.name for f in SEEDS.glob("*.txt"))


# --- merge_papers ---------------------------------------------------------------------------------------


def _paper(pid: str, **fields: object) -> Paper:
    return Paper(**{"paper_id": pid, "title": f"Title {pid}", "abstract": ABSTRACT_A, **fields})


def test_merge_papers_semantics() -> None:
    first = _paper("2406.00001", dates=["2024-06-07"], upvotes=3, authors=["A"], github="https://github.com/a/b",
                   extra={"ai_summary": "s", "ai_keywords": ["k"]}, source="one")
    other = _paper("2406.00002", dates=["2024-06-01"])
    later = _paper("2406.00001", dates=["2024-06-06", "2024-06-07"], upvotes=9, authors=[], github=None,
                   abstract="A newer abstract.", extra={"ai_summary": "newer", "ai_keywords": []}, source="two")
    zero = _paper("2406.00002", dates=[], upvotes=0)
    merged = merge_papers([first, other, later, zero])
    assert [p.paper_id for p in merged] == ["2406.00001", "2406.00002"]
    a, b = merged
    assert a.dates == ["2024-06-06", "2024-06-07"]
    assert (a.upvotes, a.abstract, a.authors, a.source) == (9, "A newer abstract.", ["A"], "two")
    assert a.github == "https://github.com/a/b"  # a later empty value does not erase an earlier one
    assert a.extra == {"ai_summary": "newer", "ai_keywords": ["k"]}
    assert (b.dates, b.upvotes) == (["2024-06-01"], 0)
    # Inputs are not modified.
    assert first.upvotes == 3 and first.dates == ["2024-06-07"] and later.authors == []


def test_merge_papers_empty_and_single() -> None:
    assert merge_papers([]) == []
    one = _paper("t:abc", dates=["2024-06-02", "2024-06-01", "2024-06-02"])
    assert merge_papers(iter([one]))[0].dates == ["2024-06-01", "2024-06-02"]
