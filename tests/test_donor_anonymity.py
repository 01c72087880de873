"""Anonymity as a property: nothing that identifies a child, and no sensitive circumstance, ever
reaches a donor, whatever the cases hold.

1. Independence (hypothesis): a donor card and its words depend only on the allowed columns.
   Changing a case's name, caregiver, phone, hamlet, free text, photo, date of birth, Article 10
   groups or priority reasons never changes a single character a donor reads.
2. 10,000 generated cases with random names, phones and villages, stored for real (bulk insert),
   published with consent or not: every card the donor query path makes, and every reply of a
   donor browsing, filtering, pledging, being thanked and receiving a digest, in Vietnamese and
   English, is searched for every one of them and for every sensitive label.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from bot import i18n
from bot.app import App
from bot.donors import cards as card_words
from bot.donors import notify
from conversations.categories import ARTICLE_10_GROUPS, NEEDS
from conversations.parsing import places
from conversations.parsing.text import fold
from storage import anonymise
from storage.models import Case, CaseEvent, Need
from tests.support import Chat, Clock, outbox_messages
from tests.test_donor_helpers import donor, with_bank

GROUP_CODES = [o.code for o in ARTICLE_10_GROUPS]
NEED_CODES = [o.code for o in NEEDS]
SENSITIVE_WORDS_VI = ["HIV", "AIDS", "xâm hại", "tình dục", "mua bán", "ma túy", "bạo lực", "bóc lột", "vi phạm pháp luật", "nghiện"]
SENSITIVE_WORDS_EN = ["HIV", "AIDS", "sexual", "abuse", "abused", "trafficking", "trafficked", "drug", "drugs", "violence",
                      "violent", "exploitation", "exploited", "conflict with the law", "offender"]
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 24)


# ---- generated people and places ---------------------------------------------------------------

ONSETS = ["b", "c", "ch", "d", "đ", "g", "gi", "h", "k", "kh", "l", "m", "n", "ng", "nh", "p", "ph", "qu", "r", "s", "t", "th", "tr", "v", "x"]
VOWELS = ["a", "á", "à", "ả", "ã", "ạ", "ă", "ắ", "ằ", "â", "ấ", "ầ", "e", "é", "è", "ê", "ế", "ề", "ệ", "i", "í", "ì", "o", "ó", "ò",
          "ô", "ố", "ồ", "ộ", "ơ", "ớ", "ờ", "ợ", "u", "ú", "ù", "ư", "ứ", "ừ", "ự", "y", "ý", "uyê", "ươ", "iê"]
CODAS = ["", "", "n", "ng", "nh", "m", "c", "ch", "t", "p", "i", "o", "u"]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Giàng", "Lò", "Vàng", "Sùng", "Thào", "Hờ"]
MIDDLES = ["Văn", "Thị", "A", "Seo", "Mí", "Đức", "Minh"]


def word(rng: random.Random) -> str:
    """A made-up three-syllable word, written as one: unique enough to be found anywhere."""
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS) + rng.choice(CODAS) for _ in range(3)).capitalize()


def phone(rng: random.Random) -> str:
    return "+849" + "".join(rng.choice("0123456789") for _ in range(8))


@dataclass
class Secrets:
    """What must never reach a donor about one case: the values, and a folded token to find each."""

    values: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # national significant numbers (9 digits)
    dob: str | None = None
    _folded: list[str] = field(default_factory=list)

    def folded(self) -> list[str]:
        if len(self._folded) != len(self.values):
            self._folded = [fold(v) for v in self.values]
        return self._folded


def personal(rng: random.Random) -> tuple[dict[str, Any], Secrets]:
    secret = Secrets()

    def unique(text: str) -> str:
        secret.tokens.append(fold(text.split()[-1]))
        secret.values.append(text)
        return text

    name = unique(f"{rng.choice(SURNAMES)} {rng.choice(MIDDLES)} {word(rng)}")
    born = TODAY - timedelta(days=rng.randrange(200, 17 * 365))
    number = phone(rng)
    secret.phones.append(number[3:])
    secret.dob = born.strftime("%d/%m/%Y")
    data = {
        "child_name": name,
        "birth": {"dob": born.isoformat(), "birth_year": born.year, "age_years": (TODAY - born).days // 365, "estimated": False},
        "hamlet": unique(f"Thôn {word(rng)}"),
        "whereabouts": unique(f"ở nhà bác {word(rng)}"),
        "description": unique(f"Em bị đánh nhiều lần, được {word(rng)}"),
        "other_situation": unique(f"hoàn cảnh {word(rng)}"),
        "caregiver": unique(f"{rng.choice(SURNAMES)} {rng.choice(MIDDLES)} {word(rng)}"),
        "caregiver_phone": number,
        "photo": unique(f"AgACAgIAAxkB{word(rng)}"),
    }
    return data, secret


def case_rows(n: int, seed: int = 20261124) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[int, Secrets]]:
    """n cases with their needs and a staff note each, as rows for a bulk insert."""
    rng = random.Random(seed)
    provinces = places.all_provinces()
    # A few busy communes so that some commune, sex and age band groups reach three children.
    busy = {p.code: [w.code for w in places.wards_of(p.code)[:3]] for p in provinces}
    cases, needs, notes, secrets = [], [], [], {}
    need_id = 0
    for i in range(1, n + 1):
        province = rng.choice(provinces).code
        commune = rng.choice(busy[province])
        data, secret = personal(rng)
        age = rng.choice([None, *range(0, 18)])
        groups = sorted(set(rng.sample(GROUP_CODES, rng.randint(1, 4))))
        consent = rng.choices(["yes", "no", "not_asked"], weights=[85, 10, 5])[0]
        status = rng.choices(["verified", "in_support", "supported", "new", "closed", "rejected", "duplicate"], weights=[40, 25, 10, 10, 5, 5, 5])[0]
        published = NOW - timedelta(hours=rng.randrange(1, 24 * 120)) if rng.random() < 0.9 else None
        cases.append({
            "id": i, "code": f"T{province:02d}-2026-{i:06d}", "source": "chat", "status": status, "complete": True,
            "province_code": province, "commune_code": commune, "sex": rng.choice(["male", "female", "unknown"]),
            "birth_year": data["birth"]["birth_year"] if age is None else None, "age_years": age, "age_estimated": False,
            "groups": groups, "household": rng.choice(["poor", "near_poor", "neither", "unknown"]), "relation": "grandparent",
            "danger": rng.random() < 0.1, "donor_consent": consent, "photo_consent": True, "priority": rng.randrange(0, 101),
            "priority_parts": [[f"group:{g}", 10] for g in groups], "risk": None, "respond_by": None,
            "published_at": published, "personal": data, "created_at": NOW - timedelta(days=rng.randrange(0, 400)), "updated_at": NOW,
        })
        for kind in rng.sample(NEED_CODES, rng.randint(1, 3)):
            need_id += 1
            amount = rng.choice([None, rng.randrange(1, 400) * 50_000])
            pledged = rng.randrange(0, amount // 50_000 + 1) * 50_000 if amount else 0
            needs.append({"id": need_id, "case_id": i, "kind": kind, "amount": amount, "status": "open",
                          "pledged": pledged, "received": rng.randrange(0, pledged // 50_000 + 1) * 50_000 if pledged else 0})
        note = f"Cán bộ ghi: đã gặp {word(rng)} tại nhà"
        secret.values.append(note)
        secret.tokens.append(fold(note.split()[-3]))
        notes.append({"case_id": i, "kind": "note", "note": note, "at": NOW})
        secrets[i] = secret
    return cases, needs, notes, secrets


# ---- the checks ------------------------------------------------------------------------------------


def sensitive_phrases() -> list[str]:
    labels = [o.label for o in ARTICLE_10_GROUPS if o.code in anonymise.SENSITIVE_GROUPS]
    phrases = [*labels, *SENSITIVE_WORDS_VI, *SENSITIVE_WORDS_EN]
    with i18n.use("en"):
        phrases += [i18n._(label) for label in labels]
    return sorted({fold(p) for p in phrases})


_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")
_CASE_CODE = re.compile(r"\b[A-Z]{1,3}\d{0,2}-\d{4}-\d{6}\b")
_DIGIT_GLUE = re.compile(r"(?<=\d)[ .,\u00a0\u202f](?=\d)")


def assert_clean(texts: Iterable[str], secrets: dict[int, Secrets], allowed_dates: set[str] = frozenset()) -> int:  # type: ignore[assignment]
    """No secret of any case, no sensitive label, no case number, no date of birth in any text."""
    texts = list(texts)
    assert texts
    big = "\n".join(dict.fromkeys(line for text in texts for line in text.splitlines()))  # cards repeat lines
    folded = fold(big)
    seen_tokens = set(re.split(r"[\W_]+", folded))
    leaked = [(case_id, t) for case_id, s in secrets.items() for t in s.tokens if t in seen_tokens]
    assert not leaked, f"personal data reached a donor: {leaked[:5]}"
    digits = _DIGIT_GLUE.sub("", big)
    runs = [r for r in re.findall(r"\d{9,}", digits)]
    phones = {p for s in secrets.values() for p in s.phones}
    assert not [r for r in runs if any(r[i : i + 9] in phones for i in range(len(r) - 8))], "a phone number reached a donor"
    dobs = {s.dob for s in secrets.values() if s.dob}
    assert not (set(_DATE.findall(big)) - set(allowed_dates)) & dobs, "a date of birth reached a donor"
    for phrase in sensitive_phrases():
        assert not re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", folded), f"sensitive label {phrase!r} reached a donor"
    assert not _CASE_CODE.search(big), "a case number reached a donor"
    return len(texts)


def own_secrets_absent(text: str, secret: Secrets) -> None:
    """The strongest link: a card against its own case's values, verbatim and folded."""
    folded = fold(text)
    for value, folded_value in zip(secret.values, secret.folded(), strict=True):
        assert value not in text and folded_value not in folded


