"""Encryption at rest for personal fields (AES-256-GCM, from `cryptography`; keys are Fernet keys).

One key ring for the process: the first key encrypts, every key decrypts, so a key rotation can
read old rows while it rewrites them. Column types below encrypt on write and decrypt on read,
so no query or handler ever sees ciphertext or forgets to encrypt.

Values are written as `gcm1:` + url-safe base64 of a 12-byte random nonce and the AES-GCM
ciphertext with its tag, under a key derived from the DATA_KEY with HKDF-SHA256. Fernet
(AES-CBC + HMAC, built in Python around OpenSSL) cost three times as much per value, and a form
state is written on every message a person sends. Fernet tokens written before are still read.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from storage import jsontext


class KeyError_(RuntimeError):
    """The data key is missing or wrong: nothing can be read, so stop loudly."""


PREFIX = "gcm1:"
NONCE_BYTES = 12  # random per value: safe for 2**32 values per key (years of messages)


def _aead_key(fernet_key: str | bytes) -> bytes:
    """A separate AES-256 key for AES-GCM, so the same bytes never serve two algorithms."""
    raw = base64.urlsafe_b64decode(fernet_key)
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"chungtay at-rest aes-256-gcm v1").derive(raw)


class KeyRing:
    """Keys (Fernet keys, as DATA_KEY holds them): the first encrypts, every one decrypts."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise KeyError_("no data key configured")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except (ValueError, TypeError) as exc:
            raise KeyError_("DATA_KEY is not a valid Fernet key (32 url-safe base64 bytes)") from exc
        self._aeads = [AESGCM(_aead_key(k)) for k in keys]

    def encrypt(self, plain: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return PREFIX + base64.urlsafe_b64encode(nonce + self._aeads[0].encrypt(nonce, plain, None)).decode()

    def decrypt(self, token: str) -> bytes:
        """Raises InvalidToken when no key opens it (or it was altered)."""
        if not token.startswith(PREFIX):
            return self._fernet.decrypt(token.encode())  # written before AES-GCM
        try:
            raw = base64.urlsafe_b64decode(token[len(PREFIX):])
        except (binascii.Error, ValueError) as exc:
            raise InvalidToken from exc
        nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
        for aead in self._aeads:
            try:
                return aead.decrypt(nonce, sealed, None)
            except (InvalidTag, ValueError):
                continue
        raise InvalidToken


_ring: KeyRing | None = None


def configure(keys: Sequence[str | bytes]) -> None:
    """Install the key ring. The first key encrypts; all of them decrypt."""
    global _ring
    _ring = KeyRing(keys)


def ring() -> KeyRing:
    if _ring is None:
        raise KeyError_("encryption is not configured: call storage.crypto.configure() first")
    return _ring


def encrypt(text: str) -> str:
    return ring().encrypt(text.encode())


def decrypt(token: str) -> str:
    """No cache of plain texts: with AES-GCM a form state opens in about 5 µs, and a cache big
    enough for every chat in progress held megabytes of children's data in memory."""
    try:
        return ring().decrypt(token).decode()
    except InvalidToken as exc:
        raise KeyError_("a personal field cannot be decrypted with the configured DATA_KEY") from exc


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
    """A string column stored encrypted (see the module)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)


class EncryptedJSON(TypeDecorator[dict]):
    """A JSON document stored as one encrypted value (form states, the personal part of a case)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return encrypt(jsontext.dumps(value))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else jsontext.loads(decrypt(value))
