"""PostgreSQL: updates on kept connections without pre-ping, their statements gathered
(storage/pg_batches.py, storage/pg_unit.py; the inbox's transactions: storage/pg_transactions.py).

What a person must not notice: a connection the server dropped between two messages, an update
cancelled half way, a duplicate delivery, the chat changed elsewhere while an answer was being
handled. And what the database must not notice: a kept connection holds no snapshot back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from bot.app import App
from bot.core import Event
from bot.settings import Settings
from storage.models import Case, ProcessedUpdate
from storage.pg_unit import ChatUnit
from tests.support import Chat, Clock
from tests.test_report_scenarios import FULL_REPORT

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


KEPT = "application_name = 'chungtay updates'"


async def kill_kept_connections(app: App) -> int:
    """What a server restart, or a proxy dropping idle sessions, does to the bot's kept connections."""
    async with app.db.engine.connect() as conn:
        return await conn.scalar(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = current_database() AND pid <> pg_backend_pid() AND {KEPT}"))


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
    assert await kill_kept_connections(app) >= 1
    await collaborator.send(FULL_REPORT[3])
    assert "Xã/phường" in collaborator.text  # answered on a new connection, not an apology
    await collaborator.answers(*FULL_REPORT[4:], "gửi")
    assert "Mã hồ sơ" in collaborator.text


async def test_a_kept_connection_holds_no_snapshot_between_updates(app: App, collaborator: Chat) -> None:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:2])
    kept = [c for c in await update_connections(app) if c["application_name"] == "chungtay updates"]
    assert kept, "no kept update connection found"  # named, for monitoring to tell them apart
    for connection in kept:  # VACUUM and other sessions see nothing held back
        assert connection["state"] in ("idle", "idle in transaction")
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
    assert await kill_kept_connections(app) >= 1  # PostgreSQL restarted: every session ends at once
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


# ---- statements gathered across updates, checked by the chat's version (storage/pg_unit.py) ----


def read_together(monkeypatch: pytest.MonkeyPatch, updates: int = 2) -> None:
    """The first `updates` updates all read their chat before any of them goes on: what two
    workers answering one chat at the same moment do."""
    everyone_read = asyncio.Barrier(updates)
    real_open = ChatUnit.open
    waiting = {"left": updates}

    async def open_then_wait(self: ChatUnit, *args: object, **kwargs: object) -> object:
        opened = await real_open(self, *args, **kwargs)  # type: ignore[arg-type]
        if waiting["left"] > 0:
            waiting["left"] -= 1
            await everyone_read.wait()
        return opened

    monkeypatch.setattr(ChatUnit, "open", open_then_wait)


@pytest.fixture
async def second_worker(settings: Settings, clock: Clock) -> AsyncIterator[App]:
    """Another App on the same database: its own connections and its own per-chat order."""
    other = await App.open(settings, clock=clock, run_migrations=False)
    yield other
    await other.close()


@pytest.mark.parametrize("back_after", [None, timedelta(hours=2)], ids=["moving-on", "back-after-a-while"])
async def test_two_workers_answering_one_chat_at_once_lose_neither_answer(
        app: App, second_worker: App, collaborator: Chat, clock: Clock, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, back_after: timedelta | None) -> None:
    """Most answers only move the chat (gathered statements); back after a while, the person's
    row changes too (last seen), and the update runs in a transaction of its own."""
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:5])
    assert collaborator.text.startswith("(6/17)")  # the hamlet, then where the child stays: both free text
    if back_after is not None:
        clock.now += back_after
    read_together(monkeypatch)
    here, there = Chat(app, collaborator.user), Chat(second_worker, collaborator.user)
    caplog.set_level(logging.INFO, logger="bot.app")
    await asyncio.gather(here.send(FULL_REPORT[5]), there.send(FULL_REPORT[6]))
    # Both read question 6; the one saved second found the chat moved and was run again on question 7.
    assert {here.text[:6], there.text[:6]} == {"(7/17)", "(8/17)"}
    said = [r.getMessage() for r in caplog.records]
    assert any("chat changed meanwhile" in m for m in said)
    assert not any("database unavailable" in m for m in said)  # not reported as an outage
    await collaborator.answers(*FULL_REPORT[7:], "gửi")
    assert "Mã hồ sơ" in collaborator.text
    async with app.db.transaction() as session:
        (case,) = (await session.exec(select(Case))).all()
    assert {case.personal["hamlet"], case.personal["whereabouts"]} == {FULL_REPORT[5], FULL_REPORT[6]}


