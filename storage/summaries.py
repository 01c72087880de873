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

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import String, any_, case, cast, func, literal, literal_column, union_all
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.cases import STATUSES
from storage.db import Database
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


async def _status_risk(session: AsyncSession, now: datetime) -> tuple[Counter[str], Counter[str]]:
    by_status: Counter[str] = Counter()
    by_risk: Counter[str] = Counter()
    rows = await session.exec(select(Case.status, Case.risk, func.count()).group_by(col(Case.status), col(Case.risk)))
    for status, risk, n in rows:
        by_status[status] += int(n)
        if status in ("new", *VERIFIED_STATUSES):
            by_risk[risk or NO_RISK] += int(n)
    return by_status, by_risk


async def _recent(session: AsyncSession, now: datetime) -> tuple[int, int]:
    week, month = week_start(now), month_start(now)
    row = (await session.exec(
        select(func.count(case((col(Case.created_at) >= week, 1))), func.count(case((col(Case.created_at) >= month, 1))))
        .where(col(Case.created_at) >= min(week, month))
    )).one()
    return int(row[0]), int(row[1])


async def _needs(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """Needs of published cases: the published ids from the partial index ix_case_published,
    each looked up in the covering index ix_need_case_funding. PostgreSQL is handed the ids as
    an array (`= ANY(ARRAY(...))`): as `IN (subquery)` it hashes a scan of every need instead."""
    published = select(Case.id).where(col(Case.published_at).is_not(None))
    funded = (col(Need.amount) > 0) & (col(Need.pledged) >= col(Need.amount))
    if _dialect(session) == "postgresql":
        of_published = col(Need.case_id) == any_(func.array(published.scalar_subquery()))
    else:
        of_published = col(Need.case_id).in_(published)
    row = (await session.exec(select(func.count(), func.count(case((funded, 1)))).select_from(Need).where(of_published))).one()
    return int(row[0]), int(row[1])


async def _money(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """All money pledged and received; the partial index ix_need_money holds only needs that
    have any, so the sum never walks the needs nobody pledged to."""
    row = (await session.exec(
        select(func.coalesce(func.sum(Need.pledged), 0), func.coalesce(func.sum(Need.received), 0))
        .where(col(Need.pledged) + col(Need.received) > 0)
    )).one()
    return int(row[0]), int(row[1])


async def overview(session: AsyncSession, now: datetime, db: Database | None = None) -> Overview:
    """Every figure of /tomtat, from the session's transaction. On PostgreSQL, given the
    Database, the independent queries run at the same time on their own read connections.
    (SQLite runs its statements in the event loop's thread, one at a time: no gain there.)"""
    parts = (_status_risk, _needs, _recent, count_overdue, _money)
    if db is not None and not db.sqlite:
        async def run(*group: Any) -> list[Any]:
            async with db.transaction() as own:
                return [await part(own, now) for part in group]

        # the two index walks on connections of their own; the three small counts share one
        found = await asyncio.gather(run(parts[0]), run(parts[1]), run(*parts[2:]))
        results = [r for group in found for r in group]
    else:
        results = [await p(session, now) for p in parts]
    (by_status, by_risk), needs, recent, (emergencies, plans), money = results
    return Overview(
        by_status=dict(by_status), by_risk=dict(by_risk), new_week=recent[0], new_month=recent[1],
        overdue_emergency=emergencies, overdue_plan=plans, needs_published=needs[0], needs_funded=needs[1],
        pledged=money[0], received=money[1],
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

    def merge(self, other: Cells) -> None:
        self.children += other.children
        self.verified += other.verified
        self.supported += other.supported

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


def groups_key(session: AsyncSession) -> Any:
    """The groups list as text: PostgreSQL cannot group or index a json value itself."""
    if _dialect(session) == "postgresql":
        return cast(Case.groups, String)
    return literal_column("child_case.groups")


async def breakdown(session: AsyncSession, by: Dimension, *, now: datetime, province_code: int | None = None,
                    months: int = 12) -> Breakdown:
    """Counts by province, by commune (of one province, or all), by Article 10 group, or by
    month of report (the last `months` months, the current one included).

    The inner query counts by key and status from an index of migration 0004 without reading
    case rows (SQLite in the index's order, streaming; PostgreSQL with parallel workers); the
    outer one folds statuses into the three columns, so one row per province, commune or
    combination of groups comes back.
    """
    result = Breakdown(by)
    if by == "month":
        await _by_month(session, result, now, months, province_code)
        return result
    where = [] if province_code is None else [col(Case.province_code) == province_code]
    province, commune = col(Case.province_code).label("province"), col(Case.commune_code).label("commune")
    if by in ("province", "commune") and _dialect(session) == "sqlite":
        keys: list[Any] = [province, commune]  # the whole index prefix: SQLite streams, never sorts
    elif by in ("province", "commune"):
        keys = [province if by == "province" else commune]  # PostgreSQL hashes in parallel workers
    elif by == "group":
        keys = [groups_key(session).label("groups")]
    else:
        raise ValueError(f"unknown breakdown {by!r}")
    inner = (
        select(*keys, col(Case.status).label("status"), func.count().label("n"))
        .where(*where).group_by(*keys, col(Case.status)).subquery()
    )
    key = inner.c[{"province": "province", "commune": "commune", "group": "groups"}[by]]

    def total(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, inner.c.n), else_=0)), 0)

    statement = select(key, total(inner.c.status.not_in(NOT_COUNTED)), total(inner.c.status.in_(VERIFIED_STATUSES)),
                       total(inner.c.status == SUPPORTED)).group_by(key)
    for value, children, verified, supported in await session.exec(statement):  # type: ignore[call-overload]
        cells = Cells(int(children), int(verified), int(supported))
        result.total.merge(cells)
        for k in (_groups(value) if by == "group" else (value,)):
            result.cell(k).merge(cells)
    return result


async def _by_month(session: AsyncSession, result: Breakdown, now: datetime, months: int, province_code: int | None) -> None:
    """One range count per month and status, all in one statement: each is a walk along the
    (status, created_at) index with nothing to sort, which beats grouping by a month
    expression (a sort of every row of the year) by about five times."""
    first = add_months(now.astimezone(VN_TZ).date().replace(day=1), 1 - months)
    parts = []
    for i in range(months):
        start, end = add_months(first, i), add_months(first, i + 1)
        result.cell(f"{start:%Y-%m}")
        for status in STATUSES:
            where = [col(Case.status) == status,
                     col(Case.created_at) >= datetime.combine(start, time.min, tzinfo=VN_TZ),
                     col(Case.created_at) < datetime.combine(end, time.min, tzinfo=VN_TZ)]
            if province_code is not None:
                where.append(col(Case.province_code) == province_code)
            parts.append(select(literal(f"{start:%Y-%m}"), literal(status), func.count()).select_from(Case).where(*where))
    for key, status, n in await session.exec(union_all(*parts)):  # type: ignore[call-overload]
        if n:
            result.cell(key).add(status, int(n))
            result.total.add(status, int(n))


def _groups(key: Any) -> tuple[str, ...]:
    """The distinct groups of one stored list (given as JSON text or a list); "none" if empty."""
    groups = json.loads(key) if isinstance(key, str) else (key or [])
    return tuple(dict.fromkeys(groups)) or ("none",)


def small(n: int) -> bool:
    """A count that could identify a child in a published table: 1 or 2."""
    return 0 < n < SMALL_CELL
