"""Retention: closed cases keep a child's personal data only RETENTION_YEARS (default 5) years.

Every day the job empties `Case.personal` (name, birth date, village, caregiver, phone, free text,
photo id) and the free-text notes of the case history for cases closed, rejected or marked
duplicate longer ago than that. What can be counted stays: province, commune, sex, birth year,
age, groups, needs and amounts, status, dates. Each erasure is written to the audit log; the
log says how many cases, never which child. RETENTION_YEARS=0 keeps everything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.jobs import daily
from storage import audit
from storage.db import Database
from storage.models import Case, CaseEvent

log = logging.getLogger(__name__)

CLOSED_STATUSES = ("closed", "rejected", "duplicate")
BATCH = 500


@dataclass(frozen=True)
class Outcome:
    erased: int
    cutoff: datetime | None  # cases closed before this keep no personal data


def cutoff(now: datetime, years: int) -> datetime:
    """The same day and time `years` earlier (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def _closed_at():
    """When the case entered its closed status: its last status event into one, else its last update."""
    last_close = (
        select(func.max(CaseEvent.at))
        .where(CaseEvent.case_id == Case.id, col(CaseEvent.to_status).in_(CLOSED_STATUSES))
        .scalar_subquery()
    )
    return func.coalesce(last_close, Case.updated_at)


def _due(before: datetime):
    return (
        select(Case.id)
        .where(col(Case.status).in_(CLOSED_STATUSES), col(Case.personal).is_not(None), _closed_at() < before)
        .order_by(col(Case.id))
    )


async def count_due(session: AsyncSession, now: datetime, years: int) -> int:
    if years <= 0:
        return 0
    statement = select(func.count()).select_from(_due(cutoff(now, years)).subquery())
    return int((await session.exec(statement)).one())  # type: ignore[call-overload]


async def erase_batch(session: AsyncSession, now: datetime, years: int, limit: int) -> int:
    """Erase up to `limit` due cases in the caller's transaction; how many were erased."""
    ids = list(await session.exec(_due(cutoff(now, years)).limit(limit)))
    if not ids:
        return 0
    await session.exec(update(Case).where(col(Case.id).in_(ids)).values(personal=None, updated_at=now))  # type: ignore[call-overload]
    await session.exec(  # type: ignore[call-overload]
        update(CaseEvent).where(col(CaseEvent.case_id).in_(ids), col(CaseEvent.note).is_not(None)).values(note=None)
    )
    for case_id in ids:
        audit.record(session, "retention_erase", actor_id=None, case_id=case_id, detail=f"retention_years={years}", now=now)
    return len(ids)


async def erase_expired(db: Database, now: datetime, years: int) -> Outcome:
    """Erase every due case, one committed batch at a time (a crash keeps what was done)."""
    if years <= 0:
        return Outcome(0, None)
    total = 0
    while True:
        async with db.transaction() as session:
            done = await erase_batch(session, now, years, BATCH)
        total += done
        if done < BATCH:
            before = cutoff(now, years)
            log.info("retention: erased personal data of %d cases closed before %s (RETENTION_YEARS=%d)",
                     total, before.date().isoformat(), years)
            return Outcome(total, before)


@daily("retention", hour=2)
async def retention_job(app, now: datetime) -> None:  # type: ignore[no-untyped-def]
    years = app.settings.retention_years
    if years <= 0:
        log.info("retention: RETENTION_YEARS=%s, personal data of closed cases is kept", years)
        return
    await erase_expired(app.db, now, years)
