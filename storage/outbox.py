"""The outbox: messages to other people, written in the same transaction as their cause.

A sender (one per channel) drains it after commit, marks a message sent only once the
platform accepted it, and retries failures with back-off; a restart resumes where it stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, text, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, utcnow

MAX_ATTEMPTS = 12


def enqueue(session: AsyncSession, channel: str, chat_id: str, payload: dict[str, Any], kind: str = "notice",
            batch: int | None = None, now: datetime | None = None) -> OutboxMessage:
    now = now or utcnow()
    message = OutboxMessage(channel=channel, chat_id=chat_id, payload=payload, kind=kind, batch=batch,
                            next_attempt_at=now, created_at=now)
    session.add(message)
    return message


_UNSENT = ("pending", "sending")  # "sending": claimed, not yet accepted by the platform
CLAIM_LOCK = 0x0C7A_0B0C  # advisory lock key: claims are serialised across workers (PostgreSQL)
LEASE = timedelta(seconds=60)


async def claim(session: AsyncSession, channel: str, limit: int = 200, now: datetime | None = None) -> list[OutboxMessage]:
    """Take due messages for sending: several workers can drain one outbox, and still only one
    sender at a time holds a given chat (its messages go out in order). A claim is a lease: a
    worker that dies mid-send leaves its messages to be taken again when the lease runs out."""
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        await session.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=CLAIM_LOCK))  # type: ignore[call-overload]
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    takeable = or_(table.c.status == "pending", table.c.status == "sending")
    # A chat is busy while one of its messages is out (a live lease) or waiting to be tried again:
    # its later messages wait too, or they would overtake it.
    busy = select(table.c.chat_id).where(table.c.channel == channel, takeable, table.c.next_attempt_at > now)
    candidates = (
        select(table.c.id)
        .where(table.c.channel == channel, takeable, table.c.next_attempt_at <= now, table.c.chat_id.not_in(busy))
        .order_by(table.c.id)
        .limit(limit)
    )
    statement = (
        update(table)
        .where(table.c.id.in_(candidates), takeable, table.c.next_attempt_at <= now)
        .values(status="sending", next_attempt_at=now + LEASE)
        .returning(table.c.id)
    )
    ids = [row[0] for row in (await session.exec(statement)).all()]  # type: ignore[call-overload]
    if not ids:
        return []
    rows = await session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).order_by(col(OutboxMessage.id)))
    return list(rows)


async def due(session: AsyncSession, channel: str | None = None, limit: int = 100, now: datetime | None = None) -> list[OutboxMessage]:
    """Pending messages whose time has come, oldest first (per chat order follows ids)."""
    statement = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= (now or utcnow()))
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    if channel is not None:
        statement = statement.where(OutboxMessage.channel == channel)
    return list(await session.exec(statement))


async def mark_sent(session: AsyncSession, message_id: int, now: datetime | None = None) -> None:
    message = await session.get(OutboxMessage, message_id)
    if message is not None:
        message.status, message.sent_at = "sent", now or utcnow()


async def mark_failed(session: AsyncSession, message_id: int, error: str, retry_after: float | None = None,
                      now: datetime | None = None, permanent: bool = False) -> None:
    """Retry later (back-off doubling from 2 s, or the platform's retry_after); give up after many
    tries, or at once when the failure is permanent (the person blocked the bot)."""
    message = await session.get(OutboxMessage, message_id)
    if message is None:
        return
    message.attempts += 1
    message.last_error = error[:200]
    message.status = "pending"
    if permanent:
        message.status = "failed"
        return
    delay = retry_after if retry_after is not None else min(2 ** message.attempts, 600)
    message.next_attempt_at = (now or utcnow()) + timedelta(seconds=delay)
    if message.attempts >= MAX_ATTEMPTS:
        message.status = "failed"


async def release(session: AsyncSession, ids: list[int], now: datetime | None = None) -> None:
    """Claimed but not attempted: back to pending, due now."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    statement = update(table).where(table.c.id.in_(ids), table.c.status == "sending").values(status="pending", next_attempt_at=now or utcnow())
    await session.exec(statement)  # type: ignore[call-overload]


async def depth(session: AsyncSession) -> int:
    statement = select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.status).in_(_UNSENT))
    return (await session.exec(statement)).one()  # type: ignore[call-overload]


async def waiting_for(session: AsyncSession, channel: str, chat_id: str) -> bool:
    """Whether a message to this chat is still to be sent."""
    statement = select(OutboxMessage.id).where(
        OutboxMessage.channel == channel, OutboxMessage.chat_id == chat_id,
        col(OutboxMessage.status).in_(_UNSENT)).limit(1)
    return (await session.exec(statement)).first() is not None
