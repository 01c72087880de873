"""The inbox: updates taken from the platform, kept until handled.

Telegram forgets an update once the next getUpdates call carries a higher offset, whether or not
the bot has handled it. Each batch is written here first, in one transaction, so updates in hand
when the process dies are handled after the restart instead of being lost. Handled ones are
deleted below a watermark; a replayed update that was in fact handled is dropped by the processed
update ids (storage/unit.py), so nothing is answered twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import InboxUpdate, utcnow
from storage.unit import Unit

# A batch can come twice: kept, then the process died before the next getUpdates said so.
_INSERT = "INSERT INTO inbox_update (channel, update_id, body, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
_RELEASE = "DELETE FROM inbox_update WHERE channel = ? AND update_id < ?"
# From where the last release stopped: on PostgreSQL a deleted row stays in the index until
# VACUUM, and a DELETE of everything below walked all of them, every poll (measured: 3.5 ms of
# the server's CPU a poll after a few thousand updates; 0.04 ms with the lower bound).
_RELEASE_FROM = "DELETE FROM inbox_update WHERE channel = ? AND update_id >= ? AND update_id < ?"


async def keep(unit: Unit, channel: str, updates: Sequence[tuple[int, dict[str, Any]]],
               handled_below: int | None = None, now: datetime | None = None,
               released_below: int | None = None) -> None:
    """Write a batch (update id, body), and forget those below `handled_below` (all handled;
    those below `released_below`, if given, are gone already). Plain SQL in the updates' own
    transaction (storage/unit.py): it runs for every batch polled, and through a session of
    its own it cost a twelfth of the bot's CPU."""
    if handled_below is not None:
        await release_below(unit, channel, handled_below, released_below)
    if updates:
        codec = unit.codec(InboxUpdate)
        received = codec.bind("received_at", now or utcnow())
        await unit.sql.many(_INSERT, [(channel, update_id, codec.bind("body", body), received) for update_id, body in updates])


async def kept(session: AsyncSession, channel: str) -> list[dict[str, Any]]:
    """What a previous run took and may not have handled, oldest first."""
    rows = await session.exec(select(InboxUpdate).where(InboxUpdate.channel == channel).order_by(col(InboxUpdate.update_id)))
    return [row.body for row in rows]


async def release_below(unit: Unit, channel: str, update_id: int, released_below: int | None = None) -> None:
    """Forget the updates below `update_id`: every one of them is handled (and those below
    `released_below` were forgotten by an earlier release of this process)."""
    if released_below is None:
        await unit.sql.run(_RELEASE, (channel, update_id))
    elif released_below < update_id:
        await unit.sql.run(_RELEASE_FROM, (channel, released_below, update_id))
