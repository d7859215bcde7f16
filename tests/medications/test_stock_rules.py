"""Days of supply and the refill due date (apps/medications/rules/stock.py, issue 17): exactly N days left is not
due, N - 1 is; a weekly alendronate is due at its last tablet; a plan ending first needs no refill; an open need
stays put through her doses until a refill or a count."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from apps.medications.rules.stock import days_left, refill_anchor, supply
from backend.recurrence import Recurrence, local_dates

TODAY = date(2026, 3, 2)  # a Monday
FAR = TODAY + timedelta(days=100 * 366)  # as the service reads ahead


def doses(recurrence: Recurrence, *, starts_on: date = date(2026, 1, 5), ends_on: date | None = None, first=TODAY):
    return local_dates(recurrence, starts_on=starts_on, ends_on=ends_on, first=first, last=FAR)


DAILY = Recurrence("day")


def due_today(units: int, recurrence: Recurrence, *, n: int = 7, units_per_dose: int = 1, first=TODAY) -> bool:
    result = supply(
        units=units, units_per_dose=units_per_dose, doses=doses(recurrence, first=first), warning_days=n, today=TODAY
    )
    return result.refill_due_on is not None and result.refill_due_on <= TODAY


def test_daily_exactly_n_days_left_is_not_due_and_one_fewer_is() -> None:
    # Today's tablet not taken yet: 8 tablets last to today + 7 (7 days left = N), 7 to today + 6.
    eight = supply(units=8, units_per_dose=1, doses=doses(DAILY), warning_days=7, today=TODAY)
    assert eight.last_dose_on == TODAY + timedelta(days=7)
    assert days_left(eight.last_dose_on, TODAY) == 7
    assert eight.refill_due_on == TODAY + timedelta(days=1)
    assert not due_today(8, DAILY)
    assert due_today(7, DAILY)


def test_daily_with_todays_tablet_taken_counts_from_tomorrow() -> None:
    tomorrow = TODAY + timedelta(days=1)
    assert not due_today(7, DAILY, first=tomorrow)  # last on today + 7
    assert due_today(6, DAILY, first=tomorrow)


def test_weekly_alendronate_is_due_at_its_last_tablet_whatever_the_weekday() -> None:
    for weekday in range(7):
        weekly = Recurrence("week", weekday=weekday)
        assert due_today(1, weekly), weekday
        assert not due_today(2, weekly), weekday


def test_weekly_last_tablet_exactly_seven_days_ahead_is_not_due() -> None:
    # Her weekday is today, already taken: the next dose is in exactly 7 days.
    weekly = Recurrence("week", weekday=TODAY.weekday())
    result = supply(
        units=1, units_per_dose=1, doses=doses(weekly, first=TODAY + timedelta(days=1)), warning_days=7, today=TODAY
    )
    assert result.last_dose_on == TODAY + timedelta(days=7)
    assert not due_today(1, weekly, first=TODAY + timedelta(days=1))


def test_units_per_dose_and_part_doses() -> None:
    # Two tablets a dose: 15 tablets are 7 whole doses (the odd one covers nothing).
    result = supply(units=15, units_per_dose=2, doses=doses(DAILY), warning_days=7, today=TODAY)
    assert result.doses_left == 7
    assert result.last_dose_on == TODAY + timedelta(days=6)
    assert due_today(15, DAILY, units_per_dose=2)
    assert not due_today(16, DAILY, units_per_dose=2)


def test_nothing_on_hand_is_due_now_and_a_plan_ending_first_needs_none() -> None:
    empty = supply(units=0, units_per_dose=1, doses=doses(DAILY), warning_days=7, today=TODAY)
    assert (empty.doses_left, empty.last_dose_on, empty.refill_due_on) == (0, None, TODAY)
    ending = supply(
        units=5,
        units_per_dose=1,
        doses=doses(DAILY, ends_on=TODAY + timedelta(days=3)),
        warning_days=7,
        today=TODAY,
    )
    assert ending.refill_due_on is None
    assert ending.last_dose_on == TODAY + timedelta(days=3)


def test_monthly_and_every_n_days() -> None:
    monthly = Recurrence("month", month_day=15)
    # 2 tablets: 15 March, 15 April; 15 April is 44 days ahead: due from 9 April with N = 7.
    result = supply(units=2, units_per_dose=1, doses=doses(monthly), warning_days=7, today=TODAY)
    assert result.last_dose_on == date(2026, 4, 15)
    assert result.refill_due_on == date(2026, 4, 9)
    every_third = Recurrence("day", interval=3)
    assert not due_today(3, every_third)  # starts 5 Jan: doses 4 Mar, 7 Mar, 10 Mar -> 8 days left
    assert due_today(2, every_third)


def test_an_open_need_stays_through_her_doses_until_a_refill_or_count() -> None:
    opened = TODAY - timedelta(days=2)
    later = TODAY + timedelta(days=1)  # she missed a dose: the projection moved
    assert refill_anchor(previous=opened, projected=later, today=TODAY, recount=False) == opened
    assert refill_anchor(previous=opened, projected=TODAY + timedelta(days=30), today=TODAY, recount=True) == (
        TODAY + timedelta(days=30)
    )
    assert refill_anchor(previous=None, projected=TODAY - timedelta(days=5), today=TODAY, recount=True) == TODAY
    assert refill_anchor(previous=opened, projected=None, today=TODAY, recount=False) is None


@given(
    units=st.integers(0, 1000),
    per_dose=st.integers(1, 10),
    n=st.integers(1, 90),
    interval=st.integers(1, 10),
)
def test_due_exactly_when_fewer_than_n_days_are_left(units: int, per_dose: int, n: int, interval: int) -> None:
    """For any stock and daily-type schedule: due on a day iff the days left that day are fewer than N (or no
    whole dose is left), and one more dose on hand never makes it due earlier (from today on)."""
    recurrence = Recurrence("day", interval=interval)
    result = supply(units=units, units_per_dose=per_dose, doses=doses(recurrence), warning_days=n, today=TODAY)
    assert result.refill_due_on is not None
    if result.last_dose_on is None:
        assert result.refill_due_on == TODAY
    else:
        for day in (result.refill_due_on - timedelta(days=1), result.refill_due_on):
            assert (days_left(result.last_dose_on, day) < n) == (day >= result.refill_due_on)
    more = supply(units=units + per_dose, units_per_dose=per_dose, doses=doses(recurrence), warning_days=n, today=TODAY)
    assert more.refill_due_on is not None
    assert max(more.refill_due_on, TODAY) >= max(result.refill_due_on, TODAY)
