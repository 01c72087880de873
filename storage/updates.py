"""Processed update ids: recorded by storage/unit.py in each update's transaction; old ones expire."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ProcessedUpdate


async def forget_before(session: AsyncSession, cutoff: datetime) -> int:
    """Old ids can go: channels stop redelivering after a day."""
    result = await session.exec(delete(ProcessedUpdate).where(ProcessedUpdate.at < cutoff))  # type: ignore[call-overload]
    return result.rowcount or 0
