"""What each CLI command does, with the application opened and closed around it."""

from __future__ import annotations

import logging
import sys

from bot.app import App
from bot.channels.local import LocalChat
from bot.settings import Settings
from conversations.fields import is_number
from conversations.parsing import places
from storage import crypto, people
from storage import migrate as migrations
from storage.db import Database

log = logging.getLogger(__name__)


async def run(settings: Settings) -> int:
    if settings.bot_token is None:
        print("BOT_TOKEN is not set: opening the local chat in this terminal.", file=sys.stderr)
        return await chat(settings, "collaborator")
    from bot.service import serve

    return await serve(settings)


async def chat(settings: Settings, role: str) -> int:
    app = await App.open(settings)
    try:
        await LocalChat(app, role).run()
    finally:
        await app.close()
    return 0


async def migrate(settings: Settings) -> int:
    crypto.configure(settings.data_keys())
    db = Database(settings.database_url)
    try:
        await migrations.upgrade(db.engine)
        print(f"database at revision {await migrations.current_revision(db.engine)}")
    finally:
        await db.dispose()
    return 0


async def add_staff(settings: Settings, user_id: str, channel: str) -> int:
    app = await App.open(settings)
    try:
        async with app.db.transaction() as session:
            await people.set_role(session, channel, user_id, "staff")
        print(f"{channel} user {user_id} is now staff")
    finally:
        await app.close()
    return 0


def _find_commune(commune: str, province: str | None) -> places.Place | list[places.Place]:
    if is_number(commune):
        return places.ward(int(commune))
    if province is None:
        raise SystemExit("give --province with a commune name (or use the commune code)")
    found_provinces = [places.province(int(province))] if is_number(province) else places.search_provinces(province, limit=2)
    if len(found_provinces) != 1:
        raise SystemExit(f"province {province!r}: {len(found_provinces)} matches")
    found = places.search_wards(found_provinces[0].code, commune)
    return found[0] if len(found) == 1 else found


async def invite(settings: Settings, commune: str, province: str | None) -> int:
    try:
        found = _find_commune(commune, province)
    except KeyError:
        print(f"no commune with code {commune}", file=sys.stderr)
        return 1
    if isinstance(found, list):
        print("matches:" if found else "no match", file=sys.stderr)
        for ward in found:
            print(f"  {ward.code}  {ward.name}, {places.province(ward.province_code).name}", file=sys.stderr)
        return 1
    app = await App.open(settings)
    try:
        async with app.db.transaction() as session:
            created = await people.create_invite(session, found.province_code, found.code)
        print(f"invite code: {created.code}  ({found.name}, {places.province(found.province_code).name}; expires {created.expires_at:%Y-%m-%d})")
        if settings.bot_username:
            print(f"link: https://t.me/{settings.bot_username}?start={created.code}")
        print(f"or send the bot: /start {created.code}")
    finally:
        await app.close()
    return 0
