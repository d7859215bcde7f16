"""The pharmacist's automated checks on one medication schedule (DOMAIN "Pharmacist checks on a schedule").

Pure domain logic: no Django, no ORM, no I/O. A schedule is checked in the context of the patient's other schedules and
latest labs; each problem becomes a ``Finding`` with a severity and the DOMAIN rule it comes from.

Every clinical threshold lives in ``CHECK_THRESHOLDS`` (callers may pass their own). Severity policy:

- ``high``: the schedule is contraindicated or not recommended as it stands, or leaves the patient unprotected
  (fracture rebound, hypocalcemia): the pharmacist must not verify it unchanged.
- ``moderate``: the schedule is allowed but needs an adjustment or a follow-up action (timing, dose step, lab check).
- ``low``: information is missing, so a check could not be done.

Status: only ``active`` schedules take part in interactions (A2 timing, two anti-resorptives, two doses on one day).
The patient's supplement plans (calcium, vitamin D, magnesium, vitamin K2: all oral products, fired every day at each
of their times) take part in the A2 timing check of an active oral bisphosphonate.
A ``paused`` schedule under review still gets the drug-patient checks (renal, D6, A5, teriparatide), since it may be
resumed as it is; a ``stopped`` one gets only the D5 check (denosumab stopped without a follow-on).

Recurrences carry no start date here, so whether two schedules fall on the same date is judged by their pattern alone
(weekday, day of month), assuming any phase of an every-N interval: the conservative answer is "they can".
Monthly days past the end of a month are assumed clamped to its last day (as ``add_months`` does elsewhere).

Doses: the renal checks judge the dose prescribed on the schedule (``ScheduleFacts.dose``, read by ``dose_in_mg``),
never the catalogue's usual dose; a dose that cannot be read is a low finding, not an assumption.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from apps.medications.rules.injection import DENOSUMAB_BANDS, FollowOn, follow_on_cover, protected_until
from backend.bisphosphonate_timing import AFTER_BISPHOSPHONATE_MINUTES

__all__ = [
    "ANTI_RESORPTIVES",
    "CHECK_THRESHOLDS",
    "DENOSUMAB_FOLLOW_ONS",
    "ORAL_BISPHOSPHONATES",
    "CheckThresholds",
    "Finding",
    "LabFacts",
    "PatientFacts",
    "ScheduleFacts",
    "Severity",
    "SupplementPlanFacts",
    "ZoledronicAcidStep",
    "dose_in_mg",
    "schedule_findings",
]


class Severity(StrEnum):
    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"


_SEVERITY_RANK: Mapping[Severity, int] = MappingProxyType({Severity.HIGH: 0, Severity.MODERATE: 1, Severity.LOW: 2})

ACTIVE = "active"
STOPPED = "stopped"
ORAL = "oral"

# Catalogue codes (DOMAIN medicines table).
ORAL_BISPHOSPHONATES: frozenset[str] = frozenset({"alendronate", "risedronate", "ibandronate"})  # DOMAIN M1-M3
ANTI_RESORPTIVES: frozenset[str] = ORAL_BISPHOSPHONATES | {"denosumab", "zoledronic_acid"}  # DOMAIN M1-M5
# DOMAIN D5: after denosumab, a bisphosphonate must follow; an active denosumab schedule means treatment goes on.
DENOSUMAB_FOLLOW_ONS: frozenset[str] = ORAL_BISPHOSPHONATES | {"zoledronic_acid", "denosumab"}

DRUG_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "alendronate": "alendronate",
        "risedronate": "risedronate",
        "ibandronate": "ibandronate",
        "denosumab": "denosumab",
        "zoledronic_acid": "zoledronic acid",
        "teriparatide": "teriparatide",
        "anastrozole": "anastrozole",
        "letrozole": "letrozole",
        "exemestane": "exemestane",
        "calcium": "calcium",
        "vitamin_d": "vitamin D",
        "other_oral": "another oral medicine",
    }
)

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SHORTEST_MONTH_DAYS = 28  # calendar fact: every month has at least 28 days
_SECONDS_PER_DAY = 24 * 3600
# An amount and its unit at the start of a dose as written: "3.5 mg", "3,5mg", "3500 mcg", "5 mg/100 mL".
_DOSE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(mg|mcg|µg|ug|g)(?![a-z])", re.IGNORECASE)
_MG_PER_UNIT: Mapping[str, Decimal] = MappingProxyType(
    {"g": Decimal("1000"), "mg": Decimal("1"), "mcg": Decimal("0.001"), "µg": Decimal("0.001"), "ug": Decimal("0.001")}
)


@dataclass(frozen=True)
class ZoledronicAcidStep:
    """One row of the zoledronic acid 4 mg renal dose table: CrCl from ``crcl_from`` (inclusive or not) upwards."""

    crcl_from: Decimal
    from_inclusive: bool
    max_dose_mg: Decimal

    def applies(self, crcl: Decimal) -> bool:
        return crcl >= self.crcl_from if self.from_inclusive else crcl > self.crcl_from


@dataclass(frozen=True)
class CheckThresholds:
    after_bisphosphonate_minutes: Mapping[str, int]
    oral_bisphosphonate_min_crcl: Mapping[str, Decimal]
    zoledronic_acid_high_dose_mg: Decimal
    zoledronic_acid_high_dose_min_crcl: Decimal
    zoledronic_acid_min_crcl: Decimal
    zoledronic_acid_steps: tuple[ZoledronicAcidStep, ...]  # highest CrCl band first
    denosumab_min_egfr: Decimal
    denosumab_calcium_check_days: int
    serum_calcium_low_mg_dl: Decimal


CHECK_THRESHOLDS = CheckThresholds(
    after_bisphosphonate_minutes=AFTER_BISPHOSPHONATE_MINUTES,  # DOMAIN A2 (shared with the supplements' warnings)
    oral_bisphosphonate_min_crcl=MappingProxyType(
        {
            "alendronate": Decimal("35"),  # DOMAIN A4: not recommended below 35 mL/min
            "risedronate": Decimal("30"),  # DOMAIN A4
            "ibandronate": Decimal("30"),  # DOMAIN A4
        }
    ),
    zoledronic_acid_high_dose_mg=Decimal("5"),  # DOMAIN A4: the 5 mg regimen
    zoledronic_acid_high_dose_min_crcl=Decimal("35"),  # DOMAIN A4: 5 mg contraindicated below 35 mL/min
    zoledronic_acid_min_crcl=Decimal("30"),  # DOMAIN A4: 4 mg not recommended below 30 mL/min
    # DOMAIN A4 zoledronic acid 4 mg steps: >60: 4 mg, 50-60: 3.5, 40-49: 3.3, 30-39: 3.0 (CrCl, mL/min)
    zoledronic_acid_steps=(
        ZoledronicAcidStep(crcl_from=Decimal("60"), from_inclusive=False, max_dose_mg=Decimal("4")),  # DOMAIN A4
        ZoledronicAcidStep(crcl_from=Decimal("50"), from_inclusive=True, max_dose_mg=Decimal("3.5")),  # DOMAIN A4
        ZoledronicAcidStep(crcl_from=Decimal("40"), from_inclusive=True, max_dose_mg=Decimal("3.3")),  # DOMAIN A4
        ZoledronicAcidStep(crcl_from=Decimal("30"), from_inclusive=True, max_dose_mg=Decimal("3.0")),  # DOMAIN A4
    ),
    denosumab_min_egfr=Decimal("30"),  # DOMAIN D6: eGFR < 30, severe hypocalcemia risk
    denosumab_calcium_check_days=14,  # DOMAIN D6: check calcium within 14 days after the injection
    serum_calcium_low_mg_dl=Decimal("8.5"),  # DOMAIN D6: hypocalcemia, below the usual lab reference lower bound
)


@dataclass(frozen=True)
class ScheduleFacts:
    id: str
    drug: str  # catalogue code, e.g. "alendronate", "calcium", "other_oral"
    route: str  # "oral" | "subcutaneous" | "intravenous"
    unit: str  # recurrence unit "day" | "week" | "month"
    interval: int
    weekday: int | None  # 0 = Monday
    month_day: int | None  # 1-31
    local_time: time
    status: str  # "active" | "paused" | "stopped"
    dose_mg: Decimal | None = None  # the prescribed dose in mg (``dose_in_mg(dose)``); None: not readable
    dose: str = ""  # the prescribed dose as written on the schedule, e.g. "3.5 mg"
    starts_on: date | None = None
    ends_on: date | None = None
    next_due_on: date | None = None  # 6-monthly injectables: the next due date (DOMAIN D1/D2)


@dataclass(frozen=True)
class SupplementPlanFacts:
    """An active supplement plan: an oral product taken every day at each of ``times``."""

    id: str
    supplement: str  # e.g. "calcium_carbonate"
    name: str  # e.g. "Calcium carbonate"
    nutrient: str  # "calcium" | "vitamin_d" | "magnesium" | "vitamin_k2"
    times: tuple[time, ...]
    amount: str = ""  # per time of day as written on the plan, e.g. "500 mg" (shown in the review queue)


@dataclass(frozen=True)
class LabFacts:
    egfr: Decimal | None
    crcl: Decimal | None
    serum_calcium_mg_dl: Decimal | None


@dataclass(frozen=True)
class PatientFacts:
    schedules: Sequence[ScheduleFacts]  # all of the patient's schedules, including the one reviewed
    labs: LabFacts
    has_calcium_plan: bool
    has_vitamin_d_plan: bool
    prior_skeletal_radiation: bool
    bone_metastases: bool
    cannot_stay_upright: bool = False  # DOMAIN A5
    esophageal_disorder: bool = False  # DOMAIN A5 (stricture, achalasia)
    supplement_plans: Sequence[SupplementPlanFacts] = ()  # active ones (DOMAIN A2 timing)
    today: date | None = None  # her local today: a follow-on must be active on it (DOMAIN D5 stopped)


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    rule: str  # DOMAIN rule id, e.g. "A2"


def schedule_findings(
    schedule: ScheduleFacts, patient: PatientFacts, *, thresholds: CheckThresholds = CHECK_THRESHOLDS
) -> list[Finding]:
    """All findings for ``schedule``, most severe first, then by code (then message, for a stable order)."""
    findings: list[Finding] = []
    if schedule.status == STOPPED:
        findings += _denosumab_stopped(schedule, patient)
    else:
        findings += _renal(schedule, patient.labs, thresholds)
        findings += _denosumab_prerequisites(schedule, patient, thresholds)
        findings += _upright_and_esophagus(schedule, patient)
        findings += _teriparatide(schedule, patient)
    if schedule.status == ACTIVE:
        others = [s for s in patient.schedules if s.id != schedule.id and s.status == ACTIVE]
        findings += _too_soon_after_bisphosphonate(schedule, others, thresholds)
        findings += _supplement_too_soon_after_bisphosphonate(schedule, patient.supplement_plans, thresholds)
        findings += _multiple_anti_resorptives(schedule, others)
        findings += _twice_on_one_day(schedule, others)
    return sorted(findings, key=lambda f: (_SEVERITY_RANK[f.severity], f.code, f.message))


# --- A2: timing after an oral bisphosphonate ---------------------------------------------------------------------


def _too_soon_after_bisphosphonate(
    schedule: ScheduleFacts, others: Sequence[ScheduleFacts], thresholds: CheckThresholds
) -> list[Finding]:
    if schedule.route != ORAL:
        return []
    found: list[Finding] = []
    for other in others:
        if other.route != ORAL or other.drug == schedule.drug:  # same drug twice is the A3 check
            continue
        if not _can_fall_on_same_date(schedule, other):
            continue
        for first, then in ((schedule, other), (other, schedule)):
            gap = thresholds.after_bisphosphonate_minutes.get(first.drug)
            if gap is None:
                continue
            seconds_after = _seconds(then.local_time) - _seconds(first.local_time)
            if 0 <= seconds_after < gap * 60:
                # Moderate: absorption of the bisphosphonate is lost, not a direct harm; the fix is a new time.
                found.append(
                    Finding(
                        code="oral_medicine_too_soon_after_bisphosphonate",
                        severity=Severity.MODERATE,
                        message=(
                            f"{_name(then.drug).capitalize()} at {_hhmm(then.local_time)} ({_when(then)}) comes "
                            f"{seconds_after // 60} minutes after {_name(first.drug)} at {_hhmm(first.local_time)} "
                            f"({_when(first)}) on days both are due; it must come at least {gap} minutes after."
                        ),
                        rule="A2",
                    )
                )
                break  # two bisphosphonates at the same minute: one finding for the pair
    return found


def _supplement_too_soon_after_bisphosphonate(
    schedule: ScheduleFacts, plans: Sequence[SupplementPlanFacts], thresholds: CheckThresholds
) -> list[Finding]:
    """DOMAIN A2 for supplement plans: each time of each plan against the oral bisphosphonate's time. A plan fires
    every day, so it meets every dose of the bisphosphonate, also just after midnight after a late-evening dose."""
    gap = thresholds.after_bisphosphonate_minutes.get(schedule.drug)
    if gap is None or schedule.route != ORAL:
        return []
    found: list[Finding] = []
    for plan in plans:
        for at in plan.times:
            seconds_after = (_seconds(at) - _seconds(schedule.local_time)) % _SECONDS_PER_DAY
            if seconds_after >= gap * 60:
                continue
            # Moderate, as for another medicine: the bisphosphonate dose is not absorbed; the fix is a new time.
            found.append(
                Finding(
                    code="oral_medicine_too_soon_after_bisphosphonate",
                    severity=Severity.MODERATE,
                    message=(
                        f"{plan.name} at {_hhmm(at)} (supplement plan, daily) comes {seconds_after // 60} minutes "
                        f"after {_name(schedule.drug)} at {_hhmm(schedule.local_time)} ({_when(schedule)}); it must "
                        f"come at least {gap} minutes after."
                    ),
                    rule="A2",
                )
            )
    return found


# --- A4 / D6: renal function -----------------------------------------------------------------------------------------


def _renal(schedule: ScheduleFacts, labs: LabFacts, thresholds: CheckThresholds) -> list[Finding]:
    drug = schedule.drug
    if drug in ORAL_BISPHOSPHONATES or drug == "zoledronic_acid":
        measure = _renal_measure(labs, prefer="crcl")
        if measure is None:
            return [_renal_missing(drug, "A4")]
        value, source = measure
        if drug in ORAL_BISPHOSPHONATES:
            return _oral_bisphosphonate_renal(drug, value, source, thresholds)
        return _zoledronic_acid_renal(schedule, value, source, thresholds)
    if drug == "denosumab":
        measure = _renal_measure(labs, prefer="egfr")
        if measure is None:
            return [_renal_missing(drug, "D6")]
        value, source = measure
        if value < thresholds.denosumab_min_egfr:
            # Moderate: denosumab stays allowed; the action is a calcium check after the injection.
            return [
                Finding(
                    code="denosumab_severe_renal_impairment",
                    severity=Severity.MODERATE,
                    message=(
                        f"{source} {_num(value)} is below {_num(thresholds.denosumab_min_egfr)}: severe hypocalcemia "
                        f"risk; check serum calcium within {thresholds.denosumab_calcium_check_days} days after "
                        "each injection."
                    ),
                    rule="D6",
                )
            ]
    return []


def _renal_measure(labs: LabFacts, *, prefer: str) -> tuple[Decimal, str] | None:
    """The preferred renal measure, else the other one; the label says which was used (and why, for a fallback)."""
    crcl, egfr = _known(labs.crcl), _known(labs.egfr)
    if prefer == "crcl":
        if crcl is not None:
            return crcl, "CrCl"
        return (egfr, "eGFR (no CrCl on record)") if egfr is not None else None
    if egfr is not None:
        return egfr, "eGFR"
    return (crcl, "CrCl (no eGFR on record)") if crcl is not None else None


def _oral_bisphosphonate_renal(drug: str, value: Decimal, source: str, thresholds: CheckThresholds) -> list[Finding]:
    limit = thresholds.oral_bisphosphonate_min_crcl[drug]
    if value >= limit:
        return []
    return [_renal_below(f"{source} {_num(value)} is below {_num(limit)} mL/min: {_name(drug)} is not recommended.")]


def _zoledronic_acid_renal(
    schedule: ScheduleFacts, value: Decimal, source: str, thresholds: CheckThresholds
) -> list[Finding]:
    dose = _known(schedule.dose_mg)
    if dose is None:
        found = []
        if value < thresholds.zoledronic_acid_min_crcl:  # not recommended at any dose
            found.append(
                _renal_below(
                    f"{source} {_num(value)} is below {_num(thresholds.zoledronic_acid_min_crcl)} mL/min: "
                    "zoledronic acid is not recommended."
                )
            )
        # Low: the dose-dependent renal check (5 mg limit, 4 mg steps) could not be done.
        found.append(
            Finding(
                code="dose_unreadable",
                severity=Severity.LOW,
                message=(
                    f"The prescribed dose {schedule.dose.strip()!r} is not an amount in mg: the renal dose check for "
                    f"zoledronic acid ({source} {_num(value)} mL/min) could not be done."
                ),
                rule="A4",
            )
        )
        return found
    if dose >= thresholds.zoledronic_acid_high_dose_mg:
        limit = thresholds.zoledronic_acid_high_dose_min_crcl
        if value < limit:
            return [
                _renal_below(
                    f"{source} {_num(value)} is below {_num(limit)} mL/min: zoledronic acid {_num(dose)} mg "
                    "is contraindicated."
                )
            ]
        return []
    if value < thresholds.zoledronic_acid_min_crcl:
        return [
            _renal_below(
                f"{source} {_num(value)} is below {_num(thresholds.zoledronic_acid_min_crcl)} mL/min: zoledronic "
                f"acid {_num(dose)} mg is not recommended."
            )
        ]
    step = next(s for s in thresholds.zoledronic_acid_steps if s.applies(value))
    if dose <= step.max_dose_mg:
        return []
    # Moderate: the drug stays usable; the dose must be stepped down for renal function.
    return [
        Finding(
            code="zoledronic_acid_dose_above_renal_step",
            severity=Severity.MODERATE,
            message=(
                f"Zoledronic acid {_num(dose)} mg is above the {_num(step.max_dose_mg)} mg step for "
                f"{source} {_num(value)} mL/min."
            ),
            rule="A4",
        )
    ]


def _renal_below(message: str) -> Finding:
    # High: below the drug's renal threshold the label says "not recommended" or "contraindicated".
    return Finding(code="renal_function_below_threshold", severity=Severity.HIGH, message=message, rule="A4")


def _renal_missing(drug: str, rule: str) -> Finding:
    # Low: nothing is known to be wrong, but the renal check could not be done.
    return Finding(
        code="renal_function_missing",
        severity=Severity.LOW,
        message=f"No renal function (CrCl or eGFR) on record: the renal check for {_name(drug)} could not be done.",
        rule=rule,
    )


# --- D6: before each denosumab injection -------------------------------------------------------------------------


def _denosumab_prerequisites(
    schedule: ScheduleFacts, patient: PatientFacts, thresholds: CheckThresholds
) -> list[Finding]:
    if schedule.drug != "denosumab":
        return []
    found: list[Finding] = []
    active_drugs = {s.drug for s in patient.schedules if s.status == ACTIVE}
    missing = [
        label
        for label, present in (
            ("calcium", patient.has_calcium_plan or "calcium" in active_drugs),
            ("vitamin D", patient.has_vitamin_d_plan or "vitamin_d" in active_drugs),
        )
        if not present
    ]
    if missing:
        # High: the label requires calcium and vitamin D with denosumab; without them hypocalcemia is likely.
        found.append(
            Finding(
                code="denosumab_without_calcium_vitamin_d",
                severity=Severity.HIGH,
                message=f"Denosumab needs calcium and vitamin D; no {' or '.join(missing)} plan on record.",
                rule="D6",
            )
        )
    calcium = _known(patient.labs.serum_calcium_mg_dl)
    if calcium is None:
        # Low: the pre-injection calcium check could not be done.
        found.append(
            Finding(
                code="serum_calcium_missing",
                severity=Severity.LOW,
                message="No serum calcium on record: hypocalcemia must be ruled out before each denosumab injection.",
                rule="D6",
            )
        )
    elif calcium < thresholds.serum_calcium_low_mg_dl:
        # High: hypocalcemia is a contraindication to the injection.
        found.append(
            Finding(
                code="denosumab_low_serum_calcium",
                severity=Severity.HIGH,
                message=(
                    f"Serum calcium {_num(calcium)} mg/dL is below {_num(thresholds.serum_calcium_low_mg_dl)}: "
                    "hypocalcemia must be corrected before denosumab."
                ),
                rule="D6",
            )
        )
    return found


# --- A5, teriparatide ------------------------------------------------------------------------------------------------


def _upright_and_esophagus(schedule: ScheduleFacts, patient: PatientFacts) -> list[Finding]:
    if schedule.drug not in ORAL_BISPHOSPHONATES:
        return []
    reasons = [
        reason
        for reason, present in (
            ("cannot stay upright for 30 minutes", patient.cannot_stay_upright),  # DOMAIN A5 (30 minutes)
            ("has an esophageal stricture or achalasia", patient.esophageal_disorder),
        )
        if present
    ]
    if not reasons:
        return []
    # High: a contraindication (esophageal injury).
    return [
        Finding(
            code="oral_bisphosphonate_contraindicated",
            severity=Severity.HIGH,
            message=f"{_name(schedule.drug).capitalize()} is not for a patient who {' and '.join(reasons)}.",
            rule="A5",
        )
    ]


def _teriparatide(schedule: ScheduleFacts, patient: PatientFacts) -> list[Finding]:
    if schedule.drug != "teriparatide":
        return []
    reasons = [
        reason
        for reason, present in (
            ("prior radiation therapy involving the skeleton", patient.prior_skeletal_radiation),
            ("bone metastases", patient.bone_metastases),
        )
        if present
    ]
    if not reasons:
        return []
    # High: osteosarcoma risk; the label excludes these patients.
    return [
        Finding(
            code="teriparatide_contraindicated",
            severity=Severity.HIGH,
            message=f"Teriparatide with {' and '.join(reasons)} on record (osteosarcoma risk).",
            rule="M6",
        )
    ]


# --- Interactions between active schedules ---------------------------------------------------------------------------


def _multiple_anti_resorptives(schedule: ScheduleFacts, others: Sequence[ScheduleFacts]) -> list[Finding]:
    if schedule.drug not in ANTI_RESORPTIVES:
        return []
    # High: double anti-resorptive therapy (or the same one twice) is not a regimen; one must be stopped.
    return [
        Finding(
            code="multiple_anti_resorptives",
            severity=Severity.HIGH,
            message=(
                f"{_name(schedule.drug).capitalize()} is active together with "
                f"{'another ' if other.drug == schedule.drug else ''}{_name(other.drug)} ({_when(other)}): "
                "only one anti-resorptive at a time."
            ),
            rule="M1-M5",
        )
        for other in others
        if other.drug in ANTI_RESORPTIVES
    ]


def _twice_on_one_day(schedule: ScheduleFacts, others: Sequence[ScheduleFacts]) -> list[Finding]:
    if schedule.drug not in ORAL_BISPHOSPHONATES or schedule.route != ORAL:
        return []
    # Moderate: a double dose on one day; the fix is a schedule change.
    return [
        Finding(
            code="oral_dose_twice_on_one_day",
            severity=Severity.MODERATE,
            message=(
                f"{_name(schedule.drug).capitalize()} ({_when(schedule)}) and another {_name(other.drug)} schedule "
                f"({_when(other)}) can fall on the same day: never two doses on one day."
            ),
            rule="A3",
        )
        for other in others
        if other.drug == schedule.drug and other.route == ORAL and _can_fall_on_same_date(schedule, other)
    ]


def _denosumab_stopped(schedule: ScheduleFacts, patient: PatientFacts) -> list[Finding]:
    if schedule.drug != "denosumab":
        return []
    candidates = [
        s for s in patient.schedules if s.id != schedule.id and s.status == ACTIVE and s.drug in DENOSUMAB_FOLLOW_ONS
    ]
    if patient.today is not None and schedule.next_due_on is not None:
        # The injection watch's own rule (DOMAIN D5 stopped, D7): active on her local today, or planned to start
        # while the stopped denosumab still protects her; so the finding and the alert agree.
        cover = follow_on_cover(
            today=patient.today,
            follow_ons=[FollowOn(s.starts_on, s.ends_on) for s in candidates if s.starts_on is not None],
            protected_until=protected_until(next_due=schedule.next_due_on, bands=DENOSUMAB_BANDS),
        )
        follow_on = cover.covered
    else:
        follow_on = bool(candidates)
    if follow_on:
        return []
    # High: stopping denosumab without a bisphosphonate brings rebound vertebral fractures (DOMAIN D3).
    return [
        Finding(
            code="denosumab_stopped_without_follow_on",
            severity=Severity.HIGH,
            message="Denosumab is stopped with no active follow-on bisphosphonate: rebound fracture risk.",
            rule="D5",
        )
    ]


# --- Helpers ---------------------------------------------------------------------------------------------------------


def _day_pattern(s: ScheduleFacts) -> tuple[str, int | None]:
    """("weekday", 0-6), ("month_day", 1-31) or ("any", None): the calendar days on which ``s`` can fire."""
    if s.unit == "week" and s.weekday is not None:
        return "weekday", s.weekday
    if s.unit == "month" and s.month_day is not None:
        return "month_day", s.month_day
    return "any", None  # daily, or a pattern not recorded: assume any day


def _can_fall_on_same_date(a: ScheduleFacts, b: ScheduleFacts) -> bool:
    (kind_a, value_a), (kind_b, value_b) = _day_pattern(a), _day_pattern(b)
    if kind_a == "any" or kind_b == "any" or kind_a != kind_b:
        return True  # every day of the month falls on every weekday in some month
    if value_a == value_b:
        return True
    if kind_a == "month_day" and value_a is not None and value_b is not None:
        # Days past a month's end clamp to its last day: 29 and 31 both fall on Feb 28 in a common year.
        return min(value_a, value_b) >= _SHORTEST_MONTH_DAYS
    return False


def _when(s: ScheduleFacts) -> str:
    every = f"every {s.interval} " if s.interval > 1 else ""
    kind, value = _day_pattern(s)
    if kind == "weekday" and value is not None:
        return f"{every}{'weeks' if every else 'weekly'} on {_WEEKDAYS[value % 7]}"
    if kind == "month_day":
        return f"{every}{'months' if every else 'monthly'} on day {value}"
    unit = {"day": "days", "week": "weeks", "month": "months"}.get(s.unit, s.unit)
    return f"every {s.interval} {unit}" if every else {"day": "daily"}.get(s.unit, f"every {s.unit}")


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _hhmm(t: time) -> str:
    return t.strftime("%H:%M")


def _name(drug: str) -> str:
    return DRUG_NAMES.get(drug, drug.replace("_", " "))


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def dose_in_mg(dose: str) -> Decimal | None:
    """The amount in mg of a dose as written ("3.5 mg" -> 3.5, "20 mcg" -> 0.02), or None when it is not one."""
    match = _DOSE.match(dose)
    if match is None:
        return None
    return _known(Decimal(match.group(1).replace(",", ".")) * _MG_PER_UNIT[match.group(2).lower()])


def _known(value: Decimal | None) -> Decimal | None:
    """A usable lab value or dose: present, finite and positive (anything else counts as not on record)."""
    if value is None:
        return None
    value = Decimal(value)
    return value if value.is_finite() and value > 0 else None
