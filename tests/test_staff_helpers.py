"""Shared helpers for the staff tests (no tests here): cases made through the real report form or
straight through storage, and the rows they leave behind."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.app import App
from conversations.parsing import places
from storage import cases, people
from storage.audit import AuditEntry
from storage.cases import CaseData
from storage.models import Case, CaseEvent, Person
from tests.support import Chat
from tests.test_report_scenarios import FULL_REPORT

STAFF = "9001"  # in STAFF_IDS of the test settings
BAN_HO = places.search_wards(15, "Bản Hồ")[0].code
LAO_CAI = 15


async def reported(chat: Chat, *answers: str, danger: bool = False) -> str:
    """A case reported through the real form by `chat`; its code."""
    texts = list(answers or FULL_REPORT)
    if danger:
        texts[9] = "có"
    await chat.send("/baocao")
    await chat.answers(*texts)
    await chat.send("gửi")
    code = next(line.split("Mã hồ sơ: ")[1].split()[0].strip(".") for line in chat.text.splitlines() if "Mã hồ sơ: " in line)
    return code


PERSONAL = {
    "child_name": "Nguyễn Văn An", "hamlet": "Thôn Bản Dền", "whereabouts": "ở nhà bà ngoại",
    "description": "Bố mẹ mất năm ngoái", "caregiver": "Lò Thị Mai", "caregiver_phone": "+84912345678",
}


async def make_case(app: App, *, reporter: str | None = None, personal: dict[str, Any] | None = None, **fields: Any) -> Case:
    """A case straight through storage (fast), reported by the person with channel id `reporter`."""
    data: dict[str, Any] = {"province_code": LAO_CAI, "commune_code": BAN_HO, "sex": "male", "birth_year": 2019, "age_years": 7,
                            "groups": ("a", "d"), "household": "poor", "donor_consent": "yes",
                            "needs": {"health": 500_000, "education": 1_500_000}, "personal": dict(PERSONAL if personal is None else personal)}
    data.update(fields)
    async with app.db.transaction() as session:
        reporter_id = None
        if reporter is not None:
            person = await people.find(session, "telegram", reporter)
            assert person is not None
            reporter_id = person.id
        case = await cases.create(session, CaseData(**data), prefix=places.case_prefix(data["province_code"]), reporter_id=reporter_id, now=app.clock())
        await session.flush()
        session.expunge(case)
        return case


async def case_by_code(app: App, code: str) -> Case:
    async with app.db.transaction() as session:
        case = await cases.by_code(session, code)
        assert case is not None
        session.expunge(case)
        return case


async def audit_actions(app: App, case_id: int | None = None) -> list[str]:
    async with app.db.transaction() as session:
        statement = select(AuditEntry).order_by(col(AuditEntry.id))
        if case_id is not None:
            statement = statement.where(AuditEntry.case_id == case_id)
        return [e.action for e in await session.exec(statement)]


async def event_kinds(app: App, case_id: int) -> list[str]:
    async with app.db.transaction() as session:
        statement = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
        return [e.kind for e in await session.exec(statement)]


async def person(app: App, user: str) -> Person:
    async with app.db.transaction() as session:
        found = await people.find(session, "telegram", user)
        assert found is not None
        session.expunge(found)
        return found


async def set_role(app: App, user: str, role: str) -> Chat:
    async with app.db.transaction() as session:
        await people.set_role(session, "telegram", user, role)
    return Chat(app, user)
