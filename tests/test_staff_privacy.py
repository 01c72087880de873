"""Only staff ever receive a child's personal data, and every staff command refuses everyone
else politely and writes the attempt to the audit log.

The first is a property over generated cases: random names, phones, hamlets and free text; every
staff command and button driven as a guest, a donor, a collaborator (the reporter himself, and a
stranger) and staff; every reply and every queued message to a non-staff person is searched."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.commands import REGISTRY
from storage.outbox import OutboxMessage
from tests.support import Chat, outbox_messages
from tests.test_staff_helpers import STAFF, audit_actions, make_case, set_role

FAMILY = ["Nguyễn", "Trần", "Lò", "Giàng", "Hoàng", "Vàng", "Sùng", "Đặng", "Phàn", "Lý"]
MIDDLE = ["Văn", "Thị", "A", "Seo", "Thu", "Minh", "Ngọc", "Đức"]
GIVEN = ["Xuyến", "Pử", "Dính", "Chứ", "Mỷ", "Lềnh", "Súa", "Khánh", "Nhàn", "Quyết"]


def staff_commands() -> list[str]:
    """Every command only staff may use, whichever module registered it."""
    return sorted({entry.name for entry in REGISTRY.values() if entry.roles == frozenset({"staff"})})


@st.composite
def personal_data(draw: st.DrawFn) -> dict[str, str]:
    tag = draw(st.integers(min_value=100, max_value=99_999))
    name = f"{draw(st.sampled_from(FAMILY))} {draw(st.sampled_from(MIDDLE))} {draw(st.sampled_from(GIVEN))}{tag}"
    phone = f"+849{draw(st.integers(min_value=10_000_000, max_value=99_999_999))}"
    return {
        "child_name": name,
        "hamlet": f"Bản Nậm {draw(st.sampled_from(GIVEN))} {tag}",
        "whereabouts": f"ở nhà chú {draw(st.sampled_from(GIVEN))}{tag + 1}",
        "description": f"Cháu bị đánh, vết bầm số {tag}-{draw(st.integers(0, 999))}",
        "caregiver": f"{draw(st.sampled_from(FAMILY))} Thị {draw(st.sampled_from(GIVEN))}{tag + 2}",
        "caregiver_phone": phone,
        "other_situation": f"Hoàn cảnh riêng {tag}-x",
    }


def needles(personal: dict[str, str]) -> list[str]:
    found = []
    for value in personal.values():
        found += [unicodedata.normalize(f, value) for f in ("NFC", "NFD")]
    phone = personal["caregiver_phone"]
    found += [phone[3:], "0" + phone[3:], f"0{phone[3:6]} {phone[6:9]} {phone[9:]}"]  # every way a phone is shown
    return found


def driven(code: str) -> list[str]:
    """Every command a person could send about a case, and the common ones."""
    commands = [f"/{name} {code}" for name in staff_commands()] + [f"/{name}" for name in staff_commands()]
    commands += ["/thongke xa lao cai", "/xuat andanh", "/bieudo nhom", f"/trung {code} {code}", f"/nguyco {code} cao", "/start", "/trogiup", "/cuatoi", "/nhucau"]
    return commands


def texts(replies: list) -> list[str]:
    out = []
    for reply in replies:
        out.append(reply.text)
        out += [b.label for b in reply.flat_buttons()]
        if reply.document is not None:
            out.append(reply.document[1].decode("utf-8", "replace"))
    return out


async def drive(chat: Chat, commands: list[str]) -> list[str]:
    seen: list[str] = []
    for command in commands:
        await chat.send(command)
        seen += texts(chat.replies)
        if chat.button_data() and any(d.startswith("f:") for d in chat.button_data()):
            await chat.send("/huy")  # a staff form opened: leave it
            await chat.send("có")
    return seen


@pytest.fixture
async def people(app: App) -> dict[str, Chat]:
    return {
        "reporter": await Chat.collaborator(app, user="501"),
        "stranger": await Chat.collaborator(app, user="502", commune="Cốc Lầu"),
        "donor": await set_role(app, "601", "donor"),
        "guest": Chat(app, "701"),
        "staff": Chat(app, STAFF),
    }


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(personal=personal_data(), danger=st.booleans(), status_step=st.sampled_from(["new", "verify", "reject", "ask"]))
async def test_only_staff_ever_receive_a_personal_field(app: App, people: dict[str, Chat], personal: dict[str, str], danger: bool, status_step: str) -> None:
    case = await make_case(app, reporter="501", personal=personal, danger=danger)
    staff = people["staff"]
    if status_step == "verify":
        await staff.send(f"/xacminh {case.code}")
    elif status_step == "reject":
        await staff.send(f"/tuchoi {case.code}")
        await staff.answers("Không thuộc phạm vi hỗ trợ", "gửi")
    elif status_step == "ask":
        await staff.send(f"/hoi {case.code}")
        await staff.answers("Cháu hiện ở với ai?", "gửi")
    before = {m.id for m in await outbox_messages(app)}

    secrets = needles(personal)
    for role in ("reporter", "stranger", "donor", "guest"):
        seen = await drive(people[role], driven(case.code))
        for text in seen:
            for secret in secrets:
                assert secret not in text, f"{role} saw a personal field"
    staff_seen = "\n".join(await drive(staff, [f"/hoso {case.code}", f"/xuat tu {case.created_at.day}/{case.created_at.month}/{case.created_at.year}"]))
    assert personal["child_name"] in staff_seen and personal["hamlet"] in staff_seen  # the check can fail

    staff_chats = {STAFF, "9002"}
    queued: list[OutboxMessage] = [m for m in await outbox_messages(app) if m.id not in before or m.chat_id not in staff_chats]
    for message in queued:
        if message.chat_id in staff_chats:
            continue
        for secret in secrets:
            assert secret not in message.payload["text"], "a message to a non-staff person carries a personal field"


@pytest.mark.parametrize("role", ["guest", "donor", "collaborator"])
async def test_every_staff_command_is_refused_and_audited(app: App, role: str) -> None:
    chat = Chat(app, "880") if role == "guest" else await set_role(app, "880", role)
    case = await make_case(app)
    names = staff_commands()
    assert {"choduyet", "hoso", "tomtat", "thongke", "bieudo", "xuat", "quahan", "moi", "ctv", "nhanvien", "nhatky", "xoa", "phatsong"} <= set(names)
    for name in names:
        await chat.send(f"/{name} {case.code}")
        assert f"Lệnh /{name} chỉ dành cho cán bộ được giao" in chat.text, name
        assert chat.replies[0].document is None and chat.replies[0].image is None
    for alias in ("review", "case", "summary", "stats", "chart", "export", "overdue", "invite", "collaborators", "staff", "log", "erase", "broadcast"):
        await chat.send(f"/{alias}")
        assert "chỉ dành cho cán bộ" in chat.text, alias
    await chat.press(f"m:xacminh:{case.code}")  # a forwarded button is refused the same way
    assert "chỉ dành cho cán bộ" in chat.text
    actions = await audit_actions(app)
    assert sum(a.startswith("refused:/") for a in actions) == len(names) + 14
    assert "refused:/xacminh" in actions and "refused:/hoso" in actions
    assert "read_personal" not in actions


async def test_a_deactivated_staff_member_is_refused(app: App) -> None:
    from storage import people as people_store

    chat = Chat(app, "9002")
    async with app.db.transaction() as session:
        member = await people_store.find(session, "telegram", "9002")
        assert member is not None
        member.active = False
    await chat.send("/tomtat")
    assert "chỉ dành cho cán bộ" in chat.text
