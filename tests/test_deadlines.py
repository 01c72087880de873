"""Case deadlines: 12 elapsed hours for emergencies, 5 working days for the support plan."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.deadlines import (
    VN_TZ,
    add_working_days,
    default_holidays,
    emergency_deadline,
    is_overdue,
    is_working_day,
    parse_holidays,
    plan_deadline,
    working_days_between,
)

NEW_YORK = ZoneInfo("America/New_York")


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def end_of(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=VN_TZ)


# --- emergency: 12 hours --------------------------------------------------------------------------


def test_emergency_deadline_crosses_midnight() -> None:
    assert emergency_deadline(vn(2026, 3, 6, 15, 30)) == vn(2026, 3, 7, 3, 30)


def test_emergency_deadline_crosses_the_year() -> None:
    assert emergency_deadline(vn(2026, 12, 31, 20, 0)) == vn(2027, 1, 1, 8, 0)


def test_emergency_deadline_is_given_in_vietnam_time() -> None:
    deadline = emergency_deadline(datetime(2026, 3, 6, 10, 0, tzinfo=UTC))  # 17:00 in Hanoi
    assert deadline.tzinfo is VN_TZ
    assert (deadline.hour, deadline.day) == (5, 7)


def test_emergency_deadline_counts_elapsed_hours_across_dst() -> None:
    # New York springs forward at 02:00 on 8 March 2026; 12 real hours is 13 on the wall clock.
    reported = datetime(2026, 3, 7, 20, 0, tzinfo=NEW_YORK)
    deadline = emergency_deadline(reported)
    assert deadline.astimezone(UTC) - reported.astimezone(UTC) == timedelta(hours=12)
    assert deadline.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 9, 0)


def test_naive_times_are_refused() -> None:
    naive = datetime(2026, 3, 6, 16, 0)
    with pytest.raises(ValueError, match="timezone"):
        emergency_deadline(naive)
    with pytest.raises(ValueError, match="timezone"):
        plan_deadline(naive)
    with pytest.raises(ValueError, match="timezone"):
        is_overdue(vn(2026, 3, 6), naive)
    with pytest.raises(ValueError, match="timezone"):
        is_overdue(naive, vn(2026, 3, 6))


# --- plan: 5 working days -------------------------------------------------------------------------


def test_friday_afternoon_gives_the_next_friday_end_of_day() -> None:
    deadline = plan_deadline(vn(2026, 3, 6, 16, 0))  # Friday
    assert deadline == vn(2026, 3, 13, 23, 59, 59, 999_999)
    assert deadline.tzinfo is VN_TZ


@pytest.mark.parametrize("day", [7, 8])  # Saturday, Sunday
def test_weekend_verification_counts_from_monday(day: int) -> None:
    assert plan_deadline(vn(2026, 3, day, 10, 0)) == end_of(date(2026, 3, 13))


def test_monday_verification_ends_the_next_monday() -> None:
    assert plan_deadline(vn(2026, 3, 9, 0, 0)) == end_of(date(2026, 3, 16))


def test_the_local_date_decides_not_the_utc_date() -> None:
    # Thursday 20:00 UTC is already Friday 03:00 in Hanoi.
    assert plan_deadline(datetime(2026, 3, 5, 20, 0, tzinfo=UTC)) == end_of(date(2026, 3, 13))
    # Friday 18:00 UTC is Saturday 01:00 in Hanoi, which still counts from Monday.
    assert plan_deadline(datetime(2026, 3, 6, 18, 0, tzinfo=UTC)) == end_of(date(2026, 3, 13))
    # Thursday 16:00 UTC is still Thursday in Hanoi.
    assert plan_deadline(datetime(2026, 3, 5, 16, 0, tzinfo=UTC)) == end_of(date(2026, 3, 12))


def test_holidays_in_the_window_push_the_deadline() -> None:
    # Verified Monday 27 April 2026; 30 April (Thu) and 1 May (Fri) are holidays.
    holidays = {date(2026, 4, 30), date(2026, 5, 1)}
    assert plan_deadline(vn(2026, 4, 27, 9, 0)) == end_of(date(2026, 5, 4))
    assert plan_deadline(vn(2026, 4, 27, 9, 0), holidays) == end_of(date(2026, 5, 6))


def test_a_holiday_on_the_weekend_does_not_count_twice() -> None:
    weekend = {date(2026, 3, 7), date(2026, 3, 8)}
    assert plan_deadline(vn(2026, 3, 6, 16, 0), weekend) == end_of(date(2026, 3, 13))
    assert working_days_between(date(2026, 3, 6), date(2026, 3, 13), weekend) == 5


def test_a_holiday_on_the_start_day_changes_nothing() -> None:
    # The start day is never counted, holiday or not.
    assert plan_deadline(vn(2026, 3, 6, 16, 0), {date(2026, 3, 6)}) == end_of(date(2026, 3, 13))


def test_a_holiday_on_the_would_be_last_day_moves_it_to_the_next_working_day() -> None:
    assert plan_deadline(vn(2026, 3, 6, 16, 0), {date(2026, 3, 13)}) == end_of(date(2026, 3, 16))


def test_national_day_with_default_holidays() -> None:
    # Friday 28 Aug 2026; 1 and 2 Sep (Tue, Wed) are off.
    deadline = plan_deadline(vn(2026, 8, 28, 11, 0), default_holidays(2026))
    assert deadline == end_of(date(2026, 9, 8))


def test_a_long_tet_break_from_the_setting() -> None:
    tet = parse_holidays("2026-02-16 2026-02-17 2026-02-18 2026-02-19 2026-02-20")
    # Verified Friday 13 Feb 2026: the whole next week is off.
    assert plan_deadline(vn(2026, 2, 13, 9, 0), tet) == end_of(date(2026, 2, 27))


@pytest.mark.parametrize("days", [0, -1, True, 2.0])
def test_add_working_days_needs_a_positive_whole_number(days: object) -> None:
    with pytest.raises(ValueError):
        add_working_days(vn(2026, 3, 6), days)  # type: ignore[arg-type]


def test_one_working_day() -> None:
    assert add_working_days(vn(2026, 3, 6, 23, 59), 1) == end_of(date(2026, 3, 9))


# --- overdue --------------------------------------------------------------------------------------


def test_is_overdue_at_the_boundary() -> None:
    deadline = plan_deadline(vn(2026, 3, 6, 16, 0))
    assert not is_overdue(deadline, deadline)
    assert not is_overdue(deadline, deadline - timedelta(microseconds=1))
    assert is_overdue(deadline, deadline + timedelta(microseconds=1))
    assert is_overdue(deadline, vn(2026, 3, 14, 0, 0))
    assert not is_overdue(deadline, vn(2026, 3, 13, 23, 59, 59))


def test_is_overdue_compares_instants_across_timezones() -> None:
    deadline = emergency_deadline(vn(2026, 3, 6, 15, 30))  # 03:30 on the 7th, Hanoi
    same_instant = datetime(2026, 3, 6, 20, 30, tzinfo=UTC)
    assert not is_overdue(deadline, same_instant)
    assert is_overdue(deadline, same_instant + timedelta(seconds=1))


# --- working_days_between -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2026, 3, 6), date(2026, 3, 6), 0),
        (date(2026, 3, 6), date(2026, 3, 7), 0),  # Fri -> Sat
        (date(2026, 3, 6), date(2026, 3, 9), 1),  # Fri -> Mon
        (date(2026, 3, 9), date(2026, 3, 6), -1),
        (date(2026, 3, 2), date(2026, 3, 30), 20),
        (date(2026, 1, 1), date(2026, 12, 31), 260),
    ],
)
def test_working_days_between(start: date, end: date, expected: int) -> None:
    assert working_days_between(start, end, ()) == expected


def test_working_days_between_skips_holidays_inside_only() -> None:
    holidays = {date(2026, 3, 6), date(2026, 3, 10), date(2026, 3, 20)}
    # 6 March is the start (not counted anyway), 20 March is after the end.
    assert working_days_between(date(2026, 3, 6), date(2026, 3, 13), holidays) == 4


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01,2026-04-30,2026-05-01",
        "2026-01-01 2026-04-30 2026-05-01",
        " 2026-01-01, 2026-04-30 ,2026-05-01, ",
        "2026-01-01\n2026-04-30\t2026-05-01,2026-05-01",
    ],
)
def test_parse_holidays(text: str) -> None:
    assert parse_holidays(text) == {date(2026, 1, 1), date(2026, 4, 30), date(2026, 5, 1)}


@pytest.mark.parametrize("text", ["", "   ", ",", " , ,"])
def test_parse_holidays_empty(text: str) -> None:
    assert parse_holidays(text) == frozenset()


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("2026-01-01,2026-4-30", "2026-4-30"),
        ("2026-02-30", "2026-02-30"),
        ("20260101", "20260101"),
        ("2026-W01-1", "2026-W01-1"),
        ("2026-01-01;2026-04-30", "2026-01-01;2026-04-30"),
        ("tomorrow", "tomorrow"),
        ("2026-01-01T00:00", "2026-01-01T00:00"),
        ("٢٠٢٦-٠١-٠١", "٢٠٢٦-٠١-٠١"),  # Arabic-Indic digits
    ],
)
def test_parse_holidays_names_the_bad_item(text: str, bad: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_holidays(text)
    assert repr(bad) in str(excinfo.value)


def test_default_holidays() -> None:
    assert default_holidays(2026) == {
        date(2026, 1, 1),
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 9, 1),
        date(2026, 9, 2),
    }
    assert all(d.year == 2030 for d in default_holidays(2030))


def test_is_working_day() -> None:
    assert is_working_day(date(2026, 3, 6))
    assert not is_working_day(date(2026, 3, 7))
    assert not is_working_day(date(2026, 3, 8))
    assert not is_working_day(date(2026, 4, 30), default_holidays(2026))


# --- properties -----------------------------------------------------------------------------------

ZONES = st.sampled_from(
    [UTC, VN_TZ, NEW_YORK, ZoneInfo("Pacific/Kiritimati"), timezone(timedelta(hours=-11))]
)
starts = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 1), timezones=ZONES
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[datetime, int, frozenset[date]]:
    start = draw(starts)
    days = draw(st.integers(1, 40))
    local = start.astimezone(VN_TZ).date()
    offsets = draw(st.frozensets(st.integers(-3, 90), max_size=30))
    return start, days, frozenset(local + timedelta(days=k) for k in offsets)


@given(cases())
def test_add_working_days_lands_on_a_working_day_exactly_n_days_on(
    case: tuple[datetime, int, frozenset[date]],
) -> None:
    start, days, holidays = case
    result = add_working_days(start, days, holidays)
    assert result.tzinfo is VN_TZ
    assert result.timetz().replace(tzinfo=None) == time.max
    assert result > start
    assert result.weekday() < 5
    assert result.date() not in holidays
    local_start = start.astimezone(VN_TZ).date()
    assert working_days_between(local_start, result.date(), holidays) == days
    # ...and it is the first such day: the day before is one working day short.
    previous = result.date() - timedelta(days=1)
    assert working_days_between(local_start, previous, holidays) == days - 1


@given(st.dates(), st.integers(0, 800), st.frozensets(st.integers(0, 800), max_size=40))
def test_working_days_between_matches_counting_one_by_one(
    start: date, span: int, holiday_offsets: frozenset[int]
) -> None:
    try:
        end = start + timedelta(days=span)
        holidays = {start + timedelta(days=k) for k in holiday_offsets}
    except OverflowError:
        return
    brute = sum(
        1 for k in range(1, span + 1) if is_working_day(start + timedelta(days=k), holidays)
    )
    assert working_days_between(start, end, holidays) == brute
    assert working_days_between(end, start, holidays) == -brute
