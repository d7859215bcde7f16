"""Pharmacist checks on a schedule (DOMAIN A2-A5, D5, D6, M6): table-driven boundaries. No Django needed."""

from __future__ import annotations

import dataclasses
from datetime import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.medications.rules.checks import (
    CHECK_THRESHOLDS,
    Finding,
    LabFacts,
    PatientFacts,
    ScheduleFacts,
    Severity,
    dose_in_mg,
    schedule_findings,
)

D = Decimal
HIGH, MODERATE, LOW = Severity.HIGH, Severity.MODERATE, Severity.LOW

# Catalogue-like defaults per drug: (route, unit, interval, weekday, month_day).
DEFAULTS: dict[str, tuple[str, str, int, int | None, int | None]] = {
    "alendronate": ("oral", "week", 1, 0, None),
    "risedronate": ("oral", "week", 1, 0, None),
    "ibandronate": ("oral", "month", 1, None, 1),
    "denosumab": ("subcutaneous", "month", 6, None, 10),
    "zoledronic_acid": ("intravenous", "month", 6, None, 10),
    "teriparatide": ("subcutaneous", "day", 1, None, None),
    "anastrozole": ("oral", "day", 1, None, None),
    "calcium": ("oral", "day", 1, None, None),
    "vitamin_d": ("oral", "day", 1, None, None),
    "other_oral": ("oral", "day", 1, None, None),
}
GOOD_LABS = LabFacts(egfr=D("90"), crcl=D("90"), serum_calcium_mg_dl=D("9.4"))


def sched(drug: str, at: str = "07:00", *, sid: str | None = None, **overrides: Any) -> ScheduleFacts:
    route, unit, interval, weekday, month_day = DEFAULTS[drug]
    hour, minute = (int(part) for part in at.split(":"))
    fields: dict[str, Any] = {
        "id": sid or f"{drug}-{at}",
        "drug": drug,
        "route": route,
        "unit": unit,
        "interval": interval,
        "weekday": weekday,
        "month_day": month_day,
        "local_time": time(hour, minute),
        "status": "active",
    }
    if drug == "zoledronic_acid":  # its renal check reads the prescribed dose: the catalogue's by default
        fields.update(dose_mg=D("4"), dose="4 mg")
    fields.update(overrides)
    return ScheduleFacts(**fields)


def patient(*schedules: ScheduleFacts, **overrides: Any) -> PatientFacts:
    """Clean baseline: normal labs, calcium and vitamin D plans, no contraindications."""
    fields: dict[str, Any] = {
        "schedules": schedules,
        "labs": GOOD_LABS,
        "has_calcium_plan": True,
        "has_vitamin_d_plan": True,
        "prior_skeletal_radiation": False,
        "bone_metastases": False,
    }
    fields.update(overrides)
    return PatientFacts(**fields)


def labs(*, egfr: str | None = "90", crcl: str | None = "90", calcium: str | None = "9.4") -> LabFacts:
    return LabFacts(
        egfr=None if egfr is None else D(egfr),
        crcl=None if crcl is None else D(crcl),
        serum_calcium_mg_dl=None if calcium is None else D(calcium),
    )


def summary(findings: list[Finding]) -> list[tuple[str, Severity, str]]:
    return [(f.code, f.severity, f.rule) for f in findings]


def check(reviewed: ScheduleFacts, *others: ScheduleFacts, **patient_overrides: Any) -> list[Finding]:
    return schedule_findings(reviewed, patient(reviewed, *others, **patient_overrides))


