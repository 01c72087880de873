"""Encryption at rest for personal fields (Fernet, from `cryptography`).

One key ring for the process: the first key encrypts, every key decrypts (MultiFernet), so a
key rotation can read old rows while it rewrites them. Column types below encrypt on write and
decrypt on read, so no query or handler ever sees ciphertext or forgets to encrypt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class KeyError_(RuntimeError):
    """The data key is missing or wrong: nothing can be read, so stop loudly."""


_ring: MultiFernet | None = None

# Tokens this process wrote or read lately, with their plain text: a chat's form state is written
# by one update and read by the next, and decrypting it again cost a tenth of an update. Bounded,
# in memory only, cleared when the keys change; nothing here is ever written anywhere.
RECENT_LIMIT = 2048
_recent: dict[str, str] = {}


def _remember(token: str, text: str) -> None:
    if len(_recent) >= RECENT_LIMIT:
        del _recent[next(iter(_recent))]  # oldest first
    _recent[token] = text


def configure(keys: Sequence[str | bytes]) -> None:
    """Install the key ring. The first key encrypts; all of them decrypt."""
    global _ring
    _recent.clear()
    if not keys:
        raise KeyError_("no data key configured")
    try:
        _ring = MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise KeyError_("DATA_KEY is not a valid Fernet key (32 url-safe base64 bytes)") from exc


def ring() -> MultiFernet:
    if _ring is None:
        raise KeyError_("encryption is not configured: call storage.crypto.configure() first")
    return _ring


def encrypt(text: str) -> str:
    token = ring().encrypt(text.encode()).decode()
    _remember(token, text)
    return token


def decrypt(token: str) -> str:
    text = _recent.get(token)
    if text is not None:
        return text
    try:
        text = ring().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise KeyError_("a personal field cannot be decrypted with the configured DATA_KEY") from exc
    _remember(token, text)
    return text


def load_or_create_key_file(path: Path) -> str:
    """Read the key file, or create it once, readable only by its owner (0600)."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def generate_key() -> str:
    return Fernet.generate_key().decode()


class EncryptedText(TypeDecorator[str]):
    """A string column stored as a Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)


class EncryptedJSON(TypeDecorator[dict]):
    """A JSON document stored as one Fernet token (form states, the personal part of a case)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(decrypt(value))
