"""The case process staff run (Decree 56/2017, Chapter III): verify, assess risk, plan, support,
close, or reject and mark duplicates; questions to the reporter; re-checks; erasure.

Every change writes a CaseEvent (the case's history) and an AuditEntry (who did what), in the
caller's transaction. Process dates that the case table has no column for (verification, plan
due, emergency handled, last re-check, erasure) live in `case_track`, one row per case, created
the first time staff act on it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Column, ForeignKey, Integer, func, or_, update
from sqlalchemy.orm import defer
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import audit, support
from storage.crypto import EncryptedText
from storage.deadlines import is_overdue, plan_deadline
from storage.models import Case, CaseEvent, Person, UTCDateTime, utcnow
from storage.sql import insert

RISKS = ("high", "medium", "low")  # Cao / Trung bình / Thấp (Decree 56/2017, form Mẫu 06)
CONSENTS = ("yes", "no", "not_asked")
ACTIVE_STATUSES = ("new", "verified", "in_support", "supported")  # still on the list
VERIFIED_STATUSES = ("verified", "in_support", "supported")  # coverage counts these
RECHECK_STATUSES = ACTIVE_STATUSES
ADJUST_PART = "adjust"  # the priority part a staff adjustment adds

# Which status may follow which. Rejected and duplicate are final; a closed file stays closed.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"verified", "rejected", "duplicate"}),
    "verified": frozenset({"in_support", "supported", "closed", "duplicate"}),
    "in_support": frozenset({"supported", "closed", "duplicate"}),
    "supported": frozenset({"closed"}),
    "closed": frozenset(),
    "rejected": frozenset(),
    "duplicate": frozenset(),
}


# Lists never need the encrypted document: not decrypting it is faster and reads nothing personal.
NO_PERSONAL = defer(Case.personal)  # type: ignore[arg-type]


class NotAllowed(ValueError):
    """The change does not fit where the case is (e.g. publishing without consent)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # a short code; bot/ turns it into words


class CaseTrack(SQLModel, table=True):
    """Process dates of one case. Created lazily; absent means staff have not acted yet."""

    __tablename__ = "case_track"

    case_id: int = Field(sa_column=Column(Integer, ForeignKey("child_case.id"), primary_key=True, autoincrement=False))
    verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    verified_by: int | None = Field(default=None, foreign_key="person.id")
    plan_due: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    plan_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    handled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))  # emergency acted on
    duplicate_of: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("child_case.id")))
    supported_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))  # first delivery
    checked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))  # last re-check
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ReporterQuestion(SQLModel, table=True):
    """A question staff relay to the person who reported a case, and their answer."""

    __tablename__ = "reporter_question"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="child_case.id", index=True)
    asked_by: int | None = Field(default=None, foreign_key="person.id")
    reporter_id: int = Field(foreign_key="person.id", index=True)
    question: str | None = Field(default=None, sa_column=Column(EncryptedText()))
    asked_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    answer: str | None = Field(default=None, sa_column=Column(EncryptedText()))
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


# ---- helpers -------------------------------------------------------------------------------


async def track(session: AsyncSession, case_id: int) -> CaseTrack:
    row = await session.get(CaseTrack, case_id)
    if row is None:
        row = CaseTrack(case_id=case_id)
        session.add(row)
    return row


async def track_of(session: AsyncSession, case_id: int) -> CaseTrack | None:
    return await session.get(CaseTrack, case_id)


def _event(session: AsyncSession, case: Case, kind: str, actor_id: int | None, now: datetime,
           note: str | None = None, to_status: str | None = None, from_status: str | None = None) -> None:
    assert case.id is not None
    session.add(CaseEvent(case_id=case.id, actor_id=actor_id, kind=kind, from_status=from_status,
                          to_status=to_status, note=note, at=now))


def _move(session: AsyncSession, case: Case, to_status: str, kind: str, actor_id: int | None, now: datetime,
          note: str | None = None) -> None:
    """Change status if the process allows it; history and audit in the same transaction."""
    before = case.status
    if to_status not in TRANSITIONS.get(before, frozenset()):
        raise NotAllowed(f"status:{before}->{to_status}")
    case.status, case.updated_at = to_status, now
    _event(session, case, kind, actor_id, now, note=note, to_status=to_status, from_status=before)
    # Free text (a reason, a plan) stays in the case event, which erasure empties; the
    # append-only audit log keeps only what changed.
    audit.record(session, "status", actor_id=actor_id, case_id=case.id, detail=f"{before}->{to_status}", now=now)


