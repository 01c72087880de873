"""Donors pledging the last part of a need at the same moment: never more than the need.

Each donor is a separate chat; App.handle runs them concurrently, each in its own transaction on
its own connection, on SQLite and on PostgreSQL (the `app` fixture runs both).
"""

from __future__ import annotations

import asyncio

from bot.app import App
from storage import pledges
from tests.support import Chat
from tests.test_donor_helpers import (
    all_pledges,
    code_of,
    donor,
    need_of,
    publish,
    ready_to_confirm,
    with_bank,
)


async def confirm_all(chats: list[Chat]) -> None:
    await asyncio.gather(*(chat.send("gửi") for chat in chats))


async def test_twenty_donors_pledge_the_last_part_at_once_one_wins(app: App) -> None:
    with_bank(app)
    case = await publish(app, needs={"education": 1_500_000}, pledged={"education": 500_000}, priority=90)
    other = await publish(app, needs={"education": 700_000}, priority=10)
    code, other_code = await code_of(app, case.id), await code_of(app, other.id)
    chats = [await donor(app, f"80{i:02d}") for i in range(20)]
    for chat in chats:
        await ready_to_confirm(chat, code, "1", "1 triệu", "bỏ qua")
    await confirm_all(chats)

    won = [c for c in chats if "Đã ghi cam kết" in c.text]
    lost = [c for c in chats if c not in won]
    assert len(won) == 1 and len(lost) == 19
    need = await need_of(app, case.id)
    assert need.pledged == need.amount == 1_500_000  # exactly what was left, nothing more
    [pledge] = await all_pledges(app)
    assert pledge.amount == 1_000_000
    for chat in lost:
        assert "vừa được nhà hảo tâm khác cam kết đủ ngay trước bạn" in chat.text
        assert "Một trẻ khác đang cần giúp" in chat.text and f"m:ungho:{other_code}" in chat.button_data()
        assert f"TE-{other_code}" in chat.text


async def test_a_need_shared_out_exactly_among_concurrent_donors(app: App) -> None:
    with_bank(app)
    case = await publish(app, needs={"nutrition": 1_000_000})
    code = await code_of(app, case.id)
    chats = [await donor(app, f"81{i:02d}") for i in range(10)]
    for chat in chats:
        await ready_to_confirm(chat, code, "1", "250k", "bỏ qua")
    await confirm_all(chats)

    won = [c for c in chats if "Đã ghi cam kết" in c.text]
    assert len(won) == 4
    assert (await need_of(app, case.id, "nutrition")).pledged == 1_000_000
    assert sum(p.amount or 0 for p in await all_pledges(app)) == 1_000_000
    for chat in chats:
        if chat not in won:
            assert "chưa được ghi" in chat.text and "Đã ghi cam kết" not in chat.text


async def test_the_loser_is_offered_what_is_left(app: App) -> None:
    with_bank(app)
    case = await publish(app, needs={"education": 1_000_000})
    code = await code_of(app, case.id)
    first, second = await donor(app, "8201"), await donor(app, "8202")
    await ready_to_confirm(first, code, "1", "700k", "bỏ qua")
    await ready_to_confirm(second, code, "1", "600k", "bỏ qua")
    await first.send("gửi")
    await second.send("gửi")
    assert "giờ chỉ còn thiếu 300.000\xa0₫, chưa đủ cho 600.000\xa0₫ của bạn" in second.text
    need = await need_of(app, case.id)
    assert f"m:ungho:{code}:{need.id}" in second.button_data()
    await second.press(f"m:ungho:{code}:{need.id}")
    await second.answers("1", "tất cả", "bỏ qua", "gửi")
    assert "Đã ghi cam kết" in second.text and (await need_of(app, case.id)).pledged == 1_000_000


async def test_reserve_is_atomic_across_concurrent_transactions(app: App) -> None:
    """The guard itself: ten sessions each claim 400,000 of 1,000,000 at once; two succeed."""
    case = await publish(app, needs={"health": 1_000_000})
    need_id = (await need_of(app, case.id, "health")).id

    async def attempt() -> bool:
        async with app.db.transaction() as session:
            claimed = await pledges.reserve(session, need_id, 400_000)
            await asyncio.sleep(0.01)  # hold the transaction open while the others try
            return claimed

    results = await asyncio.gather(*(attempt() for _ in range(10)))
    assert results.count(True) == 2
    assert (await need_of(app, case.id, "health")).pledged == 800_000
