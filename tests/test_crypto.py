"""Encryption at rest: what is written opens with the configured keys only, and any change to a
stored value is detected rather than read as something else."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from hypothesis import given
from hypothesis import strategies as st

from storage import crypto

KEY, OTHER = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@given(st.text())
def test_any_text_comes_back_and_is_not_readable_in_the_token(text: str) -> None:
    ring = crypto.KeyRing([KEY])
    token = ring.encrypt(text.encode())
    assert token.startswith(crypto.PREFIX)
    assert ring.decrypt(token).decode() == text
    if len(text) >= 4:
        assert text not in token


def test_the_same_text_twice_gives_two_different_tokens() -> None:
    ring = crypto.KeyRing([KEY])
    assert ring.encrypt(b"Giang A Pao") != ring.encrypt(b"Giang A Pao")


@given(st.binary(min_size=1, max_size=200), st.data())
def test_a_changed_token_is_refused(plain: bytes, data: st.DataObject) -> None:
    ring = crypto.KeyRing([KEY])
    token = ring.encrypt(plain)
    body = token[len(crypto.PREFIX):].rstrip("=")
    # every character but the last carries 6 bits of nonce, ciphertext or tag
    index = data.draw(st.integers(0, len(body) - 2))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".replace(body[index], "")
    changed = crypto.PREFIX + body[:index] + data.draw(st.sampled_from(alphabet)) + token[len(crypto.PREFIX) + index + 1:]
    with pytest.raises(InvalidToken):
        ring.decrypt(changed)


def test_every_key_of_the_ring_reads_and_only_the_first_writes() -> None:
    old_ring, ring = crypto.KeyRing([OTHER]), crypto.KeyRing([KEY, OTHER])
    assert ring.decrypt(old_ring.encrypt(b"old")) == b"old"
    with pytest.raises(InvalidToken):
        old_ring.decrypt(ring.encrypt(b"new"))
    with pytest.raises(InvalidToken):
        crypto.KeyRing([Fernet.generate_key()]).decrypt(ring.encrypt(b"x"))


def test_fernet_tokens_from_before_are_read() -> None:
    ring = crypto.KeyRing([KEY])
    assert ring.decrypt(Fernet(KEY).encrypt(b"2019, nam").decode()) == b"2019, nam"


def test_a_wrong_key_stops_loudly() -> None:
    with pytest.raises(crypto.KeyError_):
        crypto.KeyRing(["not a key"])
    with pytest.raises(crypto.KeyError_):
        crypto.KeyRing([])
