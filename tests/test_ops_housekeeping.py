"""Processed update ids expire after a week (bot/ops/housekeeping.py): the table stops growing
with every message, and a redelivery within the week is still answered once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

import bot.ops  # noqa: F401  registers the daily jobs
from bot import jobs
from bot.app import App
from bot.core import Event
from bot.ops import housekeeping
from storage import updates
from storage.models import InboxUpdate, ProcessedUpdate, utcnow
from tests.support import Chat, Clock


async def ids(app: App) -> set[str]:
    async with app.db.transaction() as session:
        return {u.update_id for u in await session.exec(select(ProcessedUpdate))}


async def age(app: App, days: float, *update_ids: str) -> None:
    """Ids are stamped with the wall clock when recorded: make them older."""
    async with app.db.transaction() as session:
        for u in await session.exec(select(ProcessedUpdate).where(col(ProcessedUpdate.update_id).in_(update_ids))):
            u.at = utcnow() - timedelta(days=days)
            session.add(u)


async def test_ids_older_than_a_week_are_forgotten_once_a_night(app: App, clock: Clock) -> None:
    person = Chat(app, "8001")
    old = Event.from_text("telegram", person.user, person.user, "/help", update="old")
    recent = Event.from_text("telegram", person.user, person.user, "/help", update="recent")
    await app.handle(old)
    await app.handle(recent)
    await age(app, 8, "old")
    await age(app, 6, "recent")
    night = clock.now.replace(hour=20, minute=30)  # 03:30 in Vietnam
    assert jobs.JOBS["forget_processed_updates"].hour == 3
    assert "forget_processed_updates" in await jobs.run_due(app, night)
    assert await ids(app) == {"recent"}
    assert await app.handle(recent) == []  # still recognised: answered once


async def test_the_inbox_keeps_ids_its_updates_need(app: App, clock: Clock) -> None:
    """An update taken before a long stop is replayed at start: its id must still be known."""
    person = Chat(app, "8002")
    await app.handle(Event.from_text("telegram", person.user, person.user, "/help", update="10"))
    await age(app, 10, "10")
    async with app.db.transaction() as session:
        session.add(InboxUpdate(channel="telegram", update_id=10, body={"update_id": 10},
                                received_at=utcnow() - timedelta(days=10, minutes=1)))
    await housekeeping.forget_processed_updates(app, clock.now)
    assert await ids(app) == {"10"}


async def test_many_ids_go_in_batches(app: App, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(updates, "FORGET_BATCH", 3)
    person = Chat(app, "8003")
    for n in range(10):
        await app.handle(Event.from_text("telegram", person.user, person.user, "/help", update=f"u{n}"))
    await age(app, 8, *(f"u{n}" for n in range(10)))
    await housekeeping.forget_processed_updates(app, clock.now)
    assert await ids(app) == set()