async def test_one_update_delivered_to_two_workers_files_one_case(
        app: App, second_worker: App, collaborator: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """The sending answer writes through the ORM session (a transaction of its own, which locks
    the chat and checks its version first): the worker that comes second finds it handled."""
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT)
    read_together(monkeypatch)
    event = Event.from_text("telegram", collaborator.user, collaborator.user, "gửi", update="delivered-twice")
    here, there = await asyncio.gather(app.handle(event), second_worker.handle(event))
    answered = [replies for replies in (here, there) if replies]
    assert len(answered) == 1 and "Mã hồ sơ" in answered[0][0].text
    async with app.db.transaction() as session:
        assert len((await session.exec(select(Case))).all()) == 1


async def test_many_people_at_once_share_statements(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    people = [await Chat.collaborator(app, user=str(700 + i)) for i in range(60)]
    await asyncio.gather(*(chat.send("/baocao") for chat in people))
    statements = {"open": 0, "save": 0}
    updates = app.db._pg_chats
    assert updates is not None
    for kind, batcher in (("open", updates.opens), ("save", updates.saves)):
        real = batcher._run_statement

        async def counted(raw: object, requests: object, real: object = real, kind: str = kind) -> object:
            statements[kind] += 1
            return await real(raw, requests)  # type: ignore[operator]

        monkeypatch.setattr(batcher, "_run_statement", counted)
    await asyncio.gather(*(chat.send(f"Em {i}") for i, chat in enumerate(people)))
    assert all(chat.text.startswith("(2/17)") for chat in people)  # each took its own answer
    assert 1 <= statements["open"] < 30 and 1 <= statements["save"] < 30


async def test_a_chat_locked_elsewhere_holds_up_no_one_elses_answer(
        app: App, collaborator: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another transaction holds one chat's row (a staff action, a notice, another worker): the
    statement that saves several chats skips it, instead of every chat in it waiting (or two
    workers' statements deadlocking); that chat's update runs again once the row is free."""
    other = await Chat.collaborator(app, user="901")
    await collaborator.send("/baocao")
    await other.send("/baocao")
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold_the_chat() -> None:
        async with app.db.engine.begin() as conn:
            await conn.execute(text("SELECT 1 FROM conversation WHERE chat_id = :chat FOR UPDATE"), {"chat": collaborator.user})
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold_the_chat())
    await holding.wait()
    read_together(monkeypatch)  # both answers read together, so they are saved in one statement
    locked = asyncio.create_task(collaborator.send(FULL_REPORT[0]))
    free = asyncio.create_task(other.send(FULL_REPORT[0]))
    await asyncio.wait_for(free, timeout=3)
    assert other.text.startswith("(2/17)")
    assert not locked.done()  # runs again until the row is free
    release.set()
    await holder
    await asyncio.wait_for(locked, timeout=10)
    assert collaborator.text.startswith("(2/17)")


# ---- first contacts, and updates that need a transaction of their own ----------------------


async def invite_code(app: App) -> str:
    from conversations.parsing import places
    from storage import people

    ward = places.search_wards(15, "Bản Hồ")[0]
    async with app.db.transaction() as session:
        return (await people.create_invite(session, 15, ward.code, now=app.clock())).code


async def test_many_people_writing_for_the_first_time_at_once_share_statements(
        app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commune's collaborators all joining after a training day: their rows are made in
    gathered statements, each person once, each welcomed to their commune."""
    updates = app.db._pg_chats
    assert updates is not None
    creating = {"statements": 0, "people": 0}
    real = updates.creates._run_statement

    async def counted(raw: object, requests: list[object]) -> object:
        creating["statements"] += 1
        creating["people"] += len(requests)
        return await real(raw, requests)  # type: ignore[arg-type]

    monkeypatch.setattr(updates.creates, "_run_statement", counted)
    codes = [await invite_code(app) for _ in range(60)]
    people = [Chat(app, user=str(800 + i)) for i in range(60)]
    await asyncio.gather(*(chat.send(f"/start {code}") for chat, code in zip(people, codes, strict=True)))
    assert all("Chào mừng bạn tham gia mạng lưới cộng tác viên bảo vệ trẻ em của Xã Bản Hồ, Lào Cai" in chat.text
               for chat in people)
    assert creating["people"] == 60 and 1 <= creating["statements"] < 30
    async with app.db.engine.connect() as conn:
        counts = (await conn.execute(text(
            "SELECT (SELECT count(*) FROM person WHERE role = 'collaborator'), "
            "(SELECT count(*) FROM conversation), (SELECT count(*) FROM invite WHERE used_by IS NOT NULL)"))).one()
    assert tuple(counts) == (60, 60, 60)
    await people[0].send("/baocao")  # and each goes on from there
    assert "(1/17)" in people[0].text


async def test_two_people_redeeming_one_invite_at_once_one_gets_it(app: App, second_worker: App) -> None:
    """Each redemption runs in a transaction of its own, on its own worker: exactly one of the
    two becomes a collaborator; the other is told the code is used, and stays a guest."""
    code = await invite_code(app)
    first, second = Chat(app, user="811"), Chat(second_worker, user="812")
    await asyncio.gather(first.send(f"/start {code}"), second.send(f"/start {code}"))
    welcomed = ["Chào mừng bạn tham gia" in chat.text for chat in (first, second)]
    refused = ["Mã mời này không đúng, đã được dùng" in chat.text for chat in (first, second)]
    assert sorted(welcomed) == [False, True] and welcomed == [not r for r in refused]
    async with app.db.engine.connect() as conn:
        roles = dict((await conn.execute(text("SELECT external_id, role FROM person WHERE external_id IN ('811', '812')"))).all())
    assert sorted(roles.values()) == ["collaborator", "guest"]


async def test_plain_statements_then_the_orm_commit_together_or_not_at_all(app: App, collaborator: Chat) -> None:
    """A handler that runs a plain statement, then asks for the ORM session: both are in the
    unit's one transaction, kept together, or undone together when the update fails."""
    from storage.models import Invite

    async def run(fail: bool) -> None:
        async with app.db.chat_unit() as unit:
            assert await unit.open("telegram", None, collaborator.user, collaborator.user) is not None
            await unit.sql.run("UPDATE invite SET province_code = 99 WHERE used_by IS NOT NULL", ())
            unit.session.add(Invite(code=f"ORM{int(fail)}", province_code=1, commune_code=1,
                                    expires_at=app.clock() + timedelta(days=1)))
            if fail:
                raise RuntimeError("the handler failed after both")

    with pytest.raises(RuntimeError):
        await run(fail=True)
    async with app.db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM invite WHERE province_code = 99 OR code LIKE 'ORM%'"))).scalar() == 0
    await run(fail=False)
    async with app.db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM invite WHERE province_code = 99 OR code = 'ORM0'"))).scalar() == 2
    await collaborator.send("/baocao")  # the chat is fine after both
    assert "(1/17)" in collaborator.text


async def test_two_workers_making_the_same_new_rows_in_opposite_orders_both_finish(app: App) -> None:
    """Two workers' first-contact statements hold the same new people in opposite orders: each
    makes its rows in key order, so one waits for the other instead of both deadlocking (which
    PostgreSQL would end after a second, failing every update of one statement)."""
    import asyncpg

    dsn = app.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:  # each new chat's row takes a moment to make, so the two statements overlap
        await first.execute(
            "CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.3); RETURN NEW; END $$; "
            "CREATE TRIGGER slow_insert BEFORE INSERT ON conversation FOR EACH ROW EXECUTE FUNCTION slow_insert()")
        updates = app.db._pg_chats
        assert updates is not None
        new = [("telegram", "9101", "9101", True, True), ("telegram", "9102", "9102", True, True)]
        results = await asyncio.gather(updates._create_many(first, new), updates._create_many(second, new[::-1]),
                                       return_exceptions=True)
        assert results == [[None, None], [None, None]]
        rows = await first.fetchval("SELECT (SELECT count(*) FROM person WHERE external_id IN ('9101', '9102')) * 10 "
                                    "+ (SELECT count(*) FROM conversation WHERE chat_id IN ('9101', '9102'))")
        assert rows == 22  # two people, two chats, each once
    finally:
        await first.execute("DROP TRIGGER IF EXISTS slow_insert ON conversation")
        await first.close()
        await second.close()
