"""Fetch daily paper lists from the Hugging Face Daily Papers API (or arXiv listings) and ingest them.

Called by `assistant fetch` and `Assistant.fetch` (the UI's "Fetch latest"). One polite request per
day, retried with backoff on 429/5xx; each day's raw JSON is kept in the data dir and the day is
recorded (`store.FetchLog`), and the papers go through the same idempotent ingest as `assistant ingest`.

Longer than our usual module on purpose: the two sources (HF daily lists, arXiv) share one
run, one report and one ledger of fetched days, and their "final day" rules differ only here; the
HTTP client is `fetch_http.py`, the parsers are in `sources/`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack

from pydantic import BaseModel, Field

from assistant.config import Settings
from assistant.errors import FetchError, InputError
from assistant.fetch_http import (
    DayFailed,
    FetchStop,
    Http,
    check_base,
    snippet,
    utc_now,
)
from assistant.papers import Paper
from assistant.periods import period_days, span
from assistant.sources.arxiv_atom import AtomError, parse_atom
from assistant.sources.hf_json import papers_from_items
from assistant.sources.tabular import paper_from_record
from assistant.store import FetchLog

if TYPE_CHECKING:
    from assistant.ingest import IngestReport

log = logging.getLogger(__name__)


HF_SOURCE = "hf"
LATEST_DAYS = 7  # no period given: this many days back from today ...
CATCH_UP_DAYS = 31  # ... or back to the day after the last complete fetch, at most this far
# A daily list is final once this many UTC days have started after it (late additions land on the
# next day); until then it is fetched again by every run.
HF_SETTLE_DAYS = 2
# arXiv announces a submission 1-4 days later (weekends): only older days are final.
ARXIV_SETTLE_DAYS = 4
ARXIV_MAX_RESULTS = 30000  # the API does not page beyond this
_CATEGORY = re.compile(r"^[a-z][a-z\-]*(\.[A-Za-z][A-Za-z\-]*)?$")

ProgressFn = Callable[[int, int, str], None]  # (days done, days to fetch, message)


class App(Protocol):
    """What fetch needs from `assistant.service.Assistant`: the shared, idempotent ingest path."""

    def ingest_papers(self, papers: list[Paper], progress: bool = True) -> IngestReport: ...


class FetchOptions(TypedDict, total=False):
    """What to fetch (`fetch_papers`, `Assistant.fetch`): at most one period, arXiv categories, how to report."""

    day: str | None
    week: str | None
    month: str | None
    since: str | None
    until: str | None
    arxiv: str | list[str] | None
    """arXiv categories (`"cs.CL,cs.LG"` or a list) instead of the HF daily lists."""
    refresh: bool
    """Fetch days again even if fetched completely before (updates upvotes)."""
    progress: bool
    on_progress: ProgressFn | None


@dataclass(frozen=True)
class FetchRun:
    """How one fetch runs, whatever the source: where papers go, re-fetching, progress, and the clock."""

    settings: Settings
    open_app: Callable[[], App]
    """Called only when there is something to ingest (a re-run with nothing new stays fast)."""
    refresh: bool = False
    progress: bool = False
    on_progress: ProgressFn | None = None
    now: datetime = field(default_factory=utc_now)
    sleep: Callable[[float], None] = time.sleep


class FetchIssue(BaseModel):
    """One problem: a day that could not be fetched (nothing changed for it) or an unusable item."""

    day: str | None = None
    reason: str


class FetchReport(BaseModel):
    """The `assistant fetch --json` document (the fields excluded below are not part of the contract)."""

    days: int = Field(0, description="Days in the period up to today (future days are not counted).")
    fetched: int = Field(0, description="Days requested and ingested in this run.")
    skipped_days: int = Field(0, description="Days fetched completely before (re-fetch with refresh).")
    new: int = 0
    updated: int = 0
    errors: list[FetchIssue] = Field(default_factory=list)
    unchanged: int = Field(0, exclude=True)
    papers: int = Field(0, exclude=True, description="Papers parsed from the fetched days.")
    future_days: int = Field(0, exclude=True)
    failed_days: list[str] = Field(default_factory=list, exclude=True)
    requests: int = Field(0, exclude=True)
    seconds: dict[str, float] = Field(default_factory=dict, exclude=True, description="fetch, ingest")

    @property
    def ok(self) -> bool:
        """True when no day failed (item-level problems alone do not count)."""
        return not self.failed_days

    def add_ingest(self, report: IngestReport) -> None:
        self.new += report.new
        self.updated += report.updated
        self.unchanged += report.unchanged


# ----------------------------------------------------------------------------------- periods


def latest_days(recorded: dict[str, dict[str, object]], today: date) -> list[date]:
    """No period given: the last LATEST_DAYS days, reaching back to the day after the newest complete
    fetch when that is older (a laptop that was off), but at most CATCH_UP_DAYS."""
    first = today - timedelta(days=LATEST_DAYS - 1)
    complete = [d for d, info in recorded.items() if info.get("complete")]
    if complete:
        after = date.fromisoformat(max(complete)) + timedelta(days=1)
        first = max(min(first, after), today - timedelta(days=CATCH_UP_DAYS - 1))
    return span(first, today)


# ------------------------------------------------------------------------------ Hugging Face


def _hf_day(http: Http, base: str, day: date) -> tuple[bytes, list[Paper], list[FetchIssue]]:
    """One day's list: (raw body, papers, item problems); raises DayFailed for an unusable response."""
    iso = day.isoformat()
    url = f"{base}/daily_papers"
    response = http.get(url, {"date": iso})
    body = response.body
    where = f"{url}?date={iso}"
    if response.status >= 400:
        raise DayFailed(f"{where} answered HTTP {response.status} {snippet(body)}; nothing was changed for this day")
    if not body.strip():
        raise DayFailed(
            f"{where} sent an empty body ({len(body)} bytes, HTTP {response.status}), not a daily list; nothing "
            "was changed for this day, re-run to retry"
        )
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        size = f"{len(body)} bytes"
        raise DayFailed(
            f"{where} sent a response that is not valid JSON ({exc.msg}: line {exc.lineno}, column {exc.colno}; "
            f"{size}, starts with {snippet(body, 30)}): truncated or not the API; nothing was changed for this "
            "day, re-run to retry"
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise DayFailed(f"{where} sent unreadable JSON ({type(exc).__name__}); nothing was changed for this day") from exc
    result = papers_from_items(data, label=where, name=f"{iso}.json", list_date=iso)
    issues = [FetchIssue(day=iso, reason=e.reason) for e in result.errors]
    if issues and not result.papers and not result.skipped:  # the response itself has the wrong shape
        raise DayFailed(f"{where}: {issues[0].reason}; nothing was changed for this day")
    return body, result.papers, issues


def _notify(on_progress: ProgressFn | None, bar: Any, done: int, total: int, message: str) -> None:
    if bar is not None:
        bar.set_postfix_str(message, refresh=False)
        bar.update(1)
    if on_progress is not None:
        on_progress(done, total, message)


def _bar(total: int, progress: bool, desc: str) -> Any:
    if not progress or total < 2:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="day", desc=desc, file=sys.stderr, dynamic_ncols=True)


