"""Donors register in two steps and browse published needs: cards, order, paging, filters."""

from __future__ import annotations

import re

from bot.app import App
from storage import donors
from storage.models import Person
from tests.support import Chat, Clock
from tests.test_donor_helpers import (
    BAN_HO,
    HA_NOI,
    HOAN_KIEM,
    LAO_CAI,
    PERSONAL,
    code_of,
    days,
    donor,
    person,
    publish,
)


async def test_guest_is_offered_registration_and_registers_in_two_steps(app: App) -> None:
    guest = Chat(app, "700")
    await guest.send("/start")
    assert "Đăng ký (2 bước)" in guest.text and "m:dangky" in guest.button_data()
    await guest.send("xin chào")  # any message: the same offer
    assert "m:dangky" in guest.button_data()
    await guest.send("1")  # typed number = the first button
    assert "(1/2) Tên bạn muốn ghi trên giấy cảm ơn" in guest.text
    await guest.send("Công ty Đường Sữa Ưu Việt")
    assert "(2/2)" in guest.text and "English" in guest.text
    await guest.send("tieng viet")
    assert "Kiểm tra lại «Đăng ký nhà hảo tâm»" in guest.text and "Công ty Đường Sữa Ưu Việt" in guest.text
    await guest.send("gửi")
    assert "Chào mừng Công ty Đường Sữa Ưu Việt" in guest.text
    assert "m:nhucau" in guest.button_data() and "m:daungho" in guest.button_data()
    me = await person(app, "700")
    assert (me.role, me.locale) == ("donor", "vi")
    async with app.db.transaction() as session:
        profile = await donors.get(session, me.id)
        assert profile is not None and profile.display_name == "Công ty Đường Sữa Ưu Việt" and profile.language == "vi"


async def test_anonymous_registration_in_english(app: App) -> None:
    guest = Chat(app, "701", locale="en")
    await guest.send("/dangky")
    await guest.answers("ẩn danh", "2", "gửi")
    me = await person(app, "701")
    assert (me.role, me.locale) == ("donor", "en")
    async with app.db.transaction() as session:
        profile = await donors.get(session, me.id)
        assert profile is not None and profile.display_name is None and profile.language == "en"


async def test_a_guest_asking_for_needs_registers_first_then_sees_them(app: App) -> None:
    case = await publish(app)
    guest = Chat(app, "702")
    await guest.send("/nhucau")
    assert "(1/2)" in guest.text
    await guest.answers("an danh", "1", "gửi")
    assert "Chào mừng" in guest.text and "TE-" + await code_of(app, case.id) in guest.text


async def test_card_shows_only_the_anonymised_projection(app: App, clock: Clock) -> None:
    case = await publish(app, sex="female", age=7, needs={"education": 1_500_000, "health": 500_000, "psych": None},
                         pledged={"education": 600_000}, published_at=clock.now - days(3), groups=("a", "l"))
    chat = await donor(app, "703")
    await chat.send("/nhucau")
    text = chat.text
    code = await code_of(app, case.id)
    assert f"🧒 TE-{code} · Bé gái, 6–10 tuổi · Lào Cai" in text  # one child in Bản Hồ: province only
    assert "🎓 Học tập, học bổng: cần 1.500.000\xa0₫" in text
    assert "▒▒▒▒░░░░░░ 40%" in text and "đã cam kết 600.000\xa0₫" in text
    assert "🏥 Chăm sóc sức khỏe: cần 500.000\xa0₫" in text and "chưa ai cam kết" in text
    assert "đăng 3 ngày trước" in text
    assert "Hỗ trợ tâm lý" not in text  # counselling points at what happened: withheld
    assert case.code not in text and "LCA-" not in text  # never the case number
    for value in (*PERSONAL.values(), "987654321", "Bản Hồ", "xâm hại", "Mồ côi"):
        assert value not in text
    assert f"m:ungho:{code}" in chat.button_data()


async def test_english_donor_sees_money_the_english_way(app: App) -> None:
    await publish(app, needs={"education": 1_500_000})
    chat = await donor(app, "704", language="en")
    await chat.send("/needs")
    assert "₫1,500,000" in chat.text


