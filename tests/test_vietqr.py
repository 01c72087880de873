"""VietQR payloads: published vectors, round trips, checksum failures and the PNG image."""

from __future__ import annotations

import struct
import zlib

import pytest
import segno
from hypothesis import given
from hypothesis import strategies as st

from bot.payments.vietqr import (
    AMOUNT_MAX,
    build_payload,
    crc16_ccitt_false,
    parse_payload,
    qr_png,
    transfer_note,
)

# From the README of github.com/subiz/vietqr (an open-source Go generator): 120,000 VND to
# VietinBank-BIN account 0011001932418, note "ủng hộ lũ lụt".
SUBIZ_EXAMPLE = (
    "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
    "530370454061200005802VN62170813ung ho lu lut6304C15C"
)
# Produced by the payOS gateway (BIN 970418, virtual account), seen in a public repository.
PAYOS_EXAMPLE = (
    "00020101021238590010A000000727012900069704180115V3CAS62627239240208QRIBFTTA"
    "530370454063750005802VN62250821CSPZKHEL6A2 NTK O000463044729"
)
# A static code (no amount, no note) published with a lower-case CRC.
STATIC_LOWERCASE_CRC = (
    "00020101021138540010A00000072701240006970422011008129452690208QRIBFTTA53037045802VN6304d5f3"
)


# --- CRC ----------------------------------------------------------------------------------------


def test_crc_standard_check_value() -> None:
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_crc_of_nothing_is_the_initial_value() -> None:
    assert crc16_ccitt_false(b"") == 0xFFFF


def _crc_bitwise(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


@given(st.binary(max_size=300))
def test_crc_table_matches_bitwise_definition(data: bytes) -> None:
    assert crc16_ccitt_false(data) == _crc_bitwise(data)


# --- published vectors --------------------------------------------------------------------------


def test_builds_the_subiz_readme_example_exactly() -> None:
    payload = build_payload(
        bank_bin="970415", account="0011001932418", amount=120_000, note="ủng hộ lũ lụt"
    )
    assert payload == SUBIZ_EXAMPLE


def test_builds_the_payos_example_exactly() -> None:
    payload = build_payload(
        bank_bin="970418", account="V3CAS6262723924", amount=375_000, note="CSPZKHEL6A2 NTK O0004"
    )
    assert payload == PAYOS_EXAMPLE


def test_static_example_matches_apart_from_crc_case() -> None:
    payload = build_payload(bank_bin="970422", account="0812945269", amount=None, note=None)
    assert payload == STATIC_LOWERCASE_CRC[:-4] + "D5F3"
    assert parse_payload(STATIC_LOWERCASE_CRC)["01"] == "11"


def test_parses_the_subiz_example_into_every_field() -> None:
    assert parse_payload(SUBIZ_EXAMPLE) == {
        "00": "01",
        "01": "12",
        "38": {
            "00": "A000000727",
            "01": {"00": "970415", "01": "0011001932418"},
            "02": "QRIBFTTA",
        },
        "53": "704",
        "54": "120000",
        "58": "VN",
        "62": {"08": "ung ho lu lut"},
        "63": "C15C",
    }


# --- building -----------------------------------------------------------------------------------


def test_round_trip_gives_back_every_field() -> None:
    payload = build_payload(
        bank_bin="970436", account="1234567890", amount=500_000, note="Ủng hộ Quỹ Bảo trợ trẻ em"
    )
    fields = parse_payload(payload)
    assert fields["00"] == "01"
    assert fields["01"] == "12"
    assert fields["38"] == {
        "00": "A000000727",
        "01": {"00": "970436", "01": "1234567890"},
        "02": "QRIBFTTA",
    }
    assert fields["53"] == "704"
    assert fields["54"] == "500000"
    assert fields["58"] == "VN"
    assert fields["62"] == {"08": "Ung ho Quy Bao tro tre em"}
    assert fields["63"] == payload[-4:]
    assert list(fields) == ["00", "01", "38", "53", "54", "58", "62", "63"]


def test_crc_covers_its_own_tag_and_length() -> None:
    payload = build_payload(bank_bin="970436", account="1", amount=None, note=None)
    assert payload[-8:-4] == "6304"
    assert int(payload[-4:], 16) == crc16_ccitt_false(payload[:-4].encode())
    assert payload[-4:] == payload[-4:].upper()


def test_without_amount_is_static_and_has_no_field_54() -> None:
    fields = parse_payload(build_payload(bank_bin="970436", account="1", amount=None, note="x"))
    assert fields["01"] == "11"
    assert "54" not in fields


def test_amount_with_dynamic_false_is_static_but_keeps_the_amount() -> None:
    payload = build_payload(
        bank_bin="970436", account="1", amount=100_000, note=None, dynamic=False
    )
    fields = parse_payload(payload)
    assert fields["01"] == "11"
    assert fields["54"] == "100000"


@pytest.mark.parametrize("note", [None, "", "   ", "🙏🙏", "!!!"])
def test_empty_notes_leave_field_62_out(note: str | None) -> None:
    fields = parse_payload(build_payload(bank_bin="970436", account="1", amount=1, note=note))
    assert "62" not in fields


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ủng hộ lũ lụt", "ung ho lu lut"),
        ("Đỗ Thị Ngọc Ánh", "Do Thi Ngoc Anh"),
        ("ĐƯỜNG PHỐ ƯỚC MƠ", "DUONG PHO UOC MO"),
        ("quỹ/2026: bé An", "quy 2026 be An"),
        ("  many   spaces\tand\nlines ", "many spaces and lines"),
        ("case-123", "case-123"),
        ("Ｆｕｌｌｗｉｄｔｈ １２３", "Fullwidth 123"),
        ("Ủng hộ Quỹ Bảo trợ trẻ em Việt Nam", "Ung ho Quy Bao tro tre em"),
        ("abcdefghijklmnopqrstuvwx yz", "abcdefghijklmnopqrstuvwx"),
    ],
)
def test_transfer_note(raw: str, clean: str) -> None:
    assert transfer_note(raw) == clean


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bank_bin": "97041", "account": "1", "amount": 1},
        {"bank_bin": "9704155", "account": "1", "amount": 1},
        {"bank_bin": "97041a", "account": "1", "amount": 1},
        {"bank_bin": "٩٧٠٤١٥", "account": "1", "amount": 1},  # Arabic-Indic digits
        {"bank_bin": "970415", "account": "", "amount": 1},
        {"bank_bin": "970415", "account": "1" * 20, "amount": 1},
        {"bank_bin": "970415", "account": "12 34", "amount": 1},
        {"bank_bin": "970415", "account": "12-34", "amount": 1},
        {"bank_bin": "970415", "account": "tài", "amount": 1},
        {"bank_bin": "970415", "account": "1", "amount": 0},
        {"bank_bin": "970415", "account": "1", "amount": -5},
        {"bank_bin": "970415", "account": "1", "amount": AMOUNT_MAX + 1},
        {"bank_bin": "970415", "account": "1", "amount": 1500.0},
        {"bank_bin": "970415", "account": "1", "amount": True},
        {"bank_bin": "970415", "account": "1", "amount": "1000"},
        {"bank_bin": 970415, "account": "1", "amount": 1},
    ],
)
def test_invalid_inputs_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        build_payload(note=None, **kwargs)


