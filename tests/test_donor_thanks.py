"""Donors hear back: thank-you and certificate, closed-case updates, the monthly digest, opting out."""

from __future__ import annotations

import io
import unicodedata
from datetime import date

from fontTools.ttLib import TTFont
from PIL import Image
from sqlmodel import select

from bot import i18n, jobs
from bot.app import App
from bot.donors import certificate, notify
from storage import donors, support
from storage.models import Case
from tests.support import Chat, Clock, outbox_messages
from tests.test_donor_helpers import (
    HA_NOI,
    HOAN_KIEM,
    PERSONAL,
    all_pledges,
    code_of,
    days,
    donor,
    need_of,
    person,
    publish,
    ready_to_confirm,
    with_bank,
)


async def fund(app: App, case_id: int, *donations: tuple[str, str, str]) -> None:
    """Each (user, name, amount) pledges to the case's only need; staff receive it all in full."""
    with_bank(app)
    code = await code_of(app, case_id)
    staff = await Chat.staff(app, "9001")
    for user, name, amount in donations:
        chat = await donor(app, user, name=name or None)
        await ready_to_confirm(chat, code, "1", amount, "bỏ qua")
        await chat.send("gửi")
        pledge = (await all_pledges(app))[-1]
        await staff.press(f"m:camket:nhan:{pledge.id}")
        await staff.answers("đủ", "hôm nay", "gửi")


async def messages_to(app: App, chat_id: str) -> list[dict]:
    return [m.payload for m in await outbox_messages(app) if m.chat_id == chat_id]


async def set_case(app: App, case_id: int, **values: object) -> None:
    async with app.db.transaction() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        for key, value in values.items():
            setattr(case, key, value)


async def deliver(app: App, case_id: int, **kw: object) -> int:
    async with app.db.transaction() as session:
        return await notify.on_support_delivered(session, case_id, settings=app.settings, now=app.clock(), **kw)  # type: ignore[arg-type]


async def test_every_donor_is_thanked_once_and_can_download_a_certificate(app: App) -> None:
    case = await publish(app, needs={"education": 1_500_000})
    await fund(app, case.id, ("770", "Nguyễn Thị Hường", "1 triệu"), ("771", "", "500k"))
    assert (await need_of(app, case.id)).received == 1_500_000
    assert await deliver(app, case.id) == 2
    assert await deliver(app, case.id) == 0  # idempotent: nobody is thanked twice
    code = await code_of(app, case.id)
    for user in ("770", "771"):
        [thanks] = [p for p in await messages_to(app, user) if "Hỗ trợ đã tới tay trẻ" in p["text"]]
        text = thanks["text"]
        assert f"Nhu cầu «Học tập, học bổng» của trẻ TE-{code} (Bé gái, 6–10 tuổi, Lào Cai) đã được đáp ứng đủ (1.500.000\xa0₫)" in text
        assert "Sở Y tế Lào Cai trân trọng cảm ơn bạn" in text
        for value in (*PERSONAL.values(), case.code, "Bản Hồ"):
            assert value not in text
    mine = (await messages_to(app, "770"))[-1]
    assert "Phần của bạn: 1.000.000\xa0₫" in mine["text"]
    [[[_label, data, _typed]]] = mine["buttons"]
    me = await person(app, "770")
    [pledge] = [p for p in await all_pledges(app) if p.donor_id == me.id]
    assert data == f"m:giaycamon:{pledge.ref}" and pledge.thanked_at is not None

    chat = Chat(app, "770")
    await chat.press(data)
    [reply] = chat.replies
    assert reply.document is not None
    name, png = reply.document
    assert name == f"giay-cam-on-{pledge.ref}.png"
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == certificate.SIZE
    await chat.send("/daungho")
    assert "🎉 hỗ trợ đã tới tay trẻ" in chat.text and f"m:giaycamon:{pledge.ref}" in chat.button_data()
    stranger = await donor(app, "772")
    await stranger.send(f"/giaycamon {pledge.ref}")
    assert "Không tìm thấy cam kết này" in stranger.text and not stranger.replies[0].document