def _require_status(case: Case, allowed: Collection[str]) -> None:
    if case.status not in allowed:
        raise NotAllowed(f"status:{case.status}")


# ---- the process ---------------------------------------------------------------------------


async def verify(session: AsyncSession, case: Case, *, actor_id: int | None, now: datetime,
                 holidays: Collection[date] = ()) -> CaseTrack:
    """Verified: the 5-working-day clock for the support plan starts now."""
    assert case.id is not None
    if not case.complete:
        raise NotAllowed("incomplete")
    _move(session, case, "verified", "verified", actor_id, now)
    row = await track(session, case.id)
    row.verified_at, row.verified_by = now, actor_id
    row.plan_due = plan_deadline(now, holidays)
    if case.danger and row.handled_at is None:
        row.handled_at = now  # verifying an emergency is acting on it
    return row


async def reject(session: AsyncSession, case: Case, reason: str, *, actor_id: int | None, now: datetime) -> None:
    _move(session, case, "rejected", "rejected", actor_id, now, note=reason)
    await _settle_emergency(session, case, now)


async def mark_duplicate(session: AsyncSession, case: Case, original: Case, *, actor_id: int | None, now: datetime) -> None:
    assert case.id is not None and original.id is not None
    if case.id == original.id:
        raise NotAllowed("same_case")
    if original.status in ("duplicate", "rejected"):
        raise NotAllowed("original_not_valid")
    _move(session, case, "duplicate", "duplicate", actor_id, now, note=original.code)
    if case.published_at is not None:
        await unpublish(session, case, actor_id=actor_id, now=now)
    row = await track(session, case.id)
    row.duplicate_of = original.id
    await _settle_emergency(session, case, now)


async def _settle_emergency(session: AsyncSession, case: Case, now: datetime) -> None:
    if case.danger:
        assert case.id is not None
        row = await track(session, case.id)
        row.handled_at = row.handled_at or now


async def record_handled(session: AsyncSession, case: Case, note: str, *, actor_id: int | None, now: datetime) -> None:
    """The emergency intervention (Decree 56/2017: within 12 hours) was made."""
    assert case.id is not None
    if not case.danger:
        raise NotAllowed("not_emergency")
    _require_status(case, ACTIVE_STATUSES)
    row = await track(session, case.id)
    if row.handled_at is not None:
        raise NotAllowed("already_handled")
    row.handled_at = now
    _event(session, case, "handled", actor_id, now, note=note)
    audit.record(session, "handled", actor_id=actor_id, case_id=case.id, now=now)


async def set_risk(session: AsyncSession, case: Case, risk: str, *, actor_id: int | None, now: datetime) -> None:
    if risk not in RISKS:
        raise ValueError(f"unknown risk {risk!r}")
    _require_status(case, ACTIVE_STATUSES)
    before = case.risk
    case.risk, case.updated_at = risk, now
    _event(session, case, "risk", actor_id, now, note=f"{before or '-'}->{risk}")
    audit.record(session, "risk", actor_id=actor_id, case_id=case.id, detail=f"{before or '-'}->{risk}", now=now)


def rubric(case: Case) -> tuple[int, list[list[object]]]:
    """The written rubric's score of a case, without any staff adjustment."""
    parts = [p for p in case.priority_parts if p and p[0] != ADJUST_PART]
    return min(100, sum(int(p[1]) for p in parts)), parts  # type: ignore[call-overload]


async def adjust_priority(session: AsyncSession, case: Case, score: int, reason: str, *,
                          actor_id: int | None, now: datetime) -> None:
    """Set the score staff judge right; the difference from the rubric is kept as its own part."""
    if not 0 <= score <= 100:
        raise ValueError("score must be 0-100")
    _require_status(case, ACTIVE_STATUSES)
    base, parts = rubric(case)
    before = case.priority
    if score != base:
        parts = [*parts, [ADJUST_PART, score - base]]
    case.priority, case.priority_parts, case.updated_at = score, parts, now
    _event(session, case, "priority", actor_id, now, note=f"{before}->{score}: {reason}")
    audit.record(session, "priority", actor_id=actor_id, case_id=case.id, detail=f"{before}->{score}", now=now)