async def test_commune_is_named_only_when_three_published_children_share_it(app: App) -> None:
    first = await publish(app, sex="male", age=8)
    await publish(app, sex="male", age=9)
    await publish(app, sex="male", age=12)  # another age band: does not count
    await publish(app, sex="female", age=8)  # another sex: does not count
    await publish(app, sex="male", age=7, consent="no")  # not published for donors: does not count
    chat = await donor(app, "705")
    code = await code_of(app, first.id)
    await chat.send("/nhucau")
    assert f"TE-{code} · Bé trai, 6–10 tuổi · Lào Cai\n" in chat.text and "Bản Hồ" not in chat.text
    third = await publish(app, sex="male", age=10)  # the third boy aged 6-10 in Bản Hồ
    await chat.send("/nhucau")
    assert f"TE-{code} · Bé trai, 6–10 tuổi · Xã Bản Hồ, Lào Cai\n" in chat.text
    assert f"TE-{await code_of(app, third.id)} · Bé trai, 6–10 tuổi · Xã Bản Hồ, Lào Cai\n" in chat.text
    assert "Bé gái, 6–10 tuổi · Lào Cai\n" in chat.text and "Bé trai, 11–15 tuổi · Lào Cai\n" in chat.text


async def test_only_published_consented_open_cases_are_listed(app: App) -> None:
    shown = await publish(app)
    hidden = [
        await publish(app, consent="no"),
        await publish(app, consent="not_asked"),
        await publish(app, status="rejected"),
        await publish(app, status="duplicate"),
        await publish(app, status="closed"),
        await publish(app, needs={"legal": None, "psych": None}),  # nothing a donor may see
        await publish(app, needs={"education": 1_000_000}, pledged={"education": 1_000_000}),  # fully pledged
        await publish(app, age=17 + 2),  # an adult by now
    ]
    unpublished = await publish(app)
    async with app.db.transaction() as session:
        row = await session.get(type(unpublished), unpublished.id)
        row.published_at = None
    chat = await donor(app, "706")
    await chat.send("/nhucau")
    assert "1 trẻ" in chat.text and "TE-" + await code_of(app, shown.id) in chat.text
    assert len(re.findall(r"🧒 TE-", chat.text)) == 1
    for case in [*hidden, unpublished]:
        await chat.send(f"/ungho {await code_of(app, case.id)}")
        assert "Không tìm thấy trẻ mã" in chat.text or "vừa được cam kết đủ" in chat.text


async def test_highest_priority_first_five_a_page_with_next_and_previous(app: App, clock: Clock) -> None:
    made = [await publish(app, priority=p, published_at=clock.now - days(p % 4)) for p in (10, 80, 30, 55, 90, 20, 70, 40, 60, 50, 65, 5)]
    by_priority = sorted(made, key=lambda c: -c.priority)
    codes = [await code_of(app, c.id) for c in by_priority]
    chat = await donor(app, "707")
    await chat.send("/nhucau")
    assert "12 trẻ · trang 1/3" in chat.text
    assert re.findall(r"🧒 TE-(\w+)", chat.text) == codes[:5]
    assert "m:nhucau:2" in chat.button_data() and not any(d.endswith(":0") for d in chat.button_data())
    await chat.press("m:nhucau:2")
    assert "trang 2/3" in chat.text and re.findall(r"🧒 TE-(\w+)", chat.text) == codes[5:10]
    assert {"m:nhucau:1", "m:nhucau:3"} <= set(chat.button_data())
    await chat.send("/nhucau 3")
    assert re.findall(r"🧒 TE-(\w+)", chat.text) == codes[10:]
    assert "m:nhucau:4" not in chat.button_data()
    await chat.send("/nhucau 99")  # past the end: the last page
    assert "trang 3/3" in chat.text
    # typed numbers pick a card's pledge button on channels without buttons
    await chat.send("/nhucau")
    await chat.send("1")
    assert f"TE-{codes[0]}" in chat.text and "Bạn muốn ủng hộ bằng tiền hay hiện vật?" in chat.text


