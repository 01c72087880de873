"""Vietnamese phone numbers, stored in E.164 so one person is one key however they typed it."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from conversations.i18n import N_
from conversations.parsing.errors import ParseError

MSG_INVALID = N_("Số điện thoại chưa đúng. Hãy gõ số di động 10 chữ số, ví dụ: 0912 345 678, hoặc số máy bàn kèm mã vùng, ví dụ: 024 3825 1234")
MSG_FOREIGN = N_("Chỉ nhận số điện thoại Việt Nam. Hãy gõ ví dụ: 0912 345 678 hoặc +84 912 345 678")

REGION = "VN"
_MAX_INPUT = 40  # a formatted number with a country code and spaces fits easily


def _parse(text: str) -> phonenumbers.PhoneNumber:
    s = " ".join(text.split())
    if not s or len(s) > _MAX_INPUT:
        raise ParseError(MSG_INVALID)
    try:
        number = phonenumbers.parse(s, REGION)
    except NumberParseException:
        raise ParseError(MSG_INVALID) from None
    if phonenumbers.region_code_for_number(number) != REGION:
        if phonenumbers.is_valid_number(number):
            raise ParseError(MSG_FOREIGN)
        raise ParseError(MSG_INVALID)
    if not phonenumbers.is_valid_number(number):
        raise ParseError(MSG_INVALID)
    return number


def parse_vn_phone(text: str) -> str:
    """E.164 form ("+84912345678") of a Vietnamese mobile or landline number.

    Accepts "0912 345 678", "0912.345.678", "+84 912 345 678", "84912345678" and landlines with
    the area code such as "(024) 3825 1234". Foreign numbers are refused: reporters and case
    workers are called back from Vietnam.
    """
    return phonenumbers.format_number(_parse(text), PhoneNumberFormat.E164)


def format_vn_phone(e164: str) -> str:
    """National display form, "0912 345 678", of a number `parse_vn_phone` returned."""
    return phonenumbers.format_number(_parse(e164), PhoneNumberFormat.NATIONAL)
