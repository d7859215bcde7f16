"""Supplement rules: units, plausible amounts, and the daily nutrition summary (DOMAIN C1-C4, A2).

Pure domain logic: no Django, no ORM, no I/O. Every threshold lives in ``NUTRITION_THRESHOLDS`` (callers may pass
their own); numbers from DOMAIN carry its rule id, *design* numbers are product guards, not guidance.

Amounts are compared in one unit per nutrient ("total unit"): elemental mg for calcium and magnesium, IU for vitamin
D3 (1 mcg = 40 IU), mcg for vitamin K2. The daily summary is for one local day of the patient: the caller passes the
intakes and diet entries of that day and the oral bisphosphonate doses taken on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from backend.bisphosphonate_timing import AFTER_BISPHOSPHONATE_MINUTES

__all__ = [
    "CALCIUM_SUPPLEMENTS",
    "NUTRIENT_OF",
    "NUTRITION_THRESHOLDS",
    "TOTAL_UNIT",
    "UNITS_BY_SUPPLEMENT",
    "BisphosphonateDose",
    "DailySummary",
    "IntakeFact",
    "Nutrient",
    "NutritionThresholds",
    "NutritionWarning",
    "amount_errors",
    "daily_summary",
    "daily_target_errors",
    "in_total_unit",
    "unit_errors",
]


class Nutrient(StrEnum):
    CALCIUM = "calcium"
    VITAMIN_D = "vitamin_d"
    MAGNESIUM = "magnesium"
    VITAMIN_K2 = "vitamin_k2"


# Supplement codes (the models' choices) and what each one delivers.
NUTRIENT_OF: Mapping[str, Nutrient] = MappingProxyType(
    {
        "calcium_carbonate": Nutrient.CALCIUM,
        "calcium_citrate": Nutrient.CALCIUM,
        "vitamin_d3": Nutrient.VITAMIN_D,
        "magnesium": Nutrient.MAGNESIUM,
        "vitamin_k2": Nutrient.VITAMIN_K2,
    }
)
CALCIUM_SUPPLEMENTS: frozenset[str] = frozenset(code for code, n in NUTRIENT_OF.items() if n == Nutrient.CALCIUM)
# The units an amount of each supplement may be given in; the first is the one totals are kept in.
UNITS_BY_SUPPLEMENT: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "calcium_carbonate": ("mg",),  # elemental calcium, not the salt's weight
        "calcium_citrate": ("mg",),
        "vitamin_d3": ("IU", "mcg"),
        "magnesium": ("mg",),  # elemental magnesium
        "vitamin_k2": ("mcg",),
    }
)
TOTAL_UNIT: Mapping[Nutrient, str] = MappingProxyType(
    {Nutrient.CALCIUM: "mg", Nutrient.VITAMIN_D: "IU", Nutrient.MAGNESIUM: "mg", Nutrient.VITAMIN_K2: "mcg"}
)
NUTRIENT_NAMES: Mapping[Nutrient, str] = MappingProxyType(
    {
        Nutrient.CALCIUM: "calcium",
        Nutrient.VITAMIN_D: "vitamin D",
        Nutrient.MAGNESIUM: "magnesium",
        Nutrient.VITAMIN_K2: "vitamin K2",
    }
)


@dataclass(frozen=True)
class NutritionThresholds:
    default_daily_target: Mapping[Nutrient, Decimal | None]  # in the nutrient's total unit
    calcium_max_single_intake_mg: Decimal
    after_bisphosphonate_minutes: Mapping[str, int]  # catalogue code -> minutes
    max_per_intake: Mapping[Nutrient, Decimal]  # in the total unit; also the largest daily target a plan may set
    max_diet_mg_per_entry: Decimal
    vitamin_d_iu_per_mcg: Decimal


NUTRITION_THRESHOLDS = NutritionThresholds(
    default_daily_target=MappingProxyType(
        {
            Nutrient.CALCIUM: Decimal("1200"),  # DOMAIN C1: 1,200 mg/day (diet + supplements) during AI therapy
            Nutrient.VITAMIN_D: Decimal("800"),  # DOMAIN C3: 800-1,000 IU/day; the lower bound is the target
            Nutrient.MAGNESIUM: None,  # DOMAIN C4: logged, no target unless a clinician sets one
            Nutrient.VITAMIN_K2: None,  # DOMAIN C4
        }
    ),
    calcium_max_single_intake_mg=Decimal("500"),  # DOMAIN C2: at most 500 mg supplemental calcium per intake
    # DOMAIN A2: calcium at least 30 minutes after alendronate/risedronate, 60 after ibandronate (one table with the
    # pharmacist checks, so both read the same numbers).
    after_bisphosphonate_minutes=AFTER_BISPHOSPHONATE_MINUTES,
    max_per_intake=MappingProxyType(
        {
            Nutrient.CALCIUM: Decimal("2500"),  # design: above this in one intake is a typing mistake
            Nutrient.VITAMIN_D: Decimal("50000"),  # design: the largest weekly/monthly prescribed dose
            Nutrient.MAGNESIUM: Decimal("1000"),  # design
            Nutrient.VITAMIN_K2: Decimal("1000"),  # design (MK-7 products: 45-200 mcg)
        }
    ),
    max_diet_mg_per_entry=Decimal("5000"),  # design: more than any day's food holds
    vitamin_d_iu_per_mcg=Decimal("40"),  # unit conversion: 1 mcg cholecalciferol = 40 IU
)


# --- units and amounts -------------------------------------------------------------------------------------------


def unit_errors(supplement: str, unit: str) -> list[str]:
    allowed = UNITS_BY_SUPPLEMENT.get(supplement)
    if allowed is None:
        return [f"Unknown supplement {supplement!r}."]
    if unit not in allowed:
        return [f"{_label(supplement)} is given in {' or '.join(allowed)}, not {unit!r}."]
    return []


def in_total_unit(
    supplement: str, amount: Decimal, unit: str, *, thresholds: NutritionThresholds = NUTRITION_THRESHOLDS
) -> Decimal:
    """The amount in its nutrient's total unit (vitamin D in mcg becomes IU)."""
    if NUTRIENT_OF[supplement] == Nutrient.VITAMIN_D and unit == "mcg":
        return amount * thresholds.vitamin_d_iu_per_mcg
    return amount


