"""Every figure of /tomtat, /thongke and the charts reconciles exactly with the rows: a generated
data set of thousands of cases (inserted in bulk) is read back and every figure recomputed here,
in plain Python, from the definitions in storage/summaries.py. Then the commands, as staff see
them, with small cells shown as "<3"."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from bench.bench_summaries import generate
from bot.app import App
from storage import summaries
from storage.deadlines import VN_TZ
from storage.models import Case, Need
from storage.review import CaseTrack
from tests.support import Chat, Clock
from tests.test_staff_helpers import LAO_CAI, STAFF, make_case

CASES = 3_000
OPEN = ("new", "verified", "in_support", "supported")
VERIFIED = ("verified", "in_support", "supported")


def local(moment: datetime) -> datetime:
    return moment.astimezone(VN_TZ)


class Rows:
    """The rows, read back once, and every figure computed from them the slow, obvious way."""

    def __init__(self, cases: list[Case], tracks: dict[int, CaseTrack], needs: list[Need], now: datetime) -> None:
        self.cases, self.tracks, self.needs, self.now = cases, tracks, needs, now

    def overview(self) -> dict[str, object]:
        now = local(self.now)
        week = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=now.weekday())
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        published = {c.id for c in self.cases if c.published_at is not None}
        status = {c.id: c.status for c in self.cases}
        emergencies = 0
        plans = 0
        for c in self.cases:
            track = self.tracks.get(c.id)  # type: ignore[arg-type]
            handled = track is not None and track.handled_at is not None
            if c.status == "new" and c.danger and c.respond_by is not None and c.respond_by < self.now and not handled:
                emergencies += 1
            if status[c.id] == "verified" and track is not None and track.plan_at is None and track.plan_due is not None and track.plan_due < self.now:
                plans += 1
        published_needs = [n for n in self.needs if n.case_id in published]
        return {
            "by_status": dict(Counter(c.status for c in self.cases)),
            "by_risk": dict(Counter(c.risk or "none" for c in self.cases if c.status in OPEN)),
            "new_week": sum(1 for c in self.cases if local(c.created_at) >= week),
            "new_month": sum(1 for c in self.cases if local(c.created_at) >= month),
            "overdue_emergency": emergencies,
            "overdue_plan": plans,
            "needs_published": len(published_needs),
            "needs_funded": sum(1 for n in published_needs if n.amount and n.pledged >= n.amount),
            "pledged": sum(n.pledged for n in self.needs),
            "received": sum(n.received for n in self.needs),
        }

    def breakdown(self, by: str, province: int | None = None) -> dict[object, tuple[int, int, int]]:
        cells: dict[object, list[int]] = defaultdict(lambda: [0, 0, 0])
        first_month = (local(self.now).replace(day=1) - timedelta(days=1)).replace(day=1)
        for _ in range(10):
            first_month = (first_month - timedelta(days=1)).replace(day=1)
        for c in self.cases:
            if province is not None and c.province_code != province:
                continue
            if by == "province":
                keys: list[object] = [c.province_code]
            elif by == "commune":
                keys = [c.commune_code]
            elif by == "group":
                keys = list(dict.fromkeys(c.groups)) or ["none"]
            else:
                created = local(c.created_at)
                if created < first_month.replace(hour=0, minute=0, second=0, microsecond=0):
                    continue
                keys = [f"{created:%Y-%m}"]
            for key in keys:
                if c.status in ("rejected", "duplicate"):
                    cells[key]  # the row exists even when nothing counts in it
                    continue
                cells[key][0] += 1
                cells[key][1] += c.status in VERIFIED
                cells[key][2] += c.status == "supported"
        return {k: tuple(v) for k, v in cells.items()}  # type: ignore[misc]


async def read_rows(app: App, now: datetime) -> Rows:
    async with app.db.transaction() as session:
        cases = list(await session.exec(select(Case)))
        tracks = {t.case_id: t for t in await session.exec(select(CaseTrack))}
        needs = list(await session.exec(select(Need)))
    return Rows(cases, tracks, needs, now)


@pytest.fixture
async def generated(app: App, clock: Clock) -> Rows:
    await generate(app.db.engine, CASES, now=clock.now, seed=7, years=2.0)
    return await read_rows(app, clock.now)


def cells_of(result: summaries.Breakdown) -> dict[object, tuple[int, int, int]]:
    return {k: (c.children, c.verified, c.supported) for k, c in result.rows.items()}


async def test_overview_reconciles_with_the_rows(app: App, generated: Rows, clock: Clock) -> None:
    expected = generated.overview()
    async with app.db.transaction() as session:
        for overview in (await summaries.overview(session, clock.now), await summaries.overview(session, clock.now, db=app.db)):
            got = {name: getattr(overview, name) for name in expected}
            assert got == expected
            assert overview.total == CASES
            assert overview.verified == sum(expected["by_status"].get(s, 0) for s in VERIFIED)  # type: ignore[union-attr]
            assert overview.coverage == overview.supported / overview.verified
    # the data set exercises every figure: none of them is trivially zero
    assert all(expected[k] for k in ("new_week", "new_month", "overdue_emergency", "overdue_plan", "needs_published", "needs_funded", "pledged", "received"))
    assert set(expected["by_status"]) == {"new", "verified", "in_support", "supported", "closed", "rejected", "duplicate"}  # type: ignore[arg-type]


@pytest.mark.parametrize("by", ["province", "commune", "group", "month"])
async def test_breakdowns_reconcile_with_the_rows(app: App, generated: Rows, clock: Clock, by: str) -> None:
    async with app.db.transaction() as session:
        result = await summaries.breakdown(session, by, now=clock.now)  # type: ignore[arg-type]
        in_province = await summaries.breakdown(session, by, now=clock.now, province_code=LAO_CAI)  # type: ignore[arg-type]
    expected = generated.breakdown(by)
    got = cells_of(result)
    if by == "month":
        assert len(got) == 12  # every month shows, empty or not
        got = {k: v for k, v in got.items() if v != (0, 0, 0) or k in expected}
    assert got == expected
    assert cells_of(in_province) == {k: v for k, v in generated.breakdown(by, LAO_CAI).items()} | ({k: v for k, v in cells_of(in_province).items() if v == (0, 0, 0)} if by == "month" else {})
    # the total counts each child once, even one in two groups
    on_list = [c for c in generated.cases if c.status not in ("rejected", "duplicate")]
    if by != "month":
        assert result.total.children == len(on_list)
        assert result.total.supported == sum(c.status == "supported" for c in on_list)
    if by == "group":
        assert sum(c.children for c in result.rows.values()) > result.total.children


async def test_erasure_keeps_the_figures(app: App, generated: Rows, clock: Clock) -> None:
    from storage import review

    async with app.db.transaction() as session:
        before = await summaries.overview(session, clock.now)
        province = cells_of(await summaries.breakdown(session, "province", now=clock.now))
        for case in list(await session.exec(select(Case).limit(50))):
            await review.erase(session, case, "yêu cầu", actor_id=None, now=clock.now)
    async with app.db.transaction() as session:
        assert await summaries.overview(session, clock.now) == before
        assert cells_of(await summaries.breakdown(session, "province", now=clock.now)) == province


async def test_summary_command_shows_every_figure(app: App, collaborator: Chat, clock: Clock) -> None:
    staff = Chat(app, STAFF)
    await staff.send("/tomtat")
    assert "Độ bao phủ: chưa có trẻ nào được xác minh (mục tiêu 99%)" in staff.text
    cases = [await make_case(app, reporter="501") for _ in range(4)]
    await make_case(app, reporter="501", danger=True, needs={})
    for case in cases[:3]:
        await staff.send(f"/xacminh {case.code}")
    await staff.send(f"/congbo {cases[0].code}")
    await staff.send(f"/hotro {cases[0].code}")
    await staff.answers("1", "Khám bệnh", "500k", "hôm nay", "gửi")
    clock.now += timedelta(days=10)  # the plans of the other two are late now, and so is the emergency
    await staff.send("/summary")
    text = staff.text
    for shown in ("Hồ sơ: 5 (trong danh sách trẻ: 5)", "Chờ xem xét 2 · Đã xác minh 2 · Đang hỗ trợ 0 · Đã được hỗ trợ 1",
                  "Cao 0 · Trung bình 0 · Thấp 0 · chưa đánh giá 5", "Báo cáo mới: tuần này 0 · tháng này 0",
                  "Quá hạn: 1 khẩn cấp (12 giờ) · 2 chưa có kế hoạch hỗ trợ (5 ngày làm việc)",
                  "Độ bao phủ: 1/3 trẻ đã xác minh được hỗ trợ = 33,3% (mục tiêu 99%) ⚠️ còn thiếu 2 trẻ để đạt mục tiêu.",
                  "Nhu cầu đang công bố: 2 · đã đủ kinh phí: 0", "đã cam kết 0\xa0₫ · đã nhận 0\xa0₫"):
        assert shown in text, shown
    assert "m:quahan" in staff.button_data()


async def test_stats_show_small_cells_as_under_three(app: App, collaborator: Chat, clock: Clock) -> None:
    from conversations.parsing import places

    coc_lau = places.search_wards(LAO_CAI, "Cốc Lầu")[0].code
    for _ in range(4):
        await make_case(app, reporter="501")
    for _ in range(2):
        await make_case(app, reporter="501", commune_code=coc_lau, groups=("l",))
    hanoi = await make_case(app, reporter="501", province_code=1, commune_code=None)
    staff = Chat(app, STAFF)
    await staff.send("/thongke")
    text = staff.text
    assert "Thống kê theo tỉnh/thành" in text and "Ô dưới 3 trẻ ghi «<3»" in text
    assert "Lào Cai: 6 trẻ · 0 đã xác minh · 0 được hỗ trợ (—)" in text
    assert "Hà Nội: <3 trẻ · 0 đã xác minh" in text
    assert "Tổng: 7 trẻ" in text
    await staff.send("/thongke xa lao cai")
    assert "Xã Bản Hồ (Lào Cai): 4 trẻ" in staff.text and "Xã Cốc Lầu (Lào Cai): <3 trẻ" in staff.text
    await staff.send("/thongke xa coc lau")
    assert "Xã Cốc Lầu (Lào Cai): <3 trẻ" in staff.text and "Bản Hồ" not in staff.text
    await staff.send("/thongke nhom")
    assert "Bị xâm hại tình dục: <3 trẻ" in staff.text and "Mồ côi cả cha và mẹ: 5 trẻ" in staff.text
    assert "tổng các nhóm có thể lớn hơn" in staff.text
    await staff.send("/thongke thang")
    assert "Tháng 11/2026: 7 trẻ" in staff.text and "Tháng 12/2025: 0 trẻ" in staff.text
    await staff.send("/stats ha noi")
    assert "Chưa rõ xã: <3 trẻ" in staff.text
    await staff.send("/thongke sao hoa")
    assert "Không hiểu «sao hoa»" in staff.text
    await staff.send("/thongke xa khong co dau")
    assert "Không tìm thấy tỉnh hay xã" in staff.text
    assert hanoi.province_code == 1


def test_small_cells() -> None:
    assert [summaries.small(n) for n in range(5)] == [False, True, True, False, False]


async def test_month_keys_follow_vietnam_time(app: App, collaborator: Chat, clock: Clock) -> None:
    # 23:30 on 31 October in Hanoi is 16:30 UTC: an October report, not November
    clock.now = datetime(2026, 10, 31, 23, 30, tzinfo=VN_TZ)
    await make_case(app, reporter="501")
    clock.now = datetime(2026, 11, 1, 0, 30, tzinfo=VN_TZ)
    await make_case(app, reporter="501")
    async with app.db.transaction() as session:
        result = await summaries.breakdown(session, "month", now=clock.now)
    assert result.rows["2026-10"].children == 1 and result.rows["2026-11"].children == 1
    assert sorted(result.rows)[0] == "2025-12" and len(result.rows) == 12
