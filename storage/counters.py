"""Named counters shared by every worker: sequences, and 'has this run today' claims."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Counter
from storage.sql import insert


async def next_number(session: AsyncSession, name: str) -> int:
    """An atomic counter: safe with several workers on PostgreSQL and several connections on SQLite."""
    statement = (
        insert(session, Counter)
        .values(name=name, value=1)
        .on_conflict_do_update(index_elements=["name"], set_={"value": Counter.value + 1})  # type: ignore[operator]
        .returning(Counter.value)
    )
    return int((await session.exec(statement)).one()[0])  # type: ignore[call-overload]


async def claim(session: AsyncSession, name: str, value: int) -> bool:
    """Set the counter to `value` if it is lower: True for the one caller that moved it."""
    statement = (
        insert(session, Counter)
        .values(name=name, value=value)
        .on_conflict_do_update(index_elements=["name"], set_={"value": value}, where=Counter.value < value)  # type: ignore[operator]
        .returning(Counter.value)
    )
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]