def amount_errors(
    supplement: str, amount: Decimal, unit: str, *, thresholds: NutritionThresholds = NUTRITION_THRESHOLDS
) -> list[str]:
    """Messages for an amount that is not positive or not plausible for one intake (unit assumed valid)."""
    if amount <= 0:
        return ["Must be more than 0."]
    nutrient = NUTRIENT_OF[supplement]
    cap = thresholds.max_per_intake[nutrient]
    if in_total_unit(supplement, amount, unit, thresholds=thresholds) > cap:
        total_unit = TOTAL_UNIT[nutrient]
        extra = f" ({cap / thresholds.vitamin_d_iu_per_mcg:f} mcg)" if nutrient == Nutrient.VITAMIN_D else ""
        return [f"More than {cap:f} {total_unit}{extra} of {NUTRIENT_NAMES[nutrient]} at once: check the amount."]
    return []


def daily_target_errors(
    supplement: str, target: Decimal, *, thresholds: NutritionThresholds = NUTRITION_THRESHOLDS
) -> list[str]:
    nutrient = NUTRIENT_OF[supplement]
    cap = thresholds.max_per_intake[nutrient]
    if target <= 0:
        return ["Must be more than 0."]
    if target > cap:
        return [f"At most {cap:f} {TOTAL_UNIT[nutrient]} a day."]
    return []


# --- the daily summary -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntakeFact:
    id: str
    supplement: str
    amount: Decimal
    unit: str
    taken_at: datetime  # aware


@dataclass(frozen=True)
class BisphosphonateDose:
    drug: str  # catalogue code, e.g. "alendronate"
    taken_at: datetime  # aware


@dataclass(frozen=True)
class NutritionWarning:
    code: str
    severity: str  # high | moderate | low (the pharmacist findings' scale)
    message: str
    rule: str  # DOMAIN rule id
    intake_id: str | None = None


@dataclass(frozen=True)
class NutrientTotal:
    total: Decimal  # of what was logged: 0 when nothing was (see `logged`)
    target: Decimal | None
    met: bool | None  # None when there is no target (DOMAIN C4), or nothing was logged (unknown, not "no")
    target_source: str  # "plan" (clinician-set) | "default" (DOMAIN) | "none"
    logged: bool = True  # False: nothing of this nutrient was logged that day ("not logged", not 0)


@dataclass(frozen=True)
class CalciumTotal(NutrientTotal):
    diet: Decimal = Decimal(0)
    supplements: Decimal = Decimal(0)
    diet_logged: bool = True
    supplements_logged: bool = True


@dataclass(frozen=True)
class DailySummary:
    calcium_mg: CalciumTotal
    vitamin_d_iu: NutrientTotal
    magnesium_mg: NutrientTotal
    vitamin_k2_mcg: NutrientTotal
    warnings: tuple[NutritionWarning, ...] = field(default=())


def _label(supplement: str) -> str:
    return supplement.replace("_", " ").capitalize().replace("d3", "D3").replace("k2", "K2")


def _hhmm(at: datetime, zone: tzinfo) -> str:
    return f"{at.astimezone(zone):%H:%M}"


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:f}"


def _target(
    nutrient: Nutrient, plan_targets: Mapping[Nutrient, Decimal | None], thresholds: NutritionThresholds
) -> tuple[Decimal | None, str]:
    clinician = plan_targets.get(nutrient)
    if clinician is not None:
        return clinician, "plan"
    default = thresholds.default_daily_target.get(nutrient)
    return (default, "default") if default is not None else (None, "none")


def _total(
    nutrient: Nutrient,
    total: Decimal,
    logged: bool,
    plan_targets: Mapping[Nutrient, Decimal | None],
    thresholds: NutritionThresholds,
) -> NutrientTotal:
    target, source = _target(nutrient, plan_targets, thresholds)
    return NutrientTotal(
        total=total,
        target=target,
        met=None if target is None or not logged else total >= target,
        target_source=source,
        logged=logged,
    )


