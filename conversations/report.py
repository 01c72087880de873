"""The report form: a collaborator reports a child (Decree 56/2017, form Mẫu 01, in spirit).

Data only: the order of the questions, how each is read, which are optional, which are personal
(encrypted, never logged, never shown to donors) and which trigger a side effect. Drawn in
report.md. The engine (engine.py) does the walking; the router saves the state.
"""

from conversations.categories import (
    ARTICLE_10_GROUPS,
    DONOR_CONSENT,
    HOUSEHOLD_STATUSES,
    NEEDS,
    RELATIONS,
    SEXES,
)
from conversations.engine import Form, Step, Trigger
from conversations.fields import (
    Choice,
    DateOrAge,
    Money,
    MultiChoice,
    Phone,
    Photo,
    Place,
    Text,
    YesNo,
)
from conversations.i18n import N_

EMERGENCY = "emergency"

# Needs for which an amount of money makes sense to ask.
COSTED_NEEDS = ("health", "nutrition", "education", "housing", "clothing", "other")


def _amount_step(code: str, label: str) -> Step:
    return Step(
        f"amount_{code}",
        Money(),
        prompt=N_("Ước tính số tiền cần cho «{need}» (VND), ví dụ 500k hoặc 1,5 triệu. Gõ «bỏ qua» nếu chưa rõ."),
        label=N_("Số tiền cho {need}"),
        prompt_args={"need": label},
        optional=True,
        when=lambda a, code=code: code in (a.get("needs") or ()),
    )


REPORT_FORM = Form(
    id="report",
    title=N_("Báo cáo trẻ em cần bảo vệ"),
    steps=(
        Step("child_name", Text(max_len=80, unknown_ok=True, needs_letters=True),
             prompt=N_("Họ và tên của trẻ? Gõ «chưa rõ» nếu bạn không biết."),
             label=N_("Họ tên trẻ"), personal=True),
        Step("sex", Choice(choices=SEXES), prompt=N_("Giới tính của trẻ?"), label=N_("Giới tính")),
        Step("birth", DateOrAge(),
             prompt=N_("Ngày sinh, năm sinh hoặc tuổi của trẻ? Ví dụ: 12/3/2015, 2015, 7 tuổi, khoảng 7 tuổi, 8 tháng."),
             label=N_("Ngày sinh / tuổi"), personal=True),  # the exact date identifies; year and age are kept apart
        Step("province", Place(level="province"),
             prompt=N_("Trẻ đang ở tỉnh/thành nào? Gõ tên, có dấu hay không dấu đều được (ví dụ: lao cai)."),
             label=N_("Tỉnh/thành")),
        Step("commune", Place(level="ward"),
             prompt=N_("Xã/phường nào? Gõ một phần tên (ví dụ: ban ho)."),
             label=N_("Xã/phường")),
        Step("hamlet", Text(max_len=120),
             prompt=N_("Thôn, bản, tổ dân phố nơi trẻ sống?"),
             label=N_("Thôn/bản/tổ"), personal=True),
        Step("whereabouts", Text(max_len=300),
             prompt=N_("Hiện giờ trẻ đang ở đâu, với ai? (ví dụ: ở nhà bà ngoại; ở chợ một mình)"),
             label=N_("Trẻ đang ở đâu"), personal=True),
        Step("groups", MultiChoice(choices=ARTICLE_10_GROUPS),
             prompt=N_("Hoàn cảnh của trẻ (Điều 10 Luật Trẻ em 2016)? Chọn một hay nhiều mục, rồi bấm «Xong»; hoặc gõ các số, ví dụ: 1, 4."),
             label=N_("Hoàn cảnh")),
        Step("other_situation", Text(max_len=300),
             prompt=N_("Bạn chọn «Khác»: hãy mô tả ngắn hoàn cảnh đó."),
             label=N_("Hoàn cảnh khác"), personal=True,
             when=lambda a: "other" in (a.get("groups") or ())),
        Step("description", Text(max_len=1500),
             prompt=N_("Mô tả tình trạng của trẻ: chuyện gì đã xảy ra, từ khi nào, nếu không được giúp thì có thể ra sao?"),
             label=N_("Mô tả"), personal=True),
        Step("danger", YesNo(),
             prompt=N_("Trẻ có đang gặp nguy hiểm ngay lúc này đến tính mạng, sức khỏe hoặc nhân phẩm không?"),
             label=N_("Nguy hiểm ngay"), then=Trigger(EMERGENCY)),
        Step("caregiver", Text(max_len=120, unknown_ok=True),
             prompt=N_("Ai đang chăm sóc trẻ? Họ tên người chăm sóc (hoặc «chưa rõ»)."),
             label=N_("Người chăm sóc"), personal=True),
        Step("relation", Choice(choices=RELATIONS),
             prompt=N_("Người đó là gì của trẻ?"), label=N_("Quan hệ với trẻ")),
        Step("household", Choice(choices=HOUSEHOLD_STATUSES),
             prompt=N_("Gia đình trẻ thuộc diện nào?"), label=N_("Hộ gia đình")),
        Step("caregiver_phone", Phone(),
             prompt=N_("Số điện thoại của người chăm sóc (nếu có)? Gõ «bỏ qua» nếu không có."),
             label=N_("Điện thoại người chăm sóc"), optional=True, personal=True),
        Step("needs", MultiChoice(choices=NEEDS),
             prompt=N_("Trẻ cần được hỗ trợ những gì? Chọn một hay nhiều mục rồi bấm «Xong»; hoặc gõ các số, ví dụ: 1, 3."),
             label=N_("Nhu cầu")),
        *(_amount_step(o.code, o.label) for o in NEEDS if o.code in COSTED_NEEDS),
        Step("photo_consent", YesNo(),
             prompt=N_("Bạn có muốn gửi ảnh của trẻ không? Chỉ gửi khi người chăm sóc đã đồng ý. Người chăm sóc đã đồng ý chưa?"),
             label=N_("Đồng ý chụp ảnh")),
        Step("photo", Photo(),
             prompt=N_("Hãy gửi một ảnh của trẻ (hoặc gõ «bỏ qua»)."),
             label=N_("Ảnh"), optional=True, personal=True,
             when=lambda a: a.get("photo_consent") is True),
        Step("donor_consent", Choice(choices=DONOR_CONSENT),
             prompt=N_("Người đại diện hợp pháp của trẻ (và chính trẻ, nếu trẻ từ 7 tuổi) đã đồng ý cho chia sẻ nhu cầu của trẻ (ẩn danh, không có tên, không có địa chỉ) với nhà hảo tâm chưa?"),
             label=N_("Đồng ý chia sẻ ẩn danh")),
    ),
)
