"""The anonymised view donors see: what a donor may know about a child is decided here, once.

`donor_card(case, needs, ...)` is a pure projection onto an allowlist: a donor-facing code (random,
kept in its own table, so it cannot be turned back into the case number), sex, an age band, the
province (the commune only when at least K_ANONYMITY published children share commune, sex and
age band), the needs by what helps with amounts, pledged and received, and when the needs were
published. Nothing else of a case is read: no name, caregiver, phone, hamlet, free text, photo,
exact date of birth, Article 10 group or priority reason. The queries below load cases with the
encrypted personal document deferred, so it is never even decrypted for a donor.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, Integer, String, and_, exists, or_
from sqlalchemy.orm import defer
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Case, Need
from storage.sql import insert

AGE_BANDS = ("0-5", "6-10", "11-15", "16-17")
UNKNOWN_BAND = "unknown"
ADULT_AGE = 18  # never listed from here on
K_ANONYMITY = 3  # a commune is named only when this many published children share it, sex and band
SEXES = ("male", "female")

# Needs shown to donors, named by what helps. "legal" (legal aid) and "psych" (counselling) are
# withheld: they point at what happened (conflict with the law, abuse, violence), not what helps.
DONOR_NEEDS = ("health", "nutrition", "education", "housing", "clothing", "play", "other")
# Law on Children, Art. 10, groups never shown to donors, even as a label (DOMAIN.md).
SENSITIVE_GROUPS = frozenset({"dd", "e", "g", "i", "k", "l", "m"})
LISTED_STATUSES = ("new", "verified", "in_support", "supported")  # published and not closed: donors can still help
WITHDRAWN_STATUSES = ("rejected", "duplicate")  # never counted as published

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6


# ---- the card -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardNeed:
    need_id: int
    kind: str  # a DONOR_NEEDS code
    amount: int | None  # VND; None: help in kind (goods, services)
    pledged: int
    received: int
    open: bool  # donors can still pledge to it

    @property
    def remaining(self) -> int | None:
        return None if self.amount is None else max(0, self.amount - self.pledged)


@dataclass(frozen=True, slots=True)
class DonorCard:
    """Everything a donor is ever told about one child. Codes and numbers only: words come later."""

    code: str
    sex: str  # "male" | "female" | "unknown"
    age_band: str  # one of AGE_BANDS or UNKNOWN_BAND
    province_code: int
    commune_code: int | None  # None unless K_ANONYMITY children share it
    needs: tuple[CardNeed, ...]
    published_at: datetime

    @property
    def open_needs(self) -> tuple[CardNeed, ...]:
        return tuple(n for n in self.needs if n.open)

    @property
    def amount(self) -> int:
        return sum(n.amount or 0 for n in self.needs)

    @property
    def pledged(self) -> int:
        return sum(n.pledged for n in self.needs)

    @property
    def received(self) -> int:
        return sum(n.received for n in self.needs)


def age_now(age_years: int | None, birth_year: int | None, reported_at: datetime, today: date) -> int | None:
    """The child's age today: the age at the report plus the years since, else from the birth year."""
    if age_years is not None:
        reported = reported_at.date()
        elapsed = today.year - reported.year - ((today.month, today.day) < (reported.month, reported.day))
        return age_years + max(0, elapsed)
    if birth_year is not None:
        return max(0, today.year - birth_year)
    return None


def current_age(case: Case, today: date) -> int | None:
    return age_now(case.age_years, case.birth_year, case.created_at, today)


def age_band(age: int | None) -> str | None:
    """'0-5', '6-10', '11-15', '16-17'; UNKNOWN_BAND when unknown; None for an adult."""
    if age is None:
        return UNKNOWN_BAND
    if age >= ADULT_AGE:
        return None
    if age <= 5:
        return "0-5"
    if age <= 10:
        return "6-10"
    return "11-15" if age <= 15 else "16-17"


def band_of(case: Case, today: date) -> str | None:
    return age_band(current_age(case, today))


def sex_of(case: Case) -> str:
    return case.sex if case.sex in SEXES else "unknown"


def is_published(case: Case) -> bool:
    return case.published_at is not None and shareable(case)


def shareable(case: Case) -> bool:
    """The child's representative agreed to share the needs, and the case was not withdrawn."""
    return case.donor_consent == "yes" and case.status not in WITHDRAWN_STATUSES