A2 = ("oral_medicine_too_soon_after_bisphosphonate", MODERATE, "A2")
RENAL_HIGH = ("renal_function_below_threshold", HIGH, "A4")
ZOL_STEP = ("zoledronic_acid_dose_above_renal_step", MODERATE, "A4")
DMAB_RENAL = ("denosumab_severe_renal_impairment", MODERATE, "D6")
RENAL_MISSING_A4 = ("renal_function_missing", LOW, "A4")
RENAL_MISSING_D6 = ("renal_function_missing", LOW, "D6")
DMAB_SUPPLEMENTS = ("denosumab_without_calcium_vitamin_d", HIGH, "D6")
DMAB_LOW_CA = ("denosumab_low_serum_calcium", HIGH, "D6")
CA_MISSING = ("serum_calcium_missing", LOW, "D6")
TWO_AR = ("multiple_anti_resorptives", HIGH, "M1-M5")
DMAB_STOPPED = ("denosumab_stopped_without_follow_on", HIGH, "D5")
TERI = ("teriparatide_contraindicated", HIGH, "M6")
TWICE = ("oral_dose_twice_on_one_day", MODERATE, "A3")
A5 = ("oral_bisphosphonate_contraindicated", HIGH, "A5")
DOSE_UNREADABLE = ("dose_unreadable", LOW, "A4")


def test_clean_baseline_has_no_findings() -> None:
    for drug in DEFAULTS:
        assert check(sched(drug)) == [], drug


# --- A2 ------------------------------------------------------------------------------------------------------------

ALENDRONATE_MON_0700 = sched("alendronate", "07:00")
IBANDRONATE_1ST_0700 = sched("ibandronate", "07:00")

A2_CASES = [
    # (reviewed, others, expected)
    pytest.param(sched("calcium", "07:29"), [ALENDRONATE_MON_0700], [A2], id="calcium-29min-after-alendronate"),
    pytest.param(sched("calcium", "07:30"), [ALENDRONATE_MON_0700], [], id="calcium-30min-after-alendronate-ok"),
    pytest.param(sched("calcium", "07:00"), [ALENDRONATE_MON_0700], [A2], id="same-minute-collides"),
    pytest.param(sched("calcium", "06:50"), [ALENDRONATE_MON_0700], [], id="before-bisphosphonate-not-an-A2-finding"),
    pytest.param(sched("anastrozole", "07:10"), [ALENDRONATE_MON_0700], [A2], id="daily-ai-collides-on-mondays"),
    pytest.param(ALENDRONATE_MON_0700, [sched("anastrozole", "07:10")], [A2], id="reviewed-is-the-bisphosphonate"),
    pytest.param(sched("risedronate", "08:00"), [sched("vitamin_d", "08:29")], [A2], id="risedronate-29min"),
    pytest.param(sched("risedronate", "08:00"), [sched("vitamin_d", "08:30")], [], id="risedronate-30min-ok"),
    pytest.param(sched("calcium", "07:59"), [IBANDRONATE_1ST_0700], [A2], id="ibandronate-59min"),
    pytest.param(sched("calcium", "08:00"), [IBANDRONATE_1ST_0700], [], id="ibandronate-60min-ok"),
    pytest.param(IBANDRONATE_1ST_0700, [sched("other_oral", "07:59")], [A2], id="reviewed-ibandronate-59min"),
    pytest.param(
        sched("calcium", "07:10", unit="week", weekday=1), [ALENDRONATE_MON_0700], [], id="weekly-on-other-weekday"
    ),
    pytest.param(
        sched("calcium", "07:10", unit="week", weekday=0, interval=2),
        [ALENDRONATE_MON_0700],
        [A2],
        id="fortnightly-same-weekday",
    ),
    pytest.param(
        sched("other_oral", "07:10", unit="month", month_day=15),
        [ALENDRONATE_MON_0700],
        [A2],
        id="monthly-15th-meets-monday",
    ),
    pytest.param(
        sched("other_oral", "07:10", unit="month", month_day=16),
        [sched("ibandronate", "07:00", month_day=15)],
        [],
        id="monthly-different-days",
    ),
    pytest.param(
        sched("other_oral", "07:10", unit="month", month_day=29),
        [sched("ibandronate", "07:00", month_day=31)],
        [A2],
        id="monthly-29-and-31-meet-on-feb-28",
    ),
    pytest.param(
        sched("calcium", "07:10"), [sched("alendronate", "07:00", status="paused")], [], id="paused-bisphosphonate"
    ),
    pytest.param(sched("teriparatide", "07:10"), [ALENDRONATE_MON_0700], [], id="injection-is-not-oral"),
]