def test_limits_are_accepted() -> None:
    fields = parse_payload(
        build_payload(bank_bin="970415", account="A" * 19, amount=AMOUNT_MAX, note="x" * 40)
    )
    assert fields["54"] == "9999999999999"
    assert fields["38"]["01"]["01"] == "A" * 19  # type: ignore[index]
    assert fields["62"] == {"08": "x" * 25}


# --- parsing failures ---------------------------------------------------------------------------


def test_one_character_change_breaks_the_crc() -> None:
    tampered = SUBIZ_EXAMPLE.replace("5406120000", "5406920000")
    with pytest.raises(ValueError, match="CRC"):
        parse_payload(tampered)


@given(st.data())
def test_any_single_character_change_is_rejected(data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(SUBIZ_EXAMPLE) - 1))
    old = SUBIZ_EXAMPLE[i]
    new = data.draw(st.characters(min_codepoint=32, max_codepoint=126).filter(lambda c: c != old))
    if i >= len(SUBIZ_EXAMPLE) - 4 and new.upper() == old.upper():
        return  # the CRC's hex digits are read case-blind
    with pytest.raises(ValueError):
        parse_payload(SUBIZ_EXAMPLE[:i] + new + SUBIZ_EXAMPLE[i + 1 :])


def _with_crc(body: str) -> str:
    body += "6304"
    return f"{body}{crc16_ccitt_false(body.encode()):04X}"


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "000201",
        "0002016304",
        "0002016304XYZW",
        _with_crc("000201") + " ",
        _with_crc("00020101"),  # field 01 claims 2 characters but the CRC tag follows
        _with_crc("000201" + "5899VN"),  # length runs past the end
        _with_crc("0002010102110102"),  # field 01 twice
        _with_crc("000202"),  # payload format must be "01"
        _with_crc("5802VN000201"),  # payload format must come first
        _with_crc("000201" + "38040003"),  # a nested length runs past its template
        _with_crc("000201" + "62040108"),  # same inside the additional data template
        _with_crc("0002016A02xx"),  # non-digit tag
    ],
)
def test_malformed_payloads_raise(payload: str) -> None:
    with pytest.raises(ValueError):
        parse_payload(payload)