# ---- 1. independence ---------------------------------------------------------------------------

allowed = st.fixed_dictionaries({
    "province": st.sampled_from([p.code for p in places.all_provinces()]),
    "sex": st.sampled_from(["male", "female", "unknown", None]),
    "age": st.one_of(st.none(), st.integers(0, 17)),
    "birth_year": st.one_of(st.none(), st.integers(2008, 2026)),
    "needs": st.lists(st.tuples(st.sampled_from(NEED_CODES), st.one_of(st.none(), st.integers(1, 400).map(lambda n: n * 50_000)),
                                st.integers(0, 100)), min_size=1, max_size=4, unique_by=lambda t: t[0]),
    "published_days": st.integers(0, 400),
    "status": st.sampled_from(["new", "verified", "in_support", "supported"]),
    "show_commune": st.booleans(),
    "commune": st.integers(0, 10_000),
})
forbidden = st.fixed_dictionaries({
    "personal": st.dictionaries(st.sampled_from(["child_name", "hamlet", "caregiver", "caregiver_phone", "description", "whereabouts", "photo", "birth"]),
                                st.text(min_size=1, max_size=40)),
    "groups": st.lists(st.sampled_from(GROUP_CODES), unique=True, max_size=6),
    "priority": st.integers(0, 100),
    "danger": st.booleans(),
    "household": st.sampled_from(["poor", "near_poor", "neither", "unknown", None]),
    "relation": st.sampled_from(["parent", "grandparent", "none", None]),
    "photo_consent": st.booleans(),
})