def card_need(need: Need) -> CardNeed:
    assert need.id is not None
    open_ = need.status == "open" and (need.amount is None or need.pledged < need.amount)
    return CardNeed(need.id, need.kind, need.amount, need.pledged, need.received, open_)


def donor_card(case: Case, needs: Iterable[Need], *, code: str, commune_visible: bool, today: date,
               listed_only: bool = True) -> DonorCard | None:
    """The card for one published case, or None when it must not reach a donor at all
    (not published, no consent, withdrawn or closed, an adult, or no need a donor may see).

    `listed_only=False` describes a case its donors already funded after it left the list
    (closed cases are unpublished), for their thank-you; consent is still required.
    """
    if not shareable(case) or (listed_only and (case.published_at is None or case.status not in LISTED_STATUSES)):
        return None
    band = band_of(case, today)
    if band is None:
        return None
    shown = tuple(card_need(n) for n in needs if n.kind in DONOR_NEEDS and n.case_id == case.id)
    if not shown:
        return None
    commune = case.commune_code if commune_visible and case.commune_code is not None else None
    return DonorCard(code=code, sex=sex_of(case), age_band=band, province_code=case.province_code,
                     commune_code=commune, needs=shown, published_at=case.published_at or case.updated_at)


# ---- donor-facing codes -------------------------------------------------------------------------


class DonorCode(SQLModel, table=True):
    """A random code per published case: donors say "TE-K7M3QD", never the case number."""

    __tablename__ = "donor_code"

    case_id: int = Field(sa_column=Column(Integer, ForeignKey("child_case.id"), primary_key=True))
    code: str = Field(sa_column=Column(String(8), nullable=False, unique=True))


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """'te-k7m3qd', 'K7M3QD' and '#K7M3QD' are the same code."""
    letters = "".join(ch for ch in text.upper() if ch.isalnum())
    return letters[2:] if letters.startswith("TE") and len(letters) == CODE_LENGTH + 2 else letters


async def codes_for(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, str]:
    """The code of each case, made on first use; safe when two workers make one at once."""
    wanted = set(case_ids)
    if not wanted:
        return {}
    found: dict[int, str] = {}
    for _attempt in range(5):
        rows = await session.exec(select(DonorCode).where(col(DonorCode.case_id).in_(wanted)))
        found.update({row.case_id: row.code for row in rows})
        missing = wanted - found.keys()
        if not missing:
            break
        statement = insert(session, DonorCode).values([{"case_id": i, "code": new_code()} for i in sorted(missing)])
        await session.exec(statement.on_conflict_do_nothing())  # type: ignore[call-overload]
    return found


async def case_id_by_code(session: AsyncSession, code: str) -> int | None:
    row = (await session.exec(select(DonorCode).where(DonorCode.code == normalise_code(code)))).first()
    return row.case_id if row else None


# ---- queries ------------------------------------------------------------------------------------


def _published() -> list:
    return [col(Case.published_at).is_not(None), col(Case.donor_consent) == "yes"]


def _open_need(kind: str | None = None):
    """A need donors can still pledge to."""
    conditions = [col(Need.case_id) == col(Case.id), col(Need.kind).in_(DONOR_NEEDS), col(Need.status) == "open",
                  or_(col(Need.amount).is_(None), col(Need.pledged) < col(Need.amount))]
    if kind is not None:
        conditions.append(col(Need.kind) == kind)
    return exists().where(and_(*conditions))


@dataclass(frozen=True, slots=True)
class Listed:
    """One listed case, light: enough to order, filter by age band and page, nothing personal."""

    case_id: int
    band: str
    province_code: int


_LIGHT = (col(Case.id), col(Case.priority), col(Case.published_at), col(Case.province_code),
          col(Case.age_years), col(Case.birth_year), col(Case.created_at))


def _light_band(row, today: date) -> str | None:
    return age_band(age_now(row.age_years, row.birth_year, row.created_at, today))


