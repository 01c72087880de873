"""Cases: creating them from a finished (or emergency) report, numbering them, listing them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import counters
from storage.deadlines import emergency_deadline
from storage.models import Case, CaseEvent, Need, utcnow
from storage.priority import priority_score

STATUSES = ("new", "verified", "in_support", "supported", "closed", "rejected", "duplicate")
OPEN_STATUSES = ("new", "verified", "in_support")


@dataclass(frozen=True)
class CaseData:
    """What a report says about a child, split into countable fields and encrypted personal ones."""

    province_code: int
    commune_code: int | None = None
    sex: str | None = None
    birth_year: int | None = None
    age_years: int | None = None
    age_estimated: bool = False
    groups: tuple[str, ...] = ()
    household: str | None = None
    relation: str | None = None
    danger: bool = False
    donor_consent: str = "not_asked"
    photo_consent: bool = False
    needs: Mapping[str, int | None] = field(default_factory=dict)  # kind -> estimated VND
    personal: Mapping[str, Any] = field(default_factory=dict)
    complete: bool = True
    source: str = "chat"


async def new_code(session: AsyncSession, prefix: str, now: datetime) -> str:
    """`HP-2026-000123`: province prefix, year, a number that never repeats within them."""
    number = await counters.next_number(session, f"case:{prefix}:{now.year}")
    return f"{prefix}-{now.year}-{number:06d}"


def _apply(case: Case, data: CaseData, now: datetime) -> None:
    score = priority_score(
        danger=data.danger, groups=data.groups, age_years=data.age_years,
        household=data.household, needs=data.needs.keys(),
    )
    case.province_code, case.commune_code = data.province_code, data.commune_code
    case.sex, case.birth_year, case.age_years = data.sex, data.birth_year, data.age_years
    case.age_estimated, case.groups = data.age_estimated, list(data.groups)
    case.household, case.relation, case.danger = data.household, data.relation, data.danger
    case.donor_consent, case.photo_consent = data.donor_consent, data.photo_consent
    case.personal, case.complete, case.source = dict(data.personal), data.complete, data.source
    case.priority, case.priority_parts = score.total, [list(p) for p in score.parts]
    if data.danger and case.respond_by is None:
        case.respond_by = emergency_deadline(now)
    case.updated_at = now


async def _replace_needs(session: AsyncSession, case_id: int, needs: Mapping[str, int | None]) -> None:
    await session.exec(delete(Need).where(col(Need.case_id) == case_id))  # type: ignore[call-overload]
    for kind, amount in needs.items():
        session.add(Need(case_id=case_id, kind=kind, amount=amount))


async def create(
    session: AsyncSession, data: CaseData, *, prefix: str, reporter_id: int | None, now: datetime | None = None
) -> Case:
    now = now or utcnow()
    case = Case(code=await new_code(session, prefix, now), reporter_id=reporter_id,
                province_code=data.province_code, created_at=now)
    _apply(case, data, now)
    session.add(case)
    await session.flush()
    assert case.id is not None
    await _replace_needs(session, case.id, data.needs)
    session.add(CaseEvent(case_id=case.id, actor_id=reporter_id, kind="emergency" if data.danger and not data.complete else "created", to_status=case.status, at=now))
    return case


async def complete(session: AsyncSession, case: Case, data: CaseData, *, actor_id: int | None, now: datetime | None = None) -> Case:
    """Fill in a case opened early (the emergency path) with the finished report."""
    now = now or utcnow()
    _apply(case, data, now)
    assert case.id is not None
    await _replace_needs(session, case.id, data.needs)
    session.add(CaseEvent(case_id=case.id, actor_id=actor_id, kind="completed", to_status=case.status, at=now))
    return case


async def get(session: AsyncSession, case_id: int) -> Case | None:
    return await session.get(Case, case_id)


async def by_code(session: AsyncSession, code: str) -> Case | None:
    return (await session.exec(select(Case).where(Case.code == code.strip().upper()))).first()


async def of_reporter(session: AsyncSession, person_id: int | list[int], limit: int = 20) -> list[Case]:
    """Cases reported by a person (or by any of their linked accounts)."""
    ids = person_id if isinstance(person_id, list) else [person_id]
    statement = (
        select(Case).where(col(Case.reporter_id).in_(ids))
        .order_by(col(Case.created_at).desc(), col(Case.id).desc()).limit(limit)
    )
    return list(await session.exec(statement))


async def needs_of(session: AsyncSession, case_id: int) -> list[Need]:
    return list(await session.exec(select(Need).where(Need.case_id == case_id).order_by(col(Need.id))))


async def history(session: AsyncSession, case_id: int) -> list[CaseEvent]:
    statement = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.at), col(CaseEvent.id))
    return list(await session.exec(statement))
