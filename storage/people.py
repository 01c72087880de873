"""People and roles: who is staff, who is a collaborator of which commune, who is a donor."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Invite, Person, utcnow

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


async def redeem_invite(session: AsyncSession, person: Person, code: str, now: datetime | None = None) -> Invite | None:
    """Turn the person into a collaborator of the invite's commune. None: unknown, used or expired."""
    now = now or utcnow()
    result = await session.exec(
        select(Invite).where(Invite.code == normalise_invite_code(code)).with_for_update()
    )
    invite = result.first()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    invite.used_by, invite.used_at = person.id, now
    if person.role != "staff":
        person.role = "collaborator"
    person.province_code, person.commune_code = invite.province_code, invite.commune_code
    person.active = True
    return invite
