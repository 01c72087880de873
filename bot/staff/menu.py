"""The staff menu: what staff can do, as buttons (/canbo) and help lines (/trogiup).

`rows(ctx)` and `help_lines(ctx)` are what bot/roles/common.py can add to the main menu and the
help for staff, as it does for donors.
"""

from __future__ import annotations

from bot.context import Context
from bot.core import Button
from bot.i18n import _


def rows(ctx: Context) -> list[tuple[Button, ...]]:
    return [
        (Button(_("📥 Hồ sơ chờ duyệt"), "m:choduyet"), Button(_("⏰ Việc quá hạn"), "m:quahan")),
        (Button(_("📊 Tóm tắt"), "m:tomtat"), Button(_("📈 Thống kê"), "m:thongke")),
        (Button(_("🖼 Biểu đồ"), "m:bieudo"), Button(_("📦 Xuất Excel"), "m:xuat")),
        (Button(_("👥 Cộng tác viên"), "m:ctv"), Button(_("📢 Phát sóng"), "m:phatsong")),
    ]


def help_lines(ctx: Context) -> list[str]:
    return [
        _("Cán bộ:"),
        _("/choduyet — hồ sơ chờ duyệt · /hoso <mã> — xem và xử lý một hồ sơ · /nhatky <mã> — nhật ký"),
        _("/xacminh, /nguyco, /hoi, /trung, /tuchoi, /canthiep, /kehoach, /hotro, /congbo, /dongy, /uutien, /dong <mã> — xử lý hồ sơ"),
        _("/quahan — việc quá hạn · /tomtat — tóm tắt · /thongke [tinh|xa <tên>|nhom|thang] · /bieudo [loại]"),
        _("/xuat [andanh] [tu <ngày>] [den <ngày>] — Excel và CSV · /xoa <mã> — xóa dữ liệu cá nhân theo yêu cầu"),
        _("/moi <xã> — mời cộng tác viên · /ctv — cộng tác viên · /nhanvien — cán bộ · /phatsong donors|ctv [xã] — gửi tin"),
    ]