@pytest.mark.parametrize(("reviewed", "others", "expected"), A2_CASES)
def test_a2_timing_after_oral_bisphosphonate(
    reviewed: ScheduleFacts, others: list[ScheduleFacts], expected: list[tuple[str, Severity, str]]
) -> None:
    assert summary(check(reviewed, *others)) == expected


def test_a2_message_names_both_medicines_and_the_gap() -> None:
    [finding] = check(sched("anastrozole", "07:10"), ALENDRONATE_MON_0700)
    assert "Anastrozole at 07:10" in finding.message
    assert "10 minutes after alendronate at 07:00 (weekly on Monday)" in finding.message
    assert "at least 30 minutes" in finding.message


def test_a2_paused_reviewed_schedule_has_no_interaction_findings() -> None:
    assert check(sched("calcium", "07:10", status="paused"), ALENDRONATE_MON_0700) == []


@given(minutes=st.integers(min_value=0, max_value=16 * 60))
def test_a2_flagged_exactly_inside_the_gap(minutes: int) -> None:
    for drug, gap in CHECK_THRESHOLDS.after_bisphosphonate_minutes.items():
        bisphosphonate = sched(drug, "06:00")
        other = sched("calcium", f"{6 + minutes // 60:02d}:{minutes % 60:02d}")
        assert (summary(check(other, bisphosphonate)) == [A2]) == (minutes < gap)


# --- A4 / D6 renal -------------------------------------------------------------------------------------------------