def daily_summary(
    *,
    intakes: Iterable[IntakeFact],
    diet_mg: Iterable[Decimal],
    bisphosphonate_doses: Sequence[BisphosphonateDose],
    plan_targets: Mapping[Nutrient, Decimal | None],
    zone: tzinfo,
    thresholds: NutritionThresholds = NUTRITION_THRESHOLDS,
) -> DailySummary:
    """One local day's totals against targets, and its warnings (C2, A2), in a stable order.

    `plan_targets`: clinician-set daily targets of the plans covering the day (None or absent: DOMAIN default).
    `zone`: the patient's zone, for the times named in messages.
    A nutrient with nothing logged that day has ``logged`` False and ``met`` None: unknown, not "0 mg, not met"."""
    intakes = sorted(intakes, key=lambda i: (i.taken_at, i.id))
    totals: dict[Nutrient, Decimal] = dict.fromkeys(Nutrient, Decimal(0))
    logged: set[Nutrient] = set()
    for intake in intakes:
        nutrient = NUTRIENT_OF[intake.supplement]
        totals[nutrient] += in_total_unit(intake.supplement, intake.amount, intake.unit, thresholds=thresholds)
        logged.add(nutrient)
    diet_entries = list(diet_mg)
    diet = sum(diet_entries, Decimal(0))
    calcium_total = diet + totals[Nutrient.CALCIUM]
    calcium_logged = bool(diet_entries) or Nutrient.CALCIUM in logged
    target, source = _target(Nutrient.CALCIUM, plan_targets, thresholds)
    calcium = CalciumTotal(
        total=calcium_total,
        target=target,
        met=None if target is None or not calcium_logged else calcium_total >= target,
        target_source=source,
        logged=calcium_logged,
        diet=diet,
        supplements=totals[Nutrient.CALCIUM],
        diet_logged=bool(diet_entries),
        supplements_logged=Nutrient.CALCIUM in logged,
    )
    t = thresholds

    def _in(nutrient: Nutrient) -> bool:
        return nutrient in logged

    warnings = [
        *_large_calcium_intakes(intakes, zone, thresholds),
        *_calcium_too_soon(intakes, bisphosphonate_doses, zone, thresholds),
    ]
    return DailySummary(
        calcium_mg=calcium,
        vitamin_d_iu=_total(Nutrient.VITAMIN_D, totals[Nutrient.VITAMIN_D], _in(Nutrient.VITAMIN_D), plan_targets, t),
        magnesium_mg=_total(Nutrient.MAGNESIUM, totals[Nutrient.MAGNESIUM], _in(Nutrient.MAGNESIUM), plan_targets, t),
        vitamin_k2_mcg=_total(
            Nutrient.VITAMIN_K2, totals[Nutrient.VITAMIN_K2], _in(Nutrient.VITAMIN_K2), plan_targets, t
        ),
        warnings=tuple(warnings),
    )


def _large_calcium_intakes(
    intakes: Sequence[IntakeFact], zone: tzinfo, thresholds: NutritionThresholds
) -> list[NutritionWarning]:
    limit = thresholds.calcium_max_single_intake_mg
    return [
        NutritionWarning(
            code="calcium_dose_over_500",
            # Low: absorption falls with the load (Heaney 1990); no harm, the fix is to split it.
            severity="low",
            message=(
                f"{_number(intake.amount)} mg of calcium at {_hhmm(intake.taken_at, zone)} is more than the body "
                f"absorbs at once: split it into doses of at most {_number(limit)} mg."
            ),
            rule="C2",
            intake_id=intake.id,
        )
        for intake in intakes
        if intake.supplement in CALCIUM_SUPPLEMENTS and intake.amount > limit
    ]


def _calcium_too_soon(
    intakes: Sequence[IntakeFact],
    doses: Sequence[BisphosphonateDose],
    zone: tzinfo,
    thresholds: NutritionThresholds,
) -> list[NutritionWarning]:
    found = []
    for intake in intakes:
        if intake.supplement not in CALCIUM_SUPPLEMENTS:
            continue
        for dose in sorted(doses, key=lambda d: d.taken_at):
            gap = thresholds.after_bisphosphonate_minutes.get(dose.drug)
            if gap is None:
                continue
            after = intake.taken_at - dose.taken_at
            if timedelta(0) <= after < timedelta(minutes=gap):
                # Moderate: the bisphosphonate dose is not absorbed (A1/A2); no direct harm, but the dose is lost.
                found.append(
                    NutritionWarning(
                        code="calcium_too_soon_after_bisphosphonate",
                        severity="moderate",
                        message=(
                            f"Calcium at {_hhmm(intake.taken_at, zone)} came {int(after.total_seconds() // 60)} "
                            f"minutes after {dose.drug} at {_hhmm(dose.taken_at, zone)}: take calcium at least "
                            f"{gap} minutes after it, or that dose is not absorbed."
                        ),
                        rule="A2",
                        intake_id=intake.id,
                    )
                )
                break  # one warning per intake
    return found
