"""People and roles: who is staff, who is a collaborator of which commune, who is a donor."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Invite, Person, utcnow
from storage.unit import Unit, assign

ROLES = ("guest", "donor", "collaborator", "staff")
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over a bad line
INVITE_LENGTH = 8
INVITE_LIFETIME = timedelta(days=7)


async def find(session: AsyncSession, channel: str, external_id: str) -> Person | None:
    result = await session.exec(
        select(Person).where(Person.channel == channel, Person.external_id == external_id)
    )
    return result.first()


async def get_or_create(
    session: AsyncSession, channel: str, external_id: str, chat_id: str, role: str = "guest"
) -> Person:
    """The person behind a channel user id, created on first contact."""
    person = await find(session, channel, external_id)
    if person is None:
        person = Person(channel=channel, external_id=external_id, chat_id=chat_id, role=role)
        session.add(person)
        await session.flush()
    elif person.chat_id != chat_id:
        person.chat_id = chat_id
    return person


async def set_role(session: AsyncSession, channel: str, external_id: str, role: str) -> Person:
    """Make someone staff (CLI, STAFF_IDS) or anything else; for Telegram the chat is the user."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    person = await get_or_create(session, channel, external_id, external_id)
    person.role = role
    person.active = True
    return person


async def staff(session: AsyncSession) -> list[Person]:
    result = await session.exec(
        select(Person).where(Person.role == "staff", Person.active == True).order_by(Person.id)  # noqa: E712
    )
    return list(result)


async def create_invite(
    session: AsyncSession, province_code: int, commune_code: int,
    created_by: int | None = None, now: datetime | None = None,
) -> Invite:
    now = now or utcnow()
    code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
    invite = Invite(code=code, province_code=province_code, commune_code=commune_code,
                    created_by=created_by, created_at=now, expires_at=now + INVITE_LIFETIME)
    session.add(invite)
    await session.flush()
    return invite


def normalise_invite_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


class Redeemed(NamedTuple):
    province_code: int
    commune_code: int


async def redeem_invite(unit: Unit, person: Person, code: str, now: datetime | None = None) -> Redeemed | None:
    """Turn the person into a collaborator of the invite's commune. None: unknown, used or expired.

    One statement in the update's own transaction: of two people redeeming the same code at the
    same moment, exactly one gets it (no separate read to race on)."""
    now = now or utcnow()
    codec = unit.codec(Invite)
    row = await unit.sql.one(
        "UPDATE invite SET used_by = ?, used_at = ? WHERE code = ? AND used_at IS NULL AND expires_at > ? "
        "RETURNING province_code, commune_code",
        (person.id, codec.bind("used_at", now), normalise_invite_code(code), codec.bind("expires_at", now)),
    )
    if row is None:
        return None
    redeemed = Redeemed(int(row[0]), int(row[1]))
    role = person.role if person.role == "staff" else "collaborator"
    assign(person, role=role, province_code=redeemed.province_code, commune_code=redeemed.commune_code, active=True)
    return redeemed
