"""Links: one person's accounts on two channels, and short-lived links to files.

Account links. A person who uses the bot on Telegram and on Zalo links the two accounts with a
one-time code: the account that shows the code vouches for the account that types it, so the
typing account takes the showing account's role and commune (never a lower role than it had)
and their reports are listed together. Unlinking gives the typing account back what it had
before, so a link made by mistake (or by someone who saw the code) is undone completely.

File links. Zalo can send photos only by URL and cannot send files at all, so images and
workbooks are kept here for a day and served at unguessable URLs: photos while they live,
downloads once. Only a hash of each token is stored, and the content is encrypted.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import Column, Index, String, delete, or_, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import EncryptedText
from storage.models import Person, UTCDateTime, utcnow
from storage.people import INVITE_ALPHABET, normalise_invite_code

CODE_LENGTH = 8
CODE_LIFETIME = timedelta(minutes=15)
FILE_LIFETIME = timedelta(hours=24)
ROLE_RANK = {"guest": 0, "donor": 1, "collaborator": 2, "staff": 3}

FileKind = Literal["photo", "download"]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class LinkCode(SQLModel, table=True):
    """A one-time code shown on one account, to be typed on the other. Stored as a hash."""

    __tablename__ = "link_code"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PersonLink(SQLModel, table=True):
    """One direction of a link (each link is two rows, so each account has at most one link).

    On the row of the account that typed the code, `vouched` is True and `prior_*` keep what it
    had before the link, to give it back on unlinking."""

    __tablename__ = "person_link"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    linked_id: int = Field(foreign_key="person.id", index=True)
    vouched: bool = False
    prior_role: str | None = Field(default=None, sa_column=Column(String(16)))
    prior_province: int | None = None
    prior_commune: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SharedFile(SQLModel, table=True):
    """An image or a workbook waiting to be fetched by URL (Zalo). Encrypted; gone after a day."""

    __tablename__ = "shared_file"
    __table_args__ = (Index("ix_shared_file_expires", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(10), nullable=False))
    name: str = Field(sa_column=Column(String(120), nullable=False))
    content: str = Field(sa_column=Column(EncryptedText(), nullable=False))  # base64
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))

    @property
    def data(self) -> bytes:
        return base64.b64decode(self.content)


# ---- account links ------------------------------------------------------------------------


async def create_code(session: AsyncSession, person: Person, now: datetime | None = None) -> str:
    """A new code for this account; earlier unused codes of the account stop working."""
    now = now or utcnow()
    assert person.id is not None
    await session.exec(delete(LinkCode).where(or_(col(LinkCode.person_id) == person.id, col(LinkCode.expires_at) <= now)))  # type: ignore[call-overload]
    code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(CODE_LENGTH))
    session.add(LinkCode(code_hash=_digest(code), person_id=person.id, created_at=now, expires_at=now + CODE_LIFETIME))
    await session.flush()
    return code


@dataclass(frozen=True)
class Redeemed:
    status: Literal["linked", "unknown", "same_channel", "taken"]
    other: Person | None = None


async def redeem(session: AsyncSession, person: Person, code: str, now: datetime | None = None) -> Redeemed:
    """Link `person` (who typed the code) with the account that showed it.

    unknown: no such live code; same_channel: typed on the channel it was made on (or by the
    same account); taken: one of the two accounts is already linked."""
    now = now or utcnow()
    statement = select(LinkCode).where(LinkCode.code_hash == _digest(normalise_invite_code(code))).with_for_update()
    found = (await session.exec(statement)).first()
    if found is None or found.expires_at <= now:
        return Redeemed("unknown")
    other = await session.get(Person, found.person_id)
    if other is None:
        return Redeemed("unknown")
    if other.channel == person.channel:
        return Redeemed("same_channel", other)
    assert person.id is not None and other.id is not None
    if await session.get(PersonLink, person.id) or await session.get(PersonLink, other.id):
        return Redeemed("taken", other)
    await session.delete(found)
    session.add(PersonLink(person_id=other.id, linked_id=person.id, created_at=now))
    session.add(PersonLink(person_id=person.id, linked_id=other.id, vouched=True, prior_role=person.role,
                           prior_province=person.province_code, prior_commune=person.commune_code, created_at=now))
    vouch(other, person)
    await session.flush()
    return Redeemed("linked", other)


def vouch(source: Person, target: Person) -> None:
    """The typing account takes the role and commune of the account that vouches for it, unless
    its own role is higher; a deactivated source passes on nothing."""
    if not source.active or ROLE_RANK.get(source.role, 0) < ROLE_RANK.get(target.role, 0):
        return
    target.role = source.role
    if source.commune_code is not None or source.province_code is not None:
        target.province_code, target.commune_code = source.province_code, source.commune_code
    if target.locale is None:
        target.locale = source.locale


async def linked(session: AsyncSession, person_id: int) -> Person | None:
    """The other account of this person, if linked."""
    link = await session.get(PersonLink, person_id)
    return None if link is None else await session.get(Person, link.linked_id)


async def same_person(session: AsyncSession, person_id: int) -> list[int]:
    """This account's id and its linked account's id: whose reports a person sees as theirs."""
    link = await session.get(PersonLink, person_id)
    return [person_id] if link is None else [person_id, link.linked_id]


async def unlink(session: AsyncSession, person: Person) -> Person | None:
    """Remove this account's link; the account that had typed the code gets back its role and
    commune from before. Returns the other account (None when there was no link)."""
    assert person.id is not None
    mine = await session.get(PersonLink, person.id)
    if mine is None:
        return None
    theirs = await session.get(PersonLink, mine.linked_id)
    other = await session.get(Person, mine.linked_id)
    for link, account in ((mine, person), (theirs, other)):
        if link is not None and link.vouched and account is not None:
            account.role = link.prior_role or "guest"
            account.province_code, account.commune_code = link.prior_province, link.prior_commune
    await session.delete(mine)
    if theirs is not None:
        await session.delete(theirs)
    await session.flush()
    return other


# ---- file links ---------------------------------------------------------------------------


async def share_file(session: AsyncSession, kind: FileKind, name: str, data: bytes, now: datetime | None = None,
                     lifetime: timedelta = FILE_LIFETIME) -> str:
    """Keep a file to be fetched by URL; returns the secret token for its URL.

    Expired files are removed on the way, so the table only ever holds a day of them."""
    now = now or utcnow()
    await session.exec(delete(SharedFile).where(col(SharedFile.expires_at) <= now))  # type: ignore[call-overload]
    token = secrets.token_urlsafe(32)
    session.add(SharedFile(token_hash=_digest(token), kind=kind, name=name[:120], content=base64.b64encode(data).decode(),
                           created_at=now, expires_at=now + lifetime))
    await session.flush()
    return token


async def open_file(session: AsyncSession, token: str, kind: FileKind, now: datetime | None = None,
                    take: bool = False) -> SharedFile | None:
    """The live file behind a token. With `take`, a download is used up: a second request, or
    two at once, get None."""
    now = now or utcnow()
    found = (await session.exec(select(SharedFile).where(SharedFile.token_hash == _digest(token), SharedFile.kind == kind))).first()
    if found is None or found.expires_at <= now or found.used_at is not None:
        return None
    if take:
        table = SharedFile.__table__  # type: ignore[attr-defined]
        statement = update(table).where(table.c.id == found.id, table.c.used_at.is_(None)).values(used_at=now).returning(table.c.id)
        if (await session.exec(statement)).first() is None:  # type: ignore[call-overload]
            return None
    return found
