"""The outbox: messages to other people, written in the same transaction as their cause.

A sender (one per channel) drains it after commit, marks a message sent only once the
platform accepted it, and retries failures with back-off; a restart resumes where it stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import OutboxMessage, utcnow

MAX_ATTEMPTS = 12


def enqueue(session: AsyncSession, channel: str, chat_id: str, payload: dict[str, Any], kind: str = "notice", batch: int | None = None) -> OutboxMessage:
    message = OutboxMessage(channel=channel, chat_id=chat_id, payload=payload, kind=kind, batch=batch)
    session.add(message)
    return message


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
    if permanent:
        message.status = "failed"
        return
    delay = retry_after if retry_after is not None else min(2 ** message.attempts, 600)
    message.next_attempt_at = (now or utcnow()) + timedelta(seconds=delay)
    if message.attempts >= MAX_ATTEMPTS:
        message.status = "failed"


async def depth(session: AsyncSession) -> int:
    statement = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
    return (await session.exec(statement)).one()  # type: ignore[call-overload]
