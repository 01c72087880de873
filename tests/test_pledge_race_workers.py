"""Two workers, 200 donors pledging on the same 10 needs at once: totals never exceed the needs.

Ten children each need 1.000.000 ₫. Two hundred donors, twenty per need, each fill in the pledge
form for 120.000–300.000 ₫ (4.020.000 ₫ asked per need), then all confirm at the same moment,
half of them through one worker and half through the other. Whoever does not fit is told so in
Vietnamese and offered what is left; those who take the offer fill each need exactly.

Two workers on one database, two ways:
- two `App` instances in this process, each with its own Database and engine, on SQLite (one
  file, two connections) and PostgreSQL;
- two real bot processes, `python -m bot run --workers 2` in webhook mode, behind the loopback Bot
  API server, on PostgreSQL (the deployment several workers are for).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest
from sqlmodel import select

from bot.app import App
from bot.settings import Settings
from storage.models import Person
from tests.conftest import TEST_POSTGRES_URL
from tests.fakes.telegram_api import Call, FakeTelegramAPI
from tests.support import Chat, Clock, postgres
from tests.support.loop_thread import LoopThread
from tests.support.process import bot_env, cli
from tests.support.telegram import TOKEN
from tests.support.workers import (
    ESTABLISHED,
    free_port,
    sockets_on,
    start_workers,
    stop_workers,
    wait_listening,
)
from tests.test_donor_helpers import BANK, all_pledges, code_of, donor, need_of, publish, with_bank

NEEDS, DONORS, NEED = 10, 200, 1_000_000
STEP_TIMEOUT = 30.0

# What the bot says (bot/donors/pledging.py, conversations/donor_forms.py), as donors read it.
ASK_KIND = "Bạn muốn ủng hộ bằng tiền hay hiện vật?"
ASK_AMOUNT = "Bạn muốn ủng hộ bao nhiêu?"
ASK_MESSAGE = "Lời nhắn tới gia đình trẻ"
SUMMARY = "Kiểm tra lại «Cam kết ủng hộ»"
WON = re.compile(r"✅ Cảm ơn bạn! Đã ghi cam kết (UH-[A-Z0-9]{6}): ([\d.]+)\xa0₫ cho «Học tập, học bổng» của trẻ TE-(\w+)\.")
TAKEN_FIRST = re.compile(r"Trong lúc bạn xác nhận, nhà hảo tâm khác đã cam kết trước: nhu cầu này giờ chỉ còn thiếu "
                         r"([\d.]+)\xa0₫, chưa đủ cho ([\d.]+)\xa0₫ của bạn\. Cam kết của bạn chưa được ghi\.")
FILLED_FIRST = ("Nhu cầu này vừa được nhà hảo tâm khác cam kết đủ ngay trước bạn, nên cam kết của bạn chưa được ghi. "
                "Cảm ơn tấm lòng của bạn!")
FILLED_AT_TAP = "Các nhu cầu của trẻ này vừa được cam kết đủ. Cảm ơn tấm lòng của bạn!"
ANOTHER_CHILD = ("Một trẻ khác đang cần giúp:", "Hiện chưa có trẻ nào khác đang chờ.")
AFTER_RECEIPT = "Xem các cam kết của bạn: /daungho"
ERROR = "Xin lỗi, có lỗi"
END = (AFTER_RECEIPT, *ANOTHER_CHILD)  # the last message of an answer to «gửi» or to an offer


def vnd(text: str) -> int:
    return int(text.replace(".", ""))


@dataclass(frozen=True)
class Target:
    case_id: int
    need_id: int
    code: str


@dataclass(frozen=True)
class Attempt:
    user: str
    need: int  # index into the targets
    amount: int
    worker: int


AMOUNTS = (120_000, 210_000, 300_000)  # multiples of 30.000 ₫: no mix of them is exactly 1.000.000 ₫


def plan() -> list[Attempt]:
    """Donor i pledges on need i % 10 through worker (i // 10) % 2: ten per need on each worker,
    the three amounts mixed on both (4.020.000 ₫ asked of each 1.000.000 ₫ need). No mix of the
    amounts makes 1.000.000 ₫, so every need is left a little short until someone takes the rest."""
    return [Attempt(str(30_000 + i), i % NEEDS, AMOUNTS[(i // 20) % 3], (i // NEEDS) % 2) for i in range(DONORS)]


@dataclass
class Outcome:
    ref: str | None = None  # recorded: the pledge reference the donor was given
    amount: int = 0  # what the donor asked for, or what was recorded
    offer: str | None = None  # refused, offered what was left (callback data)
    left: int | None = None


class Donor(Protocol):
    attempt: Attempt

    async def ask(self, *, until: Sequence[str], text: str | None = None, button: str | None = None) -> str: ...
    def buttons(self) -> list[tuple[str, str]]: ...  # (label, callback data) of the last answer


def answered(donor: Donor, said: str, step: str, until: Sequence[str]) -> str:
    """Every step gets an answer, never an apology for an error, and the one expected."""
    who = f"donor {donor.attempt.user} after {step!r}"
    assert said, f"{who}: no answer"
    assert ERROR not in said, f"{who}: {said}"
    assert any(u in said for u in until), f"{who}: expected one of {until}, got {said!r}"
    return said


async def say(donor: Donor, step: str, until: Sequence[str], *, button: bool = False) -> str:
    said = await (donor.ask(until=until, button=step) if button else donor.ask(until=until, text=step))
    return answered(donor, said, step, until)


async def to_summary(donor: Donor, code: str) -> None:
    """/ungho TE-…, money, the amount, no message: the confirmation summary with that amount."""
    await say(donor, f"/ungho TE-{code}", [ASK_KIND])
    await say(donor, "1", [ASK_AMOUNT])
    await say(donor, f"{donor.attempt.amount // 1000}k", [ASK_MESSAGE])
    summary = await say(donor, "bỏ qua", [SUMMARY])
    assert f"Số tiền: {donor.attempt.amount:,}\xa0₫".replace(",", ".") in summary, summary


def judge(donor: Donor, said: str, target: Target, amount: int) -> Outcome:
    """Recorded with a reference for exactly `amount`, or refused in plain Vietnamese."""
    who = f"donor {donor.attempt.user}"
    if (won := WON.search(said)) is not None:
        assert (vnd(won[2]), won[3]) == (amount, target.code), f"{who}: {said}"
        assert "chưa được ghi" not in said, f"{who}: {said}"
        return Outcome(ref=won[1], amount=amount)
    assert "Đã ghi cam kết" not in said and any(a in said for a in ANOTHER_CHILD), f"{who}: {said}"
    if (taken := TAKEN_FIRST.search(said)) is not None:
        left = vnd(taken[1])
        assert vnd(taken[2]) == amount and 0 < left < amount, f"{who}: {said}"
        offer = f"m:ungho:{target.code}:{target.need_id}"
        label = f"💛 Cam kết {left:,}\xa0₫".replace(",", ".")
        assert (label, offer) in donor.buttons(), f"{who}: {said} {donor.buttons()}"
        return Outcome(amount=amount, offer=offer, left=left)
    assert FILLED_FIRST in said, f"{who}: refused without saying why: {said}"
    return Outcome(amount=amount)


async def confirm(donor: Donor, target: Target, amount: int) -> Outcome:
    return judge(donor, await say(donor, "gửi", END), target, amount)


async def take_the_rest(donor: Donor, target: Target, outcome: Outcome) -> list[Outcome]:
    """Refused with an offer of what is left: take it («tất cả»), as often as it is offered."""
    results = []
    while outcome.offer is not None:
        assert len(results) < 5, f"donor {donor.attempt.user}: offered the rest over and over"
        opened = await say(donor, outcome.offer, [ASK_KIND, *END], button=True)
        if ASK_KIND not in opened:  # someone else filled it in the meantime
            assert FILLED_AT_TAP in opened, opened
            break
        await say(donor, "1", [ASK_AMOUNT])
        await say(donor, "tất cả", [ASK_MESSAGE])
        summary = await say(donor, "bỏ qua", [SUMMARY])
        shown = re.search(r"Số tiền: ([\d.]+)\xa0₫", summary)
        assert shown is not None, summary
        amount = vnd(shown[1])
        outcome = await confirm(donor, target, amount)
        results.append(outcome)
    return results


@dataclass
class Tally:
    """Who got what, per need, in the order the rounds happened."""

    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)

    def add(self, user: str, outcome: Outcome) -> None:
        self.outcomes.setdefault(user, []).append(outcome)

    def recorded(self) -> dict[str, tuple[str, int]]:
        return {o.ref: (user, o.amount) for user, outs in self.outcomes.items() for o in outs if o.ref}


async def race(donors: Sequence[Donor], targets: Sequence[Target], app: App) -> Tally:
    """The whole scenario; `app` only reads the database between the rounds."""
    await asyncio.gather(*(to_summary(d, targets[d.attempt.need].code) for d in donors))
    first = await asyncio.gather(*(confirm(d, targets[d.attempt.need], d.attempt.amount) for d in donors))
    tally = Tally()
    for d, outcome in zip(donors, first, strict=True):
        tally.add(d.attempt.user, outcome)
    await check_stored(app, targets, donors, tally)

    for index, target in enumerate(targets):
        need = await need_of(app, target.case_id)
        left = NEED - need.pledged
        assert left > 0, "no mix of the amounts fills a need exactly"
        asked = sum(d.attempt.amount for d in donors if d.attempt.need == index)
        assert asked > NEED, "the scenario must ask more than each need"
        for d, outcome in zip(donors, first, strict=True):
            if d.attempt.need != index or outcome.ref is not None:
                continue
            # Refused only when it did not fit: what is left now was left then too.
            assert outcome.amount > left, f"donor {d.attempt.user} refused {outcome.amount} while {left} was still needed"
            assert outcome.left is None or outcome.left >= left
            assert outcome.left is not None or left == 0, f"donor {d.attempt.user} told the need was full; {left} is left"

    rest = await asyncio.gather(*(take_the_rest(d, targets[d.attempt.need], o) for d, o in zip(donors, first, strict=True)))
    for d, outcomes in zip(donors, rest, strict=True):
        for outcome in outcomes:
            tally.add(d.attempt.user, outcome)
    await check_stored(app, targets, donors, tally)
    for index, target in enumerate(targets):  # those offered the rest took it: every need is exactly filled
        need = await need_of(app, target.case_id)
        assert need.pledged == need.amount == NEED
        took = [o for d, outs in zip(donors, rest, strict=True) if d.attempt.need == index for o in outs if o.ref]
        assert len(took) == 1, f"need {target.code}: the rest taken by {len(took)} donors"
    return tally


async def check_stored(app: App, targets: Sequence[Target], donors: Sequence[Donor], tally: Tally) -> None:
    """The database says what the donors were told: their pledges, and no need over-pledged."""
    async with app.db.transaction() as session:
        people = {p.id: p.external_id for p in await session.exec(select(Person).where(Person.channel == "telegram"))}
    stored = await all_pledges(app)
    by_user = {d.attempt.user: d.attempt for d in donors}
    told = tally.recorded()
    assert {p.ref for p in stored} == set(told), "pledges recorded and pledges confirmed to donors differ"
    for pledge in stored:
        user, amount = told[pledge.ref]
        assert people[pledge.donor_id] == user and pledge.amount == amount and pledge.kind == "money"
        assert pledge.need_id == targets[by_user[user].need].need_id
    for target in targets:
        need = await need_of(app, target.case_id)
        total = sum(p.amount or 0 for p in stored if p.need_id == target.need_id)
        assert total == need.pledged <= need.amount == NEED, f"need {target.code}: pledges {total}, pledged {need.pledged}"


async def set_up(app: App, attempts: Sequence[Attempt]) -> list[Target]:
    """Ten published children with one 1.000.000 ₫ need each; the 200 donors registered."""
    targets = []
    for index in range(NEEDS):
        case = await publish(app, needs={"education": NEED}, priority=90 - index)
        assert case.id is not None
        targets.append(Target(case.id, (await need_of(app, case.id)).id or 0, await code_of(app, case.id)))
    for attempt in attempts:
        await donor(app, attempt.user)
    return targets


# ---- two App instances in one process ------------------------------------------------------------


class ChatDonor:
    """A donor talking to the App of one worker, on that worker's own event loop and thread."""

    def __init__(self, chat: Chat, attempt: Attempt, worker: LoopThread) -> None:
        self.chat, self.attempt, self.worker = chat, attempt, worker

    async def ask(self, *, until: Sequence[str], text: str | None = None, button: str | None = None) -> str:
        await self.worker.run(self.chat.press(button) if button is not None else self.chat.send(text or ""))
        return self.chat.text

    def buttons(self) -> list[tuple[str, str]]:
        return [(b.label, b.data) for r in self.chat.replies for b in r.flat_buttons()]


async def test_two_apps_on_one_database_never_over_pledge(settings: Settings, clock: Clock) -> None:
    """Each App has its own Database (engine, connections, in-process SQLite writer lock) and runs
    on its own thread, so on SQLite two connections really contend for the one file."""
    threads = [LoopThread("worker-0"), LoopThread("worker-1")]
    apps: list[App] = []
    observer = await App.open(settings, clock=clock)  # sets up and reads back; serves no donor
    try:
        for thread in threads:
            apps.append(await thread.run(App.open(settings, clock=clock)))
        assert len({id(app.db.engine) for app in (*apps, observer)}) == 3
        for app in (*apps, observer):
            with_bank(app)
        attempts = plan()
        targets = await set_up(observer, attempts)
        donors = [ChatDonor(Chat(apps[a.worker], a.user), a, threads[a.worker]) for a in attempts]
        tally = await race(donors, targets, observer)
        # Both workers took part. (Which one wins the pledges is up to the race: on SQLite one
        # connection can hold the file's write lock through a whole burst, so "both won" flaked.)
        answered = {a.worker for a in attempts if tally.outcomes[a.user]}
        assert answered == {0, 1}, "both workers answered their donors"
    finally:
        for thread, app in zip(threads, apps, strict=False):
            await thread.run(app.close())
        for thread in threads:
            await thread.close()
        await observer.close()


# ---- two bot processes: `python -m bot run --workers 2` in webhook mode --------------------------


class TelegramDonor:
    """A donor on Telegram: pushes an update, waits for the bot's whole answer in that chat."""

    def __init__(self, api: FakeTelegramAPI, attempt: Attempt, arrived: asyncio.Event) -> None:
        self.api, self.attempt, self.id, self.arrived = api, attempt, int(attempt.user), arrived
        self.before = 0

    def _calls(self) -> list[Call]:
        return self.api.sent_to(self.id)[self.before:]

    @property
    def text(self) -> str:
        return "\n\n".join(c.text or "" for c in self._calls())

    def buttons(self) -> list[tuple[str, str]]:
        return [(b.get("text", ""), b.get("callback_data", "")) for c in self._calls() for b in c.buttons]

    async def ask(self, *, until: Sequence[str], text: str | None = None, button: str | None = None) -> str:
        self.before = len(self.api.sent_to(self.id))
        if button is not None:
            self.api.push_callback(self.id, button)
        else:
            self.api.push_text(self.id, text or "")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STEP_TIMEOUT
        while True:
            self.arrived.clear()
            said = self.text
            if said and (any(u in said for u in until) or ERROR in said):
                return said
            try:
                await asyncio.wait_for(self.arrived.wait(), timeout=max(0.0, deadline - loop.time()))
            except TimeoutError:
                return said  # `answered` says what was missing


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database: several bot processes are deployed on PostgreSQL only."""
    if not await postgres.reachable(TEST_POSTGRES_URL):
        pytest.skip(f"PostgreSQL not reachable at {TEST_POSTGRES_URL} (set TEST_POSTGRES_URL): "
                    "several bot workers need it; test_two_apps_on_one_database_never_over_pledge covers SQLite")
    name = f"ct_{uuid.uuid4().hex[:12]}"
    await postgres.create_database(TEST_POSTGRES_URL, name)
    try:
        yield postgres.with_database(TEST_POSTGRES_URL, name)
    finally:
        await postgres.drop_database(TEST_POSTGRES_URL, name)


async def test_two_bot_processes_never_over_pledge(tmp_path: Path, postgres_url: str) -> None:
    port = free_port()
    attempts = plan()
    async with FakeTelegramAPI(token=TOKEN) as api:
        # No staff: their alerts about 100+ new pledges go to one chat at Telegram's one message a
        # second, and are not what this test is about (test_outbox.py is).
        env = bot_env(api, tmp_path, "ptb", DATABASE_URL=postgres_url, WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
                      WEBHOOK_LISTEN=f"127.0.0.1:{port}", WEBHOOK_SECRET=uuid.uuid4().hex, STAFF_IDS="",
                      **{key.upper(): value for key, value in BANK.items()})
        await cli(env, "migrate")
        settings = Settings(_env_file=None, database_url=postgres_url, data_key=env["DATA_KEY"])
        app = await App.open(settings, run_migrations=False)
        try:
            targets = await set_up(app, attempts)
            arrivals = {int(a.user): asyncio.Event() for a in attempts}
            api.listeners.append(lambda call: arrivals[call.chat_id].set() if call.chat_id in arrivals else None)
            donors = [TelegramDonor(api, a, arrivals[int(a.user)]) for a in attempts]
            supervisor = await start_workers(env, 2, tmp_path / "workers.log")
            try:
                workers = await wait_listening(supervisor, 2, port)
                tally = await race(donors, targets, app)
                await api.wait_idle(timeout=STEP_TIMEOUT, settle=0.3)
                accepted = {pid: sockets_on(pid, port, ESTABLISHED) for pid in workers}
                assert all(accepted.values()), f"each worker took webhook connections: {accepted}"
            finally:
                code = await stop_workers(supervisor)
            log = (tmp_path / "workers.log").read_text(errors="replace")
            assert code == 0, log
            assert "Traceback" not in log and "handler failed" not in log, log
            assert sum(1 for outs in tally.outcomes.values() for o in outs if o.ref) == len(await all_pledges(app))
        finally:
            await app.close()
        assert api.errors == []
