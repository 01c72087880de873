"""At-most-once processing: an update id is recorded in the same transaction as its effects."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedUpdate, utcnow
from storage.sql import insert


async def first_time(session: AsyncSession, channel: str, update_id: str) -> bool:
    """Record the update; False if it was already processed (a redelivery)."""
    statement = (
        insert(session, ProcessedUpdate)
        .values(channel=channel, update_id=update_id, at=utcnow())
        .on_conflict_do_nothing()
        .returning(ProcessedUpdate.update_id)
    )
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]


async def forget_before(session: AsyncSession, cutoff: datetime) -> int:
    """Old ids can go: channels stop redelivering after a day."""
    result = await session.exec(delete(ProcessedUpdate).where(ProcessedUpdate.at < cutoff))  # type: ignore[call-overload]
    return result.rowcount or 0
