"""Input parsers: daily-papers page text, HF API JSON, JSONL and CSV files -> `Paper` entries.

`assistant.ingest` (and the CLI through it) calls `find_input_files`, then `parse_file` per file, then
`merge_papers`. Bad content never raises: every problem is a `ParseIssue` naming the line and the fix.
"""

from __future__ import annotations

import copy
import errno
import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from assistant.errors import InputError
from assistant.papers import Paper, ParseIssue, ParseResult
from assistant.sources.daily_page import parse_daily_page
from assistant.sources.detect import HEAD_BYTES, UNRECOGNISED, InputFile, detect_format, human_size
from assistant.sources.hf_json import parse_hf_json
from assistant.sources.tabular import parse_csv, parse_jsonl

__all__ = ["FORMATS", "find_input_files", "merge_papers", "parse_file"]

logger = logging.getLogger(__name__)

FORMATS = ("auto", "daily-page", "hf-json", "jsonl", "csv")
# Files picked up when a directory is expanded (also with a trailing .gz). Files named one by one are
# always parsed, whatever their name.
DATA_SUFFIXES = (".txt", ".json", ".jsonl", ".ndjson", ".csv", ".tsv")
MAX_ISSUES = 1000  # per file; a file of garbage should not flood the report


def _is_data_file(name: str) -> bool:
    name = name.lower().removesuffix(".gz")
    return name.endswith(DATA_SUFFIXES)


def find_input_files(
    paths: list[Path], skipped: list[ParseIssue] | None = None
) -> tuple[list[Path], list[ParseIssue]]:
    """Expand directories (recursive, sorted, no hidden entries, data files only); report what cannot be used.

    Missing paths, unreadable directories and symbolic-link loops become issues; files a directory
    holds that are not data files are appended to `skipped` (when given) with the reason.
    """
    files: list[Path] = []
    issues: list[ParseIssue] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        try:
            key = path.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            looped = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
            reason = (
                "symbolic link loop (the link points back at itself): fix or remove the link"
                if looped
                else f"cannot read it ({getattr(exc, 'strerror', None) or exc}): check the path and permissions"
            )
            if all(issue.file != str(path) for issue in issues):  # named twice, reported once
                issues.append(ParseIssue(file=str(path), reason=reason))
            return
        if key not in seen:
            seen.add(key)
            files.append(path)

    def unreadable(exc: OSError) -> None:
        reason = f"cannot read the directory ({exc.strerror or exc}): check its permissions; its files were not ingested"
        issues.append(ParseIssue(file=str(exc.filename), reason=reason))

    for path in map(Path, paths):
        if path.is_dir():
            for root, dirs, names in os.walk(path, onerror=unreadable):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    if name.startswith("."):
                        continue
                    if _is_data_file(name):
                        add(Path(root) / name)
                    elif skipped is not None:
                        reason = (
                            f"not a data file ({', '.join(DATA_SUFFIXES)}, optionally .gz): not read; "
                            "name it on the command line with --format to ingest it"
                        )
                        skipped.append(ParseIssue(file=str(Path(root) / name), reason=reason))
        elif path.exists() or path.is_symlink():
            add(path)
        else:
            issues.append(ParseIssue(file=str(path), reason="no such file or directory: check the path"))
    return files, issues


