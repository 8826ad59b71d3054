"""Parser for the Hugging Face daily-papers API response (the list `/api/daily_papers?date=` returns).

Called by `assistant.sources.parse_file` for `--format hf-json`; `assistant fetch` can hand an already
decoded response to `papers_from_items`. Items are flattened and mapped by `assistant.sources.tabular`.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from assistant.papers import ParseIssue, ParseResult
from assistant.sources.tabular import clean_text, flatten_item, paper_from_record

_DATED_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})\.json(?:\.gz)?", re.IGNORECASE)
SHAPE_HINT = "expected the list that /api/daily_papers returns, or use --format jsonl or csv"


def list_date_from_name(name: str) -> str | None:
    """`2024-05-28.json` -> `2024-05-28` (the day of the list); other names -> None."""
    m = _DATED_NAME.fullmatch(name)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        keys = ", ".join(repr(k) for k in list(data)[:6])
        return f"an object with keys {keys}" if keys else "an empty object"
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return "a number"
    return {str: "a string", bool: "true/false", list: "a list"}.get(type(data), "null")


def _items(data: Any) -> list[Any] | None:
    """The list of items in any accepted shape: a list, `{"papers": [...]}`, or one item/paper object."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        if isinstance(data.get("papers"), list):
            return data["papers"]
        one_paper = "title" in data and ("summary" in data or "abstract" in data)
        if isinstance(data.get("paper"), dict) or one_paper:
            return [data]
    return None


def papers_from_items(
    data: Any, *, label: str, name: str, list_date: str | None = None
) -> ParseResult:
    """Map a decoded API response to Papers; items that cannot be used are reported and skipped."""
    result = ParseResult()
    items = _items(data)
    if items is None or (items and not any(isinstance(item, dict) for item in items)):
        found = _describe(data) if items is None else f"a list whose first item is {_describe(items[0])}"
        reason = f"JSON is not a list of daily-papers items: found {found}; {SHAPE_HINT}"
        result.errors.append(ParseIssue(file=label, reason=reason))
        return result
    source = f"hf-json:{name}"
    for number, item in enumerate(items, 1):
        if not isinstance(item, dict):
            reason = f"item {number} is {_describe(item)}, not an object; skipped"
            result.errors.append(ParseIssue(file=label, reason=reason))
            result.skipped += 1
            continue
        row = flatten_item(item, list_date)
        paper, problems = paper_from_record(row, source=source)
        item_id = clean_text(row.get("id"))[:40]
        which = f"item {number} ({item_id})" if item_id else f"item {number}"
        result.errors.extend(ParseIssue(file=label, reason=f"{which}: {p}") for p in problems)
        if paper is None:
            result.skipped += 1
        else:
            result.papers.append(paper)
    return result


def parse_hf_json(text: str, *, label: str, name: str) -> ParseResult:
    """Parse one API response file; the list date comes from a `YYYY-MM-DD.json` name when there is one."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        reason = f"not valid JSON ({exc.msg} at {where}): fix the file or re-download it"
        return ParseResult(errors=[ParseIssue(file=label, line=exc.lineno, reason=reason)])
    except (ValueError, RecursionError) as exc:
        reason = f"not valid JSON ({type(exc).__name__}: nested too deeply or a number too long)"
        return ParseResult(errors=[ParseIssue(file=label, reason=reason)])
    return papers_from_items(data, label=label, name=name, list_date=list_date_from_name(name))