def fetch_hf(run: FetchRun, days: list[date] | None = None) -> FetchReport:
    """Fetch the HF daily lists of `days` (None = latest) not fetched completely before, and ingest them.

    Raises FetchError when the host cannot be reached before anything was fetched.
    """
    started = time.perf_counter()
    settings, on_progress = run.settings, run.on_progress
    ledger = FetchLog(settings.data_dir)
    today = run.now.date()
    recorded = ledger.days(HF_SOURCE)
    wanted = days if days is not None else latest_days(recorded, today)
    current = [d for d in wanted if d <= today]
    report = FetchReport(days=len(current), future_days=len(wanted) - len(current))
    todo = [d for d in current if run.refresh or not recorded.get(d.isoformat(), {}).get("complete")]
    report.skipped_days = len(current) - len(todo)
    if not todo:
        return report
    base = check_base(settings.hf_api_base, "ASSISTANT_HF_API_BASE")
    got: list[tuple[date, bytes, list[Paper]]] = []
    stopped: tuple[str, list[date]] | None = None
    bar = _bar(len(todo), run.progress, "fetch")
    with Http(settings, base, "ASSISTANT_HF_API_BASE", sleep=run.sleep) as http:
        for i, day in enumerate(todo):
            iso = day.isoformat()
            try:
                body, papers, issues = _hf_day(http, base, day)
            except FetchStop as exc:
                stopped = (str(exc), todo[i:])
                break
            except DayFailed as exc:
                report.errors.append(FetchIssue(day=iso, reason=str(exc)))
                report.failed_days.append(iso)
                _notify(on_progress, bar, i + 1, len(todo), f"{iso}: failed")
                continue
            got.append((day, body, papers))
            report.errors.extend(issues)
            _notify(on_progress, bar, i + 1, len(todo), f"{iso}: {len(papers)} papers")
        report.requests = http.requests
    if bar is not None:
        bar.close()
    report.seconds["fetch"] = round(time.perf_counter() - started, 3)
    if stopped and not got:
        raise FetchError(f"{stopped[0]}; nothing was changed")
    if got:
        _ingest(report, got, ledger, run)
    if stopped:
        reason, rest = stopped
        report.failed_days.extend(d.isoformat() for d in rest)
        kept = f"the {len(got)} days fetched before were kept" if got else "nothing was changed"
        report.errors.append(
            FetchIssue(
                day=rest[0].isoformat(),
                reason=f"{reason}; {len(rest)} days from {rest[0]} were not fetched ({kept}): re-run to fetch them",
            )
        )
    return report


