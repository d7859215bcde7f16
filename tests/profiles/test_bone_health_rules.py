"""Bone-health assessment rules (DOMAIN H1-H4): table-driven boundaries and properties. No Django needed."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.profiles.rules import (
    BONE_HEALTH_THRESHOLDS,
    DXA_SITES,
    H1_ADVICE,
    BoneHealthInput,
    CurrentTherapy,
    DxaReading,
    add_months,
    age_on,
    assess_bone_health,
    bmi,
    bmi_for_display,
)

TODAY = date(2025, 6, 15)
SCAN_DAY = date(2025, 1, 10)
D = Decimal


def make(**overrides: Any) -> BoneHealthInput:
    """A 55-year-old, BMI ~23.9, never smoked, no risk factors, no DXA; override what the case needs."""
    fields: dict[str, Any] = {
        "today": TODAY,
        "birth_date": date(1970, 1, 1),
        "height_cm": D("165"),
        "weight_kg": D("65"),
        "smoker": "never",
        "family_hip_fracture": False,
        "prior_fragility_fracture": False,
        "oral_corticosteroids_months": 0,
        "dxa": (),
    }
    fields.update(overrides)
    return BoneHealthInput(**fields)


def scan(t_score: str, site: str = "lumbar_spine", on: date = SCAN_DAY) -> DxaReading:
    return DxaReading(site=site, t_score=D(t_score), measured_on=on)


ONE_RISK = {"family_hip_fracture": True}
TWO_RISKS = {"family_hip_fracture": True, "prior_fragility_fracture": True}
IN_12 = add_months(SCAN_DAY, 12)
IN_24 = add_months(SCAN_DAY, 24)

# id, input overrides, therapy_recommended, reason codes, dxa_due_on
DecisionCase = tuple[str, dict[str, Any], bool, list[str], date]
DECISION_CASES: list[DecisionCase] = [
    ("t_-2.0_not_below", {"dxa": (scan("-2.0"),)}, False, ["not_recommended_now"], IN_12),
    ("t_-2.1_below", {"dxa": (scan("-2.1"),)}, True, ["t_score_below_threshold"], IN_12),
    (
        "t_-2.1_with_risk_both_branches",
        {"dxa": (scan("-2.1"),), **ONE_RISK},
        True,
        ["t_score_below_threshold", "t_score_with_risk_factor"],
        IN_12,
    ),
    ("t_-1.5_with_risk_not", {"dxa": (scan("-1.5"),), **ONE_RISK}, False, ["not_recommended_now"], IN_12),
    ("t_-1.6_with_risk", {"dxa": (scan("-1.6"),), **ONE_RISK}, True, ["t_score_with_risk_factor"], IN_12),
    ("t_-1.6_no_risk_not", {"dxa": (scan("-1.6"),)}, False, ["not_recommended_now"], IN_12),
    ("t_-1.5_no_risk_24_months", {"dxa": (scan("-1.5"),)}, False, ["not_recommended_now"], IN_24),
    ("t_normal_no_risk_24_months", {"dxa": (scan("0.5"),)}, False, ["not_recommended_now"], IN_24),
    (
        "t_normal_one_risk_12_months",
        {"dxa": (scan("0.5"),), **ONE_RISK},
        False,
        ["not_recommended_now"],
        IN_12,
    ),
    (
        "t_normal_two_risks",
        {"dxa": (scan("0.5"),), **TWO_RISKS},
        True,
        ["multiple_risk_factors"],
        IN_12,
    ),
    (
        "t_-2.5_two_risks_all_branches",
        {"dxa": (scan("-2.5"),), **TWO_RISKS},
        True,
        ["t_score_below_threshold", "t_score_with_risk_factor", "multiple_risk_factors"],
        IN_12,
    ),
    ("no_dxa_no_risk", {}, False, ["no_dxa"], TODAY),
    ("no_dxa_one_risk", ONE_RISK, False, ["no_dxa"], TODAY),
    ("no_dxa_two_risks", TWO_RISKS, True, ["multiple_risk_factors", "no_dxa"], TODAY),
    (
        "per_site_latest_used_older_lower_ignored",
        {"dxa": (scan("-3.0", on=date(2020, 1, 1)), scan("-1.0", on=SCAN_DAY))},
        False,
        ["not_recommended_now"],
        IN_24,
    ),
    (
        "lowest_across_sites",
        {"dxa": (scan("-1.0", "lumbar_spine"), scan("-2.2", "femoral_neck"), scan("-0.4", "total_hip"))},
        True,
        ["t_score_below_threshold"],
        IN_12,
    ),
]


@pytest.mark.parametrize(
    ("overrides", "recommended", "reason_codes", "next_due"),
    [pytest.param(*case[1:], id=case[0]) for case in DECISION_CASES],
)
def test_decision(overrides: dict[str, Any], recommended: bool, reason_codes: list[str], next_due: date) -> None:
    result = assess_bone_health(make(**overrides))
    assert result.therapy_recommended is recommended
    assert result.on_therapy is False
    assert [r.code for r in result.reasons] == reason_codes
    assert result.dxa_due_on == result.next_dxa_due == next_due
    assert all(r.message for r in result.reasons)


ALENDRONATE = CurrentTherapy(uuid.uuid4(), "alendronate", "Alendronate", "70 mg", date(2024, 9, 1), None)
DENOSUMAB = CurrentTherapy(uuid.uuid4(), "denosumab", "Denosumab", "60 mg", date(2024, 9, 1), None)

# id, input overrides, reason codes, dxa_due_on: on therapy, "recommended" (start therapy) is always false
ON_THERAPY_CASES: list[tuple[str, dict[str, Any], list[str], date]] = [
    ("indicated_by_t_score", {"dxa": (scan("-2.1"),)}, ["t_score_below_threshold", "on_therapy"], IN_12),
    ("indicated_by_two_risks", {"dxa": (scan("0.5"),), **TWO_RISKS}, ["multiple_risk_factors", "on_therapy"], IN_12),
    # Not indicated by H2 (-1.5, no risk factor: 24 months off therapy), but the scan follows the therapy: 12.
    ("not_indicated_follow_up_in_12", {"dxa": (scan("-1.5"),)}, ["on_therapy"], IN_12),
    ("no_dxa_baseline_today", TWO_RISKS, ["multiple_risk_factors", "on_therapy", "no_dxa"], TODAY),
]


@pytest.mark.parametrize(
    ("overrides", "reason_codes", "due"), [pytest.param(*case[1:], id=case[0]) for case in ON_THERAPY_CASES]
)
@pytest.mark.parametrize("therapy", [(ALENDRONATE,), (DENOSUMAB, ALENDRONATE)], ids=["one", "two"])
def test_on_therapy_is_not_recommended_to_start_it(
    overrides: dict[str, Any], reason_codes: list[str], due: date, therapy: tuple[CurrentTherapy, ...]
) -> None:
    result = assess_bone_health(make(current_therapy=therapy, **overrides))
    assert result.on_therapy is True
    assert result.current_therapy == list(therapy)
    assert result.therapy_recommended is False
    assert [r.code for r in result.reasons] == reason_codes
    assert result.dxa_due_on == due
    on = next(r for r in result.reasons if r.code == "on_therapy")
    assert all(f"{item.medication_name} {item.dose}" in on.message for item in therapy)
    assert "(H" not in on.message  # the patient reads it: no rule ids in the text


def _birthday_offset(years: int, days: int) -> date:
    """Birth date such that the `years`th birthday falls `days` days after TODAY (negative: before)."""
    return date(TODAY.year - years, TODAY.month, TODAY.day + days)


# id, input overrides, expected risk-factor codes
RISK_CASES = [
    ("age_65_birthday_tomorrow", {"birth_date": _birthday_offset(66, +1)}, []),
    ("age_65_exactly_today", {"birth_date": _birthday_offset(65, 0)}, []),
    ("age_66_birthday_today", {"birth_date": _birthday_offset(66, 0)}, ["age_over_65"]),
    ("age_66_birthday_yesterday", {"birth_date": _birthday_offset(66, -1)}, ["age_over_65"]),
    ("age_unknown", {"birth_date": None}, []),
    ("bmi_exactly_20.0", {"height_cm": D("160"), "weight_kg": D("51.2")}, []),
    ("bmi_19.9", {"height_cm": D("160"), "weight_kg": D("50.944")}, ["low_bmi"]),
    ("bmi_just_under_20", {"height_cm": D("160"), "weight_kg": D("51.1999")}, ["low_bmi"]),
    ("bmi_height_missing", {"height_cm": None, "weight_kg": D("40")}, []),
    ("bmi_weight_missing", {"height_cm": D("160"), "weight_kg": None}, []),
    ("bmi_height_zero", {"height_cm": D("0"), "weight_kg": D("40")}, []),
    ("bmi_weight_zero", {"height_cm": D("160"), "weight_kg": D("0")}, []),
    ("corticosteroids_6_months", {"oral_corticosteroids_months": 6}, []),
    ("corticosteroids_7_months", {"oral_corticosteroids_months": 7}, ["oral_corticosteroids"]),
    ("smoker_never", {"smoker": "never"}, []),
    ("smoker_former", {"smoker": "former"}, ["smoking"]),
    ("smoker_current", {"smoker": "current"}, ["smoking"]),
    ("smoker_unknown", {"smoker": ""}, []),
    ("family_hip_fracture", {"family_hip_fracture": True}, ["family_hip_fracture"]),
    ("prior_fragility_fracture", {"prior_fragility_fracture": True}, ["prior_fragility_fracture"]),
    (
        "all_six",
        {
            "birth_date": date(1950, 1, 1),
            "height_cm": D("170"),
            "weight_kg": D("50"),
            "smoker": "current",
            "family_hip_fracture": True,
            "prior_fragility_fracture": True,
            "oral_corticosteroids_months": 12,
        },
        [
            "age_over_65",
            "low_bmi",
            "family_hip_fracture",
            "prior_fragility_fracture",
            "oral_corticosteroids",
            "smoking",
        ],
    ),
]


@pytest.mark.parametrize(("overrides", "risk_codes"), [pytest.param(*case[1:], id=case[0]) for case in RISK_CASES])
def test_risk_factors(overrides: dict[str, Any], risk_codes: list[str]) -> None:
    result = assess_bone_health(make(**overrides))
    assert [r.code for r in result.risk_factors] == risk_codes
    assert all(r.rule == "H3" for r in result.risk_factors)


def test_rule_ids_on_reasons() -> None:
    expected = {
        "t_score_below_threshold": "H2",
        "t_score_with_risk_factor": "H2",
        "multiple_risk_factors": "H2",
        "no_dxa": "H1",
        "not_recommended_now": "H4",
    }
    seen = {}
    for _id, overrides, *_ in DECISION_CASES:
        for reason in assess_bone_health(make(**overrides)).reasons:
            seen[reason.code] = reason.rule
    assert seen == expected


def test_messages_include_numbers() -> None:
    result = assess_bone_health(make(dxa=(scan("-2.3", "femoral_neck"),), **ONE_RISK))
    assert "-2.3" in result.reasons[0].message
    assert "-2.0" in result.reasons[0].message
    assert "-1.5" in result.reasons[1].message
    low = assess_bone_health(make(height_cm=D("160"), weight_kg=D("50.944")))
    assert "19.9" in low.risk_factors[0].message


# id, readings, expected (lowest t-score, site, measured_on)
LOWEST_CASES = [
    ("none", (), (None, None, None)),
    (
        "per_site_latest_older_lower_ignored",
        (scan("-3.0", on=date(2019, 5, 1)), scan("-1.2", on=date(2024, 5, 1))),
        (D("-1.2"), "lumbar_spine", date(2024, 5, 1)),
    ),
    (
        "per_site_latest_newer_lower_used",
        (scan("-1.2", on=date(2019, 5, 1)), scan("-3.0", on=date(2024, 5, 1))),
        (D("-3.0"), "lumbar_spine", date(2024, 5, 1)),
    ),
    (
        "lowest_across_sites",
        (
            scan("-1.0", "lumbar_spine", date(2024, 3, 1)),
            scan("-1.9", "total_hip", date(2023, 3, 1)),
            scan("-1.4", "femoral_neck", date(2024, 3, 1)),
        ),
        (D("-1.9"), "total_hip", date(2023, 3, 1)),
    ),
    (
        "tie_across_sites_first_in_site_order",
        (scan("-1.7", "total_hip"), scan("-1.7", "femoral_neck")),
        (D("-1.7"), "femoral_neck", SCAN_DAY),
    ),
    (
        "same_site_same_day_lower_counts",
        (scan("-1.1"), scan("-1.3")),
        (D("-1.3"), "lumbar_spine", SCAN_DAY),
    ),
]


@pytest.mark.parametrize(("readings", "expected"), [pytest.param(*case[1:], id=case[0]) for case in LOWEST_CASES])
def test_lowest_t_score(readings: tuple[DxaReading, ...], expected: tuple[Any, Any, Any]) -> None:
    result = assess_bone_health(make(dxa=readings))
    assert (result.lowest_t_score, result.lowest_t_score_site, result.lowest_t_score_measured_on) == expected


# id, readings, risk overrides, expected next_dxa_due
NEXT_DXA_CASES = [
    ("24_months", (scan("-1.0", on=date(2024, 3, 5)),), {}, date(2026, 3, 5)),
    ("12_months_low_t", (scan("-1.8", on=date(2024, 3, 5)),), {}, date(2025, 3, 5)),
    ("12_months_one_risk", (scan("-1.0", on=date(2024, 3, 5)),), ONE_RISK, date(2025, 3, 5)),
    ("24_months_from_feb_29", (scan("-1.0", on=date(2024, 2, 29)),), {}, date(2026, 2, 28)),
    ("12_months_from_feb_29", (scan("-1.8", on=date(2024, 2, 29)),), {}, date(2025, 2, 28)),
    (
        "from_latest_scan_over_all_sites",
        (scan("-1.0", "lumbar_spine", date(2023, 1, 1)), scan("-0.5", "total_hip", date(2024, 7, 31))),
        {},
        date(2026, 7, 31),
    ),
    ("recommended_12_months", (scan("-2.5", on=date(2024, 3, 5)),), {}, date(2025, 3, 5)),
]


@pytest.mark.parametrize(
    ("readings", "overrides", "expected"), [pytest.param(*case[1:], id=case[0]) for case in NEXT_DXA_CASES]
)
def test_next_dxa_due(readings: tuple[DxaReading, ...], overrides: dict[str, Any], expected: date) -> None:
    result = assess_bone_health(make(dxa=readings, **overrides))
    assert result.dxa_due_on == result.next_dxa_due == expected
    assert result.last_dxa_on == max(r.measured_on for r in readings)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(date(2025, 1, 31), 1, date(2025, 2, 28), id="jan31_to_feb28"),
        pytest.param(date(2024, 1, 31), 1, date(2024, 2, 29), id="jan31_to_feb29_leap"),
        pytest.param(date(2025, 3, 31), 1, date(2025, 4, 30), id="mar31_to_apr30"),
        pytest.param(date(2025, 8, 31), 6, date(2026, 2, 28), id="aug31_plus_6"),
        pytest.param(date(2025, 12, 15), 1, date(2026, 1, 15), id="year_rollover"),
        pytest.param(date(2025, 5, 10), 0, date(2025, 5, 10), id="zero"),
        pytest.param(date(2025, 3, 31), -1, date(2025, 2, 28), id="negative"),
        pytest.param(date(2025, 1, 15), -13, date(2023, 12, 15), id="negative_year_rollover"),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("birth", "today", "expected"),
    [
        pytest.param(date(1960, 6, 15), date(2025, 6, 14), 64, id="day_before_birthday"),
        pytest.param(date(1960, 6, 15), date(2025, 6, 15), 65, id="on_birthday"),
        pytest.param(date(1960, 2, 29), date(2025, 2, 28), 64, id="feb29_non_leap_feb28"),
        pytest.param(date(1960, 2, 29), date(2025, 3, 1), 65, id="feb29_non_leap_mar1"),
        pytest.param(date(1960, 2, 29), date(2024, 2, 29), 64, id="feb29_leap_birthday"),
        pytest.param(date(1960, 2, 29), date(2024, 2, 28), 63, id="feb29_leap_day_before"),
        pytest.param(date(2025, 6, 15), date(2025, 6, 15), 0, id="born_today"),
    ],
)
def test_age_on(birth: date, today: date, expected: int) -> None:
    assert age_on(birth, today) == expected


def test_age_on_future_birth_date_rejected() -> None:
    with pytest.raises(ValueError, match="after today"):
        age_on(date(2030, 1, 1), TODAY)


@pytest.mark.parametrize(
    ("height", "weight", "expected"),
    [
        pytest.param(D("160"), D("51.2"), D("20"), id="exact_20"),
        pytest.param(D("200"), D("80"), D("20"), id="exact_20_tall"),
        pytest.param(None, D("60"), None, id="no_height"),
        pytest.param(D("160"), None, None, id="no_weight"),
        pytest.param(D("0"), D("60"), None, id="zero_height"),
        pytest.param(D("-160"), D("60"), None, id="negative_height"),
    ],
)
def test_bmi(height: Decimal | None, weight: Decimal | None, expected: Decimal | None) -> None:
    assert bmi(height, weight) == expected


def test_bmi_unrounded_and_display_rounding() -> None:
    value = bmi(D("165"), D("65"))
    assert value is not None
    assert value != bmi_for_display(value)
    assert bmi_for_display(value) == D("23.9")


def test_thresholds_overridable() -> None:
    stricter = dataclasses.replace(
        BONE_HEALTH_THRESHOLDS,
        t_score_alone=D("-1.0"),
        age_over=50,
        risk_factors_alone=1,
        repeat_dxa_months=36,
    )
    data = make(dxa=(scan("-1.2"),))
    assert assess_bone_health(data).therapy_recommended is False
    custom = assess_bone_health(data, stricter)
    assert custom.therapy_recommended is True
    assert [r.code for r in custom.risk_factors] == ["age_over_65"]  # 55 > 50
    # -1.2 is below the custom -1.0 but not below -1.5; one risk factor now suffices on its own
    assert [r.code for r in custom.reasons] == ["t_score_below_threshold", "multiple_risk_factors"]
    longer = dataclasses.replace(BONE_HEALTH_THRESHOLDS, repeat_dxa_months=36)
    assert assess_bone_health(make(dxa=(scan("0.0"),)), longer).next_dxa_due == add_months(SCAN_DAY, 36)


def test_default_thresholds_match_domain() -> None:
    t = BONE_HEALTH_THRESHOLDS
    assert (t.t_score_alone, t.t_score_with_risk, t.risk_factors_alone) == (D("-2.0"), D("-1.5"), 2)
    assert (t.age_over, t.bmi_under, t.corticosteroid_months_over) == (65, D("20.0"), 6)
    assert (t.repeat_dxa_months, t.repeat_dxa_months_if_indicated) == (24, 12)


def test_h1_advice_exported() -> None:
    assert {a.code for a in H1_ADVICE} == {"calcium_vitamin_d_advice", "exercise_advice"}
    assert all(a.rule == "H1" and a.message for a in H1_ADVICE)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: DxaReading("wrist", D("-1"), TODAY), id="unknown_site"),
        pytest.param(lambda: make(smoker="sometimes"), id="unknown_smoker"),
        pytest.param(lambda: make(oral_corticosteroids_months=-1), id="negative_months"),
        pytest.param(lambda: make(birth_date=date(2030, 1, 1)), id="birth_after_today"),
    ],
)
def test_invalid_input_rejected(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


# --- properties -------------------------------------------------------------------------------------------

t_scores = st.decimals(min_value=D("-5.0"), max_value=D("3.0"), places=1)
readings = st.builds(
    DxaReading,
    site=st.sampled_from(DXA_SITES),
    t_score=t_scores,
    measured_on=st.dates(min_value=date(2010, 1, 1), max_value=TODAY),
)
inputs = st.builds(
    BoneHealthInput,
    today=st.just(TODAY),
    birth_date=st.none() | st.dates(min_value=date(1930, 1, 1), max_value=date(1990, 12, 31)),
    height_cm=st.none() | st.decimals(min_value=D("140"), max_value=D("190"), places=1),
    weight_kg=st.none() | st.decimals(min_value=D("35"), max_value=D("110"), places=1),
    smoker=st.sampled_from(["never", "former", "current", ""]),
    family_hip_fracture=st.booleans(),
    prior_fragility_fracture=st.booleans(),
    oral_corticosteroids_months=st.integers(min_value=0, max_value=24),
    dxa=st.lists(readings, max_size=6).map(tuple),
)

RISK_SWITCHES: list[dict[str, Any]] = [
    {"family_hip_fracture": True},
    {"prior_fragility_fracture": True},
    {"smoker": "current"},
    {"oral_corticosteroids_months": 24},
    {"birth_date": date(1940, 1, 1)},
    {"height_cm": D("170"), "weight_kg": D("45")},
]


@given(inputs, st.sampled_from(RISK_SWITCHES))
def test_property_adding_risk_factor_never_turns_recommendation_off(
    data: BoneHealthInput, switch: dict[str, Any]
) -> None:
    before = assess_bone_health(data)
    after = assess_bone_health(dataclasses.replace(data, **switch))
    assert len(after.risk_factors) >= len(before.risk_factors)
    if before.therapy_recommended:
        assert after.therapy_recommended


@given(inputs, st.data())
def test_property_lowering_t_score_never_turns_recommendation_off(data: BoneHealthInput, draw: Any) -> None:
    if not data.dxa:
        return
    index = draw.draw(st.integers(min_value=0, max_value=len(data.dxa) - 1))
    drop = draw.draw(st.decimals(min_value=D("0.1"), max_value=D("3.0"), places=1))
    lowered = list(data.dxa)
    lowered[index] = dataclasses.replace(lowered[index], t_score=lowered[index].t_score - drop)
    before = assess_bone_health(data)
    after = assess_bone_health(dataclasses.replace(data, dxa=tuple(lowered)))
    if before.therapy_recommended:
        assert after.therapy_recommended


@given(inputs)
def test_property_next_dxa_due_consistent(data: BoneHealthInput) -> None:
    result = assess_bone_health(data)
    if not data.dxa:
        assert result.dxa_due_on == TODAY
        assert result.lowest_t_score is None
        assert result.last_dxa_on is None
    else:
        last = max(r.measured_on for r in data.dxa)
        assert result.last_dxa_on == last
        assert result.dxa_due_on in (add_months(last, 12), add_months(last, 24))
        if result.therapy_recommended:
            assert result.dxa_due_on == add_months(last, 12)
        else:
            assert result.reasons[-1].code == "not_recommended_now"
    assert result.next_dxa_due == result.dxa_due_on
    assert result.therapy_recommended == any(r.rule == "H2" for r in result.reasons)
    # The same woman on therapy: never "start therapy", the same H2 reasons, the scan at the shorter interval.
    treated = assess_bone_health(dataclasses.replace(data, current_therapy=(ALENDRONATE,)))
    assert (treated.therapy_recommended, treated.on_therapy) == (False, True)
    h2 = [r for r in result.reasons if r.rule == "H2"]
    assert [r for r in treated.reasons if r.rule == "H2" and r.code != "on_therapy"] == h2
    if data.dxa:
        assert treated.dxa_due_on == add_months(max(r.measured_on for r in data.dxa), 12)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.integers(-240, 240))
def test_property_add_months_lands_in_target_month(start: date, months: int) -> None:
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day <= start.day
    if result.day < start.day:  # clamped: must be the last day of its month
        assert (result + timedelta(days=1)).day == 1
