"""Fuzz tests for `assistant.sources.parse_file`: whatever is in the file, it returns a ParseResult.

Hypothesis writes random bytes, page-like text, JSON-ish, JSONL-ish and CSV-ish content to a file and
parses it with every format; 1,000 inputs per parser, no network, well under a minute in total.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from assistant.papers import (
    MAX_ABSTRACT_CHARS,
    MAX_TITLE_CHARS,
    ParseResult,
    clean_arxiv_id,
    make_paper_id,
    normalize_text,
)
from assistant.sources import FORMATS, merge_papers, parse_file

FUZZ = settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
ABSTRACT = (
    "We propose a method. It works well on many benchmarks and beats strong baselines by a margin, "
    "which we show in extensive experiments across tasks."
)
KEYS = [
    "title", "abstract", "summary", "paper", "id", "arxiv_id", "authors", "name", "hidden", "list_date",
    "date", "dates", "published", "publishedAt", "published_at", "submittedOnDailyAt", "upvotes", "url",
    "githubRepo", "github", "ai_summary", "ai_keywords", "hf_ai_keywords", "categories", "papers", "Summary",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(
        ["2024-06-06", "2024-02-30", "2024-06-06T03:14:41.021Z", "Jun 6, 2024", "2406.01234v2", "arXiv:2406.01234",
         "https://arxiv.org/abs/2406.01234", "a; b", "a, b", "\ud800", "\x00", " ", "", ABSTRACT, "9" * 5000]
    ),
)  # fmt: skip
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(KEYS), children, max_size=4),
    max_leaves=8,
)
# A field of a paper row: a scalar, or a list such as authors (names or {"name", "hidden"} objects).
FIELDS = st.one_of(
    SCALARS,
    st.lists(SCALARS | st.fixed_dictionaries({}, optional={"name": SCALARS, "hidden": SCALARS}), max_size=3),
)
TEXTS = st.one_of(st.text(min_size=1, max_size=40), st.just(ABSTRACT), SCALARS)
# Rows of random keys, and rows that have a title and an abstract (so that papers come out too).
ROWS = st.dictionaries(st.sampled_from(KEYS), FIELDS, max_size=8) | st.fixed_dictionaries(
    {"title": TEXTS, "summary": TEXTS}, optional={key: FIELDS for key in KEYS if key not in ("title", "summary")}
)
# HF API items: {"paper": {...}} with the item-level fields the API adds.
ITEMS = st.fixed_dictionaries({"paper": ROWS}, optional={"title": SCALARS, "publishedAt": SCALARS})
LINE_ENDINGS = st.sampled_from(["\n", "\n\n", "\r\n", "\r\n\r\n", "\n\n\n", "\r"])
ENCODINGS = st.sampled_from(["utf-8", "latin-1", "utf-16", "utf-8-sig"])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding, "replace") if encoding != "utf-8" else text.encode("utf-8", "surrogatepass")


def check(path: Path, fmt: str, year: int | None = None, max_bytes: int = 200_000_000) -> ParseResult:
    """Parse and assert the invariants every result must keep."""
    result = parse_file(path, fmt=fmt, year=year, max_bytes=max_bytes)
    assert isinstance(result, ParseResult)
    assert result.skipped >= 0
    for issue in result.errors:
        assert issue.file == str(path)
        assert issue.line is None or issue.line >= 1
        assert issue.reason and not issue.reason.startswith("internal error"), issue.reason
    for paper in result.papers:
        assert paper.title and paper.abstract and paper.paper_id
        assert paper.title == normalize_text(paper.title) and paper.abstract == normalize_text(paper.abstract)
        assert len(paper.title) <= MAX_TITLE_CHARS and len(paper.abstract) <= MAX_ABSTRACT_CHARS
        assert "\x00" not in paper.title + paper.abstract
        assert all(ISO.fullmatch(d) for d in paper.dates) and paper.dates == sorted(set(paper.dates))
        paper.model_dump_json().encode("utf-8")  # every later stage must be able to store it
    event("some papers" if result.papers else "no papers")  # shown by --hypothesis-show-statistics
    event("some issues" if result.errors else "no issues")
    merged = merge_papers(result.papers)
    assert len(merged) == len({p.paper_id for p in result.papers})
    return result


@FUZZ
@given(
    data=st.binary(max_size=3000),
    name=st.sampled_from(["x.txt", "x.json", "x.jsonl", "x.csv", "x.tsv", "x.jsonl.gz", "2024-06-06.json", "x"]),
    fmt=st.sampled_from(FORMATS),
    compress=st.booleans(),
    max_bytes=st.sampled_from([200_000_000, 500, 1]),
)
@example(data=b"[" * 100_000, name="x.json", fmt="auto", compress=False, max_bytes=200_000_000)
@example(data=b'{"a": ' * 50_000, name="x.jsonl", fmt="auto", compress=False, max_bytes=200_000_000)
@example(data=b"\x1f\x8b\x08\x00garbage", name="x.jsonl.gz", fmt="auto", compress=False, max_bytes=200_000_000)
@example(data=b"\xff\xfe\x00", name="x.txt", fmt="auto", compress=False, max_bytes=200_000_000)
def test_fuzz_random_bytes(workdir: Path, data: bytes, name: str, fmt: str, compress: bool, max_bytes: int) -> None:
    path = workdir / name
    path.write_bytes(gzip.compress(data) if compress else data)
    check(path, fmt, max_bytes=max_bytes)


PAGE_PARAGRAPHS = st.one_of(
    st.sampled_from(["new", "Subscribe", "Daily Papers", "byAK and the research community",
                     "Get trending papers in your email inbox!", "Jun 6", "Feb 29", "Sept 31", "2024-06-06",
                     "Mar 11, 2023", "Dec 32", "May 0", "Short Title", "A Title Ending In A Period.", ABSTRACT]),
    st.text(max_size=80),
    st.text(min_size=200, max_size=400),
)  # fmt: skip


@FUZZ
@given(
    paragraphs=st.lists(PAGE_PARAGRAPHS, max_size=14),
    sep=LINE_ENDINGS,
    encoding=ENCODINGS,
    fmt=st.sampled_from(["daily-page", "auto"]),
    year=st.one_of(st.none(), st.integers(min_value=-5, max_value=10_000)),
)
def test_fuzz_daily_page(
    workdir: Path, paragraphs: list[str], sep: str, encoding: str, fmt: str, year: int | None
) -> None:
    path = workdir / "page.txt"
    path.write_bytes(encode(sep.join(paragraphs), encoding))
    check(path, fmt, year=year)


@FUZZ
@given(
    value=st.one_of(
        JSON_VALUES,
        st.lists(ROWS, max_size=4),
        st.lists(ITEMS, max_size=4),
    ),
    name=st.sampled_from(["2024-06-06.json", "x.json", "2024-13-45.json", "x.txt"]),
    fmt=st.sampled_from(["hf-json", "auto"]),
    indent=st.sampled_from([None, 2]),
    cut=st.integers(min_value=0, max_value=40),
)
def test_fuzz_hf_json(workdir: Path, value: object, name: str, fmt: str, indent: int | None, cut: int) -> None:
    text = json.dumps(value, indent=indent)
    if cut:  # sometimes a truncated download
        text = text[:-cut]
    path = workdir / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    check(path, fmt)


@FUZZ
@given(
    lines=st.lists(
        st.one_of(
            ROWS.map(json.dumps),
            JSON_VALUES.map(json.dumps),
            st.text(max_size=60),
        ),
        max_size=8,
    ),
    sep=LINE_ENDINGS,
    name=st.sampled_from(["x.jsonl", "x.jsonl.gz", "x.ndjson", "x.json"]),
    fmt=st.sampled_from(["jsonl", "auto"]),
)
@example(  # huge fields and NUL (issue 17): capped and stripped, the entries kept
    lines=[json.dumps({"title": "T\x00 " * 5000, "abstract": ABSTRACT * 2000}), json.dumps({"title": "\x00", "abstract": "\x00"})],
    sep="\n",
    name="x.jsonl",
    fmt="auto",
)
def test_fuzz_jsonl(workdir: Path, lines: list[str], sep: str, name: str, fmt: str) -> None:
    data = sep.join(lines).encode("utf-8", "surrogatepass")
    path = workdir / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    check(path, fmt)


CSV_HEADERS = st.lists(
    st.sampled_from(KEYS + ["Title", "ABSTRACT", "arXiv", "Day", "x"]) | st.text(max_size=8), max_size=7
)
CSV_HEADERS = CSV_HEADERS | CSV_HEADERS.map(lambda extra: ["Title", "abstract", *extra])
CSV_CELLS = st.text(max_size=40) | st.sampled_from(["2024-06-06", "13", "a; b", "2406.01234", ABSTRACT, '"', "\n"])


@FUZZ
@given(
    header=CSV_HEADERS,
    rows=st.lists(st.lists(CSV_CELLS, max_size=8), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    raw=st.booleans(),
    encoding=ENCODINGS,
    name=st.sampled_from(["x.csv", "x.tsv", "x.txt", "x.csv.gz"]),
    fmt=st.sampled_from(["csv", "auto"]),
)
def test_fuzz_csv(
    workdir: Path,
    header: list[str],
    rows: list[list[str]],
    delimiter: str,
    raw: bool,
    encoding: str,
    name: str,
    fmt: str,
) -> None:
    if raw:  # not even valid CSV: cells joined by hand, quotes and newlines left as they are
        text = "\n".join(delimiter.join(r) for r in [header, *rows])
    else:
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter).writerows([header, *rows])
        text = out.getvalue()
    data = encode(text, encoding)
    path = workdir / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    check(path, fmt)


NEW_IDS = st.builds(
    lambda yymm, n, five: f"{yymm // 100:02d}{yymm % 100 or 1:02d}.{n:05d}" if five else f"{yymm // 100:02d}{yymm % 100 or 1:02d}.{n % 10000:04d}",
    st.integers(min_value=701, max_value=3612), st.integers(min_value=1, max_value=99999), st.booleans(),
)
OLD_IDS = st.builds(lambda a, n: f"{a}/{n:07d}", st.sampled_from(["hep-th", "math", "cond-mat", "astro-ph", "cs"]),
                    st.integers(min_value=9101001, max_value=9912999))


@FUZZ
@given(
    base=NEW_IDS | OLD_IDS,
    version=st.sampled_from(["", "v1", "v2", "V3", "v12"]),
    prefix=st.sampled_from(["", "arXiv:", "ARXIV:", "arxiv: ", "https://arxiv.org/abs/", "http://arxiv.org/pdf/",
                            "https://export.arxiv.org/abs/", "https://www.arxiv.org/pdf/", "/pdf/", "/abs/", "abs/"]),
    suffix=st.sampled_from(["", ".pdf", "/", "?context=cs", "#section", " [cs.CL]"]),
    pad=st.sampled_from(["", " ", "\n", "\t "]),
)
def test_fuzz_arxiv_spellings_are_one_id(base: str, version: str, prefix: str, suffix: str, pad: str) -> None:
    """Every spelling arXiv accepts maps to the versionless id; the result is a fixed point."""
    if suffix == ".pdf" and "/pdf/" not in prefix and prefix:
        suffix = ""  # `.pdf` only ends pdf links (and bare ids, where arXiv accepts it too)
    spelled = f"{pad}{prefix}{base}{version}{suffix}{pad}"
    assert clean_arxiv_id(spelled) == base, spelled
    assert clean_arxiv_id(base) == base


@FUZZ
@given(text=st.text(max_size=60))
def test_fuzz_arxiv_id_of_any_text_is_none_or_a_fixed_point(text: str) -> None:
    found = clean_arxiv_id(text)
    assert found is None or clean_arxiv_id(found) == found


@FUZZ
@given(title=st.text(min_size=1, max_size=400), spaces=st.sampled_from([" ", "  ", "\n", "\t"]), upper=st.booleans())
def test_fuzz_title_ids_ignore_case_and_spacing(title: str, spaces: str, upper: bool) -> None:
    """A page's title (any case, pasted spacing) gets the title id of the API record's title, so the two merge."""
    capped = normalize_text(title)
    variant = spaces.join(capped.split())
    variant = variant.upper() if upper and variant.upper().casefold() == variant.casefold() else variant
    assert make_paper_id(spaces + variant + spaces) == make_paper_id(capped)
