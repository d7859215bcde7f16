"""Bone-health assessment for a woman starting or on an aromatase inhibitor (DOMAIN H1-H4).

Pure domain logic: no Django, no ORM, no I/O. Every clinical threshold lives in ``BONE_HEALTH_THRESHOLDS``
(DOMAIN H3 asks for one data table, since a 2025 update of the guidance exists); callers may pass their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext
from fractions import Fraction
from uuid import UUID

from backend.dates import add_months

__all__ = [
    "AI_PLANNED_YEARS",
    "BONE_HEALTH_THRESHOLDS",
    "DXA_SITES",
    "H1_ADVICE",
    "SMOKER_VALUES",
    "AiCourse",
    "BoneHealthAssessment",
    "BoneHealthInput",
    "BoneHealthThresholds",
    "CurrentTherapy",
    "DxaReading",
    "Finding",
    "add_months",
    "age_on",
    "ai_course",
    "ai_planned_end",
    "assess_bone_health",
    "bmi",
    "bmi_for_display",
    "years_between",
]

# Order matters only for deterministic tie-breaking when two sites share the lowest T-score.
DXA_SITES: tuple[str, ...] = ("lumbar_spine", "femoral_neck", "total_hip")  # DOMAIN H2
SMOKER_VALUES: frozenset[str] = frozenset({"never", "former", "current", ""})  # "" = not asked yet
_SMOKER_AT_RISK: frozenset[str] = frozenset({"former", "current"})  # DOMAIN H3: current or past


@dataclass(frozen=True)
class BoneHealthThresholds:
    t_score_alone: Decimal
    t_score_with_risk: Decimal
    risk_factors_alone: int
    age_over: int
    bmi_under: Decimal
    corticosteroid_months_over: int
    repeat_dxa_months: int
    repeat_dxa_months_if_indicated: int


BONE_HEALTH_THRESHOLDS = BoneHealthThresholds(
    t_score_alone=Decimal("-2.0"),  # DOMAIN H2
    t_score_with_risk=Decimal("-1.5"),  # DOMAIN H2
    risk_factors_alone=2,  # DOMAIN H2
    age_over=65,  # DOMAIN H3
    bmi_under=Decimal("20.0"),  # DOMAIN H3
    corticosteroid_months_over=6,  # DOMAIN H3
    repeat_dxa_months=24,  # DOMAIN H4 (ASCO 2019)
    repeat_dxa_months_if_indicated=12,  # DOMAIN H4 (ASCO 2019)
)


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    rule: str  # DOMAIN rule id, e.g. "H2"


@dataclass(frozen=True)
class DxaReading:
    site: str  # one of DXA_SITES
    t_score: Decimal
    measured_on: date

    def __post_init__(self) -> None:
        if self.site not in DXA_SITES:
            raise ValueError(f"unknown DXA site {self.site!r}; expected one of {', '.join(DXA_SITES)}")
        if not Decimal(self.t_score).is_finite():
            raise ValueError("DXA T-score must be a finite number")


@dataclass(frozen=True)
class CurrentTherapy:
    """A bone-directed medicine she is on today (an active schedule of the medications layer)."""

    schedule_id: UUID
    medication_code: str
    medication_name: str
    dose: str
    starts_on: date
    ends_on: date | None


@dataclass(frozen=True)
class BoneHealthInput:
    today: date
    birth_date: date | None
    height_cm: Decimal | None
    weight_kg: Decimal | None
    smoker: str  # "never" | "former" | "current" | "" (unknown)
    family_hip_fracture: bool
    prior_fragility_fracture: bool
    oral_corticosteroids_months: int
    dxa: Sequence[DxaReading] = field(default_factory=tuple)
    current_therapy: Sequence[CurrentTherapy] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.smoker not in SMOKER_VALUES:
            raise ValueError(f"unknown smoker value {self.smoker!r}")
        if self.oral_corticosteroids_months < 0:
            raise ValueError("oral_corticosteroids_months must not be negative")
        if self.birth_date is not None and self.birth_date > self.today:
            raise ValueError("birth_date is after today")


@dataclass(frozen=True)
class BoneHealthAssessment:
    therapy_recommended: bool  # start bone-directed therapy (DOMAIN H2 met and she is not on it yet)
    on_therapy: bool
    current_therapy: list[CurrentTherapy]
    reasons: list[Finding]
    risk_factors: list[Finding]
    lowest_t_score: Decimal | None
    lowest_t_score_site: str | None
    lowest_t_score_measured_on: date | None
    last_dxa_on: date | None
    dxa_due_on: date  # today when no DXA is on record (H1 baseline), else the last DXA + 12 or 24 months (H4)

    @property
    def next_dxa_due(self) -> date:
        """The API's original name for `dxa_due_on`."""
        return self.dxa_due_on


