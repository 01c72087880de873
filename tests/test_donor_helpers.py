"""Shared set-up for the donor tests: published cases straight in storage, registered donors.

Cases are published the way the staff side does it (published_at set, consent "yes"), directly
in storage, so these tests do not depend on the staff commands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from bot.app import App
from conversations.parsing import places
from storage import anonymise, cases, donors, people
from storage.cases import CaseData
from storage.models import Case, Need, Person
from storage.pledges import Pledge
from tests.support import Chat

LAO_CAI = places.search_provinces("Lào Cai")[0].code
BAN_HO = places.search_wards(LAO_CAI, "Bản Hồ")[0].code
HA_NOI = places.search_provinces("Hà Nội")[0].code
HOAN_KIEM = places.search_wards(HA_NOI, "Hoàn Kiếm")[0].code

BANK = {"bank_bin": "970436", "bank_account": "0011001932418", "bank_account_name": "QUY BAO TRO TRE EM LAO CAI"}

PERSONAL = {
    "child_name": "Vàng Thị Mỷ",
    "hamlet": "Thôn Nậm Cang Trên",
    "whereabouts": "ở nhà bác Sếnh",
    "description": "Bố mẹ đi làm xa, em bị bỏ đói nhiều ngày",
    "caregiver": "Vàng A Páo",
    "caregiver_phone": "+84987654321",
}


async def publish(app: App, *, province: int = LAO_CAI, commune: int | None = BAN_HO, sex: str = "female",
                  age: int | None = 7, needs: Mapping[str, int | None] | None = None, priority: int | None = None,
                  groups: Sequence[str] = ("a",), personal: Mapping[str, Any] | None = None,
                  published_at: datetime | None = None, status: str = "verified", consent: str = "yes",
                  pledged: Mapping[str, int] | None = None) -> Case:
    """A verified case whose needs are shown to donors, made directly in storage."""
    data = CaseData(province_code=province, commune_code=commune, sex=sex, age_years=age, groups=tuple(groups),
                    household="poor", donor_consent=consent, needs=dict(needs if needs is not None else {"education": 1_500_000}),
                    personal=dict(personal if personal is not None else PERSONAL))
    async with app.db.transaction() as session:
        case = await cases.create(session, data, prefix=places.case_prefix(province), reporter_id=None, now=app.clock())
        case.status = status
        case.published_at = published_at or app.clock()
        if priority is not None:
            case.priority = priority
        for need in await cases.needs_of(session, case.id):
            need.pledged = (pledged or {}).get(need.kind, 0)
        await session.flush()
        session.expunge(case)
        return case


async def code_of(app: App, case_id: int) -> str:
    async with app.db.transaction() as session:
        return (await anonymise.codes_for(session, [case_id]))[case_id]


async def need_of(app: App, case_id: int, kind: str = "education") -> Need:
    async with app.db.transaction() as session:
        need = (await session.exec(select(Need).where(Need.case_id == case_id, Need.kind == kind))).one()
        session.expunge(need)
        return need


async def all_pledges(app: App) -> list[Pledge]:
    async with app.db.transaction() as session:
        rows = list(await session.exec(select(Pledge).order_by(col(Pledge.id))))
        for row in rows:
            session.expunge(row)
        return rows


async def person(app: App, user: str) -> Person:
    async with app.db.transaction() as session:
        found = await people.find(session, "telegram", user)
        assert found is not None
        session.expunge(found)
        return found


async def donor(app: App, user: str, name: str | None = "Nguyễn Văn Bình", language: str = "vi") -> Chat:
    """A registered donor (straight in storage: the registration form has its own test)."""
    async with app.db.transaction() as session:
        who = await people.get_or_create(session, "telegram", user, user)
        await donors.register(session, who, display_name=name, language=language, now=app.clock())
    return Chat(app, user, locale=language)


async def ready_to_confirm(chat: Chat, code: str, *answers: str) -> None:
    """Open the pledge form for a child with one need and answer everything up to the summary."""
    await chat.press(f"m:ungho:{code}")
    await chat.answers(*answers)
    assert "Kiểm tra lại «Cam kết ủng hộ»" in chat.text, chat.text


def days(n: float) -> timedelta:
    return timedelta(days=n)


def with_bank(app: App) -> None:
    """The organisation's donation account, as BANK_BIN, BANK_ACCOUNT, BANK_ACCOUNT_NAME set it."""
    for key, value in BANK.items():
        setattr(app.settings, key, value)
