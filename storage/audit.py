"""The audit log: every read of a child's personal data, every change of status, risk, priority
or consent, every refused attempt. Append-only: the database itself refuses UPDATE and DELETE
(triggers created by migration 0002)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.crypto import EncryptedText
from storage.models import UTCDateTime, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    actor_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    action: str = Field(sa_column=Column(String(32), nullable=False))  # "read_personal", "status", "refused:/xuat"
    case_id: int | None = Field(default=None, foreign_key="child_case.id", index=True)
    detail: str | None = Field(default=None, sa_column=Column(EncryptedText()))  # may quote a reason: encrypted


def record(session: AsyncSession, action: str, *, actor_id: int | None, case_id: int | None = None,
           detail: str | None = None, now: datetime | None = None) -> AuditEntry:
    entry = AuditEntry(action=action[:32], actor_id=actor_id, case_id=case_id, detail=detail, at=now or utcnow())
    session.add(entry)
    return entry


async def of_case(session: AsyncSession, case_id: int) -> list[AuditEntry]:
    statement = select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(col(AuditEntry.at), col(AuditEntry.id))
    return list(await session.exec(statement))


async def recent(session: AsyncSession, limit: int = 50) -> list[AuditEntry]:
    statement = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    return list(await session.exec(statement))