def _ingest(report: FetchReport, got: list[tuple[date, bytes, list[Paper]]], ledger: FetchLog, run: FetchRun) -> None:
    """Keep the raw responses, ingest every paper at once (one keyword-index rebuild), then record the days.

    The days are recorded last: a crash before that only means they are fetched again next time.
    """
    started = time.perf_counter()
    for day, body, _ in got:
        ledger.save_raw(HF_SOURCE, f"{day.isoformat()}.json", body)
    papers = [p for _, _, ps in got for p in ps]
    report.papers = len(papers)
    if papers:
        if run.on_progress is not None:
            run.on_progress(len(got), len(got), f"ingesting {len(papers)} papers")
        report.add_ingest(run.open_app().ingest_papers(papers, progress=run.progress))
    final = run.now.date() - timedelta(days=HF_SETTLE_DAYS - 1)
    ledger.record(
        HF_SOURCE, [(d.isoformat(), len(ps), d < final) for d, _, ps in got],
        fetched_at=run.now.isoformat(timespec="seconds"),
    )
    report.fetched = len(got)
    report.seconds["ingest"] = round(time.perf_counter() - started, 3)


# ------------------------------------------------------------------------------------- arXiv


def parse_categories(text: str) -> list[str]:
    """`"cs.CL, cs.LG"` -> ["cs.CL", "cs.LG"]; raises InputError for anything that is not a category."""
    cats = list(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    bad = [c for c in cats if not _CATEGORY.match(c)]
    if not cats or bad:
        shown = ", ".join(repr(c) for c in bad) or repr(text)
        raise InputError(f"--arxiv: {shown} is not an arXiv category list; use e.g. cs.CL,cs.LG")
    return cats


def _arxiv_pages(
    http: Http, base: str, query: str, settings: Settings, on_progress: ProgressFn | None, n_days: int
) -> list[dict[str, Any]]:
    """Every entry of `query`, page by page (oldest first); raises DayFailed or FetchStop."""
    size = settings.arxiv_page_size
    records: list[dict[str, Any]] = []
    start, total, empty = 0, None, 0
    while True:
        params = {
            "search_query": query, "start": start, "max_results": size,
            "sortBy": "submittedDate", "sortOrder": "ascending",
        }
        response = http.get(f"{base}/query", params)
        if response.status >= 400:
            raise DayFailed(f"the arXiv API answered HTTP {response.status} {snippet(response.body)}")
        try:
            page_total, page = parse_atom(response.body)
        except AtomError as exc:
            raise DayFailed(str(exc)) from exc
        total = page_total if page_total is not None else total
        if total is not None and total > ARXIV_MAX_RESULTS:
            raise DayFailed(
                f"the query matches {total} papers, more than the {ARXIV_MAX_RESULTS} the arXiv API lists; "
                "fetch a shorter period or fewer categories"
            )
        if not page:
            if total is None or start >= total:
                return records
            # The API sometimes answers an empty page mid-listing; asking again usually works.
            empty += 1
            if empty > settings.fetch_retries:
                raise DayFailed(f"the arXiv API kept returning empty pages at {start} of {total} results")
            continue
        records.extend(page)
        start += len(page)
        if on_progress is not None:
            on_progress(0, n_days, f"arXiv: {start} of {total if total is not None else '?'} entries")
        if (start >= total) if total is not None else len(page) < size:
            return records


def fetch_arxiv(
    run: FetchRun, categories: list[str], days: list[date] | None = None, clock: Callable[[], float] = time.monotonic
) -> FetchReport:
    """Papers of `categories` first submitted on `days` (None = latest), via the arXiv API, ingested.

    One query covers the first to the last day not fetched completely for every category, paginated
    with at least `settings.arxiv_delay` seconds between requests. Paper ids have no version; the
    paper's date is its published (v1) date. Any failure raises FetchError and changes nothing.
    """
    started = time.perf_counter()
    settings, on_progress = run.settings, run.on_progress
    ledger = FetchLog(settings.data_dir)
    today = run.now.date()
    recorded = {c: ledger.days(f"arxiv:{c}") for c in categories}
    if days is None:
        days = min((latest_days(r, today) for r in recorded.values()), key=lambda ds: ds[0])
    current = [d for d in days if d <= today]
    report = FetchReport(days=len(current), future_days=len(days) - len(current))
    todo = [
        d for d in current
        if run.refresh or not all(recorded[c].get(d.isoformat(), {}).get("complete") for c in categories)
    ]
    if not todo:
        report.skipped_days = len(current)
        return report
    first, last = min(todo), max(todo)
    covered = [d for d in current if first <= d <= last]
    report.skipped_days = len(current) - len(covered)
    base = check_base(settings.arxiv_api_base, "ASSISTANT_ARXIV_API_BASE")
    query = "(" + " OR ".join(f"cat:{c}" for c in categories) + ")"
    query += f" AND submittedDate:[{first:%Y%m%d}0000 TO {last:%Y%m%d}2359]"
    with Http(
        settings, base, "ASSISTANT_ARXIV_API_BASE", min_interval=settings.arxiv_delay, sleep=run.sleep, clock=clock
    ) as http:
        try:
            records = _arxiv_pages(http, base, query, settings, on_progress, len(covered))
        except FetchStop as exc:
            raise FetchError(f"{exc}; nothing was changed") from exc
        except DayFailed as exc:
            raise FetchError(f"{exc} (query {query!r}); nothing was changed, re-run to retry") from exc
        finally:
            report.requests = http.requests
    report.seconds["fetch"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    papers: list[Paper] = []
    for record in records:
        if not (first.isoformat() <= record["published"] <= last.isoformat()):
            continue  # the query's date filter is the authority; this only guards against surprises
        paper, problems = paper_from_record(record, source=f"arxiv:{record['primary_category'] or categories[0]}")
        report.errors.extend(FetchIssue(day=record["published"] or None, reason=f"{record['id']}: {p}") for p in problems)
        if paper is not None:
            papers.append(paper)
    report.papers = len(papers)
    if papers:
        report.add_ingest(run.open_app().ingest_papers(papers, progress=run.progress))
    final = today - timedelta(days=ARXIV_SETTLE_DAYS - 1)
    stamp = run.now.isoformat(timespec="seconds")
    for cat in categories:
        counts = {d.isoformat(): 0 for d in covered}
        for paper in papers:
            if cat in paper.extra.get("categories", []) and paper.published in counts:  # type: ignore[operator]
                counts[paper.published] += 1  # type: ignore[index]
        ledger.record(f"arxiv:{cat}", [(d, n, date.fromisoformat(d) < final) for d, n in counts.items()], stamp)
    report.fetched = len(covered)
    report.seconds["ingest"] = round(time.perf_counter() - started, 3)
    if on_progress is not None:
        on_progress(len(covered), len(covered), f"arXiv: {len(papers)} papers")
    return report


# --------------------------------------------------------------------------------- one entry


def fetch_papers(
    settings: Settings,
    open_app: Callable[[], App],
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    **options: Unpack[FetchOptions],
) -> FetchReport:
    """Resolve the period (none = latest) and fetch from Hugging Face, or from arXiv when `arxiv`
    names categories (`"cs.CL,cs.LG"` or a list)."""
    unknown = sorted(set(options) - set(FetchOptions.__annotations__))
    if unknown:
        raise TypeError(f"fetch_papers() got unexpected options {unknown}")
    run = FetchRun(
        settings, open_app, options.get("refresh", False), options.get("progress", False), options.get("on_progress"),
        now or utc_now(), sleep,
    )
    period = (options.get(key) for key in ("day", "week", "month", "since", "until"))
    days = period_days(*period, today=run.now.date())  # type: ignore[arg-type]
    arxiv = options.get("arxiv")
    if arxiv:
        return fetch_arxiv(run, parse_categories(arxiv if isinstance(arxiv, str) else ",".join(arxiv)), days)
    return fetch_hf(run, days)