RENAL_CASES = [
    # (drug, dose_mg, labs, expected)
    pytest.param("alendronate", None, labs(crcl="35"), [], id="alendronate-crcl-35-ok"),
    pytest.param("alendronate", None, labs(crcl="34.9"), [RENAL_HIGH], id="alendronate-crcl-34.9"),
    pytest.param("risedronate", None, labs(crcl="30"), [], id="risedronate-crcl-30-ok"),
    pytest.param("risedronate", None, labs(crcl="29.9"), [RENAL_HIGH], id="risedronate-crcl-29.9"),
    pytest.param("ibandronate", None, labs(crcl="30"), [], id="ibandronate-crcl-30-ok"),
    pytest.param("ibandronate", None, labs(crcl="29.9"), [RENAL_HIGH], id="ibandronate-crcl-29.9"),
    pytest.param("alendronate", None, labs(crcl=None, egfr="34"), [RENAL_HIGH], id="egfr-fallback-flagged"),
    pytest.param("alendronate", None, labs(crcl=None, egfr="35"), [], id="egfr-fallback-ok"),
    pytest.param("alendronate", None, labs(crcl="40", egfr="20"), [], id="crcl-preferred-for-bisphosphonates"),
    pytest.param("alendronate", None, labs(crcl=None, egfr=None), [RENAL_MISSING_A4], id="alendronate-no-renal"),
    pytest.param("alendronate", None, labs(crcl="NaN", egfr="0"), [RENAL_MISSING_A4], id="unusable-values-missing"),
    pytest.param("zoledronic_acid", D("5"), labs(crcl="35"), [], id="zol-5mg-crcl-35-ok"),
    pytest.param("zoledronic_acid", D("5"), labs(crcl="34.9"), [RENAL_HIGH], id="zol-5mg-crcl-34.9"),
    pytest.param("zoledronic_acid", D("4"), labs(crcl="60.1"), [], id="zol-4mg-crcl-60.1-ok"),
    pytest.param("zoledronic_acid", D("4"), labs(crcl="60"), [ZOL_STEP], id="zol-4mg-crcl-60-step-3.5"),
    pytest.param("zoledronic_acid", D("3.5"), labs(crcl="60"), [], id="zol-3.5mg-crcl-60-ok"),
    pytest.param("zoledronic_acid", D("3.5"), labs(crcl="50"), [], id="zol-3.5mg-crcl-50-ok"),
    pytest.param("zoledronic_acid", D("3.5"), labs(crcl="49.9"), [ZOL_STEP], id="zol-3.5mg-crcl-49.9-step-3.3"),
    pytest.param("zoledronic_acid", D("3.3"), labs(crcl="40"), [], id="zol-3.3mg-crcl-40-ok"),
    pytest.param("zoledronic_acid", D("3.3"), labs(crcl="39.9"), [ZOL_STEP], id="zol-3.3mg-crcl-39.9-step-3.0"),
    pytest.param("zoledronic_acid", D("3.0"), labs(crcl="30"), [], id="zol-3.0mg-crcl-30-ok"),
    pytest.param("zoledronic_acid", D("3.0"), labs(crcl="29.9"), [RENAL_HIGH], id="zol-4mg-regimen-crcl-29.9"),
    pytest.param("zoledronic_acid", None, labs(crcl="45"), [DOSE_UNREADABLE], id="zol-unreadable-dose-is-low"),
    pytest.param(
        "zoledronic_acid", None, labs(crcl="29.9"), [RENAL_HIGH, DOSE_UNREADABLE], id="zol-unreadable-dose-crcl-29.9"
    ),
    pytest.param("zoledronic_acid", None, labs(crcl=None, egfr=None), [RENAL_MISSING_A4], id="zol-no-renal"),
    pytest.param("denosumab", None, labs(egfr="30"), [], id="denosumab-egfr-30-ok"),
    pytest.param("denosumab", None, labs(egfr="29.9"), [DMAB_RENAL], id="denosumab-egfr-29.9"),
    pytest.param("denosumab", None, labs(egfr="45", crcl="20"), [], id="egfr-preferred-for-denosumab"),
    pytest.param("denosumab", None, labs(egfr=None, crcl="29"), [DMAB_RENAL], id="denosumab-crcl-fallback"),
    pytest.param("denosumab", None, labs(egfr=None, crcl=None), [RENAL_MISSING_D6], id="denosumab-no-renal"),
    pytest.param("teriparatide", None, labs(egfr=None, crcl=None), [], id="no-renal-check-for-teriparatide"),
    pytest.param("anastrozole", None, labs(egfr="10", crcl="10"), [], id="no-renal-check-for-ai"),
]


@pytest.mark.parametrize(("drug", "dose_mg", "lab_facts", "expected"), RENAL_CASES)
def test_renal_thresholds(
    drug: str, dose_mg: Decimal | None, lab_facts: LabFacts, expected: list[tuple[str, Severity, str]]
) -> None:
    assert summary(check(sched(drug, dose_mg=dose_mg), labs=lab_facts)) == expected


@pytest.mark.parametrize(
    ("drug", "lab_facts", "fragment"),
    [
        pytest.param("alendronate", labs(crcl=None, egfr="34"), "eGFR (no CrCl on record) 34", id="bisphosphonate"),
        pytest.param("denosumab", labs(egfr=None, crcl="29"), "CrCl (no eGFR on record) 29", id="denosumab"),
    ],
)
def test_renal_fallback_is_named_in_the_message(drug: str, lab_facts: LabFacts, fragment: str) -> None:
    [finding] = check(sched(drug), labs=lab_facts)
    assert fragment in finding.message


def test_denosumab_renal_message_asks_for_calcium_check_within_14_days() -> None:
    [finding] = check(sched("denosumab"), labs=labs(egfr="25"))
    assert "within 14 days after" in finding.message


