"""Support delivered to children (what, value, date), and broadcasts staff send through the outbox.

A delivery's free text may name people, so it is encrypted and erased with the case; its kind,
value and date are countable and stay. A broadcast is one row here plus one outbox message per
recipient (kind "broadcast", batch = the broadcast's id): progress and cancelling read and
change those messages, the sender does the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Date, String, Text, func, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import audit, outbox
from storage.crypto import EncryptedText
from storage.models import Case, CaseEvent, OutboxMessage, Person, UTCDateTime, utcnow

BROADCAST_KIND = "broadcast"
AUDIENCES = ("donors", "collaborators")


class SupportDelivery(SQLModel, table=True):
    """One delivery of help to a child: a scholarship paid, a health insurance card, rice."""

    __tablename__ = "support_delivery"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="child_case.id", index=True)
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # a NEEDS code
    what: str | None = Field(default=None, sa_column=Column(EncryptedText()))
    value: int | None = Field(default=None, sa_column=Column(BigInteger))  # VND
    delivered_on: date = Field(sa_column=Column(Date, nullable=False))
    recorded_by: int | None = Field(default=None, foreign_key="person.id")
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Broadcast(SQLModel, table=True):
    """A message staff send to many people at once: composed, previewed, confirmed, queued."""

    __tablename__ = "broadcast"

    id: int | None = Field(default=None, primary_key=True)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    audience: str = Field(sa_column=Column(String(16), nullable=False))  # donors | collaborators
    commune_code: int | None = None
    text: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="draft", sa_column=Column(String(12), nullable=False))  # draft, queued, cancelled
    total: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    queued_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


# ---- deliveries ------------------------------------------------------------------------------


async def record(session: AsyncSession, case: Case, *, kind: str, what: str | None, value: int | None,
                 delivered_on: date, actor_id: int | None, now: datetime) -> SupportDelivery:
    assert case.id is not None
    row = SupportDelivery(case_id=case.id, kind=kind, what=what, value=value, delivered_on=delivered_on,
                          recorded_by=actor_id, recorded_at=now)
    session.add(row)
    await session.flush()
    shown = f"{kind} {value if value is not None else '-'} {delivered_on.isoformat()}"
    session.add(CaseEvent(case_id=case.id, actor_id=actor_id, kind="support", note=what, at=now))
    audit.record(session, "support", actor_id=actor_id, case_id=case.id, detail=shown, now=now)
    return row


async def of_case(session: AsyncSession, case_id: int) -> list[SupportDelivery]:
    statement = select(SupportDelivery).where(SupportDelivery.case_id == case_id).order_by(col(SupportDelivery.delivered_on), col(SupportDelivery.id))
    return list(await session.exec(statement))


async def erase_notes(session: AsyncSession, case_id: int) -> int:
    result = await session.exec(
        update(SupportDelivery).where(col(SupportDelivery.case_id) == case_id, col(SupportDelivery.what).is_not(None)).values(what=None)  # type: ignore[call-overload]
    )
    return int(result.rowcount or 0)


# ---- broadcasts --------------------------------------------------------------------------------


def _audience_filter(audience: str, commune_code: int | None) -> Iterable[Any]:
    if audience == "donors":
        yield col(Person.role) == "donor"
    elif audience == "collaborators":
        yield col(Person.role) == "collaborator"
        if commune_code is not None:
            yield col(Person.commune_code) == commune_code
    else:
        raise ValueError(f"unknown audience {audience!r}")
    yield col(Person.active)
    yield col(Person.notify)  # /tatthongbao turns broadcasts off


async def recipients(session: AsyncSession, audience: str, commune_code: int | None = None) -> list[Person]:
    """Who a broadcast reaches: active people of the audience who have not opted out."""
    statement = select(Person).where(*_audience_filter(audience, commune_code)).order_by(col(Person.id))
    return list(await session.exec(statement))


async def count_recipients(session: AsyncSession, audience: str, commune_code: int | None = None) -> int:
    statement = select(func.count()).select_from(Person).where(*_audience_filter(audience, commune_code))
    return int((await session.exec(statement)).one())


async def draft(session: AsyncSession, *, audience: str, commune_code: int | None, text: str,
                actor_id: int | None, now: datetime) -> Broadcast:
    if audience not in AUDIENCES:
        raise ValueError(f"unknown audience {audience!r}")
    row = Broadcast(created_by=actor_id, audience=audience, commune_code=commune_code, text=text, created_at=now)
    session.add(row)
    await session.flush()
    return row


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def queue(session: AsyncSession, row: Broadcast, payloads: Iterable[tuple[Person, dict[str, Any]]], *,
                actor_id: int | None, now: datetime) -> int:
    """Put one outbox message per recipient, all in this transaction. Only a draft can be sent."""
    assert row.id is not None
    if row.status != "draft":
        raise ValueError(f"broadcast {row.id} is {row.status}")
    total = 0
    for person, payload in payloads:
        outbox.enqueue(session, person.channel, person.chat_id, payload, kind=BROADCAST_KIND, batch=row.id, now=now)
        total += 1
    row.status, row.total, row.queued_at = "queued", total, now
    audit.record(session, "broadcast", actor_id=actor_id, detail=f"{row.id} {row.audience} {total}", now=now)
    return total


@dataclass(frozen=True)
class Progress:
    total: int
    sent: int
    failed: int
    pending: int  # waiting, or being sent right now
    cancelled: int

    @property
    def finished(self) -> bool:
        return self.pending == 0


async def progress(session: AsyncSession, broadcast_id: int) -> Progress:
    """Counts by status of the broadcast's outbox messages."""
    statement = (
        select(OutboxMessage.status, func.count()).where(col(OutboxMessage.kind) == BROADCAST_KIND, col(OutboxMessage.batch) == broadcast_id)
        .group_by(col(OutboxMessage.status))
    )
    counts = {status: int(n) for status, n in await session.exec(statement)}
    return Progress(total=sum(counts.values()), sent=counts.get("sent", 0), failed=counts.get("failed", 0),
                    pending=counts.get("pending", 0) + counts.get("sending", 0), cancelled=counts.get("cancelled", 0))


async def cancel(session: AsyncSession, row: Broadcast, *, actor_id: int | None, now: datetime) -> int:
    """Stop what has not gone yet: pending messages of the batch become 'cancelled'."""
    assert row.id is not None
    result = await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.kind) == BROADCAST_KIND, col(OutboxMessage.batch) == row.id,  # type: ignore[call-overload]
                                    col(OutboxMessage.status) == "pending").values(status="cancelled")
    )
    stopped = int(result.rowcount or 0)
    if row.status in ("draft", "queued"):
        row.status, row.cancelled_at = "cancelled", now
    audit.record(session, "broadcast_cancel", actor_id=actor_id, detail=f"{row.id} {stopped}", now=now)
    return stopped