def build(a: dict[str, Any], f: dict[str, Any]) -> tuple[Case, list[Need]]:
    wards = places.wards_of(a["province"])
    case = Case(id=7, code="LCA-2026-000007", province_code=a["province"], commune_code=wards[a["commune"] % len(wards)].code,
                sex=a["sex"], age_years=a["age"], birth_year=a["birth_year"], groups=f["groups"], priority=f["priority"],
                priority_parts=[[f"group:{g}", 5] for g in f["groups"]], danger=f["danger"], household=f["household"], relation=f["relation"], photo_consent=f["photo_consent"],
                donor_consent="yes", status=a["status"], personal=f["personal"], created_at=NOW - timedelta(days=30),
                updated_at=NOW, published_at=NOW - timedelta(days=a["published_days"]))
    needs = [Need(id=i + 1, case_id=7, kind=kind, amount=amount, pledged=(amount or 0) * share // 100 // 1000 * 1000)
             for i, (kind, amount, share) in enumerate(a["needs"])]
    return case, needs


def words_of(card: anonymise.DonorCard | None) -> list[str]:
    if card is None:
        return []
    out = []
    for lang in ("vi", "en"):
        with i18n.use(lang):
            out += [card_words.render(card, NOW), card_words.one_line(card)]
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(allowed, forbidden, forbidden)
def test_what_a_donor_reads_depends_only_on_the_allowed_columns(a: dict[str, Any], f1: dict[str, Any], f2: dict[str, Any]) -> None:
    case1, needs1 = build(a, f1)
    case2, needs2 = build(a, f2)
    card1 = anonymise.donor_card(case1, needs1, code="K7M3QD", commune_visible=a["show_commune"], today=TODAY)
    card2 = anonymise.donor_card(case2, needs2, code="K7M3QD", commune_visible=a["show_commune"], today=TODAY)
    assert card1 == card2
    assert words_of(card1) == words_of(card2)
    if card1 is not None:
        assert {n.kind for n in card1.needs} <= set(anonymise.DONOR_NEEDS)


def test_the_card_carries_nothing_but_the_allowlist() -> None:
    fields = set(anonymise.DonorCard.__dataclass_fields__)
    assert fields == {"code", "sex", "age_band", "province_code", "commune_code", "needs", "published_at"}
    assert set(anonymise.CardNeed.__dataclass_fields__) == {"need_id", "kind", "amount", "pledged", "received", "open"}
    assert not set(anonymise.DONOR_NEEDS) & {"legal", "psych"}
    assert {"dd", "e", "g", "i", "k", "l", "m"} == anonymise.SENSITIVE_GROUPS


# ---- 2. ten thousand generated cases, stored and browsed -------------------------------------------


async def load(app: App, n: int) -> dict[int, Secrets]:
    cases, needs, notes, secrets = case_rows(n)
    async with app.db.transaction() as session:
        connection = await session.connection()
        for start in range(0, len(cases), 2000):
            await connection.execute(Case.__table__.insert(), cases[start : start + 2000])  # type: ignore[attr-defined]
        for start in range(0, len(needs), 5000):
            await connection.execute(Need.__table__.insert(), needs[start : start + 5000])  # type: ignore[attr-defined]
        await connection.execute(CaseEvent.__table__.insert(), notes)  # type: ignore[attr-defined]
    if app.db.engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
        async with app.db.transaction() as session:
            connection = await session.connection()
            for table in ("child_case", "need"):
                await connection.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    return secrets


async def test_ten_thousand_generated_cases_never_reach_a_donor(app: App, clock: Clock) -> None:
    secrets = await load(app, 10_000)
    with_bank(app)

    # Every card the donor query path makes, from the stored rows, in both languages.
    async with app.db.transaction() as session:
        listed = await anonymise.listed(session, today=TODAY)
        ids = [item.case_id for item in listed]
        made = []
        for start in range(0, len(ids), 1000):
            made += await anonymise.cards(session, ids[start : start + 1000], TODAY)
        rows = {c.id: c for c in await session.exec(select(Case).where(col(Case.id).in_(ids)))}
        by_code = {code: case_id for case_id, code in (await anonymise.codes_for(session, ids)).items()}
    assert len(made) == len(ids) > 4000
    texts = []
    for card in made:
        case_id = by_code[card.code]
        case = rows[case_id]
        assert case.donor_consent == "yes" and case.published_at is not None and case.status in anonymise.LISTED_STATUSES
        for lang in ("vi", "en"):
            with i18n.use(lang):
                text = card_words.render(card, NOW)
            own_secrets_absent(text, secrets[case_id])
            texts.append(text)
    assert_clean(texts, secrets)
    communes_named = sum(1 for card in made if card.commune_code is not None)
    assert 0 < communes_named < len(made)  # k-anonymity both ways in this data set

    # A donor (and an English-speaking one) browsing, filtering, pledging, thanked, digested.
    seen: list[str] = []
    vi, en = await donor(app, "790"), await donor(app, "791", language="en")
    for chat, pages in ((vi, 10), (en, 4)):
        for page in range(1, pages + 1):
            seen.append(render(await chat.send(f"/nhucau {page}")))
        seen.append(render(await chat.press("m:nhucau:loc")))
    for kind in anonymise.DONOR_NEEDS:
        seen.append(render(await vi.press(f"m:nhucau:1:k.{kind}")))
    for band in anonymise.AGE_BANDS:
        seen.append(render(await en.press(f"m:nhucau:2:a.{band}")))
    for province in places.all_provinces()[:4]:
        seen.append(render(await vi.send(f"/nhucau {province.short} hoc tap")))
    for card in made[:15]:
        seen.append(render(await vi.send(f"/ungho {card.code}")))
        if vi.replies and "Bạn muốn ủng hộ" in vi.text and "(1/" in vi.text:
            seen.append(render(await vi.send("/huy")))
            seen.append(render(await vi.send("có")))
    target = next(c for c in made if any(n.open and n.amount for n in c.needs) and len(c.open_needs) == 1)
    seen.append(render(await vi.press(f"m:ungho:{target.code}")))
    for answer in ("1", "tất cả", "Chúc con mạnh khỏe", "gửi"):
        seen.append(render(await vi.send(answer)))
    assert "Đã ghi cam kết" in seen[-1]
    staff = await Chat.staff(app, "9001")
    await staff.send("/camket")
    await staff.press(staff.button_data()[0])
    await staff.press(staff.button_data()[0])
    await staff.answers("đủ", "hôm nay", "gửi")
    async with app.db.transaction() as session:
        await notify.on_support_delivered(session, by_code[target.code], settings=app.settings, now=clock.now)
    seen.append(render(await vi.send("/daungho")))
    await vi.send("/caidat")
    await vi.press("m:caidat:bantin:on")
    await en.press("m:caidat:bantin:on")
    await notify.digest(app, clock.now)
    donor_chats = {"790", "791"}
    seen += [m.payload["text"] for m in await outbox_messages(app) if m.chat_id in donor_chats]
    assert any("Hỗ trợ đã tới tay trẻ" in s for s in seen) and any("Bản tin tháng" in s for s in seen)
    with i18n.use("vi"):
        today = i18n.day(TODAY)
    assert assert_clean(seen, secrets, allowed_dates={today}) > 60


def render(replies: list[Any]) -> str:
    from bot.core import render_numbered

    return "\n\n".join(render_numbered(r) for r in replies)