def test_zoledronic_step_message_names_dose_and_step() -> None:
    [finding] = check(sched("zoledronic_acid", dose_mg=D("4"), dose="4 mg"), labs=labs(crcl="45"))
    assert finding.message == "Zoledronic acid 4 mg is above the 3.3 mg step for CrCl 45 mL/min."


def test_zoledronic_unreadable_dose_is_named_not_assumed() -> None:
    [finding] = check(sched("zoledronic_acid", dose_mg=None, dose="four mg"), labs=labs(crcl="45"))
    assert "'four mg' is not an amount in mg" in finding.message


@pytest.mark.parametrize(
    ("written", "mg"),
    [
        ("3.5 mg", D("3.5")),
        ("3,5mg", D("3.5")),
        ("5 mg/100 mL", D("5")),
        ("3500 mcg", D("3.5")),
        ("20 µg", D("0.02")),
        ("4 MG", D("4")),
        ("four mg", None),
        ("4 mgs", None),
        ("4", None),
        ("0 mg", None),
        ("", None),
    ],
)
def test_dose_in_mg(written: str, mg: Decimal | None) -> None:
    assert dose_in_mg(written) == mg


# --- D6 before each denosumab injection ----------------------------------------------------------------------------

D6_CASES = [
    # (patient overrides, other schedules, expected)
    pytest.param({"has_calcium_plan": False}, [], [DMAB_SUPPLEMENTS], id="no-calcium-plan"),
    pytest.param({"has_vitamin_d_plan": False}, [], [DMAB_SUPPLEMENTS], id="no-vitamin-d-plan"),
    pytest.param({"has_calcium_plan": False, "has_vitamin_d_plan": False}, [], [DMAB_SUPPLEMENTS], id="neither"),
    pytest.param(
        {"has_calcium_plan": False, "has_vitamin_d_plan": False},
        [sched("calcium"), sched("vitamin_d")],
        [],
        id="active-supplement-schedules-count-as-plans",
    ),
    pytest.param(
        {"has_calcium_plan": False},
        [sched("calcium", status="stopped")],
        [DMAB_SUPPLEMENTS],
        id="stopped-calcium-schedule-is-no-plan",
    ),
    pytest.param({"labs": labs(calcium="8.5")}, [], [], id="calcium-8.5-ok"),
    pytest.param({"labs": labs(calcium="8.4")}, [], [DMAB_LOW_CA], id="calcium-8.4-low"),
    pytest.param({"labs": labs(calcium=None)}, [], [CA_MISSING], id="calcium-missing"),
    pytest.param(
        {"labs": labs(calcium="7.9"), "has_vitamin_d_plan": False},
        [],
        [DMAB_LOW_CA, DMAB_SUPPLEMENTS],
        id="both-high-findings-sorted-by-code",
    ),
]


@pytest.mark.parametrize(("overrides", "others", "expected"), D6_CASES)
def test_d6_denosumab_prerequisites(
    overrides: dict[str, Any], others: list[ScheduleFacts], expected: list[tuple[str, Severity, str]]
) -> None:
    assert summary(check(sched("denosumab"), *others, **overrides)) == expected


def test_d6_message_names_what_is_missing() -> None:
    [finding] = check(sched("denosumab"), has_vitamin_d_plan=False)
    assert "no vitamin D plan" in finding.message


@pytest.mark.parametrize("drug", ["alendronate", "zoledronic_acid", "teriparatide"])
def test_d6_applies_to_denosumab_only(drug: str) -> None:
    bad = {"labs": labs(calcium="7.0"), "has_calcium_plan": False, "has_vitamin_d_plan": False}
    assert check(sched(drug), **bad) == []


# --- Two anti-resorptives, A3 twice on one day -----------------------------------------------------------------------

