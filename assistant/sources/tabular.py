"""Row formats, JSONL (plain or gzipped) and CSV/TSV, and the field mapping every row goes through.

`assistant.sources.parse_file` calls `parse_jsonl` and `parse_csv`; `hf_json` reuses `flatten_item` and
`paper_from_record`, so the same paper read from any format becomes the same `Paper`.
"""

from __future__ import annotations

import csv
import functools
import json
import math
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any

from assistant.papers import Paper, ParseIssue, ParseResult, cap_fields, clean_arxiv_id, make_paper_id, normalize_text

# Accepted column / key names, compared after case-folding and dropping "_", "-" and spaces.
# The first alias with a non-empty value wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "name", "papertitle"),
    "abstract": ("abstract", "summary"),
    "arxiv_id": ("arxivid", "arxiv", "id", "paperid"),
    "list_date": ("listdate", "date", "day", "submittedondailyat"),
    "dates": ("dates",),
    "published": ("published", "publishedat", "publisheddate", "publicationdate"),
    "authors": ("authors", "author"),
    "url": ("url", "link", "arxivurl", "absurl"),
    "upvotes": ("upvotes", "votes"),
    "github": ("github", "githubrepo", "githuburl", "code"),
}
# Optional fields kept in `Paper.extra` under the key on the left.
EXTRA_ALIASES: dict[str, tuple[str, ...]] = {
    "ai_summary": ("aisummary", "hfaisummary"),
    "ai_keywords": ("aikeywords", "hfaikeywords"),
    "categories": ("categories",),
    "primary_category": ("primarycategory",),
    "project_page": ("projectpage",),
}
_KEY_JUNK = re.compile(r"[\s_\-]+")
_ISO_PREFIX = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:$|[T\s])")
_COUNT = re.compile(r"[0-9]{1,15}")
_OTHER_DATE_FORMATS = ("%Y/%m/%d", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y")


@functools.lru_cache(maxsize=4096)
def norm_key(key: str) -> str:
    """`"Arxiv ID"`, `"arxiv_id"`, `"arxivId"` -> `"arxivid"`."""
    return _KEY_JUNK.sub("", key.casefold())


def _normalize_keys(record: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        out.setdefault(norm_key(str(key)), value)
    return out


def _pick(record: dict[str, Any], aliases: tuple[str, ...]) -> Any:
    for alias in aliases:
        value = record.get(alias)
        if value is not None and value != "" and value != []:
            return value
    return None


def clean_text(value: Any) -> str:
    """Text through `normalize_text`; numbers become text; other types (and lone surrogates) are dropped."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from JSON "\ud800" would break every later stage
        text = text.encode("utf-8", "replace").decode("utf-8")
    return normalize_text(text)


def iso_date(value: Any) -> str | None:
    """`"2024-06-06"`, `"2024-06-06T03:14:41Z"`, `"Jun 6, 2024"` -> `"2024-06-06"`; empty -> None.

    Raises ValueError for a value that is present but is not a date.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(value)
    text = value.strip()
    m = _ISO_PREFIX.match(text)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    for fmt in _OTHER_DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _authors(value: Any) -> list[str]:
    """A list of names (or of `{"name", "hidden"}` dicts, hidden ones dropped), or "a; b" / "a, b"."""
    if isinstance(value, str):
        parts: list[Any] = value.split(";") if ";" in value else value.split(",")
    elif isinstance(value, list):
        parts = value
    else:
        return []
    names = []
    for part in parts:
        if isinstance(part, dict):
            if part.get("hidden") is True:
                continue
            part = part.get("name")
        name = clean_text(part)
        if name:
            names.append(name)
    return names


def _upvotes(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _COUNT.fullmatch(value.strip().replace(",", "")):
        return int(value.strip().replace(",", ""))
    return None


def _keywords(value: Any) -> list[str] | None:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    words = [clean_text(item) for item in items if isinstance(item, str)]
    return [w for w in words if w] or None


def flatten_item(item: dict[str, Any], list_date: str | None = None) -> dict[str, Any]:
    """An API item `{paper: {...}, title, publishedAt, ...}` -> one flat row for `paper_from_record`.

    The list date is, in order: `list_date` (from the file name), `paper.submittedOnDailyAt`, and the
    item's own `publishedAt` (the time it was posted to the list, UTC; can be the evening before).
    A dict without a `paper` object is taken as a flat paper row as it is.
    """
    paper = item.get("paper")
    if not isinstance(paper, dict):
        return {**item, "list_date": list_date} if list_date else item
    row = dict(paper)
    # The item title is what the daily page shows (and what the HF JSONL dataset keeps); paper.title is
    # the same arXiv title hard-wrapped, sometimes without its LaTeX markup.
    row["title"] = item.get("title") or paper.get("title")
    row["summary"] = paper.get("summary") or item.get("summary")
    row["list_date"] = list_date or paper.get("submittedOnDailyAt") or item.get("publishedAt")
    return row


def paper_from_record(record: dict[str, Any], *, source: str) -> tuple[Paper | None, list[str]]:
    """Map one row (any alias spelling) to a Paper; returns (paper or None if skipped, problems)."""
    row = _normalize_keys(record)
    title = clean_text(_pick(row, ALIASES["title"]))
    abstract = clean_text(_pick(row, ALIASES["abstract"]))
    if not title or not abstract:
        missing = [
            f"no {what} (expected a non-empty {expected} field)"
            for what, expected, value in (
                ("title", "'title' or 'name'", title),
                ("abstract", "'abstract' or 'summary'", abstract),
            )
            if not value
        ]
        return None, [" and ".join(missing) + "; row skipped"]

    title, abstract, problems = cap_fields(title, abstract)

    def date_of(value: Any, what: str) -> str | None:
        try:
            return iso_date(value)
        except ValueError:
            problems.append(
                f"{what} {_short(value)} is not a date like 2024-06-06; ignored it, kept the paper"
            )
            return None

    raw_id = _pick(row, ALIASES["arxiv_id"])
    url = clean_text(_pick(row, ALIASES["url"])) or None
    arxiv_id = clean_arxiv_id(raw_id if isinstance(raw_id, str) else None) or clean_arxiv_id(url)
    paper_id = make_paper_id(title, arxiv_id)

    dates: set[str] = set()
    listed = _pick(row, ALIASES["dates"])
    for value in listed if isinstance(listed, list) else [listed] if listed is not None else []:
        if (iso := date_of(value, "date")) is not None:
            dates.add(iso)
    if (iso := date_of(_pick(row, ALIASES["list_date"]), "list date")) is not None:
        dates.add(iso)
    published = date_of(_pick(row, ALIASES["published"]), "published date")
    if not dates and published:
        dates.add(published)  # no list date: the publication date is the best we know

    extra: dict[str, object] = {}
    for key, aliases in EXTRA_ALIASES.items():
        value = _pick(row, aliases)
        cleaned: object = _keywords(value) if key in ("ai_keywords", "categories") else clean_text(value)
        if cleaned:
            extra[key] = cleaned

    paper = Paper(
        paper_id=paper_id,
        title=title,
        abstract=abstract,
        authors=_authors(_pick(row, ALIASES["authors"])),
        dates=sorted(dates),
        published=published,
        url=url or (f"https://arxiv.org/abs/{paper_id}" if arxiv_id else None),
        upvotes=_upvotes(_pick(row, ALIASES["upvotes"])),
        github=clean_text(_pick(row, ALIASES["github"])) or None,
        source=source,
        extra=extra,
    )
    return paper, problems


def parse_jsonl(lines: Iterable[tuple[int, str]], *, label: str, name: str) -> ParseResult:
    """One JSON object per line; bad lines are reported with their number and the rest is kept."""
    result = ParseResult()
    source = f"jsonl:{name}"
    for line_no, text in lines:
        text = text.strip()
        if not text:
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON ({exc.msg} at column {exc.colno}): fix or remove this line"
        except (ValueError, RecursionError) as exc:
            reason = f"not valid JSON ({type(exc).__name__}): fix or remove this line"
        else:
            if isinstance(record, dict):
                paper, problems = paper_from_record(flatten_item(record), source=source)
                result.errors.extend(ParseIssue(file=label, line=line_no, reason=p) for p in problems)
                if paper is not None:
                    result.papers.append(paper)
                else:
                    result.skipped += 1
                continue
            reason = 'not a JSON object: each line must be one paper like {"title": ..., "abstract": ...}'
        result.errors.append(ParseIssue(file=label, line=line_no, reason=reason))
        result.skipped += 1
    return result


def _guess_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _columns(header: list[str]) -> tuple[bool, bool]:
    keys = {norm_key(cell) for cell in header}
    return bool(keys & set(ALIASES["title"])), bool(keys & set(ALIASES["abstract"]))


def looks_like_csv(head: str) -> bool:
    """True when the first line is a delimited header with a title and an abstract column."""
    first = head.lstrip("\ufeff").partition("\n")[0]
    delimiter = _guess_delimiter(first)
    if delimiter not in first:
        return False
    try:
        header = next(csv.reader([first], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return False
    return all(_columns(header))


def parse_csv(
    lines: Iterable[tuple[int, str]], *, label: str, name: str, delimiter: str | None = None
) -> ParseResult:
    """A header row naming at least a title and an abstract column, then one paper per row."""
    result = ParseResult()

    def issue(line: int | None, reason: str) -> None:
        result.errors.append(ParseIssue(file=label, line=line, reason=reason))

    numbered = iter(lines)
    first = next(((n, t) for n, t in numbered if t.strip()), None)
    if first is None:
        issue(None, "file is empty: a CSV needs a header row with title and abstract columns")
        return result
    current = [first[0]]

    def texts() -> Iterator[str]:
        yield first[1]
        for line_no, text in numbered:
            current[0] = line_no
            yield text

    reader = csv.reader(texts(), delimiter=delimiter or _guess_delimiter(first[1]))
    try:
        header = next(reader)
    except csv.Error as exc:
        issue(first[0], f"the CSV header cannot be read ({exc}): fix the first line")
        return result
    has_title, has_abstract = _columns(header)
    if not has_abstract:
        issue(first[0], "CSV has no abstract column; expected one of: abstract, summary")
    if not has_title:
        issue(first[0], "CSV has no title column; expected one of: title, name")
    if not (has_title and has_abstract):
        return result

    source = f"csv:{name}"
    end = current[0]
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            end = current[0]
            issue(start, f"not valid CSV ({exc}); row skipped")
            result.skipped += 1
            continue
        end = current[0]
        if not any(cell.strip() for cell in row):
            continue
        paper, problems = paper_from_record(dict(zip(header, row)), source=source)
        result.errors.extend(ParseIssue(file=label, line=start, reason=p) for p in problems)
        if paper is not None:
            result.papers.append(paper)
        else:
            result.skipped += 1
    return result
