"""Reading an input file safely, and guessing its format for `--format auto`.

`assistant.sources.parse_file` wraps each path in an `InputFile` (gzip, size limit, UTF-8 with a
Windows-1252/Latin-1 fallback, problems collected as `ParseIssue`s) and calls `detect_format` on its head.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from assistant.papers import ParseIssue
from assistant.sources.daily_page import looks_like_daily_page
from assistant.sources.tabular import looks_like_csv

GZIP_MAGIC = b"\x1f\x8b"
HEAD_BYTES = 64 * 1024
UNRECOGNISED = (
    "not a recognised format (daily-page text, HF API JSON, JSONL or CSV): use --format to choose one"
)
# Exceptions a damaged or truncated (gzip) file raises while being read.
READ_ERRORS = (OSError, EOFError, zlib.error)
_LINE_END = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def human_size(n_bytes: int, *, limit: bool = False) -> str:
    """`52_428_800` -> "52.4 MB"; a limit drops a useless ".0" ("200 MB")."""
    for unit, scale in (("MB", 1_000_000), ("kB", 1_000)):
        if n_bytes >= scale:
            value = n_bytes / scale
            return f"{value:g} {unit}" if limit else f"{value:.1f} {unit}"
    return f"{n_bytes} bytes"


class InputFile:
    """One file opened for parsing: decoded lines, the size limit, and what went wrong while reading."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.label = str(path)
        self.max_bytes = max_bytes
        self.issues: list[ParseIssue] = []
        self._fallback_lines = 0
        self._first_fallback: int | None = None
        with path.open("rb") as fh:
            self.gzipped = fh.read(2) == GZIP_MAGIC

    def _open(self) -> BinaryIO:
        if self.gzipped:
            return gzip.open(self.path, "rb")  # type: ignore[return-value]
        return self.path.open("rb")

    def _issue(self, reason: str, line: int | None = None) -> None:
        self.issues.append(ParseIssue(file=self.label, line=line, reason=reason))

    def head(self) -> bytes | None:
        """The first 64 kB of (decompressed) content, or None if it cannot be read (issue recorded)."""
        try:
            with self._open() as fh:
                return fh.read(HEAD_BYTES)
        except READ_ERRORS as exc:
            what = "compressed file is damaged" if self.gzipped else "file cannot be read"
            self._issue(f"{what} ({exc}): check or re-download the file")
            return None

    def lines(self) -> Iterator[tuple[int, str]]:
        """Yield `(line_number, text)`, 1-based, each text with its line ending; streams the file."""
        line_no = 0
        total = 0
        try:
            with self._open() as fh:
                if fh.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                    fh.seek(0)
                    text = fh.read(self.max_bytes).decode("utf-16", "replace")
                    yield from enumerate(_split_lines(text), 1)
                    return
                fh.seek(0)
                for raw in fh:
                    line_no += 1
                    total += len(raw)
                    if total > self.max_bytes:
                        self._issue(
                            f"decompressed content is over the {human_size(self.max_bytes, limit=True)} "
                            "limit: "
                            "split the file or raise the size limit; lines after this one were not read",
                            line_no,
                        )
                        return
                    text = self._decode(raw, line_no)
                    if "\r" not in text.rstrip("\r\n"):
                        yield line_no, text
                        continue
                    for piece in _split_lines(text):  # old Mac line ends: a lone CR is a line break too
                        yield line_no, piece
                        line_no += 1
                    line_no -= 1
        except READ_ERRORS as exc:
            what = "compressed file is damaged" if self.gzipped else "file cannot be read"
            reason = f"{what} after line {line_no} ({exc}): check or re-download the file"
            self._issue(reason, line_no or None)

    def _decode(self, raw: bytes, line_no: int) -> str:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = raw.decode("cp1252")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            self._fallback_lines += 1
            if self._first_fallback is None:
                self._first_fallback = line_no
        if line_no == 1 and text.startswith("\ufeff"):
            text = text[1:]
        return text

    def notes(self) -> list[ParseIssue]:
        """Problems met while reading, including a note when some lines were not UTF-8."""
        notes = list(self.issues)
        if self._fallback_lines:
            notes.append(
                ParseIssue(
                    file=self.label,
                    line=self._first_fallback,
                    reason=(
                        f"{self._fallback_lines} line(s) are not valid UTF-8 and were read as "
                        "Windows-1252/Latin-1: save the file as UTF-8 if accented characters look wrong"
                    ),
                )
            )
        return notes


def _split_lines(text: str) -> list[str]:
    """Split after each LF, CRLF or lone CR, keeping line ends (unlike str.splitlines: not at FF, VT...)."""
    return [piece for piece in _LINE_END.split(text) if piece]


def detect_format(path: Path, head: str) -> str | None:
    """Guess the format from the file name and the first 64 kB of text; None if nothing fits."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".tsv"):
        return "csv"
    text = head.lstrip("\ufeff \t\r\n")
    if text.startswith("{") and _first_line_is_object(text):
        return "jsonl"
    if suffix == ".json" or text[:1] in ("[", "{"):
        return "hf-json"
    if looks_like_csv(head):  # before the page check: a header row has a strict shape, a page does not
        return "csv"
    if looks_like_daily_page(head):
        return "daily-page"
    return None


def _first_line_is_object(text: str) -> bool:
    """True when the first line is a whole JSON object and more text follows (JSON Lines)."""
    first, _, rest = text.partition("\n")
    if not rest.strip():
        return False
    try:
        return isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):
        return False
