"""Dates and periods as users type them: ISO days, ISO weeks, months, `--week last`.

One meaning everywhere (`fetch`, `digest`, `search`): weeks are ISO weeks (Monday to Sunday), and
`--week last` is the complete ISO week before the current one, today being the UTC date. The CLI,
`fetch` and the digest chain call these; nothing else parses a week.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING

from assistant.errors import InputError

if TYPE_CHECKING:
    from assistant.store import Store

LAST = "last"
WEEK_HINT = "use YYYY-Www (e.g. 2025-W10) or 'last'"


def utc_today() -> date:
    """Today's UTC date: the daily lists are dated in UTC."""
    return datetime.now(timezone.utc).date()


def parse_date(value: str, option: str) -> date:
    """A user's ISO date (YYYY-MM-DD) for `option`, or InputError naming the option."""
    try:
        return date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InputError(f"{option} {value!r} is not a date; use YYYY-MM-DD, e.g. 2025-03-05") from exc


def parse_day(value: str | None, option: str) -> str | None:
    """`parse_date` as an ISO string; None stays None."""
    return None if value is None else parse_date(value, option).isoformat()


def span(first: date, last: date) -> list[date]:
    """Every day from `first` to `last`, inclusive."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def iso_week(day: date) -> str:
    """The ISO week of `day`, e.g. `2025-W10`."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def last_week(today: date | None = None) -> str:
    """`--week last`: the complete ISO week before the one `today` (UTC by default) falls in."""
    today = today or utc_today()
    return iso_week(today - timedelta(days=7))


def week_monday(week: str, today: date | None = None) -> date:
    """The Monday of `YYYY-Www` or `last` (case-insensitive), or InputError."""
    text = week.strip()
    if text.lower() == LAST:
        text = last_week(today)
    try:
        year, num = text.upper().split("-W")
        return date.fromisocalendar(int(year), int(num), 1)
    except ValueError as exc:
        raise InputError(f"--week {week!r} is not an ISO week; {WEEK_HINT}") from exc


def week_bounds(week: str, today: date | None = None) -> tuple[str, str]:
    """`2024-W23` -> ('2024-06-03', '2024-06-09'): the week's Monday and Sunday."""
    monday = week_monday(week, today)
    return monday.isoformat(), (monday + timedelta(days=6)).isoformat()


def month_days(month: str) -> list[date]:
    """Every day of `YYYY-MM`, or InputError."""
    try:
        year, num = (int(part) for part in month.strip().split("-"))
        last = calendar.monthrange(year, num)[1]
    except (ValueError, calendar.IllegalMonthError) as exc:
        raise InputError(f"--month {month!r} is not a month; use YYYY-MM, e.g. 2025-03") from exc
    return span(date(year, num, 1), date(year, num, last))


def period_days(
    day: str | None = None,
    week: str | None = None,
    month: str | None = None,
    since: str | None = None,
    until: str | None = None,
    today: date | None = None,
) -> list[date] | None:
    """The days one of `--date/--week/--month/--since [--until]` names (future days included);
    None when no period is given. `since` runs to `until` or today."""
    today = today or utc_today()
    given = [name for name, value in (("--date", day), ("--week", week), ("--month", month), ("--since", since)) if value]
    if len(given) > 1:
        raise InputError(f"give one period, not {' and '.join(given)}")
    if until and not since:
        raise InputError("--until needs --since (e.g. --since 2025-03-01 --until 2025-03-07)")
    if day:
        return [parse_date(day, "--date")]
    if week:
        monday = week_monday(week, today)
        return span(monday, monday + timedelta(days=6))
    if month:
        return month_days(month)
    if since:
        first = parse_date(since, "--since")
        last = parse_date(until, "--until") if until else today
        if first > last:
            raise InputError(f"--since {first} is after {'--until ' + str(last) if until else 'today (' + str(last) + ')'}")
        return span(first, last)
    return None


# ---------------------------------------------------------------------------- digest periods


@dataclass(frozen=True)
class Period:
    """An inclusive range of list dates; `week` is set when it is exactly one ISO week."""

    since: str
    until: str
    week: str | None = None

    @property
    def label(self) -> str:
        return self.week or f"{self.since}/{self.until}"

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        start, end = date.fromisoformat(self.since), date.fromisoformat(self.until)
        prev_end = start - timedelta(days=1)
        prev_start = prev_end - (end - start)
        return make_period(prev_start, prev_end)


def make_period(start: date, end: date) -> Period:
    is_week = start.isoweekday() == 1 and end - start == timedelta(days=6)
    return Period(start.isoformat(), end.isoformat(), iso_week(start) if is_week else None)


def newest_week_with_papers(store: Store, before: date) -> str | None:
    """The latest ISO week ending before `before` in which a stored paper is listed, or None."""
    stats = store.stats(vectors=False)
    newest, oldest = stats.get("last_date"), stats.get("first_date")
    if not (newest and oldest):
        return None
    day = min(date.fromisoformat(str(newest)), before - timedelta(days=1))
    while day >= date.fromisoformat(str(oldest)):
        monday = day - timedelta(days=day.isoweekday() - 1)
        if store.ids_between(monday.isoformat(), (monday + timedelta(days=6)).isoformat()):
            return iso_week(monday)
        day = monday - timedelta(days=1)
    return None


def resolve_period(
    store: Store,
    week: str | None = None,
    since: str | None = None,
    until: str | None = None,
    today: date | None = None,
) -> Period:
    """The digest's period from `--week YYYY-Www|last` or `--since/--until` (inclusive dates).

    `--week last` with no papers in that week is an error naming the newest week that has some,
    so a cron job on a store that stopped being fed fails loudly instead of mailing an old digest.
    """
    if week and (since or until):
        raise InputError("give either --week or --since/--until, not both")
    if week:
        first, last = week_bounds(week, today)
        if week.strip().lower() == LAST and not store.ids_between(first, last):
            newest = newest_week_with_papers(store, date.fromisoformat(first))
            if newest is None and not store.stats(vectors=False).get("papers"):
                raise InputError("no papers are stored yet; run `assistant ingest` (or `assistant fetch`) first")
            instead = f", or give --week {newest} (the newest earlier week with papers)" if newest else ""
            raise InputError(
                f"--week last is {iso_week(date.fromisoformat(first))} (the ISO week before this one, UTC) and no "
                f"stored paper is listed in it: run `assistant fetch --week last`{instead}"
            )
        return make_period(date.fromisoformat(first), date.fromisoformat(last))
    if not (since or until):
        raise InputError("give the period: --week YYYY-Www (e.g. 2024-W23), --week last, or --since/--until")
    start_s, end_s = parse_day(since, "--since"), parse_day(until, "--until")
    if end_s is None:
        newest = store.stats().get("last_date")
        end_s = str(newest) if newest and str(newest) >= str(start_s) else (today or utc_today()).isoformat()
    end = date.fromisoformat(end_s)
    start = date.fromisoformat(start_s) if start_s else end - timedelta(days=6)
    if start > end:
        raise InputError(f"--since {start} is after --until {end}")
    return make_period(start, end)


def available_weeks(store: Store) -> list[str]:
    """ISO weeks that have papers, newest first (for week pickers)."""
    weeks = {iso_week(date.fromisoformat(d)) for p in store.iter_papers() for d in p.dates}
    return sorted(weeks, reverse=True)
