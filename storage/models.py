"""The tables. Personal fields use the encrypted column types; everything else stays queryable.

A case keeps what can be counted (province, commune, sex, age, groups, household, needs,
status, priority) in plain columns, and what identifies a child (name, hamlet, caregiver, phone,
free text, photo ids) in one encrypted document, `personal`, which erasure simply empties.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, String, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from storage.crypto import EncryptedJSON, EncryptedText


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on the way out, on SQLite (which has no time zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Person(SQLModel, table=True):
    """Someone who writes to the bot, on one channel. Role decides what they may do."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_person_channel_user"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    external_id: str = Field(sa_column=Column(String(64), nullable=False))
    chat_id: str = Field(sa_column=Column(String(64), nullable=False))
    role: str = Field(default="guest", sa_column=Column(String(16), nullable=False, index=True))
    locale: str | None = Field(default=None, sa_column=Column(String(8)))
    province_code: int | None = None
    commune_code: int | None = None
    display_name: str | None = Field(default=None, sa_column=Column(EncryptedText()))
    active: bool = True
    notify: bool = True  # broadcasts, digests and updates; /tatthongbao turns it off
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Invite(SQLModel, table=True):
    """A one-time code that makes its user a collaborator of one commune."""

    __tablename__ = "invite"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(16), nullable=False, unique=True))
    province_code: int
    commune_code: int
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_by: int | None = Field(default=None, foreign_key="person.id")
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Case(SQLModel, table=True):
    """One child reported. `personal` holds the identifying answers, encrypted as one document."""

    __tablename__ = "child_case"
    __table_args__ = (Index("ix_case_status_priority", "status", "priority"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(24), nullable=False, unique=True))
    reporter_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    source: str = Field(default="chat", sa_column=Column(String(32), nullable=False))
    status: str = Field(default="new", sa_column=Column(String(16), nullable=False))
    complete: bool = True  # False: an emergency was raised but the form was not finished
    province_code: int = Field(index=True)
    commune_code: int | None = Field(default=None, index=True)
    sex: str | None = Field(default=None, sa_column=Column(String(8)))
    birth_year: int | None = None
    age_years: int | None = None  # at the time of the report
    age_estimated: bool = False
    groups: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    household: str | None = Field(default=None, sa_column=Column(String(16)))
    relation: str | None = Field(default=None, sa_column=Column(String(16)))
    danger: bool = False
    donor_consent: str = Field(default="not_asked", sa_column=Column(String(16), nullable=False))
    photo_consent: bool = False
    priority: int = 0
    priority_parts: list[list[Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    risk: str | None = Field(default=None, sa_column=Column(String(8)))
    respond_by: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))  # needs shown to donors
    personal: dict[str, Any] | None = Field(default=None, sa_column=Column(EncryptedJSON()))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Need(SQLModel, table=True):
    """One kind of help a child needs, with an estimated amount where money applies."""

    __tablename__ = "need"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="child_case.id", index=True)
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    amount: int | None = Field(default=None, sa_column=Column(BigInteger))
    status: str = Field(default="open", sa_column=Column(String(16), nullable=False))
    pledged: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    received: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


class CaseEvent(SQLModel, table=True):
    """The history of a case: every status change, who made it, when. Append-only."""

    __tablename__ = "case_event"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="child_case.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    kind: str = Field(sa_column=Column(String(24), nullable=False))
    from_status: str | None = Field(default=None, sa_column=Column(String(16)))
    to_status: str | None = Field(default=None, sa_column=Column(String(16)))
    note: str | None = Field(default=None, sa_column=Column(EncryptedText()))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Conversation(SQLModel, table=True):
    """Where one chat is: the open form (encrypted: it holds answers) and the last menu shown."""

    __tablename__ = "conversation"
    __table_args__ = (UniqueConstraint("channel", "chat_id", name="uq_conversation_chat"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    chat_id: str = Field(sa_column=Column(String(64), nullable=False))
    form: str | None = Field(default=None, sa_column=Column(String(32)))
    state: dict[str, Any] | None = Field(default=None, sa_column=Column(EncryptedJSON()))
    menu: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ProcessedUpdate(SQLModel, table=True):
    """Update ids already handled: a redelivered update is answered once."""

    __tablename__ = "processed_update"

    channel: str = Field(sa_column=Column(String(16), primary_key=True))
    update_id: str = Field(sa_column=Column(String(64), primary_key=True))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


class InboxUpdate(SQLModel, table=True):
    """An update taken from the platform and not yet handled. Written before the platform is told
    it arrived (the next getUpdates offset), so a bot killed with updates in hand handles them
    after its restart. The body holds what people typed: encrypted, and deleted once handled."""

    __tablename__ = "inbox_update"

    channel: str = Field(sa_column=Column(String(16), primary_key=True))
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    body: dict[str, Any] = Field(sa_column=Column(EncryptedJSON(), nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class OutboxMessage(SQLModel, table=True):
    """A message to someone other than the sender (alerts, notifications), sent after commit."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    chat_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    payload: dict[str, Any] = Field(sa_column=Column(EncryptedJSON(), nullable=False))
    kind: str = Field(default="notice", sa_column=Column(String(16), nullable=False))
    batch: int | None = Field(default=None, index=True)  # a broadcast's id, for progress and cancel
    status: str = Field(default="pending", sa_column=Column(String(10), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = Field(default=None, sa_column=Column(String(200)))


class Counter(SQLModel, table=True):
    """Sequences that must not repeat across workers (case numbers per province and year)."""

    __tablename__ = "counter"

    name: str = Field(sa_column=Column(String(32), primary_key=True))
    value: int = 0
