"""Proportion of days covered (DOMAIN P1, P2): worked examples, boundaries and properties. No Django needed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.medications.rules.adherence import (
    ADHERENT_PDC,
    COVERAGE_DAYS,
    AdherenceResult,
    CoverDays,
    active_days_in_window,
    calendar_month_cover_days,
    cover_days_for,
    judged_through,
    pdc_percent,
    proportion_of_days_covered,
    tracked_days,
    tracking_start,
)

D = Decimal
START = date(2025, 1, 6)  # a Monday
WEEK = COVERAGE_DAYS["week"]


def day(n: int) -> date:
    return START + timedelta(days=n)


def pdc(
    taken: Sequence[date],
    cover: CoverDays,
    first: date,
    last: date,
    *,
    active_first: date | None = None,
    active_last: date | None = None,
    expected: int = 0,
) -> AdherenceResult:
    return proportion_of_days_covered(
        taken_on=taken,
        cover_days=cover,
        window_first=first,
        window_last=last,
        active_first=active_first or first,
        active_last=active_last,
        doses_expected=expected,
    )


def weekly(*weeks: int) -> list[date]:
    return [day(7 * w) for w in weeks]


TWELVE_WEEKS = (day(0), day(83))  # 84 days


def test_coverage_table_is_domain_p2() -> None:
    assert COVERAGE_DAYS == {"day": 1, "week": 7, "six_monthly_injection": 183}
    assert str(ADHERENT_PDC) == "0.80"


def test_weekly_alendronate_perfect() -> None:
    result = pdc(weekly(*range(12)), WEEK, *TWELVE_WEEKS, expected=12)
    assert result == AdherenceResult(
        pdc=D("1.000"), days_covered=84, days_in_window=84, doses_expected=12, doses_taken=12, adherent=True
    )


@pytest.mark.parametrize(
    ("missed", "expected_pdc", "adherent"),
    [
        pytest.param({3, 8}, D("0.833"), True, id="missed-2-of-12"),
        pytest.param({1, 5, 9}, D("0.750"), False, id="missed-3-of-12"),
        pytest.param(set(range(12)), D("0.000"), False, id="missed-all"),
    ],
)
def test_weekly_missed_doses(missed: set[int], expected_pdc: Decimal, adherent: bool) -> None:
    taken = weekly(*(w for w in range(12) if w not in missed))
    result = pdc(taken, WEEK, *TWELVE_WEEKS, expected=12)
    assert (result.pdc, result.adherent, result.doses_taken, result.doses_expected) == (
        expected_pdc,
        adherent,
        12 - len(missed),
        12,
    )


def test_late_by_a_day_dose_still_covers_and_the_next_dose_carries_over() -> None:
    # Week 2's dose is taken a day late: day 14 is uncovered, and every later dose shifts by a day (PQA carry-over),
    # so only the window's last day is lost to the shift, which the last dose would have covered.
    taken = [day(0), day(7), day(15), *weekly(*range(3, 12))]
    result = pdc(taken, WEEK, *TWELVE_WEEKS)
    assert (result.days_covered, result.pdc) == (83, D("0.988"))


def test_overlapping_early_dose_carries_over() -> None:
    # Second dose taken on day 3 instead of day 7: its 7 days start after the first dose's, covering days 7-13.
    result = pdc([day(0), day(3)], WEEK, day(0), day(13))
    assert (result.days_covered, result.pdc) == (14, D("1.000"))


def test_double_daily_dose_covers_tomorrow() -> None:
    result = pdc([day(0), day(0)], COVERAGE_DAYS["day"], day(0), day(1))
    assert result.days_covered == 2
    assert result.doses_taken == 2


@pytest.mark.parametrize(
    ("covered", "days", "expected_pdc", "adherent"),
    [
        pytest.param(80, 100, D("0.800"), True, id="exactly-0.800"),
        pytest.param(799, 1000, D("0.799"), False, id="0.799"),
        pytest.param(79, 100, D("0.790"), False, id="0.790"),
        # Issue 11: never rounded up onto the threshold; truncated, so the flag and the number always agree.
        pytest.param(1599, 2000, D("0.799"), False, id="0.7995-truncates-to-0.799"),
        pytest.param(15992, 20000, D("0.799"), False, id="0.7996-truncates-to-0.799"),
        pytest.param(15988, 20000, D("0.799"), False, id="0.7994-truncates"),
    ],
)
def test_daily_ai_80_percent_boundary(covered: int, days: int, expected_pdc: Decimal, adherent: bool) -> None:
    taken = [day(n) for n in range(covered)]
    result = pdc(taken, COVERAGE_DAYS["day"], day(0), day(days - 1), expected=days)
    assert (result.days_covered, result.days_in_window) == (covered, days)
    assert (result.pdc, result.adherent) == (expected_pdc, adherent)


def test_window_starting_mid_schedule_counts_coverage_from_a_dose_before_it() -> None:
    # Schedule running since day 0; window opens on day 10.
    # The day-7 dose covers days 10-13; the dose on day 14 the rest.
    result = pdc([day(7), day(14)], WEEK, day(10), day(20), active_first=day(0))
    assert (result.days_in_window, result.days_covered, result.doses_taken) == (11, 11, 1)


def test_schedule_starting_inside_the_window() -> None:
    # 90-day window, schedule starts on day 60: only 30 days count; the first weekly dose on day 60.
    taken = [day(60), day(67), day(74), day(81)]
    result = pdc(taken, WEEK, day(0), day(89), active_first=day(60), expected=5)
    assert (result.days_in_window, result.days_covered, result.pdc) == (30, 28, D("0.933"))


def test_schedule_stopped_inside_the_window() -> None:
    # Stopped on day 20: days after it are not in the window and a later dose covers nothing.
    result = pdc([day(0), day(7), day(14), day(21)], WEEK, day(0), day(29), active_last=day(20))
    assert (result.days_in_window, result.days_covered, result.doses_taken) == (21, 21, 4)


def test_doses_outside_the_window_are_not_counted_as_taken() -> None:
    result = pdc([day(-7), day(0), day(7), day(14)], WEEK, day(0), day(13), expected=2)
    assert (result.doses_taken, result.doses_expected, result.days_covered) == (2, 2, 14)


@pytest.mark.parametrize(
    ("second_injection", "covered", "expected_pdc", "adherent"),
    [
        pytest.param(173, 356, D("0.975"), True, id="on-time"),
        pytest.param(200, 338, D("0.926"), True, id="27-days-late"),
        pytest.param(290, 248, D("0.679"), False, id="117-days-late"),
    ],
)
def test_denosumab_injection_covers_183_days(
    second_injection: int, covered: int, expected_pdc: Decimal, adherent: bool
) -> None:
    # First injection 10 days before the 365-day window: it covers days -10..172.
    six_monthly = cover_days_for("six_monthly_injection")
    result = pdc([day(-10), day(second_injection)], six_monthly, day(0), day(364), active_first=day(-10))
    assert (result.days_covered, result.pdc, result.adherent) == (covered, expected_pdc, adherent)


@pytest.mark.parametrize(
    ("start", "days"),
    [
        pytest.param(date(2025, 1, 15), 31, id="jan-15"),
        pytest.param(date(2025, 2, 15), 28, id="feb-15-common-year"),
        pytest.param(date(2024, 2, 15), 29, id="feb-15-leap-year"),
        pytest.param(date(2025, 1, 30), 29, id="jan-30-clamps-to-feb-28"),
        pytest.param(date(2025, 1, 31), 28, id="jan-31-clamps-to-feb-28"),
        pytest.param(date(2025, 12, 1), 31, id="december-crosses-year"),
    ],
)
def test_calendar_month_cover_days(start: date, days: int) -> None:
    assert calendar_month_cover_days(start) == days


def test_monthly_ibandronate_covers_its_calendar_month() -> None:
    year = (date(2025, 1, 1), date(2025, 12, 31))
    firsts = [date(2025, m, 1) for m in range(1, 13)]
    monthly = cover_days_for("month")
    assert pdc(firsts, monthly, *year).days_covered == 365
    without_march = [d for d in firsts if d.month != 3]
    result = pdc(without_march, monthly, *year)
    assert (result.days_covered, result.pdc) == (334, D("0.915"))


def test_cover_days_for() -> None:
    assert cover_days_for("day") == 1
    assert cover_days_for("week") == 7
    assert cover_days_for("month") is calendar_month_cover_days
    with pytest.raises(ValueError, match="unknown coverage kind"):
        cover_days_for("fortnight")


@pytest.mark.parametrize(
    ("active_first", "active_last"),
    [
        pytest.param(day(30), None, id="starts-after-window"),
        pytest.param(day(-30), day(-1), id="stopped-before-window"),
    ],
)
def test_no_active_day_in_window_raises(active_first: date, active_last: date | None) -> None:
    assert (
        active_days_in_window(
            window_first=day(0), window_last=day(13), active_first=active_first, active_last=active_last
        )
        == 0
    )
    with pytest.raises(ValueError, match="not active on any day"):
        pdc([], WEEK, day(0), day(13), active_first=active_first, active_last=active_last)


def test_one_active_day_is_enough() -> None:
    result = pdc([], WEEK, day(0), day(13), active_first=day(13))
    assert (result.days_in_window, result.pdc, result.adherent) == (1, D("0.000"), False)


@pytest.mark.parametrize(
    ("first", "last", "cover", "expected", "message"),
    [
        pytest.param(day(5), day(4), WEEK, 1, "is after window_last", id="reversed-window"),
        pytest.param(day(0), day(13), WEEK, -1, "must not be negative", id="negative-expected"),
        pytest.param(day(0), day(13), 0, 1, "at least one day", id="zero-cover"),
        pytest.param(day(0), day(13), lambda _d: 0, 1, "at least one day", id="zero-cover-callable"),
    ],
)
def test_invalid_input_raises(first: date, last: date, cover: CoverDays, expected: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pdc([day(0)], cover, first, last, expected=expected)


# --- Properties ----------------------------------------------------------------------------------------------------

offsets = st.integers(min_value=-400, max_value=400)
cover_strategy = st.one_of(st.integers(min_value=1, max_value=200), st.just(calendar_month_cover_days))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[date], CoverDays, date, date, date, date | None]:
    taken = [day(n) for n in draw(st.lists(offsets, max_size=30))]
    window_first = day(draw(st.integers(min_value=-100, max_value=100)))
    window_last = window_first + timedelta(days=draw(st.integers(min_value=0, max_value=400)))
    active_first = window_first + timedelta(days=draw(st.integers(min_value=-200, max_value=0)))
    active_last = draw(st.one_of(st.none(), st.just(window_last + timedelta(days=draw(st.integers(0, 50))))))
    return taken, draw(cover_strategy), window_first, window_last, active_first, active_last


def run(taken: list[date], cover: CoverDays, wf: date, wl: date, af: date, al: date | None) -> AdherenceResult:
    return pdc(taken, cover, wf, wl, active_first=af, active_last=al)


@given(scenarios())
def test_pdc_between_zero_and_one(scenario: tuple[list[date], CoverDays, date, date, date, date | None]) -> None:
    result = run(*scenario)
    assert D(0) <= result.pdc <= D(1)
    assert 0 <= result.days_covered <= result.days_in_window
    assert result.pdc.as_tuple().exponent == -3
    assert result.adherent == (result.pdc >= ADHERENT_PDC)


@given(scenarios(), offsets)
def test_adding_a_taken_dose_never_lowers_pdc(
    scenario: tuple[list[date], CoverDays, date, date, date, date | None], extra: int
) -> None:
    taken, cover, wf, wl, af, al = scenario
    before = run(taken, cover, wf, wl, af, al)
    after = run([*taken, day(extra)], cover, wf, wl, af, al)
    assert after.days_covered >= before.days_covered
    assert after.pdc >= before.pdc


@given(scenarios(), st.randoms())
def test_order_of_doses_does_not_matter(
    scenario: tuple[list[date], CoverDays, date, date, date, date | None], rnd: random.Random
) -> None:
    taken, cover, wf, wl, af, al = scenario
    shuffled = list(taken)
    rnd.shuffle(shuffled)
    assert run(shuffled, cover, wf, wl, af, al) == run(taken, cover, wf, wl, af, al)


# --- issue 11: tracking, today, display ----------------------------------------------------------------------------
def test_tracking_starts_at_entry_or_an_earlier_record_never_before_the_start() -> None:
    assert tracking_start(starts_on=day(0), entered_on=day(700), first_record_on=None) == day(700)
    assert tracking_start(starts_on=day(0), entered_on=day(700), first_record_on=day(600)) == day(600)
    assert tracking_start(starts_on=day(0), entered_on=day(700), first_record_on=day(800)) == day(700)
    assert tracking_start(starts_on=day(10), entered_on=day(5), first_record_on=day(2)) == day(10)
    assert tracked_days(tracked_since=day(0), today=day(12), active_last=None) == 13
    assert tracked_days(tracked_since=day(0), today=day(20), active_last=day(5)) == 6
    assert tracked_days(tracked_since=day(9), today=day(20), active_last=day(5)) == 0


def test_today_is_judged_once_covered() -> None:
    assert judged_through(today=day(5), today_covered=True) == day(5)
    assert judged_through(today=day(5), today_covered=False) == day(4)


@pytest.mark.parametrize(
    ("pdc", "text"),
    [(D("0.799"), "79.9%"), (D("0.7999"), "79.9%"), (D("0.800"), "80.0%"), (D("1.000"), "100.0%"), (D("0"), "0.0%")],
)
def test_pdc_percent_is_truncated_to_one_decimal(pdc: Decimal, text: str) -> None:
    assert pdc_percent(pdc) == text
