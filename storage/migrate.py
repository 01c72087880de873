"""Apply the Alembic migrations (storage/migrations) to the configured database.

A restart finds the database already at HEAD: that is one query, and Alembic (a tenth of a
second or more of every start) is imported only when there is something to migrate.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# The newest revision: files are named after their revision ids, 0001_initial.py onwards, and
# each merges all before it (tests/test_migrations.py checks this against Alembic's own head).
HEAD = max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def alembic_config(connection: Any = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Bring the schema to `revision` in one transaction."""
    if revision == "heads" and await applied(engine) == [HEAD]:
        return
    from alembic import command

    async with engine.begin() as connection:
        await connection.run_sync(lambda c: command.upgrade(alembic_config(c), revision))


async def applied(engine: AsyncEngine) -> list[str]:
    """The revisions recorded in the database (none on a new one), read without Alembic."""
    try:
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            return sorted(row[0] for row in rows)
    except sa_exc.DBAPIError as error:
        if "alembic_version" in str(error.orig):  # no such table: a new database
            return []
        raise  # unreachable, locked: not a reason to think it empty


async def current_revision(engine: AsyncEngine) -> str | None:
    """The applied revision(s), comma-separated when branches are merged in place."""
    return ",".join(await applied(engine)) or None


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def autogenerate(engine: AsyncEngine, message: str) -> None:
    """Developers: write a new migration from the difference between models and database."""
    from alembic import command

    async with engine.begin() as connection:
        await connection.run_sync(
            lambda c: command.revision(alembic_config(c), message=message, autogenerate=True)
        )
