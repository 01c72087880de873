"""The vocabulary a report is made of: codes stored in the database, Vietnamese labels to ask with.

Codes are short ASCII and never change once stored; labels are gettext message ids. storage/
keys its rules (priority weights, what donors may see) by the same codes: a test keeps them equal.
"""

from conversations.fields import Option
from conversations.i18n import N_

# Law on Children 2016, Art. 10: the 14 groups of children in special circumstances (letters a-o,
# no f or j; "dd" is đ), then children at risk (Arts. 47-50) and anything else.
ARTICLE_10_GROUPS: tuple[Option, ...] = (
    Option("a", N_("Mồ côi cả cha và mẹ")),
    Option("b", N_("Bị bỏ rơi")),
    Option("c", N_("Không nơi nương tựa")),
    Option("d", N_("Khuyết tật")),
    Option("dd", N_("Nhiễm HIV/AIDS")),
    Option("e", N_("Vi phạm pháp luật")),
    Option("g", N_("Nghiện ma túy")),
    Option("h", N_("Bỏ học kiếm sống, chưa xong THCS")),
    Option("i", N_("Bị bạo lực, tổn hại nghiêm trọng")),
    Option("k", N_("Bị bóc lột")),
    Option("l", N_("Bị xâm hại tình dục")),
    Option("m", N_("Bị mua bán")),
    Option("n", N_("Bệnh hiểm nghèo, điều trị dài ngày (hộ nghèo, cận nghèo)")),
    Option("o", N_("Di cư, lánh nạn, không có người chăm sóc")),
    Option("risk", N_("Có nguy cơ rơi vào hoàn cảnh đặc biệt")),
    Option("other", N_("Khác (mô tả thêm)")),
)

SEXES: tuple[Option, ...] = (
    Option("male", N_("Nam")),
    Option("female", N_("Nữ")),
    Option("unknown", N_("Chưa rõ")),
)

HOUSEHOLD_STATUSES: tuple[Option, ...] = (
    Option("poor", N_("Hộ nghèo")),
    Option("near_poor", N_("Hộ cận nghèo")),
    Option("neither", N_("Không thuộc hộ nghèo, cận nghèo")),
    Option("unknown", N_("Chưa rõ")),
)

# What helps, not what happened: these are the only labels a donor ever sees about a child.
NEEDS: tuple[Option, ...] = (
    Option("health", N_("Chăm sóc sức khỏe")),
    Option("nutrition", N_("Dinh dưỡng, bữa ăn")),
    Option("education", N_("Học tập, học bổng")),
    Option("housing", N_("Nhà ở")),
    Option("legal", N_("Trợ giúp pháp lý")),
    Option("psych", N_("Hỗ trợ tâm lý")),
    Option("clothing", N_("Quần áo, đồ dùng")),
    Option("play", N_("Vui chơi, giải trí")),
    Option("other", N_("Khác")),
)

DONOR_CONSENT: tuple[Option, ...] = (
    Option("yes", N_("Đã đồng ý")),
    Option("no", N_("Không đồng ý")),
    Option("not_asked", N_("Chưa hỏi")),
)

RELATIONS: tuple[Option, ...] = (
    Option("parent", N_("Cha hoặc mẹ")),
    Option("grandparent", N_("Ông bà")),
    Option("sibling", N_("Anh chị")),
    Option("relative", N_("Họ hàng khác")),
    Option("guardian", N_("Người giám hộ, cha mẹ nuôi")),
    Option("institution", N_("Cơ sở trợ giúp xã hội")),
    Option("none", N_("Không có ai chăm sóc")),
    Option("other", N_("Khác")),
)


def label_of(options: tuple[Option, ...], code: str) -> str:
    """The message id of a code's label (the code itself when unknown, e.g. after a rename)."""
    return next((o.label for o in options if o.code == code), code)
