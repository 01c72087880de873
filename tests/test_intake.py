"""Updates taken from Telegram are never lost: a bot that dies with updates in hand (fetched,
maybe confirmed by the next getUpdates, not yet handled) handles them after its restart, and
those it had handled are not handled again."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlmodel import select

from bot.app import App
from bot.delivery import Transient
from bot.intake import Intake
from storage.models import InboxUpdate


def update(update_id: int, text: str) -> dict[str, Any]:
    chat = {"id": 700 + update_id, "type": "private"}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 0, "chat": chat, "text": text}}


class Telegram:
    """getUpdates as Telegram does it: updates below the offset are confirmed and never come again."""

    def __init__(self, updates: list[dict[str, Any]]) -> None:
        self.pending = list(updates)
        self.offsets: list[int | None] = []
        self.failures = 0

    async def fetch(self, offset: int | None, timeout: int) -> list[dict[str, Any]]:
        self.offsets.append(offset)
        if self.failures:
            self.failures -= 1
            raise Transient("502") if self.failures % 2 else KeyError("result")  # a 502, then a garbled answer
        if offset is not None:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        if not self.pending:
            await asyncio.sleep(3600)  # a long poll with nothing to say
        return self.pending[:2]  # small batches: the second getUpdates confirms the first


async def until(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def kept_ids(app: App) -> list[int]:
    async with app.db.transaction() as session:
        return [row.update_id for row in await session.exec(select(InboxUpdate))]


async def crash(intake: Intake) -> None:
    """kill -9: nothing finishes, nothing is cleaned up."""
    assert intake._polling is not None
    intake._polling.cancel()
    if intake._starting is not None:
        intake._starting.cancel()
    for task in list(intake._tasks):
        task.cancel()
    await asyncio.sleep(0)


async def test_updates_in_hand_when_the_bot_dies_are_handled_after_the_restart(app: App) -> None:
    telegram = Telegram([update(i, f"câu {i}") for i in range(1, 6)])
    started: list[int] = []
    stuck = asyncio.Event()  # never set: the first run hangs in every handler, then dies

    async def hang(u: dict[str, Any]) -> None:
        started.append(u["update_id"])
        await stuck.wait()

    first = Intake(app, "telegram", hang)
    await first.start_polling(telegram.fetch)
    await until(lambda: started == [1, 2, 3, 4, 5])
    await until(lambda: len(telegram.offsets) >= 4)
    assert telegram.offsets == [None, 3, 5, 6] and telegram.pending == []  # Telegram has forgotten all five
    await crash(first)
    assert await kept_ids(app) == [1, 2, 3, 4, 5]

    handled: list[str] = []

    async def record(u: dict[str, Any]) -> None:
        handled.append(u["message"]["text"])

    second = Intake(app, "telegram", record)
    await second.start_polling(telegram.fetch)
    await until(lambda: len(handled) >= 5)
    await asyncio.sleep(0.05)
    assert handled == [f"câu {i}" for i in range(1, 6)]  # from the inbox, in order, once each
    await second.stop(grace=1)
    assert await kept_ids(app) == []  # all handled: the inbox is empty after a clean stop


async def test_a_busy_bot_takes_the_next_batch_while_the_last_waits_and_loses_neither(app: App) -> None:
    """Every slot busy: the batch that waits for room is kept, and the next one is fetched and
    kept meanwhile (a bot that stopped polling until room came idled between batches); one
    more waits at Telegram. Killed then, the restart handles every one of them (those Telegram
    sends again are dropped by their update ids, storage/unit.py)."""
    telegram = Telegram([update(i, f"câu {i}") for i in range(1, 7)])
    started: list[int] = []
    stuck = asyncio.Event()

    async def hang(u: dict[str, Any]) -> None:
        started.append(u["update_id"])
        await stuck.wait()

    first = Intake(app, "telegram", hang, max_in_flight=1)
    await first.start_polling(telegram.fetch)
    await until(lambda: telegram.offsets == [None, 3])
    await asyncio.sleep(0.1)
    assert started == [1]  # 2 waits for room, 3 and 4 behind it
    assert telegram.offsets == [None, 3]  # no further: a batch waiting and a batch in hand at most
    assert await kept_ids(app) == [1, 2, 3, 4]  # Telegram has forgotten 1 and 2; the inbox has not
    await crash(first)

    handled: list[int] = []

    async def record(u: dict[str, Any]) -> None:
        handled.append(u["update_id"])

    second = Intake(app, "telegram", record, max_in_flight=1)
    await second.start_polling(telegram.fetch)
    await until(lambda: set(handled) == {1, 2, 3, 4, 5, 6})
    assert handled[:4] == [1, 2, 3, 4]  # the inbox's first, in order
    await second.stop(grace=1)
    assert await kept_ids(app) == []


async def test_getupdates_failures_are_retried_and_handled_updates_leave_the_inbox(app: App) -> None:
    telegram = Telegram([update(i, "xin chào") for i in range(1, 5)])
    telegram.failures = 2
    handled: list[int] = []

    async def record(u: dict[str, Any]) -> None:
        handled.append(u["update_id"])

    intake = Intake(app, "telegram", record)
    await intake.start_polling(telegram.fetch)
    await until(lambda: handled == [1, 2, 3, 4], timeout=10)  # after two failed getUpdates (0.25 s, 0.5 s)
    await intake.stop(grace=1)
    assert await kept_ids(app) == []


async def test_handled_updates_leave_the_inbox_as_polling_goes_on(app: App) -> None:
    """Each poll forgets what was handled since the last one (from where that one stopped, so
    PostgreSQL does not walk every row deleted before), and a clean stop leaves nothing."""
    telegram = Telegram([update(i, "câu trả lời") for i in range(1, 42)])
    handled: list[int] = []

    async def record(u: dict[str, Any]) -> None:
        handled.append(u["update_id"])

    intake = Intake(app, "telegram", record)
    await intake.start_polling(telegram.fetch)
    await until(lambda: len(handled) == 41 and not intake._in_flight, timeout=10)
    await asyncio.sleep(0.05)
    assert all(kept >= 38 for kept in await kept_ids(app))  # 20 polls, each forgot the batch before
    await intake.stop(grace=1)
    assert await kept_ids(app) == []


async def test_updates_telegram_sends_again_after_a_restart_do_not_stay_in_the_inbox(app: App) -> None:
    """Killed after keeping a batch, before the next getUpdates told Telegram: after the restart
    Telegram sends it again, and it is kept again below what was already released."""
    pending = [update(1, "một"), update(2, "hai")]
    calls = 0

    async def telegram(offset: int | None, timeout: int) -> list[dict[str, Any]]:
        nonlocal calls, pending
        calls += 1
        if calls == 2:  # the first run dies while this getUpdates is on its way: 1 and 2 never confirmed
            await asyncio.sleep(3600)
        if offset is not None:
            pending = [u for u in pending if u["update_id"] >= offset]
        if not pending:
            await asyncio.sleep(3600)
        return pending[:2]

    handled: list[int] = []

    async def record(u: dict[str, Any]) -> None:
        handled.append(u["update_id"])

    first = Intake(app, "telegram", record)
    await first.start_polling(telegram)
    await until(lambda: calls == 2 and handled == [1, 2])
    await crash(first)
    assert await kept_ids(app) == [1, 2]  # handled, but Telegram was never told
    second = Intake(app, "telegram", record)
    await second.start_polling(telegram)  # the inbox's two first, then getUpdates brings them again
    await until(lambda: calls >= 4)
    await asyncio.sleep(0.05)
    await second.stop(grace=1)
    assert await kept_ids(app) == []
