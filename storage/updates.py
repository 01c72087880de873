"""Processed update ids: recorded with each update's work (storage/unit.py, storage/pg_unit.py),
so a redelivered update is answered once; old ones expire (bot/ops/housekeeping.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import InboxUpdate, ProcessedUpdate

# Channels redeliver for a day at most (Telegram keeps an update 24 hours); a week is ample.
KEEP_FOR = timedelta(days=7)
FORGET_BATCH = 5_000  # ids deleted per transaction: SQLite's one writer is held that long only


async def cutoff(session: AsyncSession, now: datetime) -> datetime:
    """Before this, ids can go: a week ago, or earlier if the inbox still holds an older update
    (taken before a long stop: it is replayed at start and must still be recognised)."""
    oldest_kept = await session.scalar(select(func.min(InboxUpdate.received_at)))
    week_ago = now - KEEP_FOR
    return min(week_ago, oldest_kept) if oldest_kept is not None else week_ago


async def forget_before(session: AsyncSession, before: datetime, limit: int) -> int:
    """Delete up to `limit` ids recorded before `before`; how many went."""
    oldest = select(ProcessedUpdate.channel, ProcessedUpdate.update_id).where(ProcessedUpdate.at < before).limit(limit)
    key = tuple_(ProcessedUpdate.channel, ProcessedUpdate.update_id)  # type: ignore[arg-type]
    result = await session.exec(delete(ProcessedUpdate).where(key.in_(oldest)))  # type: ignore[call-overload]
    return result.rowcount or 0
