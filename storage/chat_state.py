"""Per-chat state: the open form (saved after every answer) and the last menu shown."""

from __future__ import annotations

from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Conversation, utcnow
from storage.unit import assign


async def load(session: AsyncSession, channel: str, chat_id: str, lock: bool = True) -> Conversation:
    """The chat's row, created on first use; locked for the transaction where the database can."""
    statement = select(Conversation).where(Conversation.channel == channel, Conversation.chat_id == chat_id)
    if lock:
        statement = statement.with_for_update()
    row = (await session.exec(statement)).first()
    if row is None:
        row = Conversation(channel=channel, chat_id=chat_id, menu=[])
        session.add(row)
        await session.flush()
    return row


def save_form(row: Conversation, form: str | None, state: dict[str, Any] | None) -> None:
    assign(row, form=form, state=state, updated_at=utcnow())


def save_menu(row: Conversation, button_data: list[str]) -> None:
    if row.menu != button_data:  # unchanged: no write
        assign(row, menu=list(button_data), updated_at=utcnow())


async def remember_menu(session: AsyncSession, channel: str, chat_id: str, button_data: list[str]) -> None:
    """A message sent later (a reminder, a notice) showed numbered options: a number typed next
    means one of them, not one of the last answer's."""
    save_menu(await load(session, channel, chat_id), button_data)