async def test_filters_by_need_province_and_age_band(app: App) -> None:
    school_lc = await publish(app, age=4, needs={"education": 2_000_000})
    food_lc = await publish(app, age=12, needs={"nutrition": 800_000})
    school_hn = await publish(app, province=HA_NOI, commune=HOAN_KIEM, age=13, needs={"education": 3_000_000, "health": 1_000_000})
    chat = await donor(app, "708")

    async def listed() -> set[int]:
        found = set(re.findall(r"🧒 TE-(\w+)", chat.text))
        return {c.id for c in (school_lc, food_lc, school_hn) if await code_of(app, c.id) in found}

    await chat.send("/nhucau hoc tap")
    assert await listed() == {school_lc.id, school_hn.id} and "Bộ lọc: Học tập, học bổng" in chat.text
    await chat.send("/nhucau lao cai")
    assert await listed() == {school_lc.id, food_lc.id}
    await chat.send("/nhucau 11-15")
    assert await listed() == {food_lc.id, school_hn.id}
    await chat.send("/nhucau hoc tap ha noi 11-15")
    assert await listed() == {school_hn.id}
    await chat.send("/nhucau school")  # English words work too
    assert await listed() == {school_lc.id, school_hn.id}

    await chat.send("/nhucau")
    await chat.press("m:nhucau:loc")  # the filter menu: needs, age bands, provinces with counts
    data = chat.button_data()
    assert "m:nhucau:1:k.education" in data and "m:nhucau:1:a.0-5" in data
    assert f"m:nhucau:1:p.{LAO_CAI}" in data and f"m:nhucau:1:p.{HA_NOI}" in data
    assert "Lào Cai (2)" in chat.text and "Hà Nội (1)" in chat.text
    await chat.press("m:nhucau:1:k.education")
    assert await listed() == {school_lc.id, school_hn.id}
    await chat.press("m:nhucau:loc:k.education")  # filters combine
    assert f"m:nhucau:1:k.education:p.{LAO_CAI}" in chat.button_data()
    await chat.press(f"m:nhucau:1:k.education:p.{LAO_CAI}")
    assert await listed() == {school_lc.id} and "Học tập, học bổng · Lào Cai" in chat.text
    assert "m:nhucau:1" in chat.button_data()  # clear the filters
    await chat.press("m:nhucau:1:a.16-17")
    assert "Hiện không có nhu cầu nào khớp bộ lọc" in chat.text


async def test_bad_filter_says_what_is_expected(app: App) -> None:
    await publish(app)
    chat = await donor(app, "709")
    await chat.send("/nhucau xyzzy")
    assert "Chưa hiểu «xyzzy»" in chat.text and "/nhucau hoc tap" in chat.text
    await chat.send("/nhucau 20-30")
    assert "Chưa hiểu" in chat.text


async def test_nothing_published_yet(app: App) -> None:
    chat = await donor(app, "710")
    await chat.send("/nhucau")
    assert "Hiện chưa có nhu cầu nào được đăng" in chat.text


async def test_staff_see_what_donors_see_collaborators_are_refused(app: App, collaborator: Chat) -> None:
    case = await publish(app)
    staff = await Chat.staff(app, "9001")
    await staff.send("/nhucau")
    assert "TE-" + await code_of(app, case.id) in staff.text and case.code not in staff.text
    await collaborator.send("/nhucau")
    assert "chỉ dành cho cán bộ được giao" in collaborator.text
    await collaborator.send("/ungho ABC")
    assert "chỉ dành cho" in collaborator.text


async def test_donor_help_and_menu(app: App) -> None:
    chat = await donor(app, "711")
    await chat.send("/trogiup")
    assert "/nhucau" in chat.text and "/ungho" in chat.text and "/tatthongbao" in chat.text
    assert "/baocao" not in chat.text
    guest = Chat(app, "712")
    await guest.send("/trogiup")
    assert "/dangky" in guest.text


async def test_unknown_person_is_not_a_donor_until_registered(app: App) -> None:
    guest = Chat(app, "713")
    await guest.send("/start")
    me = await person(app, "713")
    assert isinstance(me, Person) and me.role == "guest"
    assert BAN_HO  # the helpers resolved real places
