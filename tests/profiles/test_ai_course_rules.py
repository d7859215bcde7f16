"""The aromatase-inhibitor course in years (DOMAIN T1): planned end, years completed (truncated, frozen on the day she
stopped) and years remaining (rounded up, 0.0 from the planned end), on calendar and leap-year boundaries."""

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from apps.profiles.rules import ai_course, ai_planned_end, years_between


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2024, 1, 1), date(2024, 1, 1), Fraction(0)),
        (date(2024, 1, 2), date(2024, 1, 1), Fraction(0)),  # before the start: nothing, never negative
        (date(2023, 1, 1), date(2024, 1, 1), Fraction(1)),
        (date(2023, 1, 1), date(2023, 12, 31), Fraction(364, 365)),
        (date(2024, 1, 1), date(2024, 12, 31), Fraction(365, 366)),  # a leap year has 366 days
        (date(2023, 3, 1), date(2024, 2, 29), Fraction(365, 366)),  # the year after 1 March 2023 holds 29 Feb
        (date(2023, 3, 1), date(2024, 3, 1), Fraction(1)),
        # Started on 29 February: the anniversary falls on 28 February in the other years.
        (date(2024, 2, 29), date(2025, 2, 27), Fraction(364, 365)),
        (date(2024, 2, 29), date(2025, 2, 28), Fraction(1)),
        (date(2024, 2, 29), date(2028, 2, 29), Fraction(4)),
    ],
)
def test_years_between_counts_calendar_years(start: date, end: date, expected: Fraction) -> None:
    assert years_between(start, end) == expected


def test_planned_end_from_years_or_the_date_given() -> None:
    assert ai_planned_end(started_on=date(2024, 2, 29), planned_years=5, planned_end_on=None) == date(2029, 2, 28)
    assert ai_planned_end(started_on=date(2024, 3, 1), planned_years=10, planned_end_on=None) == date(2034, 3, 1)
    given = date(2030, 6, 1)
    assert ai_planned_end(started_on=date(2024, 3, 1), planned_years=None, planned_end_on=given) == given
    assert ai_planned_end(started_on=None, planned_years=5, planned_end_on=None) is None
    assert ai_planned_end(started_on=date(2024, 3, 1), planned_years=None, planned_end_on=None) is None


def test_years_completed_are_truncated_never_a_milestone_early() -> None:
    start = date(2021, 1, 1)
    # The day before the 5th anniversary is 4.99 years: "4.9", not "5.0".
    assert ai_course(today=date(2025, 12, 31), started_on=start, planned_years=5).years_completed == Decimal("4.9")
    assert ai_course(today=date(2026, 1, 1), started_on=start, planned_years=5).years_completed == Decimal("5.0")
    # 182 of 365 days (0.4986) is 0.4; 183 (0.5013) is 0.5.
    assert ai_course(today=date(2023, 7, 2), started_on=date(2023, 1, 1)).years_completed == Decimal("0.4")
    assert ai_course(today=date(2023, 7, 3), started_on=date(2023, 1, 1)).years_completed == Decimal("0.5")
    # In a leap year the same 183 days are 183/366 = 0.5 exactly; 182/366 is 0.4.
    assert ai_course(today=date(2024, 7, 2), started_on=date(2024, 1, 1)).years_completed == Decimal("0.5")
    assert ai_course(today=date(2024, 7, 1), started_on=date(2024, 1, 1)).years_completed == Decimal("0.4")


def test_leap_day_start_reaches_its_anniversaries_on_28_february() -> None:
    start = date(2024, 2, 29)
    assert ai_course(today=date(2025, 2, 27), started_on=start, planned_years=5).years_completed == Decimal("0.9")
    course = ai_course(today=date(2025, 2, 28), started_on=start, planned_years=5)
    assert (course.years_completed, course.years_remaining, course.planned_end_on) == (
        Decimal("1.0"),
        Decimal("4.0"),
        date(2029, 2, 28),
    )


def test_years_remaining_round_up_and_are_zero_from_the_planned_end() -> None:
    start = date(2020, 1, 1)  # 5 years: ends 1 January 2025
    day_before = ai_course(today=date(2024, 12, 31), started_on=start, planned_years=5)
    assert (day_before.years_completed, day_before.years_remaining) == (Decimal("4.9"), Decimal("0.1"))
    on_the_day = ai_course(today=date(2025, 1, 1), started_on=start, planned_years=5)
    assert (on_the_day.years_completed, on_the_day.years_remaining) == (Decimal("5.0"), Decimal("0.0"))
    after = ai_course(today=date(2025, 6, 1), started_on=start, planned_years=5)
    assert after.years_remaining == Decimal("0.0")
    assert after.planned_length_years == Decimal("5.0")


def test_a_start_ahead_counts_nothing_completed_and_the_whole_course_remaining() -> None:
    course = ai_course(today=date(2026, 1, 1), started_on=date(2026, 3, 1), planned_years=10)
    assert (course.years_completed, course.years_remaining) == (Decimal("0.0"), Decimal("10.0"))


def test_completed_stops_growing_on_the_day_she_stopped() -> None:
    start, stopped = date(2022, 1, 1), date(2023, 7, 3)
    before = ai_course(today=date(2023, 7, 3), started_on=start, planned_years=5, stopped_on=stopped)
    later = ai_course(today=date(2026, 7, 3), started_on=start, planned_years=5, stopped_on=stopped)
    assert before.years_completed == later.years_completed == Decimal("1.5")
    assert later.years_remaining is None  # stopped: nothing counts down
    assert later.planned_end_on == date(2027, 1, 1)


def test_a_given_end_date_sets_the_length() -> None:
    course = ai_course(today=date(2024, 1, 1), started_on=date(2020, 1, 1), planned_end_on=date(2027, 7, 2))
    assert course.planned_length_years == Decimal("7.5")
    assert course.years_remaining == Decimal("3.5")


def test_nothing_known_gives_nothing() -> None:
    course = ai_course(today=date(2024, 1, 1), started_on=None)
    assert (course.years_completed, course.years_remaining, course.planned_end_on, course.planned_length_years) == (
        None,
        None,
        None,
        None,
    )
