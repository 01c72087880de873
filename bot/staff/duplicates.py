"""Likely duplicates of a case: the same child reported twice (by two collaborators, or again
after a lost connection). Same commune, birth year within one, and a name that matches once
diacritics, case and spacing are ignored ("Nguyen Van An" = "Nguyễn Văn  An")."""

from __future__ import annotations

from bot import labels
from bot.context import Context
from bot.core import Button, Reply
from bot.forms import Replies
from bot.i18n import N_, _, t
from bot.staff.common import open_case_button
from conversations.parsing.text import tokens
from storage import audit, review
from storage.models import Case

MAX_PROPOSED = 5


def name_of(case: Case) -> list[str]:
    return tokens(str((case.personal or {}).get("child_name") or ""))


def same_name(a: list[str], b: list[str]) -> int:
    """2: the same name; 1: the same family and given name (a middle name differs or is
    missing, as people often write it); 0: different or unknown."""
    if not a or not b:
        return 0
    if a == b:
        return 2
    return 1 if a[0] == b[0] and a[-1] == b[-1] else 0


async def likely(ctx: Context, case: Case) -> list[tuple[int, Case]]:
    """Candidates with a matching name, best first."""
    name = name_of(case)
    if not name:
        return []
    found = []
    for other in await review.duplicate_candidates(ctx.session, case):
        score = same_name(name, name_of(other))
        if score:
            year_gap = abs((other.birth_year or 0) - (case.birth_year or 0)) if other.birth_year and case.birth_year else 1
            found.append((score * 10 - year_gap, other))
    found.sort(key=lambda item: (-item[0], item[1].created_at))
    return found[:MAX_PROPOSED]


async def propose(ctx: Context, case: Case) -> Replies:
    """Show likely duplicates with a button each; the staff member decides."""
    assert case.id is not None
    found = await likely(ctx, case)
    if not found:
        return [Reply(t(N_("Không thấy hồ sơ nào giống hồ sơ {code} (cùng xã, cùng tên, năm sinh chênh không quá 1). Nếu bạn biết hồ sơ gốc, gõ: /trung {code} <mã hồ sơ gốc>."), code=case.code),
                      buttons=((open_case_button(case),),))]
    lines = [t(N_("Có thể trùng với hồ sơ {code} ({name}, sinh {year}):"), code=case.code, name=(case.personal or {}).get("child_name") or "?", year=case.birth_year or "?")]
    rows = []
    for _score, other in found:
        assert other.id is not None
        name = (other.personal or {}).get("child_name") or ""
        lines.append(f"• {other.code} · {name} · {other.birth_year or '?'} · {labels.status(other.status)}")
        rows.append((Button(t(N_("🔁 Trùng với {code}"), code=other.code), f"m:trung:{case.code}:{other.code}"),))
        audit.record(ctx.session, "read_personal", actor_id=ctx.person.id, case_id=other.id, detail="duplicate", now=ctx.now)
    lines.append(_("Chọn hồ sơ gốc bên dưới (bấm hoặc gõ số) để đánh dấu hồ sơ này là bản trùng, hoặc mở hồ sơ để so sánh trước."))
    rows.append((open_case_button(case),))
    return [Reply("\n".join(lines), buttons=tuple(rows))]
