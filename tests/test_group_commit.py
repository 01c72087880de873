"""SQLite commits several updates at once (storage/db.py): no answer leaves before the commit
that holds its work, a failing update takes nothing else down with it, and a commit that fails
has every update in it tried again, once."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlmodel import select

from bot import router
from bot.app import App
from bot.core import Event
from storage import db as database_module
from storage.models import Conversation, ProcessedUpdate
from storage.unit import SQLiteStatements
from tests.support import Chat
from tests.test_report_scenarios import FULL_REPORT

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def database_file(app: App) -> Path:
    return Path(app.db.engine.url.database or "")


def committed_updates(path: Path) -> set[str]:
    """What another process would find in the file now (committed work only)."""
    with sqlite3.connect(path) as reader:
        return {row[0] for row in reader.execute("SELECT update_id FROM processed_update")}


async def people(app: App, n: int) -> list[Chat]:
    chats = [await Chat.collaborator(app, user=str(700 + i)) for i in range(n)]
    for chat in chats:
        await chat.send("/baocao")
    return chats


async def send_checked(app: App, chat: Chat, text: str, update: str, seen: list[bool]) -> None:
    event = Event.from_text("telegram", chat.user, chat.user, text, locale="vi", update=update)
    chat.replies = await app.handle(event)
    seen.append(update in committed_updates(database_file(app)))  # the answer is out now


async def test_no_answer_leaves_before_its_commit(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    chats = await people(app, 30)
    commits = []
    original = database_module.Database._committed
    monkeypatch.setattr(database_module.Database, "_committed", lambda self: (commits.append(1), original(self)))
    seen: list[bool] = []
    for step, text in enumerate(FULL_REPORT[:5]):
        await asyncio.gather(*(send_checked(app, c, text, f"g{step}-{c.user}", seen) for c in chats))
    assert len(seen) == 150 and all(seen)
    assert len(commits) < 75  # the updates were in fact grouped (150 updates)
    async with app.db.transaction() as session:
        states = {c.chat_id: c.state for c in await session.exec(select(Conversation))}
    for chat in chats:  # every answer was kept
        answers = states[chat.user]["answers"]
        assert (answers["child_name"], answers["sex"], answers["birth"]["age_years"], answers["province"]) == (FULL_REPORT[0], "male", 7, 15)
        assert len(answers) == 5 and answers["commune"]


async def test_a_failing_update_in_a_group_loses_only_itself(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    chats = await people(app, 10)
    original = router.dispatch

    async def dispatch(ctx):  # type: ignore[no-untyped-def]
        replies = await original(ctx)  # its answer was written in the group's transaction
        if ctx.event.user == "705":
            raise RuntimeError("disk full")
        return replies

    monkeypatch.setattr(router, "dispatch", dispatch)
    seen: list[bool] = []
    await asyncio.gather(*(send_checked(app, c, FULL_REPORT[0], f"f-{c.user}", seen) for c in chats))
    committed = committed_updates(database_file(app))
    assert "f-705" not in committed
    assert {f"f-{c.user}" for c in chats if c.user != "705"} <= committed
    assert "chưa được lưu" in chats[5].text
    monkeypatch.setattr(router, "dispatch", original)
    async with app.db.transaction() as session:
        states = {c.chat_id: c.state for c in await session.exec(select(Conversation))}
    assert states["705"]["answers"].get("child_name") is None
    assert all(states[c.user]["answers"]["child_name"] == FULL_REPORT[0] for c in chats if c.user != "705")
    await chats[5].send(FULL_REPORT[0])  # sent again, it is taken
    assert "Giới tính" in chats[5].text or "giới tính" in chats[5].text


async def test_a_failed_commit_has_each_update_tried_again_once(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    chats = await people(app, 8)
    original = SQLiteStatements.commit
    failures = []

    def commit_once_locked(self: SQLiteStatements) -> None:
        if not failures and self.raw.in_transaction:
            failures.append(1)
            self.raw.rollback()
            raise sa_exc.OperationalError("COMMIT", (), sqlite3.OperationalError("database is locked"))
        original(self)

    monkeypatch.setattr(SQLiteStatements, "commit", commit_once_locked)
    seen: list[bool] = []
    await asyncio.gather(*(send_checked(app, c, FULL_REPORT[0], f"c-{c.user}", seen) for c in chats))
    assert failures == [1] and all(seen)
    async with app.db.transaction() as session:
        ids = [u.update_id for u in await session.exec(select(ProcessedUpdate)) if u.update_id.startswith("c-")]
        states = {c.chat_id: c.state for c in await session.exec(select(Conversation))}
    assert sorted(ids) == sorted(f"c-{c.user}" for c in chats)
    for chat in chats:  # each answer taken once: the form moved one step, to the child's sex
        assert states[chat.user]["answers"]["child_name"] == FULL_REPORT[0]
        assert "sex" not in states[chat.user]["answers"]
        assert "Giới tính" in chat.text or "giới tính" in chat.text


async def test_an_update_cancelled_while_holding_the_writer_does_not_hold_up_the_others(app: App) -> None:
    db = app.db
    held = asyncio.Event()

    async def quick() -> None:
        async with db.unit() as unit:
            await unit.first_time("telegram", "quick")

    async def stuck() -> None:
        async with db.unit() as unit:
            await unit.first_time("telegram", "stuck")
            held.set()
            await asyncio.sleep(3600)  # a download that never ends

    first = asyncio.create_task(quick())
    second = asyncio.create_task(stuck())
    await held.wait()
    await asyncio.sleep(0.05)  # the group's commit came due while the writer was held
    assert not first.done()
    second.cancel()
    await asyncio.wait_for(first, timeout=2)
    assert committed_updates(database_file(app)) >= {"quick"}
    assert "stuck" not in committed_updates(database_file(app))
