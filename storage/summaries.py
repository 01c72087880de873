"""The figures staff report upward: counts by status and risk, coverage, overdue deadlines, needs
and money, and breakdowns by place, Article 10 group and month.

One definition of each figure, here, used by /tomtat, /thongke, the charts and the workbook; the
tests recompute every figure from the rows in Python and compare. Each figure is a handful of
aggregate queries that indexes answer without reading case rows (migration 0004), so a
national-size table of a million cases answers in well under a second.

Definitions:
- children on the list: every case except rejected and duplicate reports;
- verified: verified, in support or supported (the coverage denominator, open files only);
- supported: at least one support delivery recorded (status "supported");
- coverage = supported / verified;
- new this week / month: reports received since Monday / the 1st, 00:00 Vietnam time;
- needs published: needs of cases currently shown to donors; fully funded: pledges cover the
  estimated amount; pledged and received: all needs, all time.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import String, case, cast, func, literal_column
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.deadlines import VN_TZ
from storage.models import Case, Need
from storage.review import VERIFIED_STATUSES, count_overdue

NOT_COUNTED = ("rejected", "duplicate")
SUPPORTED = "supported"
NO_RISK = "none"
SMALL_CELL = 3  # counts of 1-2 children are shown as "<3"

Dimension = Literal["province", "commune", "group", "month"]


def week_start(now: datetime) -> datetime:
    local = now.astimezone(VN_TZ).date()
    return datetime.combine(local - timedelta(days=local.weekday()), time.min, tzinfo=VN_TZ)


def month_start(now: datetime) -> datetime:
    local = now.astimezone(VN_TZ).date()
    return datetime.combine(local.replace(day=1), time.min, tzinfo=VN_TZ)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Overview:
    by_status: dict[str, int]
    by_risk: dict[str, int]  # children on the list and still open: high/medium/low/none
    new_week: int
    new_month: int
    overdue_emergency: int
    overdue_plan: int
    needs_published: int
    needs_funded: int
    pledged: int
    received: int

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def on_list(self) -> int:
        return sum(n for s, n in self.by_status.items() if s not in NOT_COUNTED)

    @property
    def verified(self) -> int:
        return sum(self.by_status.get(s, 0) for s in VERIFIED_STATUSES)

    @property
    def supported(self) -> int:
        return self.by_status.get(SUPPORTED, 0)

    @property
    def coverage(self) -> float | None:
        return self.supported / self.verified if self.verified else None


async def overview(session: AsyncSession, now: datetime) -> Overview:
    by_status: Counter[str] = Counter()
    by_risk: Counter[str] = Counter()
    rows = await session.exec(select(Case.status, Case.risk, func.count()).group_by(col(Case.status), col(Case.risk)))
    for status, risk, n in rows:
        by_status[status] += int(n)
        if status in ("new", *VERIFIED_STATUSES):
            by_risk[risk or NO_RISK] += int(n)

    week, month = week_start(now), month_start(now)
    since = min(week, month)
    recent = (await session.exec(
        select(func.count(case((col(Case.created_at) >= week, 1))), func.count(case((col(Case.created_at) >= month, 1))))
        .where(col(Case.created_at) >= since)
    )).one()
    emergencies, plans = await count_overdue(session, now)

    published = select(Case.id).where(col(Case.published_at).is_not(None))
    funded = (col(Need.amount) > 0) & (col(Need.pledged) >= col(Need.amount))
    needs = (await session.exec(
        select(func.count(), func.count(case((funded, 1)))).select_from(Need).where(col(Need.case_id).in_(published))
    )).one()
    money = (await session.exec(
        select(func.coalesce(func.sum(Need.pledged), 0), func.coalesce(func.sum(Need.received), 0))
        .where((col(Need.pledged) > 0) | (col(Need.received) > 0))
    )).one()
    return Overview(
        by_status=dict(by_status), by_risk=dict(by_risk), new_week=int(recent[0]), new_month=int(recent[1]),
        overdue_emergency=emergencies, overdue_plan=plans, needs_published=int(needs[0]), needs_funded=int(needs[1]),
        pledged=int(money[0]), received=int(money[1]),
    )


# ---- breakdowns ---------------------------------------------------------------------------------


@dataclass
class Cells:
    """One row of a breakdown: children on the list, of them verified, of them supported."""

    children: int = 0
    verified: int = 0
    supported: int = 0

    def add(self, status: str, n: int) -> None:
        if status in NOT_COUNTED:
            return
        self.children += n
        if status in VERIFIED_STATUSES:
            self.verified += n
        if status == SUPPORTED:
            self.supported += n

    @property
    def coverage(self) -> float | None:
        return self.supported / self.verified if self.verified else None


@dataclass
class Breakdown:
    by: Dimension
    rows: dict[Any, Cells] = field(default_factory=dict)  # key: code, group code or "YYYY-MM"
    total: Cells = field(default_factory=Cells)  # children counted once (a child in two groups too)

    def cell(self, key: Any) -> Cells:
        return self.rows.setdefault(key, Cells())


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _month_key(session: AsyncSession) -> Any:
    """'YYYY-MM' of a case's report time in Vietnam (UTC+7 all year: no daylight saving)."""
    if _dialect(session) == "postgresql":
        return func.to_char(func.timezone("Asia/Ho_Chi_Minh", Case.created_at), "YYYY-MM")
    return func.strftime("%Y-%m", Case.created_at, "+7 hours")


def groups_key(session: AsyncSession) -> Any:
    """The groups list as text: PostgreSQL cannot group or index a json value itself."""
    if _dialect(session) == "postgresql":
        return cast(Case.groups, String)
    return literal_column("child_case.groups")


async def breakdown(session: AsyncSession, by: Dimension, *, now: datetime, province_code: int | None = None,
                    months: int = 12) -> Breakdown:
    """Counts by province, by commune (of one province, or all), by Article 10 group, or by
    month of report (the last `months` months, the current one included)."""
    result = Breakdown(by)
    where = []
    if province_code is not None:
        where.append(col(Case.province_code) == province_code)
    if by == "province":
        keys: list[Any] = [col(Case.province_code)]
    elif by == "commune":
        keys = [col(Case.commune_code)]
    elif by == "group":
        keys = [groups_key(session)]
    elif by == "month":
        first = add_months(now.astimezone(VN_TZ).date().replace(day=1), 1 - months)
        where.append(col(Case.created_at) >= datetime.combine(first, time.min, tzinfo=VN_TZ))
        keys = [_month_key(session)]
    else:
        raise ValueError(f"unknown breakdown {by!r}")
    statement = select(*keys, Case.status, func.count()).where(*where).group_by(*keys, col(Case.status))
    for key, status, n in await session.exec(statement):
        n = int(n)
        result.total.add(status, n)
        for k in _expand(by, key):
            result.cell(k).add(status, n)
    if by == "month":
        day = add_months(now.astimezone(VN_TZ).date().replace(day=1), 1 - months)
        for _ in range(months):  # every month shows, even an empty one
            result.cell(f"{day:%Y-%m}")
            day = add_months(day, 1)
        result.rows = dict(sorted(result.rows.items()))
    return result


def _expand(by: Dimension, key: Any) -> Iterable[Any]:
    if by != "group":
        return (key,)
    groups = json.loads(key) if isinstance(key, str) else (key or [])
    return tuple(dict.fromkeys(groups)) or ("none",)


def small(n: int) -> bool:
    """A count that could identify a child in a published table: 1 or 2."""
    return 0 < n < SMALL_CELL