def test_certificate_draws_vietnamese_names_with_their_marks() -> None:
    """Every letter has a glyph in the font, and the marks change the picture (no boxes, no
    stripped diacritics). The image was also looked at: see the report."""
    name, org = "Nguyễn Thị Hường & Công ty Đường Sữa Ưu Việt", "Sở Y tế Lào Cai"
    with i18n.use("vi"):
        texts = [name, org.upper(), i18n._("GIẤY CẢM ƠN"), i18n._("trân trọng cảm ơn"), "Học tập, học bổng"]
        cmap = TTFont(str(certificate._font_file(False)))["cmap"].getBestCmap()
        bold = TTFont(str(certificate._font_file(True)))["cmap"].getBestCmap()
        for text in texts:
            for ch in unicodedata.normalize("NFC", text):
                assert ord(ch) in cmap and ord(ch) in bold, ch
        marked = certificate.render(name=name, org=org, day=date(2026, 11, 24), need="Học tập, học bổng", ref="UH-ABC234")
        plain = certificate.render(name="Nguyen Thi Huong & Cong ty Duong Sua Uu Viet", org=org, day=date(2026, 11, 24),
                                   need="Học tập, học bổng", ref="UH-ABC234")
        anonymous = certificate.render(name=None, org=org, day=date(2026, 11, 24), need="Học tập, học bổng", ref="UH-ABC234")
        named_anonymous = certificate.render(name="Nhà hảo tâm ẩn danh", org=org, day=date(2026, 11, 24), need="Học tập, học bổng", ref="UH-ABC234")
    assert marked != plain
    assert anonymous == named_anonymous
    decomposed = certificate.render(name=unicodedata.normalize("NFD", name), org=org, day=date(2026, 11, 24),
                                    need="Học tập, học bổng", ref="UH-ABC234")
    assert decomposed == marked  # typed with a decomposing keyboard: drawn the same


async def test_not_thanked_until_fully_funded_then_thanked_when_the_money_arrives(app: App) -> None:
    case = await publish(app, needs={"education": 1_000_000})
    await fund(app, case.id, ("773", "An", "600k"))
    assert await deliver(app, case.id) == 0  # 600k of 1M: not yet
    await set_case(app, case.id, status="supported")  # the staff side recorded a delivery
    await fund(app, case.id, ("774", "Bình", "400k"))  # the rest arrives: both thanked now
    for user in ("773", "774"):
        assert any("Hỗ trợ đã tới tay trẻ" in p["text"] for p in await messages_to(app, user))


async def test_delivery_of_one_kind_thanks_only_that_need(app: App) -> None:
    case = await publish(app, needs={"education": 500_000, "health": 300_000})
    with_bank(app)
    code = await code_of(app, case.id)
    staff = await Chat.staff(app, "9001")
    for user, need in (("775", "education"), ("776", "health")):
        chat = await donor(app, user)
        await chat.press(f"m:ungho:{code}:{(await need_of(app, case.id, need)).id}")
        await chat.answers("1", "tất cả", "bỏ qua", "gửi")
        pledge = (await all_pledges(app))[-1]
        await staff.press(f"m:camket:nhan:{pledge.id}")
        await staff.answers("đủ", "hôm nay", "gửi")
    assert await deliver(app, case.id, kinds=["education"]) == 1
    assert any("Hỗ trợ đã tới tay trẻ" in p["text"] for p in await messages_to(app, "775"))
    assert not any("Hỗ trợ đã tới tay trẻ" in p["text"] for p in await messages_to(app, "776"))