# DOMAIN H1 (amounts: DOMAIN C1, C3, E1, E2, E3). Not part of the decision; callers append them where useful.
H1_ADVICE: tuple[Finding, ...] = (
    Finding(
        code="calcium_vitamin_d_advice",
        message=(
            "Take calcium and vitamin D: 1,000-1,200 mg of calcium a day "  # DOMAIN C1
            "from food and supplements "
            "and 800-1,000 IU of vitamin D3 a day."  # DOMAIN C3
        ),
        rule="H1",
    ),
    Finding(
        code="exercise_advice",
        message=(
            "Exercise: 150 minutes a week of moderate weight-bearing activity, "  # DOMAIN E1
            "resistance training on 2 or more days a week "  # DOMAIN E2
            "and balance training (such as tai chi or yoga) 2 or more times a week."  # DOMAIN E3
        ),
        rule="H1",
    ),
)


def age_on(birth_date: date, today: date) -> int:
    """Age in whole years on ``today``. Born on Feb 29: a year older on Mar 1 in non-leap years."""
    if birth_date > today:
        raise ValueError("birth_date is after today")
    before_birthday = (today.month, today.day) < (birth_date.month, birth_date.day)
    return today.year - birth_date.year - int(before_birthday)


def _known_positive(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    value = Decimal(value)
    if not value.is_finite() or value <= 0:
        return None
    return value


def bmi(height_cm: Decimal | None, weight_kg: Decimal | None) -> Decimal | None:
    """Body-mass index (kg/m^2), unrounded; None when height or weight is missing, zero or negative.

    Compare this unrounded value (or use exact arithmetic, as ``assess_bone_health`` does);
    round with ``bmi_for_display`` only for showing it.
    """
    height = _known_positive(height_cm)
    weight = _known_positive(weight_kg)
    if height is None or weight is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        metres = height / Decimal(100)
        return weight / (metres * metres)


def bmi_for_display(value: Decimal) -> Decimal:
    """BMI rounded to one decimal for display only."""
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _bmi_below(height_cm: Decimal | None, weight_kg: Decimal | None, limit: Decimal) -> bool | None:
    """Exact test of BMI < limit with rational arithmetic (so 51.2 kg at 160 cm is exactly 20, not below)."""
    height = _known_positive(height_cm)
    weight = _known_positive(weight_kg)
    if height is None or weight is None:
        return None
    metres = Fraction(height) / 100
    return Fraction(weight) / (metres * metres) < Fraction(limit)


def _fmt(value: Decimal) -> str:
    return format(value, "f")


def _risk_factors(data: BoneHealthInput, t: BoneHealthThresholds) -> list[Finding]:
    found: list[Finding] = []
    if data.birth_date is not None:
        age = age_on(data.birth_date, data.today)
        if age > t.age_over:
            found.append(Finding("age_over_65", f"Age {age} is over {t.age_over}.", "H3"))
    value = bmi(data.height_cm, data.weight_kg)
    if value is not None and _bmi_below(data.height_cm, data.weight_kg, t.bmi_under):
        found.append(Finding("low_bmi", f"BMI {_fmt(bmi_for_display(value))} is under {_fmt(t.bmi_under)}.", "H3"))
    if data.family_hip_fracture:
        found.append(Finding("family_hip_fracture", "A parent or sibling has had a hip fracture.", "H3"))
    if data.prior_fragility_fracture:
        found.append(Finding("prior_fragility_fracture", "She has had a fragility fracture after age 50.", "H3"))
    if data.oral_corticosteroids_months > t.corticosteroid_months_over:
        found.append(
            Finding(
                "oral_corticosteroids",
                f"Oral corticosteroids for {data.oral_corticosteroids_months} months "
                f"(more than {t.corticosteroid_months_over}).",
                "H3",
            )
        )
    if data.smoker in _SMOKER_AT_RISK:
        found.append(Finding("smoking", f"Smoking history ({data.smoker} smoker).", "H3"))
    return found


def _latest_per_site(readings: Sequence[DxaReading]) -> list[DxaReading]:
    """The most recent reading of each site; two on the same day at one site: the lower counts."""
    latest: dict[str, DxaReading] = {}
    for reading in readings:
        current = latest.get(reading.site)
        if current is None or (reading.measured_on, -reading.t_score) > (
            current.measured_on,
            -current.t_score,
        ):
            latest[reading.site] = reading
    return [latest[site] for site in DXA_SITES if site in latest]


def assess_bone_health(
    data: BoneHealthInput, thresholds: BoneHealthThresholds = BONE_HEALTH_THRESHOLDS
) -> BoneHealthAssessment:
    """Whether bone-directed therapy should be started (DOMAIN H2: indicated, and she is not on it already) and when
    the next DXA is due (H1: now when none is on record; H4: the last scan + 12 or 24 months)."""
    t = thresholds
    risk_factors = _risk_factors(data, t)
    n_risk = len(risk_factors)

    per_site = _latest_per_site(data.dxa)
    lowest = min(per_site, key=lambda r: (r.t_score, DXA_SITES.index(r.site))) if per_site else None

    reasons: list[Finding] = []
    if lowest is not None:
        where = f"{lowest.site.replace('_', ' ')}, {lowest.measured_on.isoformat()}"
        if lowest.t_score < t.t_score_alone:
            reasons.append(
                Finding(
                    "t_score_below_threshold",
                    f"Lowest T-score {_fmt(lowest.t_score)} ({where}) is below {_fmt(t.t_score_alone)}.",
                    "H2",
                )
            )
        if lowest.t_score < t.t_score_with_risk and n_risk >= 1:
            reasons.append(
                Finding(
                    "t_score_with_risk_factor",
                    f"Lowest T-score {_fmt(lowest.t_score)} ({where}) is below {_fmt(t.t_score_with_risk)} "
                    f"with {n_risk} risk factor{'s' if n_risk != 1 else ''}.",
                    "H2",
                )
            )
    if n_risk >= t.risk_factors_alone:
        reasons.append(
            Finding(
                "multiple_risk_factors",
                f"{n_risk} risk factors (at least {t.risk_factors_alone}), whatever the bone density.",
                "H2",
            )
        )
    on_therapy = bool(data.current_therapy)
    # H2 says whether therapy is indicated; "recommended" means "start it", which she has done when on therapy
    # (the H2 reasons above still show why).
    recommended = bool(reasons) and not on_therapy

    def assessment(*, lowest: DxaReading | None, last_dxa_on: date | None, dxa_due_on: date) -> BoneHealthAssessment:
        return BoneHealthAssessment(
            therapy_recommended=recommended,
            on_therapy=on_therapy,
            current_therapy=list(data.current_therapy),
            reasons=reasons,
            risk_factors=risk_factors,
            lowest_t_score=lowest.t_score if lowest else None,
            lowest_t_score_site=lowest.site if lowest else None,
            lowest_t_score_measured_on=lowest.measured_on if lowest else None,
            last_dxa_on=last_dxa_on,
            dxa_due_on=dxa_due_on,
        )

    if on_therapy:
        names = ", ".join(f"{item.medication_name} {item.dose}".strip() for item in data.current_therapy)
        reasons.append(Finding("on_therapy", f"Already on bone-directed therapy: {names}.", "H2"))

    if lowest is None:
        # DOMAIN H1: the fracture-risk assessment needs a baseline DXA, even when therapy is indicated or given.
        reasons.append(Finding("no_dxa", "No DXA result on record: a baseline DXA scan is needed.", "H1"))
        return assessment(lowest=None, last_dxa_on=None, dxa_due_on=data.today)

    # DOMAIN H4 "2 years, 1 if indicated": indicated is a T-score below the H2 "with a risk factor" line, a risk
    # factor, or therapy given (whose effect the scan follows). H2 being met implies the first or the second.
    indicated = lowest.t_score < t.t_score_with_risk or n_risk >= 1 or on_therapy
    months = t.repeat_dxa_months_if_indicated if indicated else t.repeat_dxa_months
    last_scan = max(r.measured_on for r in data.dxa)
    dxa_due_on = add_months(last_scan, months)
    if not reasons:  # neither indicated by H2 nor given
        repeat = f"Repeat DXA in {months} months (by {dxa_due_on.isoformat()})"
        why = (
            f"; sooner because the T-score is below {_fmt(t.t_score_with_risk)} or a risk factor is present"
            if indicated
            else ""
        )
        reasons.append(
            Finding("not_recommended_now", f"Bone-directed therapy is not recommended now. {repeat}{why}.", "H4")
        )

    return assessment(lowest=lowest, last_dxa_on=last_scan, dxa_due_on=dxa_due_on)


# --- the aromatase-inhibitor course (DOMAIN T1) -------------------------------------------------------------------
AI_PLANNED_YEARS: tuple[int, ...] = (5, 10)  # DOMAIN T1: 5 years, often extended to 10
_TENTH = Decimal("0.1")


def years_between(start: date, end: date) -> Fraction:
    """Calendar years from `start` to `end` (0 when `end` is not after `start`): whole years to the last
    anniversary, plus the part of the year after it, as days over that year's length (365 or 366). A course started
    on 29 February has its anniversary on 28 February in other years (add_months clamps)."""
    if end <= start:
        return Fraction(0)
    whole = end.year - start.year
    if add_months(start, 12 * whole) > end:
        whole -= 1
    anniversary, next_one = add_months(start, 12 * whole), add_months(start, 12 * (whole + 1))
    return whole + Fraction((end - anniversary).days, (next_one - anniversary).days)


def _tenths(value: Fraction, rounding: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 28
        exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(_TENTH, rounding=rounding)


def ai_planned_end(*, started_on: date | None, planned_years: int | None, planned_end_on: date | None) -> date | None:
    """The course's planned end: the date the care team set, else the start plus the planned years (DOMAIN T1);
    None when neither is known."""
    if planned_end_on is not None:
        return planned_end_on
    if started_on is not None and planned_years is not None:
        return add_months(started_on, 12 * planned_years)
    return None


@dataclass(frozen=True)
class AiCourse:
    """Where she is in her aromatase-inhibitor course on `today` (her local date), in years to one decimal."""

    started_on: date | None
    planned_end_on: date | None
    stopped_on: date | None
    years_completed: Decimal | None  # None: no start on record
    years_remaining: Decimal | None  # None: no planned end, or she stopped (nothing remains to count down)
    planned_length_years: Decimal | None  # the planned length in years (from a given end date too)


def ai_course(
    *,
    today: date,
    started_on: date | None,
    planned_years: int | None = None,
    planned_end_on: date | None = None,
    stopped_on: date | None = None,
) -> AiCourse:
    """DOMAIN T1. Years completed run from the start to today, and stop growing on the day she stopped (the first
    day off it); they are truncated (2.96 is "2.9", never a milestone reached early). Years remaining run from today
    (or the start, if later) to the planned end, rounded up (0.04 left is "0.1", never "0.0" before the end), and
    are 0.0 from the planned end on."""
    end = ai_planned_end(started_on=started_on, planned_years=planned_years, planned_end_on=planned_end_on)
    completed = remaining = length = None
    if started_on is not None:
        until = min(today, stopped_on) if stopped_on is not None else today
        completed = _tenths(years_between(started_on, until), ROUND_DOWN)
        if end is not None:
            length = _tenths(years_between(started_on, end), ROUND_HALF_UP)
    if end is not None and stopped_on is None:
        remaining = _tenths(years_between(max(today, started_on or today), end), ROUND_UP)
    return AiCourse(
        started_on=started_on,
        planned_end_on=end,
        stopped_on=stopped_on,
        years_completed=completed,
        years_remaining=remaining,
        planned_length_years=length,
    )