async def set_consent(session: AsyncSession, case: Case, consent: str, *, actor_id: int | None, now: datetime) -> bool:
    """Record the representative's answer; withdrawing it takes the needs off the donors' list.
    True when the case was unpublished by this."""
    if consent not in CONSENTS:
        raise ValueError(f"unknown consent {consent!r}")
    before = case.donor_consent
    case.donor_consent, case.updated_at = consent, now
    _event(session, case, "consent", actor_id, now, note=f"{before}->{consent}")
    audit.record(session, "consent", actor_id=actor_id, case_id=case.id, detail=f"{before}->{consent}", now=now)
    if consent != "yes" and case.published_at is not None:
        await unpublish(session, case, actor_id=actor_id, now=now)
        return True
    return False


async def publish(session: AsyncSession, case: Case, *, actor_id: int | None, now: datetime, has_needs: bool) -> None:
    """Show the anonymised needs to donors: only verified cases, only with consent recorded."""
    if case.donor_consent != "yes":
        raise NotAllowed("no_consent")
    _require_status(case, VERIFIED_STATUSES)
    if not has_needs:
        raise NotAllowed("no_needs")
    if case.published_at is not None:
        raise NotAllowed("already_published")
    case.published_at, case.updated_at = now, now
    _event(session, case, "published", actor_id, now)
    audit.record(session, "publish", actor_id=actor_id, case_id=case.id, now=now)


async def unpublish(session: AsyncSession, case: Case, *, actor_id: int | None, now: datetime) -> None:
    if case.published_at is None:
        raise NotAllowed("not_published")
    case.published_at, case.updated_at = None, now
    _event(session, case, "unpublished", actor_id, now)
    audit.record(session, "unpublish", actor_id=actor_id, case_id=case.id, now=now)


async def record_plan(session: AsyncSession, case: Case, plan: str, *, actor_id: int | None, now: datetime) -> None:
    """The support/intervention plan is made: the case is now being supported."""
    assert case.id is not None
    _move(session, case, "in_support", "plan", actor_id, now, note=plan)
    row = await track(session, case.id)
    row.plan_at = now


async def record_supported(session: AsyncSession, case: Case, *, actor_id: int | None, now: datetime) -> bool:
    """After a delivery: the child counts as supported. True when the status changed."""
    assert case.id is not None
    row = await track(session, case.id)
    row.supported_at = row.supported_at or now
    if case.status in ("verified", "in_support"):
        _move(session, case, "supported", "supported", actor_id, now)
        return True
    return False


async def close(session: AsyncSession, case: Case, reason: str, *, actor_id: int | None, now: datetime) -> None:
    """The file is closed; its needs leave the donors' list."""
    _move(session, case, "closed", "closed", actor_id, now, note=reason)
    if case.published_at is not None:
        await unpublish(session, case, actor_id=actor_id, now=now)


async def erase(session: AsyncSession, case: Case, reason: str, *, actor_id: int | None, now: datetime) -> int:
    """Destroy the personal data of a case on a lawful request (Law 91/2025/QH15); keep the
    countable columns so the summaries still add up. Returns how many notes were destroyed."""
    assert case.id is not None
    case.personal, case.updated_at = None, now
    notes = await session.exec(
        update(CaseEvent).where(col(CaseEvent.case_id) == case.id, col(CaseEvent.note).is_not(None)).values(note=None)  # type: ignore[call-overload]
    )
    questions = await session.exec(
        update(ReporterQuestion).where(col(ReporterQuestion.case_id) == case.id).values(question=None, answer=None)  # type: ignore[call-overload]
    )
    deliveries = await support.erase_notes(session, case.id)
    row = await track(session, case.id)
    row.erased_at = now
    _event(session, case, "erased", actor_id, now)
    audit.record(session, "erase", actor_id=actor_id, case_id=case.id, detail=reason, now=now)
    return int(notes.rowcount or 0) + int(questions.rowcount or 0) + deliveries


# ---- questions to the reporter ----------------------------------------------------------------