def parse_file(
    path: Path, fmt: str = "auto", year: int | None = None, max_bytes: int = 200_000_000
) -> ParseResult:
    """Parse one file into Paper entries (not yet merged) and problems; raises only for an unknown `fmt`.

    Args:
        fmt: one of FORMATS; "auto" guesses from the file name and content.
        year: the year for page date lines without one ("Jun 6"); default: the current year.
        max_bytes: files (or decompressed content) larger than this are refused with a ParseIssue.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    path = Path(path)
    try:
        result = _parse(path, fmt, year, max_bytes)
    except Exception as exc:  # the edge: one file's bug must not stop an ingest of many files
        logger.exception("parser failed on %s", path)
        reason = f"internal error while parsing ({type(exc).__name__}: {exc}); please report it with the file"
        return ParseResult(errors=[ParseIssue(file=str(path), reason=reason)])
    if len(result.errors) > MAX_ISSUES:
        more = len(result.errors) - MAX_ISSUES
        result.errors = result.errors[:MAX_ISSUES]
        reason = f"{more} more problems not listed: fix the ones above first"
        result.errors.append(ParseIssue(file=str(path), reason=reason))
    return result


def _parse(path: Path, fmt: str, year: int | None, max_bytes: int) -> ParseResult:
    label = str(path)

    def fail(reason: str) -> ParseResult:
        return ParseResult(errors=[ParseIssue(file=label, reason=reason)])

    try:
        info = path.stat()
    except FileNotFoundError:
        return fail("no such file or directory: check the path")
    except OSError as exc:
        return fail(f"cannot read the file ({exc.strerror or exc}): check its permissions")
    if stat.S_ISDIR(info.st_mode):
        return fail("is a directory: pass the files inside it (the ingest command expands directories)")
    if not stat.S_ISREG(info.st_mode):
        return fail("not a regular file: pass a daily-papers page, HF API JSON, JSONL or CSV file")
    if info.st_size > max_bytes:
        return fail(
            f"file is {human_size(info.st_size)}, over the {human_size(max_bytes, limit=True)} limit: "
            "split it into smaller files or raise the size limit"
        )
    if info.st_size == 0:
        return fail("file is empty: nothing to parse")
    try:
        source = InputFile(path, max_bytes)
    except OSError as exc:
        return fail(f"cannot read the file ({exc.strerror or exc}): check its permissions")
    head = source.head()
    if head is None:
        return ParseResult(errors=source.notes())
    if not head.strip() and len(head) < HEAD_BYTES:
        return fail("file is empty (only whitespace): nothing to parse")
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return fail(
            "binary file (contains NUL bytes), not text: give a daily-papers page, HF API JSON, JSONL or CSV "
            "file (UTF-16 text must be saved as UTF-8)"
        )
    if fmt == "auto":
        detected = detect_format(path, _head_text(head))
        if detected is None:
            return fail(UNRECOGNISED)
        fmt = detected

    name = path.name
    if fmt == "daily-page":
        result = parse_daily_page(source.lines(), label=label, name=name, year=year)
    elif fmt == "hf-json":
        text = "".join(text for _, text in source.lines())
        result = parse_hf_json(text, label=label, name=name)
    elif fmt == "jsonl":
        result = parse_jsonl(source.lines(), label=label, name=name)
    else:
        delimiter = "\t" if name.lower().removesuffix(".gz").endswith(".tsv") else None
        result = parse_csv(source.lines(), label=label, name=name, delimiter=delimiter)
    result.errors.extend(source.notes())
    if not result.papers and not result.errors and fmt != "hf-json":  # an empty HF list is a normal day
        reason = f"no papers found (read as {fmt}): check the file or --format"
        result.errors.append(ParseIssue(file=label, reason=reason))
    return result


def _head_text(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "replace")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 3:  # a character cut at the end of the head
            return head[: exc.start].decode("utf-8", "replace")
        return head.decode("latin-1")


def merge_papers(papers: Iterable[Paper]) -> list[Paper]:
    """One Paper per paper_id, in order of first appearance: dates are the sorted union of all dates,
    every other field takes the latest non-empty value (later entries win, e.g. newer upvotes)."""
    merged: dict[str, Paper] = {}
    for paper in papers:
        current = merged.get(paper.paper_id)
        if current is None:
            merged[paper.paper_id] = paper.model_copy(deep=True, update={"dates": sorted(set(paper.dates))})
            continue
        update: dict[str, object] = {
            name: value
            for name in ("title", "abstract", "authors", "published", "url", "upvotes", "github", "source")
            if (value := getattr(paper, name)) is not None and value != "" and value != []
        }
        update["dates"] = sorted(set(current.dates) | set(paper.dates))
        newer = {key: value for key, value in paper.extra.items() if value not in (None, "", [], {})}
        update["extra"] = {**current.extra, **newer}
        merged[paper.paper_id] = current.model_copy(update=copy.deepcopy(update))
    return list(merged.values())
