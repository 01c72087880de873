"""The guest and donor parts of the main menu and of /trogiup (used by bot/roles/common.py).

A leaf module (it imports nothing of bot/roles), so common.py can use it without a cycle.
"""

from __future__ import annotations

from bot.context import Context
from bot.core import Button
from bot.i18n import N_, _, t


def text(ctx: Context) -> str:
    org = ctx.settings.org_name
    if ctx.person.role == "donor":
        return t(N_("Chung Tay · {org}. Cảm ơn bạn đã đồng hành cùng trẻ em có hoàn cảnh đặc biệt. Chọn việc bạn muốn làm:"), org=org)
    return t(N_("Chung Tay kết nối nhà hảo tâm với trẻ em có hoàn cảnh đặc biệt, do {org} điều phối. Đăng ký (2 bước) để xem nhu cầu đã ẩn danh của trẻ và ủng hộ. Nếu bạn là cộng tác viên, hãy mở đường link mời mà cán bộ gửi cho bạn, hoặc gõ /start kèm mã mời, ví dụ: /start ABCD2345."), org=org)


def rows(ctx: Context) -> list[tuple[Button, ...]]:
    if ctx.person.role == "donor":
        return [
            (Button(_("🔎 Xem nhu cầu cần hỗ trợ"), "m:nhucau"),),
            (Button(_("📋 Cam kết của tôi"), "m:daungho"), Button(_("⚙️ Cài đặt"), "m:caidat")),
        ]
    return [(Button(_("💛 Đăng ký nhà hảo tâm"), "m:dangky"),)]


def help_lines(ctx: Context) -> list[str]:
    if ctx.person.role == "donor":
        return [
            _("/nhucau — xem nhu cầu của trẻ (đã ẩn danh); lọc: /nhucau hoc tap lao cai 6-10"),
            _("/ungho <mã> — ủng hộ một trẻ, ví dụ: /ungho TE-K7M3QD"),
            _("/daungho — các cam kết của bạn, mã QR chuyển khoản, giấy cảm ơn"),
            _("/caidat — tên hiển thị, ngôn ngữ, bản tin tháng"),
            _("/tatthongbao — ngừng mọi thông báo (/batthongbao để bật lại)"),
            _("/huy — dừng việc đang làm dở"),
        ]
    return [_("/dangky — đăng ký nhà hảo tâm (2 bước) để xem nhu cầu và ủng hộ")]