async def listed(session: AsyncSession, *, today: date, kind: str | None = None,
                 province: int | None = None, band: str | None = None) -> list[Listed]:
    """Published cases with something left to give, highest priority first, then longest waiting."""
    statement = select(*_LIGHT).where(*_published(), col(Case.status).in_(LISTED_STATUSES), _open_need(kind))
    if province is not None:
        statement = statement.where(col(Case.province_code) == province)
    statement = statement.order_by(col(Case.priority).desc(), col(Case.published_at), col(Case.id))
    out: list[Listed] = []
    for row in (await session.exec(statement)).all():
        row_band = _light_band(row, today)
        if row_band is None or (band is not None and row_band != band):
            continue
        out.append(Listed(row.id, row_band, row.province_code))
    return out


async def _load_cases(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, Case]:
    statement = select(Case).where(col(Case.id).in_(list(case_ids))).options(defer(Case.personal))  # type: ignore[arg-type]
    return {case.id: case for case in await session.exec(statement) if case.id is not None}


async def _needs(session: AsyncSession, case_ids: Sequence[int]) -> dict[int, list[Need]]:
    statement = (select(Need).where(col(Need.case_id).in_(list(case_ids)), col(Need.kind).in_(DONOR_NEEDS))
                 .order_by(col(Need.id)).execution_options(populate_existing=True))
    out: dict[int, list[Need]] = {}
    for need in await session.exec(statement):
        out.setdefault(need.case_id, []).append(need)
    return out


async def commune_visibility(session: AsyncSession, cases: Sequence[Case], today: date) -> dict[int, bool]:
    """For each case: do at least K_ANONYMITY published children share its commune, sex and band?"""
    communes = {c.commune_code for c in cases if c.commune_code is not None}
    if not communes:
        return {c.id: False for c in cases if c.id is not None}
    statement = (select(col(Case.commune_code), col(Case.sex), col(Case.age_years), col(Case.birth_year),
                        col(Case.created_at), col(Case.province_code))
                 .where(*_published(), col(Case.status).not_in(WITHDRAWN_STATUSES), col(Case.commune_code).in_(communes)))
    counts: dict[tuple[int, str, str | None], int] = {}
    for row in (await session.exec(statement)).all():
        key = (row.commune_code, row.sex if row.sex in SEXES else "unknown", _light_band(row, today))
        counts[key] = counts.get(key, 0) + 1
    return {
        c.id: c.commune_code is not None and counts.get((c.commune_code, sex_of(c), band_of(c, today)), 0) >= K_ANONYMITY
        for c in cases if c.id is not None
    }


async def cards(session: AsyncSession, case_ids: Sequence[int], today: date) -> list[DonorCard]:
    """Cards for these cases, in the order given; cases that must not be shown are left out."""
    loaded = await _load_cases(session, case_ids)
    needs = await _needs(session, list(loaded))
    codes = await codes_for(session, list(loaded))
    visible = await commune_visibility(session, list(loaded.values()), today)
    out = []
    for case_id in case_ids:
        case = loaded.get(case_id)
        if case is None:
            continue
        card = donor_card(case, needs.get(case_id, []), code=codes[case_id],
                          commune_visible=visible.get(case_id, False), today=today)
        if card is not None:
            out.append(card)
    return out


async def card_by_code(session: AsyncSession, code: str, today: date) -> tuple[int, DonorCard] | None:
    """(case id, card) for a donor code, when the case is still shown to donors."""
    case_id = await case_id_by_code(session, code)
    if case_id is None:
        return None
    found = await cards(session, [case_id], today)
    return (case_id, found[0]) if found else None


async def provinces_listed(session: AsyncSession, today: date) -> list[tuple[int, int]]:
    """(province code, children listed) for the filter menu, most children first."""
    totals: dict[int, int] = {}
    for item in await listed(session, today=today):
        totals[item.province_code] = totals.get(item.province_code, 0) + 1
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


async def published_since(session: AsyncSession, since: datetime | None, provinces: Sequence[int], today: date) -> list[int]:
    """Listed cases published after `since` in these provinces (all when empty), by priority."""
    statement = select(*_LIGHT).where(*_published(), col(Case.status).in_(LISTED_STATUSES), _open_need())
    if since is not None:
        statement = statement.where(col(Case.published_at) > since)
    if provinces:
        statement = statement.where(col(Case.province_code).in_(list(provinces)))
    statement = statement.order_by(col(Case.priority).desc(), col(Case.published_at), col(Case.id))
    return [row.id for row in (await session.exec(statement)).all() if _light_band(row, today) is not None]
