"""VietQR: the EMVCo merchant-presented QR that every Vietnamese banking app scans (NAPAS 247).

A donor scans one code and their app fills in bank, account, amount and note, so nobody has to
type an account number by hand. The payload is a string of TLV fields (two-digit tag, two-digit
length, value) ending in a CRC-16/CCITT-FALSE checksum; the image is a plain QR code of it.

Pure: no I/O and nothing from the rest of the project, so it can be tested exhaustively.
"""

from __future__ import annotations

import io
import re
import unicodedata

import segno

NAPAS_GUID = "A000000727"
SERVICE_TRANSFER_TO_ACCOUNT = "QRIBFTTA"
CURRENCY_VND = "704"  # ISO 4217 numeric
COUNTRY_VN = "VN"
NOTE_MAX_CHARS = 25  # banks cut the transfer note here, so cut it ourselves and know what arrives
AMOUNT_MAX = 9_999_999_999_999  # field 54 holds at most 13 characters

_BIN_RE = re.compile(r"[0-9]{6}")
_ACCOUNT_RE = re.compile(r"[0-9A-Za-z]{1,19}")
_NOT_NOTE_CHAR_RE = re.compile(r"[^0-9A-Za-z -]")
_HEX4_RE = re.compile(r"[0-9A-Fa-f]{4}")
# đ/Đ are letters of their own in Unicode, not d plus a mark, so decomposition leaves them alone;
# Ð/ð (eth) is a frequent stand-in typed on foreign keyboards.
_NO_DECOMPOSITION = str.maketrans({"đ": "d", "Đ": "D", "ð": "d", "Ð": "D"})


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0), EMVCo's checksum.

    The check value, over b"123456789", is 0x29B1.
    """
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ byte]
    return crc


def transfer_note(text: str) -> str:
    """The note as a bank will carry it: ASCII letters, digits, spaces and '-', at most 25 chars.

    Diacritics are stripped ("Ủng hộ bé Đào" -> "Ung ho be Dao") because many banks drop or mangle
    non-ASCII notes; anything else becomes a space, and runs of spaces collapse to one.
    """
    folded = unicodedata.normalize("NFKD", text.translate(_NO_DECOMPOSITION))
    ascii_only = "".join(ch for ch in folded if not unicodedata.combining(ch))
    cleaned = " ".join(_NOT_NOTE_CHAR_RE.sub(" ", ascii_only).split())
    return cleaned[:NOTE_MAX_CHARS].rstrip()


def _tlv(tag: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"field {tag} is longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def build_payload(
    *,
    bank_bin: str,
    account: str,
    amount: int | None,
    note: str | None,
    dynamic: bool = True,
) -> str:
    """The VietQR string for a transfer to `account` at the bank with NAPAS BIN `bank_bin`.

    With an amount (and `dynamic`), the code is marked single-use ("12") and the app pre-fills the
    sum; without one it is a static code ("11") the donor can reuse, typing any amount. The note
    is cleaned by `transfer_note`; if nothing is left of it, field 62 is left out.
    """
    if not isinstance(bank_bin, str) or not _BIN_RE.fullmatch(bank_bin):
        raise ValueError(f"bank BIN must be 6 digits: {bank_bin!r}")
    if not isinstance(account, str) or not _ACCOUNT_RE.fullmatch(account):
        raise ValueError(f"account must be 1-19 letters or digits: {account!r}")
    if amount is not None and (
        not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= AMOUNT_MAX
    ):
        raise ValueError(f"amount must be a whole number of đồng, 1 to {AMOUNT_MAX:,}: {amount!r}")
    if note is not None and not isinstance(note, str):
        raise ValueError(f"note must be text: {note!r}")

    beneficiary = _tlv("00", bank_bin) + _tlv("01", account)
    merchant = (
        _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", SERVICE_TRANSFER_TO_ACCOUNT)
    )
    parts = [
        _tlv("00", "01"),
        _tlv("01", "12" if dynamic and amount is not None else "11"),
        _tlv("38", merchant),
        _tlv("53", CURRENCY_VND),
    ]
    if amount is not None:
        parts.append(_tlv("54", str(amount)))
    parts.append(_tlv("58", COUNTRY_VN))
    cleaned = transfer_note(note) if note else ""
    if cleaned:
        parts.append(_tlv("62", _tlv("08", cleaned)))
    body = "".join(parts) + "6304"  # the CRC covers its own tag and length
    return f"{body}{crc16_ccitt_false(body.encode('utf-8')):04X}"


def _decode_tlv(text: str, where: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    i = 0
    while i < len(text):
        head = text[i : i + 4]
        if len(head) < 4 or not head.isascii() or not head.isdigit():
            raise ValueError(f"bad tag/length {head!r} at {where}[{i}]")
        tag, length = head[:2], int(head[2:])
        end = i + 4 + length
        if end > len(text):
            raise ValueError(
                f"field {tag} at {where}[{i}] claims {length} characters, runs past end"
            )
        if tag in fields:
            raise ValueError(f"field {tag} appears twice in {where}")
        fields[tag] = text[i + 4 : end]
        i = end
    return fields


def _is_template(tag: str) -> bool:
    return 26 <= int(tag) <= 51 or tag == "62"


def parse_payload(payload: str) -> dict[str, object]:
    """Decode a payload into {tag: value}; templates (26-51, 62) become nested dicts.

    Inside a NAPAS merchant template (GUID A000000727) the beneficiary (01) is itself decoded into
    {"00": BIN, "01": account}. Raises ValueError when a length runs past its container, the CRC
    field is not last, or the checksum does not match (a mis-scanned or tampered code). The CRC's
    hex digits are compared case-blind: some generators in the wild write them in lower case.
    """
    if len(payload) < 12 or payload[-8:-4] != "6304" or not _HEX4_RE.fullmatch(payload[-4:]):
        raise ValueError("payload must end with the CRC field 6304XXXX")
    expected = crc16_ccitt_false(payload[:-4].encode("utf-8"))
    if int(payload[-4:], 16) != expected:
        raise ValueError(f"CRC mismatch: payload says {payload[-4:]}, content gives {expected:04X}")
    top = _decode_tlv(payload, "payload")
    tags = list(top)
    if tags[-1] != "63":
        raise ValueError("the CRC field 63 must be the last field")
    if tags[0] != "00" or top["00"] != "01":
        raise ValueError("the first field must be 00 (payload format) with value 01")

    result: dict[str, object] = {}
    for tag, value in top.items():
        if not _is_template(tag):
            result[tag] = value
            continue
        nested: dict[str, object] = dict(_decode_tlv(value, f"field {tag}"))
        if 26 <= int(tag) <= 51 and nested.get("00") == NAPAS_GUID and "01" in nested:
            nested["01"] = _decode_tlv(str(nested["01"]), f"field {tag}/01")
        result[tag] = nested
    return result


def qr_png(payload: str, *, scale: int = 8) -> bytes:
    """The payload as a PNG QR code: error correction M, no micro QR, 4-module quiet zone.

    M survives about 15 % damage (a crease, a smudge on a printed poster) while keeping the symbol
    small; segno's automatic boost is off so the level is exactly M and the image is reproducible.
    """
    if not payload:
        raise ValueError("empty payload")
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise ValueError(f"scale must be a positive whole number: {scale!r}")
    qr = segno.make(payload, error="m", boost_error=False, micro=False)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale)
    return out.getvalue()
