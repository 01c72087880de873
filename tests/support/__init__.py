"""Test helpers: the Chat driver, a controllable clock, throw-away PostgreSQL databases."""

from tests.support import postgres
from tests.support.chat import Chat, Clock, outbox_messages

__all__ = ["Chat", "Clock", "outbox_messages", "postgres"]