def test_crc_swallowed_by_another_field_is_refused() -> None:
    # Field 99 claims the final "6304XXXX" as part of its value: the checksum itself is right, but
    # the CRC is then not a field of its own, so the payload is malformed.
    head = "000201" + "9911" + "abc" + "6304"
    payload = f"{head}{crc16_ccitt_false(head.encode()):04X}"
    with pytest.raises(ValueError, match="last"):
        parse_payload(payload)


def test_unknown_merchant_template_keeps_its_subfields_as_text() -> None:
    template = "0010A000000775" + "0110" + "0006970436"
    fields = parse_payload(_with_crc("000201" + f"26{len(template):02d}{template}"))
    assert fields["26"] == {"00": "A000000775", "01": "0006970436"}


# --- property: round trip -----------------------------------------------------------------------

bins = st.text("0123456789", min_size=6, max_size=6)
accounts = st.text(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=19
)
amounts = st.none() | st.integers(1, AMOUNT_MAX)
notes = st.none() | st.text(max_size=60)


@given(bins, accounts, amounts, notes, st.booleans())
def test_random_valid_inputs_round_trip(
    bank_bin: str, account: str, amount: int | None, note: str | None, dynamic: bool
) -> None:
    payload = build_payload(
        bank_bin=bank_bin, account=account, amount=amount, note=note, dynamic=dynamic
    )
    assert payload.isascii()
    assert len(payload) <= 512  # EMVCo's ceiling
    fields = parse_payload(payload)
    assert fields["38"] == {
        "00": "A000000727",
        "01": {"00": bank_bin, "01": account},
        "02": "QRIBFTTA",
    }
    assert fields["01"] == ("12" if dynamic and amount is not None else "11")
    assert fields.get("54") == (None if amount is None else str(amount))
    clean = transfer_note(note) if note else ""
    assert fields.get("62") == ({"08": clean} if clean else None)
    assert fields["53"] == "704"
    assert fields["58"] == "VN"


@given(st.text(max_size=80))
def test_transfer_note_is_always_bank_safe(text: str) -> None:
    clean = transfer_note(text)
    assert len(clean) <= 25
    assert all(c.isascii() and (c.isalnum() or c in " -") for c in clean)
    assert clean == clean.strip()
    assert "  " not in clean
    assert transfer_note(clean) == clean


# --- PNG ----------------------------------------------------------------------------------------


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks = []
    i = 8
    while i < len(png):
        (length,) = struct.unpack(">I", png[i : i + 4])
        kind = png[i + 4 : i + 8]
        body = png[i + 8 : i + 8 + length]
        (crc,) = struct.unpack(">I", png[i + 8 + length : i + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        i += 12 + length
    return chunks


@pytest.mark.parametrize("scale", [1, 3, 8])
def test_qr_png_is_a_png_of_the_right_size(scale: int) -> None:
    png = qr_png(SUBIZ_EXAMPLE, scale=scale)
    chunks = _png_chunks(png)
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1][0] == b"IEND"
    width, height = struct.unpack(">II", chunks[0][1][:8])
    qr = segno.make(SUBIZ_EXAMPLE, error="m", boost_error=False, micro=False)
    modules = 17 + 4 * int(qr.version)
    assert width == height == (modules + 2 * 4) * scale  # 4-module quiet zone each side
    assert qr.error == "M"


def test_qr_png_default_scale_is_8() -> None:
    width, _ = struct.unpack(">II", _png_chunks(qr_png(SUBIZ_EXAMPLE))[0][1][:8])
    assert width % 8 == 0


@pytest.mark.parametrize("scale", [0, -1, 2.5, True])
def test_qr_png_rejects_bad_scale(scale: object) -> None:
    with pytest.raises(ValueError):
        qr_png(SUBIZ_EXAMPLE, scale=scale)  # type: ignore[arg-type]


def test_qr_png_rejects_empty_payload() -> None:
    with pytest.raises(ValueError):
        qr_png("")
