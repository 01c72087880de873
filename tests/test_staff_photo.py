"""/anh: staff see the child's photo a collaborator sent, fetched from the channel it came by;
every viewing is audited, and a photo sent on another channel is explained, not attempted."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update
from sqlmodel import col

from bot.app import App
from storage import people
from storage.models import Case
from tests.support import Chat
from tests.test_report_scenarios import FULL_REPORT
from tests.test_staff_helpers import STAFF, audit_actions, make_case

PHOTO = b"\x89PNG\r\n\x1a\nthe child"


async def report_with_photo(app: App, collaborator: Chat) -> str:
    await collaborator.send("/baocao")
    await collaborator.answers(*FULL_REPORT[:17])
    await collaborator.send("có")
    await collaborator.photo("AgACAgIAAxkBAAIBnmZ")
    await collaborator.answers("1", "gửi")
    return collaborator.text.split("Mã hồ sơ: ")[1].split()[0]


async def test_staff_open_the_photo_of_a_case(app: App, collaborator: Chat) -> None:
    asked: list[str] = []

    async def fetch(file_id: str) -> bytes:
        asked.append(file_id)
        return PHOTO

    app.fetch_file = fetch
    code = await report_with_photo(app, collaborator)
    staff = Chat(app, STAFF)
    await staff.send(f"/hoso {code}")
    assert f"Xem ảnh: /anh {code}" in staff.text
    await staff.send(f"/anh {code.lower()}")
    assert staff.last.image == PHOTO and asked == ["AgACAgIAAxkBAAIBnmZ"]
    assert code in staff.last.text and "không chia sẻ" in staff.last.text
    assert (await audit_actions(app)).count("read_photo") == 1


async def test_no_photo_a_failed_download_and_a_photo_from_zalo(app: App, collaborator: Chat) -> None:
    async def broken(file_id: str) -> bytes:
        raise ConnectionError("the platform is away")

    app.fetch_file = broken
    staff = Chat(app, STAFF)
    plain = await make_case(app)
    await staff.send(f"/anh {plain.code}")
    assert f"Hồ sơ {plain.code} không có ảnh" in staff.text
    await staff.send("/anh")
    assert "Gõ /anh kèm mã hồ sơ" in staff.text

    code = await report_with_photo(app, collaborator)
    await staff.send(f"/anh {code}")
    assert "Chưa tải được ảnh" in staff.text and staff.last.image is None

    from_zalo = await make_case(app, personal={"child_name": "Lò Văn Pử", "photo": "https://zalo.example/p.jpg"})
    async with app.db.transaction() as session:  # reported by a collaborator on Zalo
        reporter = await people.set_role(session, "zalo", "z-501", "collaborator")
        await session.flush()
        await session.exec(update(Case).where(col(Case.id) == from_zalo.id).values(reporter_id=reporter.id))  # type: ignore[call-overload]
    await staff.send(f"/anh {from_zalo.code}")
    assert "được gửi qua Zalo" in staff.text and "/lienket" in staff.text and staff.last.image is None
    assert "read_photo" not in await audit_actions(app)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL has no single writer to hold
async def test_a_slow_photo_download_holds_up_nobody_else(app: App, collaborator: Chat) -> None:
    """The download runs with no transaction open: on SQLite, one writer at a time, a photo on
    a slow mountain connection would otherwise stop every other person's answers with it."""
    arrived, release = asyncio.Event(), asyncio.Event()

    async def slow(file_id: str) -> bytes:
        arrived.set()
        await release.wait()
        return PHOTO

    app.fetch_file = slow
    code = await report_with_photo(app, collaborator)
    staff = Chat(app, STAFF)
    viewing = asyncio.create_task(staff.send(f"/anh {code}"))
    await arrived.wait()

    async def meanwhile() -> Chat:  # another collaborator registers, opens a form and answers
        other = await Chat.collaborator(app, user="502")
        await other.send("/baocao")
        await other.send(FULL_REPORT[0])
        return other

    other = await asyncio.wait_for(meanwhile(), timeout=5)
    assert other.text.startswith("(2/17)") and not viewing.done()
    release.set()
    await viewing
    assert staff.last.image == PHOTO
    assert (await audit_actions(app)).count("read_photo") == 1  # audited once, not once per try