INTERACTION_CASES = [
    pytest.param(sched("alendronate"), [sched("denosumab")], [TWO_AR], id="alendronate-and-denosumab"),
    pytest.param(sched("denosumab"), [sched("alendronate")], [TWO_AR], id="denosumab-and-alendronate"),
    pytest.param(sched("zoledronic_acid"), [sched("ibandronate")], [TWO_AR], id="zoledronic-and-ibandronate"),
    pytest.param(
        sched("denosumab"), [sched("alendronate"), sched("risedronate")], [TWO_AR, TWO_AR], id="one-per-other"
    ),
    pytest.param(sched("alendronate"), [sched("denosumab", status="paused")], [], id="paused-other-not-active"),
    pytest.param(sched("alendronate", status="paused"), [sched("denosumab")], [], id="paused-reviewed"),
    pytest.param(sched("alendronate"), [sched("teriparatide")], [], id="teriparatide-is-not-anti-resorptive"),
    pytest.param(
        sched("alendronate", sid="a"), [sched("alendronate", sid="b")], [TWO_AR, TWICE], id="same-drug-same-weekday"
    ),
    pytest.param(
        sched("alendronate", sid="a"),
        [sched("alendronate", sid="b", weekday=3)],
        [TWO_AR],
        id="same-drug-other-weekday-still-two",
    ),
    pytest.param(
        sched("alendronate", sid="a", interval=2),
        [sched("alendronate", sid="b", interval=2, local_time=time(9, 0))],
        [TWO_AR, TWICE],
        id="fortnightly-phase-unknown",
    ),
    pytest.param(
        sched("alendronate", sid="a"),
        [sched("alendronate", sid="b", unit="month", weekday=None, month_day=1)],
        [TWO_AR, TWICE],
        id="weekly-and-monthly-same-drug",
    ),
    pytest.param(
        sched("ibandronate", sid="a", month_day=30),
        [sched("ibandronate", sid="b", month_day=31)],
        [TWO_AR, TWICE],
        id="ibandronate-30-and-31",
    ),
    pytest.param(
        sched("ibandronate", sid="a", month_day=27),
        [sched("ibandronate", sid="b", month_day=28)],
        [TWO_AR],
        id="ibandronate-27-and-28",
    ),
    pytest.param(
        sched("alendronate", sid="a"),
        [sched("alendronate", sid="b", status="paused")],
        [],
        id="paused-duplicate",
    ),
]


@pytest.mark.parametrize(("reviewed", "others", "expected"), INTERACTION_CASES)
def test_interactions_between_active_schedules(
    reviewed: ScheduleFacts, others: list[ScheduleFacts], expected: list[tuple[str, Severity, str]]
) -> None:
    assert summary(check(reviewed, *others)) == expected


def test_two_anti_resorptives_message_names_the_other() -> None:
    [finding] = check(sched("alendronate"), sched("denosumab"))
    assert "together with denosumab" in finding.message


# --- D5 denosumab stopped ----------------------------------------------------------------------------------------

STOPPED_CASES = [
    pytest.param([], [DMAB_STOPPED], id="no-follow-on"),
    pytest.param([sched("alendronate")], [], id="active-alendronate-follows"),
    pytest.param([sched("zoledronic_acid")], [], id="active-zoledronic-acid-follows"),
    pytest.param([sched("denosumab", sid="new")], [], id="new-denosumab-schedule-continues"),
    pytest.param([sched("alendronate", status="paused")], [DMAB_STOPPED], id="paused-follow-on-does-not-count"),
    pytest.param([sched("teriparatide")], [DMAB_STOPPED], id="teriparatide-is-no-follow-on"),
]


@pytest.mark.parametrize(("others", "expected"), STOPPED_CASES)
def test_d5_denosumab_stopped(others: list[ScheduleFacts], expected: list[tuple[str, Severity, str]]) -> None:
    assert summary(check(sched("denosumab", status="stopped"), *others)) == expected


def test_d5_stopped_denosumab_gets_no_other_findings() -> None:
    bad = {"labs": labs(egfr=None, crcl=None, calcium="7.0"), "has_calcium_plan": False}
    assert summary(check(sched("denosumab", status="stopped"), **bad)) == [DMAB_STOPPED]


