"""Deadlines in the bot: the support plan is due 5 working days after verification (weekends and
the configured public holidays skipped), a child in danger within 12 hours; /quahan lists what
is late, the morning digest sends it to staff; collaborators are asked to re-check their open
cases every 90 days and answer with one tap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import jobs
from bot.app import App
from storage import review
from storage.deadlines import VN_TZ
from tests.support import Chat, Clock, outbox_messages
from tests.test_staff_helpers import STAFF, case_by_code, event_kinds, make_case


async def plan_due(app: App, code: str) -> datetime:
    case = await case_by_code(app, code)
    async with app.db.transaction() as session:
        track = await review.track_of(session, case.id)  # type: ignore[arg-type]
        assert track is not None and track.plan_due is not None
        return track.plan_due


@pytest.mark.parametrize(("verified", "holidays", "due"), [
    # Tuesday 24 Nov 2026: Wed, Thu, Fri, Mon, Tue -> Tuesday 1 December
    (datetime(2026, 11, 24, 3, tzinfo=UTC), "", "2026-12-01"),
    # Friday afternoon: the weekend is skipped -> the next Friday
    (datetime(2026, 11, 27, 9, tzinfo=UTC), "", "2026-12-04"),
    # Saturday: Monday is day 1 -> Friday
    (datetime(2026, 11, 28, 3, tzinfo=UTC), "", "2026-12-04"),
    # configured holidays (a Friday and the Monday after) push it two days
    (datetime(2026, 11, 24, 3, tzinfo=UTC), "2026-11-27, 2026-11-30", "2026-12-03"),
    # the fixed holidays need no setting: 1 and 2 September
    (datetime(2026, 8, 28, 3, tzinfo=UTC), "", "2026-09-08"),
    # a Tết break from the setting, across a weekend
    (datetime(2027, 2, 3, 3, tzinfo=UTC), "2027-02-05 2027-02-08 2027-02-09 2027-02-10 2027-02-11", "2027-02-17"),
])
async def test_plan_deadline_skips_weekends_and_holidays(app: App, clock: Clock, verified: datetime, holidays: str, due: str) -> None:
    app.settings.holidays = holidays
    clock.now = verified
    case = await make_case(app)
    staff = Chat(app, STAFF)
    await staff.send(f"/xacminh {case.code}")
    deadline = await plan_due(app, case.code)
    local = deadline.astimezone(VN_TZ)
    assert (local.date().isoformat(), local.hour, local.minute) == (due, 23, 59)
    day, month, year = due[8:], due[5:7], due[:4]
    assert f"23:59 {day}/{month}/{year}" in staff.text


async def test_overdue_lists_late_and_soon_items(app: App, collaborator: Chat, clock: Clock) -> None:
    emergency = await make_case(app, reporter="501", danger=True)
    handled = await make_case(app, reporter="501", danger=True)
    plan = await make_case(app, reporter="501")
    staff = Chat(app, STAFF)
    await staff.send("/quahan")
    assert "Quá hạn: 0" in staff.text and "Không có việc nào quá hạn" in staff.text
    assert "Sắp đến hạn (trong 24 giờ): 2" in staff.text and emergency.code in staff.text
    await staff.send(f"/canthiep {handled.code}")
    await staff.answers("Đã đưa trẻ tới nhà người thân", "gửi")
    await staff.send(f"/xacminh {plan.code}")
    clock.now += timedelta(hours=13)
    await staff.send("/overdue")
    text = staff.text
    assert "Quá hạn: 1" in text and "Khẩn cấp 12 giờ" in text and emergency.code in text and "QUÁ HẠN 1 giờ" in text
    assert handled.code not in text and plan.code not in text
    clock.now = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)  # 23:30 on Tuesday 1 December in Hanoi
    await staff.send("/quahan")
    assert "Sắp đến hạn (trong 24 giờ): 1" in staff.text and "còn 29 phút" in staff.text
    clock.now = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)  # midnight: due by the end of the 1st, now late
    await staff.send("/quahan")
    text = staff.text
    assert "Quá hạn: 2" in text and "Kế hoạch hỗ trợ 5 ngày làm việc" in text and plan.code in text
    assert f"m:hoso:{plan.code}" in staff.button_data()
    await staff.send(f"/kehoach {plan.code}")
    await staff.answers("Hỗ trợ học phí và bảo hiểm y tế", "gửi")
    await staff.send("/quahan")
    assert "Quá hạn: 1" in staff.text and plan.code not in staff.text


async def test_verifying_an_emergency_settles_it(app: App, collaborator: Chat, clock: Clock) -> None:
    case = await make_case(app, reporter="501", danger=True)
    staff = Chat(app, STAFF)
    await staff.send(f"/xacminh {case.code}")
    clock.now += timedelta(hours=13)
    await staff.send("/quahan")
    assert case.code not in staff.text


async def test_morning_digest_goes_to_each_staff_member_once_a_day(app: App, collaborator: Chat, clock: Clock) -> None:
    case = await make_case(app, reporter="501", danger=True)
    clock.now = datetime(2026, 11, 25, 0, 5, tzinfo=UTC)  # 07:05 in Hanoi the next morning: 9 hours late
    ran = await jobs.run_due(app, clock.now)
    assert "overdue_digest" in ran
    digests = [m for m in await outbox_messages(app) if m.kind == "digest"]
    assert sorted(m.chat_id for m in digests) == ["9001", "9002"]
    assert "Có 1 việc quá hạn" in digests[0].payload["text"] and case.code in digests[0].payload["text"]
    assert "Nguyễn Văn An" not in digests[0].payload["text"]
    assert "overdue_digest" not in await jobs.run_due(app, clock.now + timedelta(hours=2))
    assert len([m for m in await outbox_messages(app) if m.kind == "digest"]) == 2


async def test_no_digest_when_nothing_is_late(app: App, clock: Clock) -> None:
    await make_case(app)
    clock.now = datetime(2026, 11, 25, 0, 5, tzinfo=UTC)
    await jobs.run_due(app, clock.now)
    assert not [m for m in await outbox_messages(app) if m.kind == "digest"]


async def test_recheck_every_ninety_days_with_a_one_tap_answer(app: App, collaborator: Chat, clock: Clock) -> None:
    old = await make_case(app, reporter="501")
    clock.now += timedelta(days=30)
    recent = await make_case(app, reporter="501")
    clock.now = datetime(2027, 2, 23, 1, 30, tzinfo=UTC)  # 08:30 in Hanoi, 91 days after the first report
    assert "recheck_reminders" in await jobs.run_due(app, clock.now)
    [reminder] = [m for m in await outbox_messages(app) if m.kind == "reminder"]
    assert reminder.chat_id == "501" and old.code in reminder.payload["text"] and recent.code not in reminder.payload["text"]
    assert "Rà soát định kỳ (90 ngày)" in reminder.payload["text"]
    buttons = [b[1] for row in reminder.payload["buttons"] for b in row]
    assert buttons == [f"m:rasoat:{old.code}:ok", f"m:rasoat:{old.code}:doi"]

    await collaborator.press(buttons[0])
    assert f"hồ sơ {old.code} không thay đổi" in collaborator.text
    assert (await event_kinds(app, old.id))[-1] == "recheck"  # type: ignore[arg-type]
    clock.now += timedelta(days=1)
    await jobs.run_due(app, clock.now)
    assert len([m for m in await outbox_messages(app) if m.kind == "reminder"]) == 1  # checked: not asked again

    clock.now += timedelta(days=29)  # the second case is due now; it is not answered...
    await jobs.run_due(app, clock.now)
    reminders = [m for m in await outbox_messages(app) if m.kind == "reminder"]
    assert len(reminders) == 2 and recent.code in reminders[-1].payload["text"]
    clock.now += timedelta(days=3)
    await jobs.run_due(app, clock.now)
    assert len([m for m in await outbox_messages(app) if m.kind == "reminder"]) == 2  # ...nor nagged every day
    clock.now += timedelta(days=5)
    await jobs.run_due(app, clock.now)
    assert len([m for m in await outbox_messages(app) if m.kind == "reminder"]) == 3  # but again after a week


async def test_recheck_with_a_change_goes_to_staff(app: App, collaborator: Chat) -> None:
    case = await make_case(app, reporter="501")
    await collaborator.press(f"m:rasoat:{case.code}:doi")
    assert "thay đổi thế nào" in collaborator.text
    await collaborator.answers("Bà ngoại mất, cháu ở một mình", "gửi")
    assert "Đã gửi thay đổi" in collaborator.text
    told = [m for m in await outbox_messages(app) if m.chat_id == STAFF]
    assert told and f"hồ sơ {case.code} có thay đổi" in told[-1].payload["text"]
    assert "Bà ngoại mất" not in told[-1].payload["text"]  # read in the history, not pushed around
    assert (await event_kinds(app, case.id))[-1] == "recheck_changed"  # type: ignore[arg-type]

    other = await Chat.collaborator(app, user="502")
    await other.send(f"/rasoat {case.code} ok")
    assert "Không tìm thấy hồ sơ này trong các báo cáo của bạn" in other.text
    await collaborator.send(f"/rasoat {case.code}")
    assert f"m:rasoat:{case.code}:ok" in collaborator.button_data()


async def test_a_typo_in_the_holidays_setting_does_not_stop_verification(app: App, clock: Clock) -> None:
    app.settings.holidays = "2026-11-27, 2026-11-3O"  # a letter O for a zero
    case = await make_case(app)
    staff = Chat(app, STAFF)
    await staff.send(f"/xacminh {case.code}")
    assert "23:59 01/12/2026" in staff.text  # the fixed holidays only