async def ask_reporter(session: AsyncSession, case: Case, question: str, *, actor_id: int | None, now: datetime) -> ReporterQuestion:
    assert case.id is not None
    if case.reporter_id is None:
        raise NotAllowed("no_reporter")
    row = ReporterQuestion(case_id=case.id, asked_by=actor_id, reporter_id=case.reporter_id, question=question, asked_at=now)
    session.add(row)
    await session.flush()
    _event(session, case, "question", actor_id, now, note=question)
    audit.record(session, "ask_reporter", actor_id=actor_id, case_id=case.id, now=now)
    return row


async def question(session: AsyncSession, question_id: int) -> ReporterQuestion | None:
    return await session.get(ReporterQuestion, question_id)


async def answer_question(session: AsyncSession, row: ReporterQuestion, text: str, *, actor_id: int | None, now: datetime) -> Case:
    """The reporter's answer, attached to the case's history."""
    if row.answered_at is not None:
        raise NotAllowed("already_answered")
    row.answer, row.answered_at = text, now
    case = await session.get(Case, row.case_id)
    assert case is not None
    _event(session, case, "answer", actor_id, now, note=text)
    return case


async def questions_of(session: AsyncSession, case_id: int) -> list[ReporterQuestion]:
    statement = select(ReporterQuestion).where(ReporterQuestion.case_id == case_id).order_by(col(ReporterQuestion.id))
    return list(await session.exec(statement))


# ---- lists ---------------------------------------------------------------------------------


async def queue(session: AsyncSession, *, offset: int = 0, limit: int = 5) -> tuple[list[Case], int]:
    """New, unverified cases: children in danger first, then by priority, then oldest first."""
    where = col(Case.status) == "new"
    total = (await session.exec(select(func.count()).select_from(Case).where(where))).one()
    statement = (
        select(Case).where(where)
        .order_by(col(Case.danger).desc(), col(Case.priority).desc(), col(Case.created_at), col(Case.id))
        .offset(offset).limit(limit).options(NO_PERSONAL)
    )
    return list(await session.exec(statement)), int(total)


async def duplicate_candidates(session: AsyncSession, case: Case, limit: int = 200) -> list[Case]:
    """Cases that might be the same child: same commune (or province when the commune is
    unknown), birth year within one year, not already a duplicate or rejected. The caller
    compares the decrypted names."""
    statement = select(Case).where(col(Case.id) != case.id, col(Case.status).not_in(("duplicate", "rejected")))
    if case.commune_code is not None:
        statement = statement.where(Case.commune_code == case.commune_code)
    else:
        statement = statement.where(Case.province_code == case.province_code)
    if case.birth_year is not None:
        statement = statement.where(or_(col(Case.birth_year).is_(None), col(Case.birth_year).between(case.birth_year - 1, case.birth_year + 1)))
    statement = statement.order_by(col(Case.created_at).desc()).limit(limit)
    return list(await session.exec(statement))


@dataclass(frozen=True)
class Overdue:
    case: Case
    kind: str  # "emergency" (12 hours) or "plan" (5 working days)
    deadline: datetime


def _emergency_open():
    """Cases in danger whose emergency nobody has acted on yet."""
    handled = select(CaseTrack.case_id).where(col(CaseTrack.case_id) == col(Case.id), col(CaseTrack.handled_at).is_not(None))
    return (col(Case.status) == "new") & col(Case.danger) & col(Case.respond_by).is_not(None) & ~handled.exists()


async def overdue(session: AsyncSession, now: datetime, *, soon: timedelta = timedelta(0), limit: int = 200) -> list[Overdue]:
    """Deadlines passed (or passing within `soon`): emergencies not acted on in 12 hours, and
    verified cases without a support plan 5 working days on. Most late first."""
    horizon = now + soon
    emergencies = await session.exec(
        select(Case).where(_emergency_open(), col(Case.respond_by) < horizon).order_by(col(Case.respond_by)).limit(limit).options(NO_PERSONAL)
    )
    items = [Overdue(c, "emergency", c.respond_by) for c in emergencies if c.respond_by is not None]
    plans = await session.exec(
        select(Case, CaseTrack.plan_due).join(CaseTrack, col(CaseTrack.case_id) == col(Case.id))
        .where(col(CaseTrack.plan_at).is_(None), col(CaseTrack.plan_due) < horizon, col(Case.status) == "verified")
        .order_by(col(CaseTrack.plan_due)).limit(limit).options(NO_PERSONAL)
    )
    items += [Overdue(c, "plan", due) for c, due in plans if due is not None]
    return sorted(items, key=lambda o: o.deadline)


