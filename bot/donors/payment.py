"""How a donor pays: the organisation's account and a VietQR code their banking app scans.

The account comes from BANK_BIN, BANK_ACCOUNT and BANK_ACCOUNT_NAME. Without them the donor is
told how staff will get in touch instead; nothing is made up.
"""

from __future__ import annotations

import logging

from bot import i18n
from bot.core import Reply
from bot.i18n import N_, _, t
from bot.payments import vietqr
from bot.settings import Settings
from storage.pledges import Pledge

log = logging.getLogger(__name__)

# NAPAS BINs of the banks most donation accounts are at; others are shown by their BIN.
BANK_NAMES = {
    "970436": "Vietcombank", "970415": "VietinBank", "970418": "BIDV", "970405": "Agribank",
    "970422": "MB", "970407": "Techcombank", "970416": "ACB", "970432": "VPBank",
    "970423": "TPBank", "970403": "Sacombank", "970441": "VIB", "970443": "SHB",
}


def configured(settings: Settings) -> bool:
    return bool(settings.bank_bin and settings.bank_account)


def bank_name(bank_bin: str) -> str:
    return BANK_NAMES.get(bank_bin, t(N_("ngân hàng mã BIN {bin}"), bin=bank_bin))


def payload(settings: Settings, pledge: Pledge) -> str | None:
    """The VietQR payload for this pledge, or None when the account is not configured (or invalid)."""
    if not configured(settings) or not pledge.amount:
        return None
    try:
        return vietqr.build_payload(bank_bin=str(settings.bank_bin), account=str(settings.bank_account),
                                    amount=pledge.amount, note=pledge.ref)
    except ValueError:
        log.error("BANK_BIN or BANK_ACCOUNT is not valid for VietQR; donors are told staff will be in touch")
        return None


def instructions(settings: Settings, pledge: Pledge, phone: str | None = None) -> list[Reply]:
    """What to do next for a money pledge: transfer details and the QR image, or who calls whom."""
    code = payload(settings, pledge)
    if code is None:
        if phone:
            text = t(N_("Cán bộ {org} sẽ gọi cho bạn theo số đã để lại để hướng dẫn chuyển tiền (thường trong 2 ngày làm việc). Hãy giữ mã cam kết {ref}."), org=settings.org_name, ref=pledge.ref)
        else:
            text = t(N_("Cán bộ {org} đã được báo và sẽ liên hệ để hướng dẫn chuyển tiền. Khi có tài khoản nhận ủng hộ, mã QR sẽ hiện trong /daungho. Hãy giữ mã cam kết {ref}."), org=settings.org_name, ref=pledge.ref)
        return [Reply(text)]
    assert settings.bank_bin is not None and settings.bank_account is not None and pledge.amount is not None
    lines = [
        _("Chuyển khoản tới tài khoản nhận ủng hộ:"),
        t(N_("Ngân hàng: {bank}"), bank=bank_name(settings.bank_bin)),
        t(N_("Số tài khoản: {account}"), account=settings.bank_account),
    ]
    if settings.bank_account_name:
        lines.append(t(N_("Chủ tài khoản: {name}"), name=settings.bank_account_name))
    lines += [
        t(N_("Số tiền: {amount}"), amount=i18n.money(pledge.amount)),
        t(N_("Nội dung chuyển khoản: {note}"), note=vietqr.transfer_note(pledge.ref)),
        _("Hoặc quét mã VietQR trong ảnh bằng ứng dụng ngân hàng: mọi thông tin đã điền sẵn."),
    ]
    return [Reply("\n".join(lines), image=vietqr.qr_png(code))]
