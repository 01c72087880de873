"""The short forms staff (and reporters answering them) fill in chat: a reason to reject, a
question for the reporter and its answer, support delivered, erasure, a broadcast, a priority
adjustment, the support plan, closing, the emergency intervention, a re-check with changes.

Data only, like the report form: the engine asks, allows back/cancel and shows a summary to
confirm before anything is saved. Free text is `personal=True`: staff may quote a child's name
in a reason, so it is encrypted, never logged and never shown to donors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from conversations.categories import NEEDS
from conversations.engine import Form, Step
from conversations.fields import Choice, Context, Field, Money, Number, Text, Value, YesNo
from conversations.i18n import N_
from conversations.parsing.days import named_day
from conversations.parsing.errors import ParseError
from conversations.parsing.text import fold

_DMY = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?:\s*[/.\-]\s*(\d{4}|\d{2}))?")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_day(text: str, today: date) -> date:
    """'hôm nay', 'homnay', 'hôm qua', '12/3' (this year), '12/3/2026', '12-3-26', '2026-03-12'."""
    if (named := named_day(text, today)) is not None:
        return named
    folded = fold(text).strip(" .")
    try:
        if match := _ISO.fullmatch(folded):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _DMY.fullmatch(folded):
            year = today.year if match[3] is None else int(match[3])
            if year < 100:
                year += 2000
            return date(year, int(match[2]), int(match[1]))
    except ValueError:
        raise ParseError(N_("Ngày «{text}» không có thật. Hãy gõ lại, ví dụ: 15/3/2026."), text=text[:20]) from None
    raise ParseError(N_("Hãy gõ ngày theo dạng ngày/tháng/năm, ví dụ: 15/3/2026, hoặc «hôm nay»."))


@dataclass(frozen=True)
class Day(Field):
    """A calendar day, not in the future and not long ago (a delivery being recorded)."""

    kind: ClassVar[str] = "day"
    max_days_back: int = 366

    def parse_text(self, text: str, answers: dict[str, Value], ctx: Context) -> Value:
        day = parse_day(text, ctx.today)
        if day > ctx.today:
            raise ParseError(N_("Ngày này chưa đến. Hãy gõ ngày đã trao hỗ trợ, ví dụ: hôm nay."))
        if (ctx.today - day).days > self.max_days_back:
            raise ParseError(N_("Ngày này đã quá một năm. Hãy kiểm tra lại năm."))
        return day.isoformat()

    def hint(self) -> str:
        return N_("Hãy gõ ngày theo dạng ngày/tháng/năm, ví dụ: 15/3/2026, hoặc «hôm nay».")

    def display(self, value: Value, ctx: Context) -> str:
        return ctx.format_date(date.fromisoformat(str(value)))


def _reason(prompt: str, label: str = N_("Lý do"), max_len: int = 500) -> Step:
    return Step("reason", Text(max_len=max_len, min_len=3), prompt=prompt, label=label, personal=True)


REJECT_FORM = Form(
    id="staff_reject",
    title=N_("Không tiếp nhận hồ sơ"),
    steps=(_reason(N_("Vì sao không tiếp nhận hồ sơ này? Người báo sẽ được báo lý do (viết ngắn, lịch sự).")),),
)

ASK_FORM = Form(
    id="staff_ask",
    title=N_("Hỏi người báo"),
    steps=(Step("question", Text(max_len=800, min_len=3),
                prompt=N_("Gõ câu hỏi cho người báo. Câu hỏi được chuyển nguyên văn; câu trả lời sẽ gắn vào hồ sơ."),
                label=N_("Câu hỏi"), personal=True),),
)

ANSWER_FORM = Form(
    id="reporter_answer",
    title=N_("Trả lời cán bộ"),
    steps=(Step("answer", Text(max_len=1500),
                prompt=N_("Gõ câu trả lời của bạn cho cán bộ."),
                label=N_("Câu trả lời"), personal=True),),
)

SUPPORT_FORM = Form(
    id="staff_support",
    title=N_("Ghi nhận hỗ trợ đã trao"),
    steps=(
        Step("kind", Choice(choices=NEEDS), prompt=N_("Hỗ trợ thuộc loại nào?"), label=N_("Loại hỗ trợ")),
        Step("what", Text(max_len=300, min_len=2),
             prompt=N_("Đã trao gì? Ví dụ: học bổng học kỳ 1; thẻ bảo hiểm y tế; 20 kg gạo."),
             label=N_("Nội dung"), personal=True),
        Step("value", Money(), prompt=N_("Giá trị (VND), ví dụ 500k hoặc 1,5 triệu. Gõ «bỏ qua» nếu không tính bằng tiền."),
             label=N_("Giá trị"), optional=True),
        Step("delivered_on", Day(), prompt=N_("Trao ngày nào? Ví dụ: hôm nay, 15/3/2026."), label=N_("Ngày trao")),
    ),
)

ERASE_FORM = Form(
    id="staff_erase",
    title=N_("Xóa dữ liệu cá nhân của hồ sơ"),
    steps=(
        _reason(N_("Căn cứ xóa: ai yêu cầu, khi nào (ví dụ: người đại diện hợp pháp của trẻ yêu cầu ngày 15/3/2026)?"),
                label=N_("Căn cứ xóa")),
        Step("confirm", YesNo(),
             prompt=N_("Tên, số điện thoại, thôn/bản, mọi ghi chú và ảnh của hồ sơ sẽ bị xóa vĩnh viễn, không khôi phục được. Các số liệu ẩn danh được giữ lại. Bạn chắc chắn muốn xóa?"),
             label=N_("Xác nhận xóa vĩnh viễn")),
    ),
)

BROADCAST_FORM = Form(
    id="staff_broadcast",
    title=N_("Tin phát sóng"),
    steps=(Step("message", Text(max_len=3500, min_len=5),
                prompt=N_("Gõ nội dung tin nhắn sẽ gửi (tối đa 3.500 ký tự). Bạn sẽ xem trước và xác nhận trước khi gửi."),
                label=N_("Nội dung")),),
)

PRIORITY_FORM = Form(
    id="staff_priority",
    title=N_("Điều chỉnh điểm ưu tiên"),
    steps=(
        Step("score", Number(minimum=0, maximum=100), prompt=N_("Điểm ưu tiên mới (0 đến 100)?"), label=N_("Điểm mới")),
        _reason(N_("Vì sao điều chỉnh? Lý do được ghi vào nhật ký.")),
    ),
)

PLAN_FORM = Form(
    id="staff_plan",
    title=N_("Kế hoạch hỗ trợ, can thiệp"),
    steps=(Step("plan", Text(max_len=1500, min_len=5),
                prompt=N_("Tóm tắt kế hoạch hỗ trợ, can thiệp đã được phê duyệt: ai làm gì, khi nào."),
                label=N_("Kế hoạch"), personal=True),),
)

CLOSE_FORM = Form(
    id="staff_close",
    title=N_("Đóng hồ sơ"),
    steps=(_reason(N_("Vì sao đóng hồ sơ? Ví dụ: trẻ đã ổn định; trẻ đủ 16 tuổi; gia đình chuyển đi nơi khác.")),),
)

HANDLED_FORM = Form(
    id="staff_handled",
    title=N_("Ghi nhận can thiệp khẩn cấp"),
    steps=(Step("action", Text(max_len=800, min_len=3),
                prompt=N_("Đã làm gì để bảo vệ trẻ? Ví dụ: công an xã đã đưa trẻ về nhà bà ngoại lúc 15 giờ."),
                label=N_("Việc đã làm"), personal=True),),
)

RECHECK_FORM = Form(
    id="recheck_change",
    title=N_("Rà soát: có thay đổi"),
    steps=(Step("change", Text(max_len=1000, min_len=3),
                prompt=N_("Hoàn cảnh của trẻ thay đổi thế nào? Cán bộ sẽ đọc và liên hệ nếu cần."),
                label=N_("Thay đổi"), personal=True),),
)

STAFF_FORMS = (REJECT_FORM, ASK_FORM, SUPPORT_FORM, ERASE_FORM, BROADCAST_FORM, PRIORITY_FORM, PLAN_FORM, CLOSE_FORM, HANDLED_FORM)
REPORTER_FORMS = (ANSWER_FORM, RECHECK_FORM)
