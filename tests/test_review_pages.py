"""Paged lists driven by typed numbers, as on Zalo and the local chat (no buttons: every option is a
numbered line, and a typed number picks the Nth option of the last reply).

The number a person reads next to an item must be the number that opens it, on every page:
page 2 of /choduyet once numbered its cases 6, 7… while a typed "6" meant its sixth option.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import col, select

from bot.app import App
from bot.settings import Settings
from storage import people
from storage.models import Case, Person
from tests.support import Chat
from tests.support.zalo import ZaloUser, running_bot, zalo_id
from tests.test_donor_helpers import code_of, donor, publish
from tests.test_staff_helpers import BAN_HO, LAO_CAI, make_case

ZALO_STAFF = zalo_id(9001)
CHANNELS = ("zalo", "local", "telegram")  # Telegram users may type the number too
_CASE_LINE = re.compile(r"^(\d+)\. (?:🚨 )?([A-Z]{3}-\d{4}-\d{6}) · ", re.MULTILINE)


async def staff_on(app: App, channel: str) -> Chat:
    user = ZALO_STAFF if channel == "zalo" else f"77{len(channel)}"
    async with app.db.transaction() as session:
        await people.set_role(session, channel, user, "staff")
    return Chat(app, user, channel=channel)


async def queue_of(app: App, n: int) -> list[Case]:
    """`n` cases waiting for review, priorities all different (the queue's order is theirs)."""
    groups = [("a", "d"), ("l",), ("h",), ("a",), ("other",)]
    return [await make_case(app, groups=groups[i % 5], age_years=1 + i, danger=i == 3) for i in range(n)]


def listed(text: str) -> dict[int, str]:
    """{number shown in the list's text: case code}; the options' own lines are not list lines."""
    return {int(n): code for n, code in _CASE_LINE.findall(text)}


def option(text: str, label: str) -> str:
    """The number to type for the option whose label is `label`."""
    found = re.search(rf"^(\d+)\. {re.escape(label)}$", text, re.MULTILINE)
    assert found, f"no option {label!r} in:\n{text}"
    return found[1]


@pytest.mark.parametrize("channel", CHANNELS)
async def test_every_number_shown_on_page_two_opens_that_case(app: App, channel: str) -> None:
    await queue_of(app, 8)
    staff = await staff_on(app, channel)
    await staff.send("/choduyet")
    first = listed(staff.text)
    assert sorted(first) == [1, 2, 3, 4, 5]
    await staff.send(option(staff.text, "Trang sau ➡️"))
    assert "(trang 2/2)" in staff.text
    second = listed(staff.text)
    assert sorted(second) == [1, 2, 3], staff.text  # numbered like the options, not 6, 7, 8
    assert not set(second.values()) & set(first.values())
    for number, code in second.items():
        await staff.send("/choduyet 2")
        await staff.send(str(number))
        assert f"📁 Hồ sơ {code} · " in staff.text, (number, staff.text)


async def test_a_middle_page_numbers_its_cases_then_previous_and_next(app: App) -> None:
    cases = await queue_of(app, 12)
    staff = await staff_on(app, "zalo")
    await staff.send("/choduyet 2")
    page = listed(staff.text)
    assert sorted(page) == [1, 2, 3, 4, 5]
    assert {c.code for c in cases} >= set(page.values())
    text = staff.text
    assert option(text, "⬅️ Trang trước") == "6" and option(text, "Trang sau ➡️") == "7"
    await staff.send("5")
    assert f"📁 Hồ sơ {page[5]} · " in staff.text
    await staff.send("/choduyet 2")
    await staff.send("7")
    assert "(trang 3/3)" in staff.text and sorted(listed(staff.text)) == [1, 2]
    await staff.send("3")  # the last page's «Trang trước»
    assert "(trang 2/3)" in staff.text and listed(staff.text) == page


async def test_past_the_last_page_numbers_the_last_page_from_one(app: App) -> None:
    await queue_of(app, 7)
    staff = await staff_on(app, "local")
    await staff.send("/choduyet 9")
    assert "(trang 2/2)" in staff.text
    page = listed(staff.text)
    assert sorted(page) == [1, 2]
    await staff.send("2")
    assert f"📁 Hồ sơ {page[2]} · " in staff.text


async def test_collaborators_page_two_typed_number_pauses_the_one_shown(app: App) -> None:
    async with app.db.transaction() as session:
        for i in range(17):
            person = await people.get_or_create(session, "telegram", str(600 + i), str(600 + i), role="collaborator")
            person.province_code, person.commune_code = LAO_CAI, BAN_HO
    staff = await staff_on(app, "zalo")
    await staff.send("/ctv 2")
    assert "(trang 2/2)" in staff.text
    first_shown = re.search(r"^#(\d+) · ", staff.text, re.MULTILINE)
    assert first_shown
    await staff.send(option(staff.text, f"⏸ Tạm dừng #{first_shown[1]}"))
    assert f"#{first_shown[1]}" in staff.text
    async with app.db.transaction() as session:
        paused = list(await session.exec(select(Person.id).where(col(Person.role) == "collaborator", col(Person.active).is_(False))))
    assert paused == [int(first_shown[1])]


async def test_donor_needs_page_two_typed_number_pledges_to_the_child_shown(app: App) -> None:
    made = [await publish(app, priority=p) for p in (90, 80, 70, 60, 50, 40, 30)]
    chat = await donor(app, "707")  # on Telegram, typing the number instead of tapping
    await chat.send("/nhucau 2")
    assert "trang 2/2" in chat.text
    second = await code_of(app, made[6].id)
    await chat.send(option(chat.text, f"💛 Ủng hộ TE-{second}"))
    assert f"TE-{second}" in chat.text and "Bạn muốn ủng hộ bằng tiền hay hiện vật?" in chat.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the channel runs; the core tests cover PostgreSQL
async def test_zalo_staff_types_page_two_numbers_through_the_zalo_api(settings: Settings) -> None:
    async with running_bot(settings, staff_ids=f"zalo:{ZALO_STAFF}") as (api, service):
        await queue_of(service.app, 7)
        staff = ZaloUser(api, ZALO_STAFF)
        first = await staff.say("/choduyet", expect="(trang 1/2)")
        page = await staff.say(option(first, "Trang sau ➡️"), expect="(trang 2/2)")
        shown = listed(page)
        assert sorted(shown) == [1, 2]
        opened = await staff.say("2", expect="📁 Hồ sơ")
        assert f"📁 Hồ sơ {shown[2]} · " in opened
        assert api.errors == []
