"""Retention: personal data of cases closed more than RETENTION_YEARS ago is erased daily; the
anonymised figures stay; every erasure is audited; the log names no child."""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

import bot.ops  # noqa: F401  registers the daily job (until the router imports bot.ops itself)
from bot import jobs
from bot.app import App
from bot.ops import cli as ops_cli
from bot.ops import retention
from bot.settings import Settings
from storage import cases
from storage.audit import AuditEntry
from storage.models import Case, CaseEvent, Need
from tests.support import Clock

YEAR = timedelta(days=365)


async def make_case(app: App, name: str, status: str, closed_at: datetime | None, created: datetime) -> int:
    async with app.db.transaction() as session:
        data = cases.CaseData(province_code=15, commune_code=3046, sex="female", birth_year=2012, age_years=8,
                              groups=("a", "d"), household="poor", needs={"health": 700_000},
                              personal={"child_name": name, "hamlet": "Bản Dền", "caregiver_phone": "+84912345678"})
        case = await cases.create(session, data, prefix="LCA", reporter_id=None, now=created)
        session.add(CaseEvent(case_id=case.id, kind="note", note=f"Ghi chú về {name}", at=created))
        if closed_at is not None:
            case.status = status
            session.add(CaseEvent(case_id=case.id, kind="status", from_status="in_support", to_status=status, note="đã chuyển về gia đình", at=closed_at))
        assert case.id is not None
        return case.id


async def load(app: App, case_id: int) -> tuple[Case, list[CaseEvent], list[Need], list[AuditEntry]]:
    async with app.db.transaction() as session:
        case = await session.get(Case, case_id)
        events = list(await session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))))
        needs = list(await session.exec(select(Need).where(Need.case_id == case_id)))
        trail = list(await session.exec(select(AuditEntry).where(AuditEntry.case_id == case_id)))
        assert case is not None
        return case, events, needs, trail


async def test_closed_cases_lose_personal_data_after_the_retention_period(app: App, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    now = clock.now
    long_ago = now - 8 * YEAR
    old_closed = await make_case(app, "Trẻ Đã Đóng Lâu", "closed", now - 5 * YEAR - timedelta(days=2), long_ago)
    old_rejected = await make_case(app, "Trẻ Không Tiếp Nhận", "rejected", now - 6 * YEAR, long_ago)
    recent = await make_case(app, "Trẻ Mới Đóng", "closed", now - 5 * YEAR + timedelta(days=2), long_ago)
    still_open = await make_case(app, "Trẻ Vẫn Mở", "in_support", None, long_ago)
    supported = await make_case(app, "Trẻ Đã Hỗ Trợ", "supported", now - 7 * YEAR, long_ago)

    caplog.set_level(logging.INFO)
    outcome = await retention.erase_expired(app.db, now, years=5)
    assert outcome.erased == 2

    for case_id in (old_closed, old_rejected):
        case, events, needs, trail = await load(app, case_id)
        assert case.personal is None and all(e.note is None for e in events)
        # what can be counted stays
        assert (case.province_code, case.commune_code, case.sex, case.birth_year, case.groups, case.household) == (15, 3046, "female", 2012, ["a", "d"], "poor")
        assert [(n.kind, n.amount) for n in needs] == [("health", 700_000)] and [e.kind for e in events] == ["created", "note", "status"]
        assert [(a.action, a.actor_id, a.detail) for a in trail] == [("retention_erase", None, "retention_years=5")]
    for case_id in (recent, still_open, supported):
        case, events, _needs, trail = await load(app, case_id)
        assert case.personal is not None and case.personal["child_name"].startswith("Trẻ ") and not trail
        assert events[1].note is not None

    assert "erased personal data of 2 cases closed before 2021-11-24 (RETENTION_YEARS=5)" in caplog.text
    assert "Trẻ" not in caplog.text and "LCA-" not in caplog.text

    again = await retention.erase_expired(app.db, now, years=5)
    assert again.erased == 0


async def test_the_daily_job_runs_with_the_setting(app: App, clock: Clock) -> None:
    assert jobs.JOBS["retention"].hour == 2
    case_id = await make_case(app, "Trẻ A", "duplicate", clock.now - 6 * YEAR, clock.now - 7 * YEAR)
    at_night = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 03:00 on the 25th in Hanoi
    ran = await jobs.run_due(app, at_night)
    assert "retention" in ran
    assert (await load(app, case_id))[0].personal is None
    assert "retention" not in await jobs.run_due(app, at_night + timedelta(hours=1))  # once a day


async def test_zero_years_keeps_everything(app: App, settings: Settings, clock: Clock) -> None:
    case_id = await make_case(app, "Trẻ A", "closed", clock.now - 20 * YEAR, clock.now - 21 * YEAR)
    app.settings = settings.model_copy(update={"retention_years": 0})
    await retention.retention_job(app, clock.now)
    assert (await load(app, case_id))[0].personal is not None


async def test_many_cases_are_erased_in_batches(app: App, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 3)
    ids = [await make_case(app, f"Trẻ {i}", "closed", clock.now - 6 * YEAR, clock.now - 7 * YEAR) for i in range(7)]
    batches: list[int] = []
    real = retention.erase_batch

    async def counting(*args):
        batches.append(await real(*args))
        return batches[-1]

    monkeypatch.setattr(retention, "erase_batch", counting)
    assert (await retention.erase_expired(app.db, clock.now, years=5)).erased == 7
    assert batches == [3, 3, 1]
    for case_id in ids:
        assert (await load(app, case_id))[0].personal is None


def test_the_cutoff_is_the_same_day_years_before() -> None:
    assert retention.cutoff(datetime(2028, 2, 29, 12, tzinfo=UTC), 5) == datetime(2023, 2, 28, 12, tzinfo=UTC)
    assert retention.cutoff(datetime(2026, 11, 24, 3, tzinfo=UTC), 5) == datetime(2021, 11, 24, 3, tzinfo=UTC)


async def test_cli_counts_then_erases(app: App, settings: Settings, clock: Clock, capsys: pytest.CaptureFixture[str]) -> None:
    real_now = datetime.now(UTC)
    case_id = await make_case(app, "Trẻ A", "closed", real_now - 6 * YEAR, real_now - 7 * YEAR)
    await make_case(app, "Trẻ B", "closed", real_now - YEAR, real_now - 7 * YEAR)
    assert await ops_cli.dispatch(argparse.Namespace(command="retention", dry_run=True), settings) == 0
    assert "1 hồ sơ đã đóng trước" in capsys.readouterr().out
    assert (await load(app, case_id))[0].personal is not None
    assert await ops_cli.dispatch(argparse.Namespace(command="retention", dry_run=False), settings) == 0
    assert "Đã xóa dữ liệu cá nhân của 1 hồ sơ" in capsys.readouterr().out
    assert (await load(app, case_id))[0].personal is None
