"""Pledges: what a donor promised for one need, and what the organisation actually received.

`Need.pledged` is the sum of money still promised or received for a need; a new money pledge
claims its part with one conditional UPDATE (`pledged = pledged + x WHERE amount - pledged >= x`),
so two donors pledging the last part at the same moment cannot both succeed, on SQLite (writers
take turns) and on PostgreSQL (the second UPDATE waits for the first and re-checks the row).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    case,
    func,
    update,
)
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import EncryptedText
from storage.models import Need, UTCDateTime, utcnow

KINDS = ("money", "goods")
STATUSES = ("pending", "received", "lapsed")
MESSAGE_STATUSES = ("none", "pending", "passed", "withheld")
REF_PREFIX = "UH-"  # "ủng hộ": the reference doubles as the bank transfer note
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone, typed in a bank app
REF_LENGTH = 6


class Pledge(SQLModel, table=True):
    __tablename__ = "pledge"
    __table_args__ = (Index("ix_pledge_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(sa_column=Column(String(12), nullable=False, unique=True))
    donor_id: int = Field(sa_column=Column(Integer, ForeignKey("person.id"), nullable=False, index=True))
    case_id: int = Field(sa_column=Column(Integer, ForeignKey("child_case.id"), nullable=False, index=True))
    need_id: int = Field(sa_column=Column(Integer, ForeignKey("need.id"), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    amount: int | None = Field(default=None, sa_column=Column(BigInteger))  # money: VND promised
    goods: str | None = Field(default=None, sa_column=Column(EncryptedText()))  # the donor's words: encrypted
    quantity: int | None = None
    contact: str | None = Field(default=None, sa_column=Column(EncryptedText()))  # donor's phone, for staff only
    message: str | None = Field(default=None, sa_column=Column(EncryptedText()))  # to the family, read by staff first
    message_status: str = Field(default="none", sa_column=Column(String(10), nullable=False))
    status: str = Field(default="pending", sa_column=Column(String(10), nullable=False))
    received_amount: int | None = Field(default=None, sa_column=Column(BigInteger))
    received_on: date | None = Field(default=None, sa_column=Column(Date()))
    decided_by: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("person.id")))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    thanked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    closed_notice_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


# ---- the over-pledge guard --------------------------------------------------------------------


async def reserve(session: AsyncSession, need_id: int, amount: int) -> bool:
    """Claim `amount` of what a need still lacks, atomically. False: not that much is left."""
    if amount <= 0:
        raise ValueError("a pledge is a positive amount")
    statement = (
        update(Need)
        .where(col(Need.id) == need_id, col(Need.status) == "open", col(Need.amount).is_not(None),
               col(Need.amount) - col(Need.pledged) >= amount)
        .values(pledged=col(Need.pledged) + amount)
        .returning(col(Need.pledged))
        .execution_options(synchronize_session=False)
    )
    claimed = (await session.exec(statement)).first() is not None  # type: ignore[call-overload]
    if claimed:
        await refresh_need(session, need_id)
    return claimed


async def _shift(session: AsyncSession, need_id: int, *, pledged: int = 0, received: int = 0) -> None:
    """Move a need's totals by a difference, in SQL, so concurrent changes add up (never below 0)."""
    new_pledged = col(Need.pledged) + pledged
    statement = (
        update(Need).where(col(Need.id) == need_id)
        .values(pledged=case((new_pledged < 0, 0), else_=new_pledged), received=col(Need.received) + received)
        .execution_options(synchronize_session=False)
    )
    await session.exec(statement)  # type: ignore[call-overload]
    await refresh_need(session, need_id)


async def refresh_need(session: AsyncSession, need_id: int) -> Need | None:
    """The need as the database has it now (not as this session first loaded it)."""
    statement = select(Need).where(col(Need.id) == need_id).execution_options(populate_existing=True)
    return (await session.exec(statement)).first()


async def remaining(session: AsyncSession, need_id: int) -> int | None:
    """What a need still lacks in money right now; None when it has no amount or is closed."""
    need = await refresh_need(session, need_id)
    if need is None or need.amount is None or need.status != "open":
        return None
    return max(0, need.amount - need.pledged)


# ---- pledges ------------------------------------------------------------------------------------


def new_ref() -> str:
    return REF_PREFIX + "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))