def late(item: Overdue, now: datetime) -> bool:
    return is_overdue(item.deadline, now)


async def count_overdue(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """(emergencies, plans) past their deadline: what /tomtat shows and the digest counts."""
    emergencies = (await session.exec(
        select(func.count()).select_from(Case).where(_emergency_open(), col(Case.respond_by) < now)
    )).one()
    verified = select(Case.id).where(col(Case.status) == "verified")  # from the status index, no case rows read
    plans = (await session.exec(
        select(func.count()).select_from(CaseTrack)
        .where(col(CaseTrack.plan_at).is_(None), col(CaseTrack.plan_due) < now, col(CaseTrack.case_id).in_(verified))
    )).one()
    return int(emergencies), int(plans)


# ---- re-checks (rà soát) ---------------------------------------------------------------------


@dataclass(frozen=True)
class DueCase:
    """What a re-check reminder needs of a case (no personal data, no full row)."""

    id: int
    code: str
    province_code: int
    commune_code: int | None
    created_at: datetime
    reporter_id: int


async def due_rechecks(session: AsyncSession, now: datetime, *, every: timedelta, remind_again: timedelta = timedelta(days=7),
                       limit: int = 5_000, per_reporter: int = 24) -> list[tuple[Person, list[DueCase]]]:
    """Open cases whose reporter (an active collaborator) has not re-checked them for `every`,
    longest-unchecked first, grouped by reporter. A case already reminded is reminded again
    only after `remind_again`. At most `limit` cases a run and `per_reporter` per person: a
    backlog (after an import, say) is spread over the following days instead of one flood."""
    last_check = func.coalesce(CaseTrack.checked_at, Case.created_at)
    statement = (
        select(Case.id, Case.code, Case.province_code, Case.commune_code, Case.created_at, Case.reporter_id)
        .join(Person, col(Person.id) == col(Case.reporter_id))
        .outerjoin(CaseTrack, col(CaseTrack.case_id) == col(Case.id))
        .where(
            col(Case.status).in_(RECHECK_STATUSES), col(Person.role) == "collaborator", col(Person.active),
            col(Case.created_at) <= now - every, last_check <= now - every,
            or_(col(CaseTrack.reminded_at).is_(None), col(CaseTrack.reminded_at) <= now - remind_again,
                col(CaseTrack.reminded_at) < last_check),
        )
        .order_by(last_check, col(Case.id)).limit(limit)
    )
    grouped: dict[int, list[DueCase]] = {}
    for row in await session.exec(statement):
        due = DueCase(*row)
        mine = grouped.setdefault(due.reporter_id, [])
        if len(mine) < per_reporter:
            mine.append(due)
    reporters = {p.id: p for p in await session.exec(select(Person).where(col(Person.id).in_(list(grouped))))}
    return [(reporters[rid], sorted(found, key=lambda d: d.created_at)) for rid, found in sorted(grouped.items())]


async def mark_reminded(session: AsyncSession, case_ids: Sequence[int], now: datetime) -> None:
    """One statement per 500 cases, whether or not they have a process row yet."""
    for start in range(0, len(case_ids), 500):
        values = [{"case_id": i, "reminded_at": now} for i in case_ids[start : start + 500]]
        statement = insert(session, CaseTrack).values(values)
        statement = statement.on_conflict_do_update(index_elements=["case_id"], set_={"reminded_at": statement.excluded.reminded_at})
        await session.exec(statement)


async def record_recheck(session: AsyncSession, case: Case, *, actor_id: int | None, now: datetime, change: str | None = None) -> None:
    """The reporter looked at the child again: 'no change', or what changed."""
    assert case.id is not None
    _require_status(case, RECHECK_STATUSES)
    row = await track(session, case.id)
    row.checked_at = now
    _event(session, case, "recheck_changed" if change else "recheck", actor_id, now, note=change)
