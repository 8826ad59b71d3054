"""Parser for Daily Papers page text: the Hugging Face page copied as plain text.

Called by `assistant.sources.parse_file` for `--format daily-page` and for text files that look like a
page. A page is a few header lines, a date line ("Jun 6"), then per paper: title, blank line, abstract.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from assistant.papers import MAX_TITLE_CHARS, Paper, ParseIssue, ParseResult, cap_fields, make_paper_id, normalize_text

# Page chrome that is not a paper (compared case-insensitively, whole line).
HEADER_LINES = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "subscribe",
        "byak and the research community",
        "daily papers",
    }
)
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")  # fmt: skip
# A title is a short paragraph that does not end like a sentence; abstracts are long or end with ".".
_DATE_LINE = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:,?\s+(\d{4}))?")
_ISO_LINE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
FORMAT_HINT = "each paper needs a title line, a blank line, then its abstract"


@dataclass
class _Para:
    """A paragraph of the page: consecutive non-blank lines (a header or date line is always its own)."""

    line: int
    kind: str  # "header", "date" or "text"
    lines: list[str]

    @property
    def text(self) -> str:
        return " ".join(self.lines)  # joined once: appending to one string per line was quadratic


@dataclass
class _Entry:
    line: int
    title: str
    date: str | None
    abstract: list[str] = field(default_factory=list)
    abstract_line: int = 0


def _month(word: str) -> int | None:
    """`Jun`, `June`, `Sept` (any prefix of 3+ letters) -> month number; anything else -> None."""
    word = word.lower()
    for number, name in enumerate(MONTHS, 1):
        if len(word) >= 3 and name.startswith(word):
            return number
    return None


def parse_date_line(text: str, year: int) -> tuple[bool, str | None]:
    """(is a date line, ISO date or None if the date does not exist). `year` fills in a missing year."""
    text = text.strip()
    m = _ISO_LINE.fullmatch(text)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _DATE_LINE.fullmatch(text)
        if not m or _month(m[1]) is None:
            return False, None
        y, mo, d = (int(m[3]) if m[3] else year), _month(m[1]) or 0, int(m[2])
    try:
        return True, date(y, mo, d).isoformat()
    except ValueError:
        return True, None


def _kind(line: str) -> str:
    if normalize_text(line).casefold() in HEADER_LINES:
        return "header"
    if parse_date_line(line, 2000)[0]:
        return "date"
    return "text"


def split_paragraphs(lines: Iterable[tuple[int, str]]) -> list[_Para]:
    """Group numbered lines into paragraphs separated by blank lines."""
    paras: list[_Para] = []
    current: _Para | None = None
    for line_no, raw in lines:
        line = normalize_text(raw)  # a line of only control characters is blank too
        if not line:
            current = None
            continue
        kind = _kind(line)
        if kind != "text":
            paras.append(_Para(line_no, kind, [line]))
            current = None
        elif current is None:
            current = _Para(line_no, "text", [line])
            paras.append(current)
        else:
            current.lines.append(line)
    return paras


def _title_like(text: str) -> bool:
    return len(text) <= MAX_TITLE_CHARS and not text.endswith(".")


def _next_text(paras: list[_Para], i: int) -> str | None:
    """The text of the next paragraph after `i` that is not page chrome; None if it is a date or the end."""
    for para in paras[i + 1 :]:
        if para.kind == "header":
            continue
        return para.text if para.kind == "text" else None
    return None


def _next_is_abstract(paras: list[_Para], i: int) -> bool:
    """True when the next paragraph after `i` reads like an abstract, not a title or a date."""
    text = _next_text(paras, i)
    return text is not None and not _title_like(text)


def _starts_entry(paras: list[_Para], i: int, text: str) -> bool:
    """After a complete entry: is this paragraph a new title, or more of the last abstract?

    Title-like text is a title; so is a short paragraph ending with "." when a long one follows it.
    """
    if _title_like(text):
        return True
    following = _next_text(paras, i)
    return len(text) <= MAX_TITLE_CHARS and following is not None and len(following) > MAX_TITLE_CHARS


def looks_like_daily_page(head: str) -> bool:
    """True when text has page chrome or a date line near the top, or starts with a title then an abstract."""
    numbered = enumerate(head.splitlines()[:200], 1)
    paras = split_paragraphs(numbered)[:40]
    if any(p.kind != "text" for p in paras):
        return True
    texts = [p.text for p in paras]
    return len(texts) >= 2 and _title_like(texts[0]) and len(texts[1]) >= 100


def parse_daily_page(
    lines: Iterable[tuple[int, str]], *, label: str, name: str, year: int | None = None
) -> ParseResult:
    """Parse page text into one Paper per entry; a title without an abstract is reported and skipped."""
    year = year or date.today().year
    paras = split_paragraphs(lines)
    result = ParseResult()

    def issue(line: int, reason: str) -> None:
        result.errors.append(ParseIssue(file=label, line=line, reason=reason))

    def no_abstract(entry: _Entry) -> None:
        issue(entry.line, f"title {entry.title[:80]!r} has no abstract: {FORMAT_HINT}; entry skipped")
        result.skipped += 1

    entries: list[_Entry] = []
    current_date: str | None = None
    pending: _Entry | None = None  # a title waiting for its abstract
    last: _Entry | None = None  # the last complete entry since the date line (may get more paragraphs)
    for i, para in enumerate(paras):
        if para.kind == "header":
            continue
        if para.kind == "date":
            if pending:
                no_abstract(pending)
                pending = None
            _, current_date = parse_date_line(para.text, year)
            if current_date is None:
                issue(
                    para.line, f"{para.text!r} is not a date in {year}: fix the line or pass the right --year"
                )
            last = None
            continue
        text = normalize_text(para.text)
        if pending is None:
            if _starts_entry(paras, i, text):
                pending = _Entry(para.line, text, current_date)
            elif last is not None:
                last.abstract.append(text)  # a second paragraph of the abstract
            else:
                issue(
                    para.line, f"expected a paper title, found {len(text)} characters of text: {FORMAT_HINT}"
                )
                result.skipped += 1
            continue
        if _title_like(text) and _next_is_abstract(paras, i):
            no_abstract(pending)
            pending = _Entry(para.line, text, current_date)
            continue
        pending.abstract.append(text)
        pending.abstract_line = para.line
        entries.append(pending)
        last, pending = pending, None
    if pending:
        no_abstract(pending)

    source = f"daily-page:{name}"
    for entry in entries:
        title, abstract, problems = cap_fields(entry.title, " ".join(entry.abstract))
        for problem in problems:
            issue(entry.line if problem.startswith("title") else entry.abstract_line, problem)
        result.papers.append(
            Paper(
                paper_id=make_paper_id(title),
                title=title,
                abstract=abstract,
                dates=[entry.date] if entry.date else [],
                source=source,
            )
        )
    return result