async def test_opted_out_donor_is_not_messaged_but_keeps_the_certificate(app: App) -> None:
    case = await publish(app, needs={"education": 500_000})
    await fund(app, case.id, ("777", "Chi", "500k"))
    chat = Chat(app, "777")
    await chat.send("/tatthongbao")
    assert "Đã tắt mọi thông báo" in chat.text and not (await person(app, "777")).notify
    before = len(await messages_to(app, "777"))
    assert await deliver(app, case.id) == 1
    assert len(await messages_to(app, "777")) == before
    [pledge] = await all_pledges(app)
    await chat.send(f"/giaycamon {pledge.ref}")
    assert chat.replies[0].document is not None
    await chat.send("/batthongbao")
    assert (await person(app, "777")).notify


async def test_daily_sweep_thanks_when_the_case_is_marked_supported_and_updates_on_close(app: App, clock: Clock) -> None:
    funded_case = await publish(app, needs={"education": 500_000})
    partial_case = await publish(app, needs={"housing": 5_000_000})
    await fund(app, funded_case.id, ("778", "Dũng", "500k"))
    await fund(app, partial_case.id, ("779", "Em", "1 triệu"))
    assert {"donor_updates", "donor_digest"} <= set(jobs.JOBS)
    await notify.sweep(app, clock.now)
    assert not any("Hỗ trợ đã tới tay trẻ" in p["text"] for p in await messages_to(app, "778"))
    await set_case(app, funded_case.id, status="supported")
    await set_case(app, partial_case.id, status="closed", published_at=None)  # closing unpublishes
    await notify.sweep(app, clock.now)
    assert any("Hỗ trợ đã tới tay trẻ" in p["text"] for p in await messages_to(app, "778"))
    [update] = [p["text"] for p in await messages_to(app, "779") if "đã khép lại" in p["text"]]
    assert "«Nhà ở» (1.000.000\xa0₫)" in update and f"TE-{await code_of(app, partial_case.id)}" in update
    count = len(await outbox_messages(app))
    await notify.sweep(app, clock.now)  # nothing twice
    assert len(await outbox_messages(app)) == count


async def test_a_recorded_delivery_then_closing_is_a_thank_you_not_an_update(app: App, clock: Clock) -> None:
    case = await publish(app, needs={"nutrition": 600_000})
    await fund(app, case.id, ("785", "Hà", "600k"))
    async with app.db.transaction() as session:
        row = await session.get(Case, case.id)
        assert row is not None
        await support.record(session, row, kind="nutrition", what="Gạo và sữa cho 3 tháng, giao tại nhà bác Sếnh",
                             value=600_000, delivered_on=date(2026, 11, 24), actor_id=None, now=clock.now)
        row.status, row.published_at = "closed", None
    await notify.sweep(app, clock.now)
    [thanks] = [p["text"] for p in await messages_to(app, "785") if "Hỗ trợ đã tới tay trẻ" in p["text"]]
    assert "Gạo và sữa" not in thanks and "Sếnh" not in thanks  # staff's words never reach a donor
    assert not [p for p in await messages_to(app, "785") if "đã khép lại" in p["text"]]