def test_paused_denosumab_is_not_the_stopped_case() -> None:
    assert check(sched("denosumab", status="paused")) == []


def test_stopped_schedules_other_than_denosumab_have_no_findings() -> None:
    everything_wrong = {
        "labs": labs(egfr="10", crcl="10", calcium="7.0"),
        "cannot_stay_upright": True,
        "prior_skeletal_radiation": True,
    }
    for drug in ("alendronate", "teriparatide", "zoledronic_acid", "calcium"):
        reviewed = sched(drug, status="stopped")
        assert check(reviewed, sched("denosumab"), sched("alendronate", "07:00", sid="x"), **everything_wrong) == []


def test_paused_schedule_keeps_drug_patient_checks_but_no_interactions() -> None:
    findings = check(
        sched("alendronate", status="paused"),
        sched("denosumab"),
        sched("calcium", "07:05"),
        labs=labs(crcl="20"),
        esophageal_disorder=True,
    )
    assert summary(findings) == [A5, RENAL_HIGH]


# --- Teriparatide, A5 ----------------------------------------------------------------------------------------------

PATIENT_CASES = [
    pytest.param("teriparatide", {"prior_skeletal_radiation": True}, [TERI], id="teriparatide-radiation"),
    pytest.param("teriparatide", {"bone_metastases": True}, [TERI], id="teriparatide-metastases"),
    pytest.param(
        "teriparatide", {"prior_skeletal_radiation": True, "bone_metastases": True}, [TERI], id="teriparatide-both"
    ),
    pytest.param("denosumab", {"bone_metastases": True}, [], id="metastases-only-matter-for-teriparatide"),
    pytest.param("alendronate", {"cannot_stay_upright": True}, [A5], id="alendronate-cannot-stay-upright"),
    pytest.param("risedronate", {"esophageal_disorder": True}, [A5], id="risedronate-esophageal-disorder"),
    pytest.param(
        "ibandronate", {"cannot_stay_upright": True, "esophageal_disorder": True}, [A5], id="ibandronate-both"
    ),
    pytest.param("zoledronic_acid", {"cannot_stay_upright": True}, [], id="a5-not-for-infusion"),
    pytest.param("denosumab", {"esophageal_disorder": True}, [], id="a5-not-for-injection"),
]


@pytest.mark.parametrize(("drug", "overrides", "expected"), PATIENT_CASES)
def test_patient_contraindications(
    drug: str, overrides: dict[str, Any], expected: list[tuple[str, Severity, str]]
) -> None:
    assert summary(check(sched(drug), **overrides)) == expected


def test_teriparatide_message_lists_both_reasons() -> None:
    [finding] = check(sched("teriparatide"), prior_skeletal_radiation=True, bone_metastases=True)
    assert "prior radiation therapy involving the skeleton and bone metastases" in finding.message


# --- Ordering, configurability -------------------------------------------------------------------------------------


def test_findings_sorted_by_severity_then_code() -> None:
    findings = check(
        sched("alendronate", "07:00"),
        sched("denosumab"),
        sched("calcium", "07:10"),
        labs=labs(crcl=None, egfr=None),
        cannot_stay_upright=True,
    )
    assert summary(findings) == [TWO_AR, A5, A2, RENAL_MISSING_A4]


def test_thresholds_are_configurable() -> None:
    stricter = dataclasses.replace(CHECK_THRESHOLDS, serum_calcium_low_mg_dl=D("9.0"))
    reviewed = sched("denosumab")
    facts = patient(reviewed, labs=labs(calcium="8.8"))
    assert schedule_findings(reviewed, facts) == []
    assert summary(schedule_findings(reviewed, facts, thresholds=stricter)) == [DMAB_LOW_CA]


def test_severity_values_are_strings() -> None:
    assert [str(s) for s in Severity] == ["high", "moderate", "low"]
