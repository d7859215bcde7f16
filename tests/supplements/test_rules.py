"""The pure supplement rules: units and plausible amounts, and the daily summary's totals, targets and warnings
(DOMAIN C1-C4, A2), table-driven, plus a property: logging one more intake never lowers a total."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.supplements.foods import FOODS, calcium_estimate
from apps.supplements.rules import (
    NUTRITION_THRESHOLDS,
    BisphosphonateDose,
    IntakeFact,
    Nutrient,
    amount_errors,
    daily_summary,
    daily_target_errors,
    in_total_unit,
    unit_errors,
)

LONDON = ZoneInfo("Europe/London")
MORNING = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


def intake(supplement: str, amount: str, unit: str = "mg", at: datetime = MORNING, id: str = "i1") -> IntakeFact:
    return IntakeFact(id=id, supplement=supplement, amount=Decimal(amount), unit=unit, taken_at=at)


def summary(intakes=(), diet=(), doses=(), targets=None):
    return daily_summary(
        intakes=intakes,
        diet_mg=[Decimal(d) for d in diet],
        bisphosphonate_doses=doses,
        plan_targets=targets or {},
        zone=LONDON,
    )


# --- units and amounts -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("supplement", "unit", "ok"),
    [
        ("calcium_carbonate", "mg", True),
        ("calcium_citrate", "mg", True),
        ("calcium_citrate", "IU", False),
        ("vitamin_d3", "IU", True),
        ("vitamin_d3", "mcg", True),
        ("vitamin_d3", "mg", False),
        ("magnesium", "mg", True),
        ("magnesium", "mcg", False),
        ("vitamin_k2", "mcg", True),
        ("vitamin_k2", "IU", False),
        ("fish_oil", "mg", False),
    ],
)
def test_units_must_match_the_supplement(supplement: str, unit: str, ok: bool) -> None:
    assert (unit_errors(supplement, unit) == []) is ok


@pytest.mark.parametrize(
    ("supplement", "amount", "unit", "ok"),
    [
        ("calcium_citrate", "500", "mg", True),
        ("calcium_citrate", "2500", "mg", True),
        ("calcium_citrate", "2500.01", "mg", False),
        ("calcium_carbonate", "50000", "mg", False),  # the absurd amount
        ("calcium_carbonate", "0", "mg", False),
        ("calcium_carbonate", "-5", "mg", False),
        ("vitamin_d3", "50000", "IU", True),
        ("vitamin_d3", "50001", "IU", False),
        ("vitamin_d3", "1250", "mcg", True),  # = 50,000 IU
        ("vitamin_d3", "2000", "mcg", False),  # 2,000 "IU" typed as mcg: 80,000 IU
        ("magnesium", "1000", "mg", True),
        ("magnesium", "1001", "mg", False),
        ("vitamin_k2", "1000", "mcg", True),
        ("vitamin_k2", "1000.5", "mcg", False),
    ],
)
def test_amounts_must_be_positive_and_plausible(supplement: str, amount: str, unit: str, ok: bool) -> None:
    assert (amount_errors(supplement, Decimal(amount), unit) == []) is ok


def test_vitamin_d_in_mcg_counts_as_40_iu_per_mcg() -> None:
    assert in_total_unit("vitamin_d3", Decimal("25"), "mcg") == Decimal("1000")
    assert in_total_unit("vitamin_d3", Decimal("1000"), "IU") == Decimal("1000")
    assert in_total_unit("vitamin_k2", Decimal("90"), "mcg") == Decimal("90")


@pytest.mark.parametrize(
    ("supplement", "target", "ok"),
    [("calcium_citrate", "1500", True), ("calcium_citrate", "0", False), ("vitamin_d3", "60000", False)],
)
def test_daily_targets_are_bounded(supplement: str, target: str, ok: bool) -> None:
    assert (daily_target_errors(supplement, Decimal(target)) == []) is ok


def test_the_foods_table_estimates_from_servings() -> None:
    assert len(FOODS) == 10
    assert FOODS["milk"].calcium_mg == Decimal("300")
    assert calcium_estimate("almonds", Decimal("1.5")) == Decimal("112.5")
    assert calcium_estimate("tofu_calcium_set", Decimal("2")) == Decimal("700.0")


# --- totals and targets ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("intakes", "diet", "targets", "calcium", "vitamin_d"),
    [
        # nothing logged: the DOMAIN defaults (C1 1,200 mg, C3 800 IU), met unknown (issue 11: not logged, not 0)
        ([], [], {}, ("0", "0", "0", "1200", None, "default"), ("0", "800", None, "default")),
        # diet + supplements reach 1,200 exactly: met
        (
            [intake("calcium_citrate", "500"), intake("calcium_carbonate", "400", id="i2")],
            ["300"],
            {},
            ("300", "900", "1200", "1200", True, "default"),
            ("0", "800", None, "default"),
        ),
        # vitamin D in mcg (20 mcg = 800 IU) plus IU
        (
            [intake("vitamin_d3", "20", "mcg"), intake("vitamin_d3", "200", "IU", id="i2")],
            [],
            {},
            ("0", "0", "0", "1200", None, "default"),
            ("1000", "800", True, "default"),
        ),
        # a clinician's targets replace the defaults
        (
            [intake("calcium_citrate", "500"), intake("vitamin_d3", "1000", "IU", id="i2")],
            ["500"],
            {Nutrient.CALCIUM: Decimal("1000"), Nutrient.VITAMIN_D: Decimal("2000")},
            ("500", "500", "1000", "1000", True, "plan"),
            ("1000", "2000", False, "plan"),
        ),
    ],
)
def test_totals_against_targets(intakes, diet, targets, calcium, vitamin_d) -> None:
    result = summary(intakes, diet, targets=targets)
    c = result.calcium_mg
    assert (c.diet, c.supplements, c.total, c.target, c.met, c.target_source) == (
        Decimal(calcium[0]),
        Decimal(calcium[1]),
        Decimal(calcium[2]),
        Decimal(calcium[3]),
        calcium[4],
        calcium[5],
    )
    d = result.vitamin_d_iu
    assert (d.total, d.target, d.met, d.target_source) == (
        Decimal(vitamin_d[0]),
        Decimal(vitamin_d[1]),
        vitamin_d[2],
        vitamin_d[3],
    )


def test_magnesium_and_k2_are_logged_without_a_target_unless_a_clinician_sets_one() -> None:
    result = summary([intake("magnesium", "250"), intake("vitamin_k2", "90", "mcg", id="i2")])
    assert (result.magnesium_mg.total, result.magnesium_mg.target, result.magnesium_mg.met) == (
        Decimal("250"),
        None,
        None,
    )
    assert result.magnesium_mg.target_source == "none"
    assert (result.vitamin_k2_mcg.total, result.vitamin_k2_mcg.met) == (Decimal("90"), None)
    set_by_clinician = summary([intake("magnesium", "250")], targets={Nutrient.MAGNESIUM: Decimal("300")})
    assert (set_by_clinician.magnesium_mg.target, set_by_clinician.magnesium_mg.met) == (Decimal("300"), False)
    assert NUTRITION_THRESHOLDS.default_daily_target[Nutrient.MAGNESIUM] is None


# --- warnings ----------------------------------------------------------------------------------------------------
def at(minutes: int) -> datetime:
    return MORNING + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("intakes", "doses", "codes"),
    [
        ([intake("calcium_citrate", "500")], [], []),  # C2: exactly 500 is fine
        ([intake("calcium_carbonate", "600")], [], ["calcium_dose_over_500"]),
        ([intake("calcium_citrate", "500.01")], [], ["calcium_dose_over_500"]),
        ([intake("magnesium", "600")], [], []),  # C2 is about calcium only
        # A2: 30 minutes after alendronate/risedronate, 60 after ibandronate
        ([intake("calcium_citrate", "500", at=at(29))], [BisphosphonateDose("alendronate", at(0))], ["A2"]),
        ([intake("calcium_citrate", "500", at=at(30))], [BisphosphonateDose("alendronate", at(0))], []),
        ([intake("calcium_citrate", "500", at=at(0))], [BisphosphonateDose("risedronate", at(0))], ["A2"]),
        ([intake("calcium_citrate", "500", at=at(-5))], [BisphosphonateDose("alendronate", at(0))], []),
        ([intake("calcium_citrate", "500", at=at(45))], [BisphosphonateDose("alendronate", at(0))], []),
        ([intake("calcium_citrate", "500", at=at(45))], [BisphosphonateDose("ibandronate", at(0))], ["A2"]),
        ([intake("calcium_citrate", "500", at=at(59))], [BisphosphonateDose("ibandronate", at(0))], ["A2"]),
        ([intake("calcium_citrate", "500", at=at(60))], [BisphosphonateDose("ibandronate", at(0))], []),
        ([intake("vitamin_d3", "800", "IU", at=at(5))], [BisphosphonateDose("alendronate", at(0))], []),
        # both at once, one warning each, C2 first
        (
            [intake("calcium_carbonate", "1000", at=at(10))],
            [BisphosphonateDose("alendronate", at(0))],
            ["calcium_dose_over_500", "A2"],
        ),
    ],
)
def test_warnings(intakes, doses, codes) -> None:
    warnings = summary(intakes, doses=doses).warnings
    short = ["A2" if w.code == "calcium_too_soon_after_bisphosphonate" else w.code for w in warnings]
    assert short == codes
    for warning in warnings:
        assert warning.rule == ("A2" if warning.code == "calcium_too_soon_after_bisphosphonate" else "C2")
        assert warning.severity in {"low", "moderate"}
        assert warning.intake_id == intakes[0].id


def test_warning_messages_name_local_times() -> None:
    warnings = summary(
        [intake("calcium_carbonate", "600", at=at(20))], doses=[BisphosphonateDose("alendronate", at(0))]
    ).warnings
    # 07:00 UTC is 07:00 in London in March (GMT); the intake 20 minutes later.
    assert "600 mg of calcium at 07:20" in warnings[0].message
    assert "20 minutes after alendronate at 07:00" in warnings[1].message
    assert "at least 30 minutes" in warnings[1].message


# --- property ----------------------------------------------------------------------------------------------------
SUPPLEMENT_UNITS = [
    ("calcium_carbonate", "mg"),
    ("calcium_citrate", "mg"),
    ("vitamin_d3", "IU"),
    ("vitamin_d3", "mcg"),
    ("magnesium", "mg"),
    ("vitamin_k2", "mcg"),
]
intakes_strategy = st.builds(
    lambda pair, amount, minutes, n: IntakeFact(
        id=f"i{n}", supplement=pair[0], amount=amount, unit=pair[1], taken_at=MORNING + timedelta(minutes=minutes)
    ),
    st.sampled_from(SUPPLEMENT_UNITS),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("2500"), places=2),
    st.integers(min_value=-300, max_value=900),
    st.integers(min_value=0, max_value=10**6),
)


@given(
    st.lists(intakes_strategy, max_size=8),
    intakes_strategy,
    st.lists(st.decimals(min_value=Decimal("0.1"), max_value=Decimal("5000"), places=1), max_size=4),
)
def test_adding_an_intake_never_lowers_a_total(before, extra, diet) -> None:
    doses = [BisphosphonateDose("alendronate", MORNING)]
    old = daily_summary(intakes=before, diet_mg=diet, bisphosphonate_doses=doses, plan_targets={}, zone=LONDON)
    new = daily_summary(
        intakes=[*before, extra], diet_mg=diet, bisphosphonate_doses=doses, plan_targets={}, zone=LONDON
    )
    for name in ("calcium_mg", "vitamin_d_iu", "magnesium_mg", "vitamin_k2_mcg"):
        assert getattr(new, name).total >= getattr(old, name).total
    assert new.calcium_mg.supplements >= old.calcium_mg.supplements
    assert new.calcium_mg.met or not old.calcium_mg.met  # once met, still met
    assert len(new.warnings) >= len(old.warnings)