async def test_monthly_digest_of_new_needs_in_chosen_provinces(app: App, clock: Clock) -> None:
    chat = await donor(app, "780")
    await chat.send("/caidat")
    assert "Bản tin tháng về nhu cầu mới: tắt" in chat.text
    await chat.press("m:caidat:tinh")
    await chat.send("lao cai, xyz")
    assert "Không rõ tỉnh/thành «xyz»" in chat.text
    await chat.send("lao cai")
    await chat.send("gửi")
    assert "Bạn sẽ nhận bản tin tháng về nhu cầu mới ở: Lào Cai" in chat.text
    await donor(app, "781")  # never asked for the digest
    stopped = await donor(app, "782")
    await stopped.press("m:caidat:bantin:on")
    await stopped.send("/tatthongbao")

    lao_cai = await publish(app, needs={"nutrition": 700_000}, published_at=clock.now - days(2))
    await publish(app, province=HA_NOI, commune=HOAN_KIEM, published_at=clock.now - days(1))
    await notify.digest(app, clock.now)
    [digest] = [p for p in await messages_to(app, "780") if "Bản tin tháng" in p["text"]]
    assert "1 trẻ mới cần hỗ trợ (Lào Cai)" in digest["text"]
    assert f"TE-{await code_of(app, lao_cai.id)} · Bé gái, 6–10 tuổi · Lào Cai · Dinh dưỡng, bữa ăn" in digest["text"]
    assert not await messages_to(app, "781") and not [p for p in await messages_to(app, "782") if "Bản tin" in p["text"]]

    clock.now += days(1)
    await publish(app, needs={"health": 300_000})
    await notify.digest(app, clock.now)  # a day later: at most monthly
    assert len([p for p in await messages_to(app, "780") if "Bản tin tháng" in p["text"]]) == 1
    clock.now += days(30)
    await notify.digest(app, clock.now)
    texts = [p["text"] for p in await messages_to(app, "780") if "Bản tin tháng" in p["text"]]
    assert len(texts) == 2 and "1 trẻ mới cần hỗ trợ" in texts[1]  # only what is new since the last one
    me = await person(app, "780")
    async with app.db.transaction() as session:
        profile = await donors.get(session, me.id)
        assert profile is not None and profile.last_digest_at == clock.now


async def test_settings_show_and_switch_the_digest(app: App) -> None:
    chat = await donor(app, "783", name=None)
    await chat.press("m:caidat")
    assert "Tên trên giấy cảm ơn: ẩn danh" in chat.text and "m:caidat:bantin:on" in chat.button_data()
    await chat.press("m:caidat:bantin:on")
    assert "Đã bật bản tin tháng" in chat.text and "tỉnh/thành: cả nước" in chat.text
    await chat.press("m:caidat:bantin:off")
    assert "Đã tắt bản tin tháng" in chat.text
    await chat.press("m:tatthongbao")
    await chat.press("m:caidat")
    assert "Thông báo (cảm ơn, cập nhật, bản tin): tắt" in chat.text and "m:batthongbao" in chat.button_data()


async def test_certificate_only_after_delivery(app: App) -> None:
    case = await publish(app, needs={"education": 400_000})
    await fund(app, case.id, ("784", "Giang", "400k"))
    [pledge] = await all_pledges(app)
    chat = Chat(app, "784")
    await chat.send(f"/giaycamon {pledge.ref}")
    assert "Giấy cảm ơn có khi hỗ trợ đã được trao tới trẻ" in chat.text
    async with app.db.transaction() as session:
        assert (await session.exec(select(Case).where(Case.id == case.id))).one().status == "verified"


async def test_a_delivery_of_another_kind_does_not_thank_for_this_need(app: App, clock: Clock) -> None:
    case = await publish(app, needs={"education": 400_000})
    await fund(app, case.id, ("786", "Khánh", "400k"))
    async with app.db.transaction() as session:
        row = await session.get(Case, case.id)
        assert row is not None
        await support.record(session, row, kind="health", what="Thẻ bảo hiểm y tế", value=None,
                             delivered_on=date(2026, 11, 24), actor_id=None, now=clock.now)
        row.status = "supported"
    await notify.sweep(app, clock.now)
    assert not [p for p in await messages_to(app, "786") if "Hỗ trợ đã tới tay trẻ" in p["text"]]
    async with app.db.transaction() as session:
        row = await session.get(Case, case.id)
        assert row is not None
        await support.record(session, row, kind="education", what="Học phí học kỳ 1", value=400_000,
                             delivered_on=date(2026, 11, 24), actor_id=None, now=clock.now)
    await notify.sweep(app, clock.now)
    assert [p for p in await messages_to(app, "786") if "Hỗ trợ đã tới tay trẻ" in p["text"]]
