"""The priority score of a case: a pure, written rubric, shown to staff with its parts.

Provincial plans under Decision 588/QĐ-TTg sort children by "levels of difficulty"; this is
ours, on 0-100. Each part is (reason code, points); bot/ turns codes into words.

| part | points |
|---|---|
| immediate danger to life, health or dignity | 40 |
| the gravest Art. 10 group the child is in (weights below) | 5-30 |
| each further group, up to two | +5 |
| age: under 6 / 6-10 / 11-15 / 16-17 | 10 / 5 / 0 / 0 |
| household: poor / near-poor | 10 / 5 |
| basic needs (health care, food, housing), each | 5 |
The total is capped at 100. Levels: >= 70 very high, >= 50 high, >= 30 medium, else low.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

DANGER_POINTS = 40

# Art. 10 groups by gravity of harm: abuse, trafficking and violence first, then loss of care.
GROUP_WEIGHTS: dict[str, int] = {
    "l": 30, "m": 30, "i": 30,
    "b": 25, "k": 25,
    "a": 20, "c": 20, "o": 20, "n": 20,
    "dd": 15, "g": 15, "h": 15, "d": 15,
    "e": 10, "risk": 10,
    "other": 5,
}
EXTRA_GROUP_POINTS, EXTRA_GROUPS_COUNTED = 5, 2
HOUSEHOLD_POINTS: dict[str, int] = {"poor": 10, "near_poor": 5}
BASIC_NEEDS = ("health", "nutrition", "housing")
BASIC_NEED_POINTS = 5
LEVELS = ((70, "very_high"), (50, "high"), (30, "medium"), (0, "low"))


@dataclass(frozen=True, slots=True)
class Priority:
    total: int
    parts: tuple[tuple[str, int], ...]

    @property
    def level(self) -> str:
        return next(name for floor, name in LEVELS if self.total >= floor)


def age_points(age_years: int | None) -> int:
    if age_years is None:
        return 0
    if age_years < 6:
        return 10
    return 5 if age_years <= 10 else 0


def priority_score(
    *,
    danger: bool,
    groups: Collection[str],
    age_years: int | None,
    household: str | None,
    needs: Collection[str],
) -> Priority:
    """Score a case from what is known about it; unknown answers add nothing."""
    parts: list[tuple[str, int]] = []
    if danger:
        parts.append(("danger", DANGER_POINTS))
    weighted = sorted((GROUP_WEIGHTS.get(g, 0), g) for g in set(groups))
    if weighted:
        top_weight, top = weighted[-1]
        parts.append((f"group:{top}", top_weight))
        extra = min(len(weighted) - 1, EXTRA_GROUPS_COUNTED)
        if extra:
            parts.append(("more_groups", extra * EXTRA_GROUP_POINTS))
    if points := age_points(age_years):
        parts.append(("young", points))
    if points := HOUSEHOLD_POINTS.get(household or "", 0):
        parts.append((f"household:{household}", points))
    basic = [n for n in BASIC_NEEDS if n in set(needs)]
    if basic:
        parts.append(("basic_needs", BASIC_NEED_POINTS * len(basic)))
    return Priority(min(100, sum(p for _, p in parts)), tuple(parts))
