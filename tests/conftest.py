"""Shared fixtures: a real App on a real database (SQLite file; PostgreSQL where reachable),
a controllable clock, and a Chat driver that talks to the core the way a channel does."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import App
from bot.settings import Settings
from tests.support import Chat, Clock, postgres

TEST_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture
def clock() -> Clock:
    # 10:00 in Hanoi on Tuesday 24 November 2026.
    return Clock(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh empty database per test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'chungtay.db'}"
        return
    if not await postgres.reachable(TEST_POSTGRES_URL):
        pytest.skip(f"PostgreSQL not reachable at {TEST_POSTGRES_URL} (set TEST_POSTGRES_URL); the SQLite run covers this test")
    name = f"ct_{uuid.uuid4().hex[:12]}"
    await postgres.create_database(TEST_POSTGRES_URL, name)
    try:
        yield postgres.with_database(TEST_POSTGRES_URL, name)
    finally:
        await postgres.drop_database(TEST_POSTGRES_URL, name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        data_key=Fernet.generate_key().decode(),
        data_key_file=tmp_path / "unused.key",
        staff_ids="9001,9002",
        hotline="111",
        org_name="Sở Y tế Lào Cai",
    )


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[App]:
    application = await App.open(settings, clock=clock)
    try:
        yield application
    finally:
        await application.close()


@pytest.fixture
async def collaborator(app: App) -> Chat:
    """A collaborator of Xã Bản Hồ, Lào Cai, who joined with an invite code."""
    return await Chat.collaborator(app, user="501")


def later(clock: Clock, **delta: float) -> None:
    clock.now += timedelta(**delta)