def normalise_ref(text: str) -> str:
    """'uh 7k3m9q', 'UH7K3M9Q' and 'UH-7K3M9Q' are the same reference."""
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    if letters.startswith("UH"):
        letters = letters[2:]
    return REF_PREFIX + letters


async def by_ref(session: AsyncSession, ref: str) -> Pledge | None:
    return (await session.exec(select(Pledge).where(Pledge.ref == normalise_ref(ref)))).first()


async def create(session: AsyncSession, *, donor_id: int, case_id: int, need_id: int, kind: str,
                 amount: int | None = None, goods: str | None = None, quantity: int | None = None,
                 contact: str | None = None, message: str | None = None, now: datetime | None = None) -> Pledge:
    """Record a pledge. Money must already be reserved with `reserve` in the same transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown pledge kind {kind!r}")
    if kind == "money" and (amount is None or amount <= 0):
        raise ValueError("a money pledge needs a positive amount")
    now = now or utcnow()
    ref = new_ref()
    while await by_ref(session, ref) is not None:  # 32^6 codes: a clash is rare, never silent
        ref = new_ref()
    pledge = Pledge(ref=ref, donor_id=donor_id, case_id=case_id, need_id=need_id, kind=kind,
                    amount=amount if kind == "money" else None, goods=goods, quantity=quantity, contact=contact,
                    message=message or None, message_status="pending" if message else "none",
                    created_at=now, updated_at=now)
    session.add(pledge)
    await session.flush()
    return pledge


async def receive(session: AsyncSession, pledge: Pledge, *, amount: int | None, on: date,
                  actor_id: int | None, now: datetime | None = None) -> None:
    """Staff received the money (or goods, with an optional value): the need's totals follow.

    A money pledge received for more or less than promised moves `pledged` by the difference, so
    `pledged` stays what donors actually gave or still promise.
    """
    if pledge.status != "pending":
        raise ValueError(f"pledge {pledge.ref} is already {pledge.status}")
    got = amount if amount is not None else (pledge.amount or 0)
    promised = pledge.amount or 0
    pledge.status, pledge.received_amount, pledge.received_on = "received", got, on
    pledge.decided_by, pledge.updated_at = actor_id, now or utcnow()
    await _shift(session, pledge.need_id, pledged=got - promised, received=got)


async def lapse(session: AsyncSession, pledge: Pledge, *, actor_id: int | None, now: datetime | None = None) -> None:
    """Nothing arrived: the promised part of the need is open to other donors again."""
    if pledge.status != "pending":
        raise ValueError(f"pledge {pledge.ref} is already {pledge.status}")
    pledge.status, pledge.decided_by, pledge.updated_at = "lapsed", actor_id, now or utcnow()
    if pledge.amount:
        await _shift(session, pledge.need_id, pledged=-pledge.amount)


def set_message_status(pledge: Pledge, status: str, now: datetime | None = None) -> None:
    if status not in MESSAGE_STATUSES:
        raise ValueError(f"unknown message status {status!r}")
    pledge.message_status, pledge.updated_at = status, now or utcnow()


async def waiting(session: AsyncSession, limit: int = 10, offset: int = 0) -> tuple[list[Pledge], int]:
    """Pledges staff still have to confirm, oldest first, and how many there are in all."""
    base = select(Pledge).where(Pledge.status == "pending")
    total = (await session.exec(select(func.count()).select_from(base.subquery()))).one()
    rows = await session.exec(base.order_by(col(Pledge.created_at), col(Pledge.id)).offset(offset).limit(limit))
    return list(rows), int(total)


async def of_donor(session: AsyncSession, donor_id: int, limit: int = 20) -> list[Pledge]:
    statement = (select(Pledge).where(Pledge.donor_id == donor_id)
                 .order_by(col(Pledge.created_at).desc(), col(Pledge.id).desc()).limit(limit))
    return list(await session.exec(statement))


async def of_case(session: AsyncSession, case_id: int) -> list[Pledge]:
    statement = select(Pledge).where(Pledge.case_id == case_id).order_by(col(Pledge.id))
    return list(await session.exec(statement))


async def unnotified_received(session: AsyncSession) -> list[Pledge]:
    """Received pledges whose donor has not yet heard how it ended (for the daily sweep)."""
    statement = (select(Pledge)
                 .where(Pledge.status == "received", col(Pledge.thanked_at).is_(None),
                        col(Pledge.closed_notice_at).is_(None))
                 .order_by(col(Pledge.case_id), col(Pledge.id)))
    return list(await session.exec(statement))
