"""The outbox: several senders on one database never send a message twice, keep each chat's
order, give up only on permanent failures, and pick up what a dead sender left."""

from __future__ import annotations

import asyncio
import collections
import time
from datetime import timedelta

from bot.app import App
from bot.core import Reply
from bot.delivery import OutboxSender, Pacer, Permanent, RetryLater
from storage import outbox
from tests.support import Clock, outbox_messages

FAST = {"per_second": 10_000.0, "chat_interval": 0.0}


async def fill(app: App, chats: int, per_chat: int) -> None:
    async with app.db.transaction() as session:
        for n in range(per_chat):
            for chat in range(chats):
                outbox.enqueue(session, "telegram", f"c{chat}", {"text": f"{chat}:{n}", "buttons": []}, now=app.clock())


async def test_two_senders_share_the_work_without_duplicates_and_in_order(app: App) -> None:
    await fill(app, chats=20, per_chat=10)
    received: dict[str, list[int]] = collections.defaultdict(list)

    async def send(chat: str, reply: Reply) -> None:
        await asyncio.sleep(0.001)
        received[chat].append(int(reply.text.split(":")[1]))

    senders = [OutboxSender(app, "telegram", send, pacer=Pacer(**FAST)) for _ in range(2)]
    for _ in range(30):
        if not sum(await asyncio.gather(*(s.drain_once(limit=37) for s in senders))):
            break
    assert sorted(received) == sorted(f"c{i}" for i in range(20))
    assert all(numbers == list(range(10)) for numbers in received.values()), received
    assert {m.status for m in await outbox_messages(app)} == {"sent"}


async def test_retry_after_is_respected_and_permanent_failures_stop(app: App, clock: Clock) -> None:
    await fill(app, chats=2, per_chat=2)
    calls: list[str] = []

    async def send(chat: str, reply: Reply) -> None:
        calls.append(reply.text)
        if chat == "c0" and len([c for c in calls if c.startswith("0:")]) == 1:
            raise RetryLater(30)
        if chat == "c1":
            raise Permanent("blocked by the user")

    sender = OutboxSender(app, "telegram", send, pacer=Pacer(**FAST))
    await sender.drain_once()
    rows = {m.payload["text"]: m for m in await outbox_messages(app)}
    assert rows["0:0"].status == "pending" and rows["0:0"].next_attempt_at == clock.now + timedelta(seconds=30)
    assert rows["0:1"].status == "pending"  # waits behind 0:0: order is kept
    assert rows["1:0"].status == "failed" and rows["1:1"].status == "pending"
    clock.now += timedelta(seconds=31)
    await sender.drain_once()
    rows = {m.payload["text"]: m for m in await outbox_messages(app)}
    assert rows["0:0"].status == rows["0:1"].status == "sent"
    assert calls.count("0:0") == 2 and calls.count("0:1") == 1


async def test_a_dead_senders_claim_expires(app: App, clock: Clock) -> None:
    await fill(app, chats=1, per_chat=1)
    async with app.db.transaction() as session:
        assert len(await outbox.claim(session, "telegram", now=clock.now)) == 1  # then the worker dies
    sent: list[str] = []

    async def send(chat: str, reply: Reply) -> None:
        sent.append(reply.text)

    sender = OutboxSender(app, "telegram", send, pacer=Pacer(**FAST))
    assert await sender.drain_once() == 0  # still leased
    clock.now += outbox.LEASE + timedelta(seconds=1)
    assert await sender.drain_once() == 1 and sent == ["0:0"]


def most_in_any_window(starts: list[float], window: float) -> int:
    return max(sum(1 for t in starts if s <= t < s + window) for s in starts)


async def test_pacer_spaces_sends_and_a_stall_releases_no_burst() -> None:
    pacer = Pacer(per_second=100, chat_interval=0.2)
    starts: list[float] = []

    async def send(chat: str) -> None:
        await pacer.wait(chat)
        starts.append(time.monotonic())

    await asyncio.gather(*(send(f"chat{i}") for i in range(60)))
    assert most_in_any_window(starts, 0.1) <= 12  # 100 a second: 10 per 0.1 s, a slot of slack
    assert starts[-1] - starts[0] >= 0.55
    time.sleep(0.1)  # the event loop stalls (a blocking call, a busy machine)
    starts.clear()
    await asyncio.gather(*(send(f"other{i}") for i in range(30)))
    assert most_in_any_window(starts, 0.1) <= 12  # no catch-up burst after the stall
    began = time.monotonic()
    await pacer.wait("chat0")  # the same chat again waits its own interval
    await pacer.wait("chat0")
    assert time.monotonic() - began >= 0.2 - 0.01


async def test_stopping_returns_a_long_queue_for_one_chat_instead_of_sending_it_all(app: App) -> None:
    """60 alerts for one staff chat go out 1 a second; SIGTERM must not wait a minute for them."""
    await fill(app, chats=1, per_chat=60)
    sent: list[str] = []

    async def send(chat: str, reply: Reply) -> None:
        sent.append(reply.text)

    sender = OutboxSender(app, "telegram", send, pacer=Pacer(per_second=30.0, chat_interval=0.2))
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0.5)
    stop.set()
    began = time.monotonic()
    await asyncio.wait_for(running, timeout=5)
    assert time.monotonic() - began < 1.0
    assert 1 <= len(sent) < 10
    rows = await outbox_messages(app)
    assert sorted(m.payload["text"] for m in rows if m.status == "sent") == sorted(sent)
    unsent = [m for m in rows if m.status == "pending"]
    assert len(unsent) == 60 - len(sent)
    # Given back, not left leased: the next start sends them at once, in order.
    again: list[str] = []

    async def send_again(chat: str, reply: Reply) -> None:
        again.append(reply.text)

    await OutboxSender(app, "telegram", send_again, pacer=Pacer(**FAST)).drain_once()
    assert again == [f"0:{n}" for n in range(len(sent), 60)]


async def test_a_number_typed_after_a_notice_picks_the_notices_option(app: App) -> None:
    """On Zalo a reminder's options are numbered lines: «1» must mean its first option, not the
    first option of whatever the person was last answered."""
    from bot.core import Button
    from tests.support import Chat

    person = Chat(app, "555")
    await person.send("xin chào")  # the main menu: its «1» is something else
    help_text = (await person.send("/trogiup"))[0].text
    await person.send("xin chào")
    notice = Reply("Nhắc việc", buttons=((Button("Xem trợ giúp", "m:trogiup"),),))
    await app.enqueue("telegram", "555", [notice], kind="notice")

    async def send(chat: str, reply: Reply) -> None:
        pass

    assert await OutboxSender(app, "telegram", send, pacer=Pacer(**FAST)).drain_once() == 1
    assert (await person.send("1"))[0].text == help_text
