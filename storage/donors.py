"""Donor profiles: the name a donor wants on their thank-you, their language, what they hear about.

A donor's display name is their own personal data, so it is encrypted at rest like a child's;
None means they chose to stay anonymous. Whether anything is sent at all is `Person.notify`
(/tatthongbao); the monthly digest is a further opt-in, for the provinces they chose.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import JSON, Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import EncryptedText
from storage.models import Person, UTCDateTime, utcnow

LANGUAGES = ("vi", "en")
DIGEST_EVERY = timedelta(days=30)  # "at most monthly"


class DonorProfile(SQLModel, table=True):
    __tablename__ = "donor_profile"

    person_id: int = Field(sa_column=Column(Integer, ForeignKey("person.id"), primary_key=True))
    display_name: str | None = Field(default=None, sa_column=Column(EncryptedText()))  # None: anonymous
    language: str = Field(default="vi", sa_column=Column(String(2), nullable=False))
    provinces: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # [] = whole country
    digest: bool = False  # the monthly digest of new needs, opt-in
    last_digest_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


async def get(session: AsyncSession, person_id: int) -> DonorProfile | None:
    return await session.get(DonorProfile, person_id)


async def register(session: AsyncSession, person: Person, *, display_name: str | None, language: str,
                   now: datetime | None = None) -> DonorProfile:
    """Make a guest a donor (registering again only updates the name and language)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}")
    assert person.id is not None
    now = now or utcnow()
    profile = await get(session, person.id)
    if profile is None:
        profile = DonorProfile(person_id=person.id, created_at=now)
        session.add(profile)
    profile.display_name, profile.language, profile.updated_at = display_name, language, now
    if person.role == "guest":
        person.role = "donor"
    person.locale = language
    return profile


def set_provinces(profile: DonorProfile, codes: Sequence[int], now: datetime | None = None) -> None:
    profile.provinces = sorted(set(int(c) for c in codes))
    profile.updated_at = now or utcnow()


def set_digest(profile: DonorProfile, on: bool, now: datetime | None = None) -> None:
    profile.digest = on
    profile.updated_at = now or utcnow()


async def digest_due(session: AsyncSession, now: datetime) -> list[tuple[Person, DonorProfile]]:
    """Donors who asked for the digest, still want messages, and had none in the last 30 days."""
    statement = (
        select(Person, DonorProfile)
        .join(DonorProfile, col(DonorProfile.person_id) == col(Person.id))
        .where(Person.role == "donor", Person.active == True, Person.notify == True,  # noqa: E712
               DonorProfile.digest == True)  # noqa: E712
        .where((col(DonorProfile.last_digest_at).is_(None)) | (col(DonorProfile.last_digest_at) <= now - DIGEST_EVERY))
        .order_by(col(Person.id))
    )
    return [(person, profile) for person, profile in await session.exec(statement)]
