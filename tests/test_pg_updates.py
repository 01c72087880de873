"""PostgreSQL: updates on their own kept connections (storage/pg_updates.py), without pre-ping.

What a person must not notice: a connection the server dropped between two messages, an update
cancelled half way, a duplicate delivery. And what the database must not notice: a kept
connection, waiting with its next transaction begun, holds no snapshot back.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from bot.app import App
from bot.core import Event
from storage.models import ProcessedUpdate
from tests.support import Chat
from tests.test_report_scenarios import FULL_REPORT

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


async def update_connections(app: App) -> list[dict[str, object]]:
    """The other sessions on the test's database: the kept update connections (and idle pool ones)."""
    async with app.db.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT pid, state, application_name, backend_xmin::text AS xmin, backend_xid::text AS xid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        return [dict(r._mapping) for r in rows]


async def test_a_connection_the_server_dropped_between_two_answers_loses_nothing(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:3])
    async with app.db.engine.connect() as conn:  # the server restarts its sessions, or a proxy drops them
        killed = await conn.scalar(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'"))
    assert killed >= 1  # the update connection, waiting with its next transaction begun
    await collaborator.send(FULL_REPORT[3])
    assert "Xã/phường" in collaborator.text  # answered on a new connection, not an apology
    await collaborator.answers(*FULL_REPORT[4:], "gửi")
    assert "Mã hồ sơ" in collaborator.text


async def test_a_kept_connection_holds_no_snapshot_between_updates(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:2])
    waiting = [c for c in await update_connections(app) if c["state"] == "idle in transaction"]
    assert waiting, "no kept update connection found"
    assert {c["application_name"] for c in waiting} == {"chungtay updates"}  # for monitoring to tell them apart
    for connection in waiting:  # VACUUM and other sessions see nothing held back
        assert connection["xmin"] is None and connection["xid"] is None


async def test_an_update_cancelled_mid_statement_leaves_a_working_connection(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    started = asyncio.Event()

    async def stuck() -> None:
        async with app.db.unit() as unit:
            await unit.first_time("telegram", "stuck")
            started.set()
            await unit.sql.run("SELECT pg_sleep(?)", (30,))  # a statement that never ends in time

    task = asyncio.create_task(stuck())
    await started.wait()
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for answer in FULL_REPORT[:3]:  # every connection still usable, or replaced
        await collaborator.send(answer)
    assert collaborator.text.startswith("(4/17)")
    async with app.db.transaction() as session:
        ids = {u.update_id for u in await session.exec(select(ProcessedUpdate))}
    assert "stuck" not in ids  # its transaction did not commit


async def test_a_redelivered_update_is_answered_once(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    event = Event.from_text("telegram", collaborator.user, collaborator.user, FULL_REPORT[0], update="same-update")
    first, again = await app.handle(event), await app.handle(event)
    assert first and again == []
    await collaborator.send(FULL_REPORT[1])  # the name was taken once: this answers the next question
    assert collaborator.text.startswith("(3/17)")


async def test_after_a_server_restart_the_next_answer_needs_no_retries(
        app: App, collaborator: Chat, caplog: pytest.LogCaptureFixture) -> None:
    others = [await Chat.collaborator(app, user=str(600 + i)) for i in range(6)]
    await asyncio.gather(*(chat.send("/baocao") for chat in [collaborator, *others]))  # several kept connections
    async with app.db.engine.connect() as conn:  # PostgreSQL restarted: every session ends at once
        killed = await conn.scalar(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle in transaction'"))
    assert killed >= 2
    await asyncio.sleep(0.3)  # the closed sockets reach the bot long before the next message does
    caplog.clear()
    await collaborator.send(FULL_REPORT[0])
    assert collaborator.text.startswith("(2/17)")
    assert not [r for r in caplog.records if "retrying" in r.getMessage()]  # dead ones were skipped, not tried


async def test_a_swallowed_database_error_does_not_pass_for_a_commit(app: App) -> None:
    """A handler that catches a database error and carries on: PostgreSQL has aborted the
    transaction, and the update must fail (and be answered as failed), not look committed."""
    with pytest.raises(DBAPIError):
        async with app.db.unit() as unit:
            await unit.first_time("telegram", "swallowed")
            with contextlib.suppress(DBAPIError):
                await unit.sql.run("SELECT 1 / 0", ())
    async with app.db.unit() as unit:  # nothing of it was kept, and the connection still works
        assert await unit.first_time("telegram", "swallowed")
