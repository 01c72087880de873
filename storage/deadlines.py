"""Case deadlines under Decree 56/2017: 12 clock hours for a child in serious danger, 5 working
days for the support plan.

Hours are elapsed time (a reporter's clock and timezone do not matter). Working days are counted on
Vietnamese calendar dates (Asia/Ho_Chi_Minh), as the Civil Code 2015 counts periods: the day of the
event itself is not counted (Art. 147) and the period ends at the end of its last day (Art. 148);
weekends and public holidays are skipped.

Pure: no I/O and nothing from the rest of the project. Holidays come in from a setting, because the
lunar ones (Tết, Hung Kings) and the yearly bridge days cannot be computed here.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EMERGENCY_HOURS = 12
PLAN_WORKING_DAYS = 5

_ISO_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_SEPARATORS_RE = re.compile(r"[,\s]+")


def _require_aware(value: datetime, name: str) -> None:
    # A naive time could be UTC from the server or local from a form; guessing wrong moves a
    # deadline by seven hours, so refuse to guess.
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware: {value!r}")


def is_working_day(day: date, holidays: Collection[date] = ()) -> bool:
    """Monday to Friday and not a listed public holiday."""
    return day.weekday() < 5 and day not in holidays


def emergency_deadline(reported_at: datetime) -> datetime:
    """Report time + 12 elapsed hours (not wall-clock hours), in Vietnam time.

    Arithmetic goes through UTC so that a report stamped in a zone with daylight saving still
    gets exactly 12 hours.
    """
    _require_aware(reported_at, "reported_at")
    deadline = reported_at.astimezone(UTC) + timedelta(hours=EMERGENCY_HOURS)
    return deadline.astimezone(VN_TZ)


def add_working_days(start: datetime, days: int, holidays: Collection[date] = ()) -> datetime:
    """The end (23:59:59.999999 Vietnam time) of the `days`-th working day after `start`'s date.

    The start day never counts, whatever the hour and even if it is a working day; so a case
    verified on Friday afternoon or on Saturday both count Monday as day 1. `days` must be >= 1.
    """
    _require_aware(start, "start")
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise ValueError(f"days must be a whole number >= 1: {days!r}")
    off = frozenset(holidays)
    day = start.astimezone(VN_TZ).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day, off):
            counted += 1
    return datetime.combine(day, time.max, tzinfo=VN_TZ)


def plan_deadline(verified_at: datetime, holidays: Collection[date] = ()) -> datetime:
    """When the support/intervention plan is due: 5 working days after verification."""
    return add_working_days(verified_at, PLAN_WORKING_DAYS, holidays)


def is_overdue(deadline: datetime, now: datetime) -> bool:
    """True once `now` is strictly past `deadline`; the deadline instant itself is still in time."""
    _require_aware(deadline, "deadline")
    _require_aware(now, "now")
    return now > deadline


def working_days_between(start: date, end: date, holidays: Collection[date] = ()) -> int:
    """Working days after `start` up to and including `end`: the count `add_working_days` uses.

    Negative when `end` is before `start`, so the gap between two dates reads the same either way.
    Give plain dates; for datetimes take the Vietnam-local date first.
    """
    if end < start:
        return -working_days_between(end, start, holidays)
    off = frozenset(holidays)
    span = (end - start).days
    full_weeks, rest = divmod(span, 7)
    count = full_weeks * 5
    for offset in range(1, rest + 1):
        if (start + timedelta(days=offset)).weekday() < 5:
            count += 1
    count -= sum(1 for h in off if start < h <= end and h.weekday() < 5)
    return count


def parse_holidays(text: str) -> frozenset[date]:
    """Dates from a setting such as "2026-01-01,2026-04-30 2026-05-01" (commas and/or spaces).

    Only YYYY-MM-DD is accepted: a typo like "2026-4-30" raises ValueError naming the bad item
    instead of silently dropping a holiday.
    """
    result = set()
    for item in _SEPARATORS_RE.split(text.strip()):
        if not item:
            continue
        if not _ISO_DATE_RE.fullmatch(item):
            raise ValueError(f"holiday {item!r} is not a YYYY-MM-DD date")
        try:
            result.add(date.fromisoformat(item))
        except ValueError as exc:
            raise ValueError(f"holiday {item!r} is not a real date: {exc}") from None
    return frozenset(result)


def default_holidays(year: int) -> frozenset[date]:
    """Vietnam's fixed solar-calendar public holidays for `year` (Labour Code 2019, Art. 112).

    1 January, 30 April, 1 May, and 2 September with its adjacent day (the law allows 1 or 3
    September, chosen each year; 1 September is used here).

    NOT included, and to be added through the holidays setting: Tết (5 days) and the Hung Kings'
    commemoration (10th day of the 3rd lunar month), which follow the lunar calendar and cannot be
    computed without a lunar library; the compensatory days when a holiday falls on a weekend; and
    the day swaps the government announces each year.
    """
    return frozenset(
        {
            date(year, 1, 1),
            date(year, 4, 30),
            date(year, 5, 1),
            date(year, 9, 1),
            date(year, 9, 2),
        }
    )
