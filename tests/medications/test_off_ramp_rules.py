"""The denosumab off-ramp rule (DOMAIN D7, with D5 `stopped`): pure function, no database."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.medications.rules.injection import (
    DENOSUMAB_BANDS,
    ZOLEDRONIC_ACID_BANDS,
    follow_on_cover,
    next_due_date,
    protected_until,
)
from apps.medications.rules.off_ramp import (
    FOLLOW_ON_AFTER_MONTHS,
    FollowOnSchedule,
    OffRampStatus,
    has_off_ramp,
    off_ramp,
    target_date,
)

S = OffRampStatus
LAST = date(2027, 1, 12)  # last injection: follow-on due by 12 Jul 2027, protected to 9 Aug 2027 (28 days)
TARGET = date(2027, 7, 12)
PROTECTED = date(2027, 8, 9)


def zol(starts_on: date, ends_on: date | None = None, code: str = "zoledronic_acid") -> FollowOnSchedule:
    return FollowOnSchedule(
        starts_on=starts_on, ends_on=ends_on, schedule_id=f"{code}-{starts_on}", medication_code=code,
        medication_name=code.replace("_", " ").capitalize(),
    )  # fmt: skip


def stopped(today: date, *follow_ons: FollowOnSchedule, last_given: date | None = LAST):
    return off_ramp(
        today=today,
        last_given=last_given,
        first_due=date(2026, 7, 12),
        status_stopped=True,
        ends_on=None,
        follow_ons=follow_ons,
    )


def test_d7_months_are_the_d1_interval_so_the_alert_and_the_off_ramp_share_one_date() -> None:
    assert FOLLOW_ON_AFTER_MONTHS == DENOSUMAB_BANDS.interval_months == 6
    for last in (date(2026, 8, 31), LAST, date(2027, 12, 31)):
        assert target_date(last_given=last, first_due=date(2020, 1, 1)) == next_due_date(
            last_given=last, first_due=date(2020, 1, 1), bands=DENOSUMAB_BANDS
        )


@pytest.mark.parametrize(
    ("last", "target"),
    [
        (date(2026, 8, 31), date(2027, 2, 28)),  # no 31 February: the month's last day
        (date(2027, 8, 31), date(2028, 2, 29)),  # a leap year
        (date(2026, 8, 28), date(2027, 2, 28)),
        (date(2026, 3, 31), date(2026, 9, 30)),
        (date(2026, 12, 15), date(2027, 6, 15)),
    ],
)
def test_target_is_six_calendar_months_after_the_last_injection(last: date, target: date) -> None:
    ramp = stopped(last + timedelta(days=30), last_given=last)
    assert ramp is not None
    assert ramp.target_on == target
    assert ramp.protected_until == target + timedelta(days=28)  # DOMAIN D4/D5: the on-time window


def test_stopped_with_no_injection_counts_from_the_schedules_first_due_date() -> None:
    ramp = stopped(date(2026, 6, 1), last_given=None)
    assert ramp is not None
    assert (ramp.last_given, ramp.last_injection_on, ramp.target_on) == (None, None, date(2026, 7, 12))
    assert ramp.status == S.NEEDS_FOLLOW_ON


@pytest.mark.parametrize(
    ("starts_on", "in_time", "status"),
    [
        (PROTECTED - timedelta(days=1), True, S.COVERED),
        (PROTECTED, True, S.COVERED),  # the last protected day: in time
        (PROTECTED + timedelta(days=1), False, S.NEEDS_FOLLOW_ON),  # the day after: too late
        (TARGET, True, S.COVERED),
    ],
)
def test_a_follow_on_is_in_time_up_to_the_last_protected_day(starts_on: date, in_time: bool, status: S) -> None:
    ramp = stopped(date(2027, 3, 1), zol(starts_on))
    assert ramp is not None
    assert ramp.follow_on is not None and ramp.follow_on.starts_on == starts_on
    assert (ramp.in_time, ramp.status, ramp.follow_on_found) == (in_time, status, True)


@pytest.mark.parametrize(
    ("today", "status"),
    [(date(2027, 3, 1), S.NEEDS_FOLLOW_ON), (PROTECTED, S.NEEDS_FOLLOW_ON), (PROTECTED + timedelta(days=1), S.LAPSED)],
)
def test_stopped_without_follow_on_needs_one_until_protection_ends_then_lapses(today: date, status: S) -> None:
    ramp = stopped(today)
    assert ramp is not None
    assert (ramp.follow_on, ramp.in_time, ramp.status, ramp.needs_action) == (None, None, status, True)


def test_a_late_follow_on_covers_her_from_its_first_day_but_was_not_in_time() -> None:
    late = zol(PROTECTED + timedelta(days=10))
    before = stopped(PROTECTED + timedelta(days=9), late)
    on = stopped(PROTECTED + timedelta(days=10), late)
    assert before is not None and on is not None
    assert (before.status, before.in_time) == (S.LAPSED, False)
    assert (on.status, on.in_time) == (S.COVERED, False)


def test_an_ended_follow_on_covers_nothing_and_a_covering_one_is_preferred() -> None:
    ended = zol(date(2027, 1, 20), ends_on=date(2027, 2, 20), code="alendronate")
    late = zol(date(2027, 9, 1))
    ramp = stopped(date(2027, 3, 1), ended, late)
    assert ramp is not None and ramp.follow_on == late and ramp.status == S.NEEDS_FOLLOW_ON
    good = zol(date(2027, 7, 20))
    ramp = stopped(date(2027, 3, 1), late, ended, good)
    assert ramp is not None and ramp.follow_on == good and ramp.status == S.COVERED
    assert ramp.follow_ons == (good, late)  # every candidate still running, earliest first; the ended one is gone


def planned(today: date, ends_on: date, *follow_ons: FollowOnSchedule, last_given: date | None = LAST):
    return off_ramp(
        today=today,
        last_given=last_given,
        first_due=date(2026, 7, 12),
        status_stopped=False,
        ends_on=ends_on,
        follow_ons=follow_ons,
    )


def test_a_planned_stop_before_the_next_due_date_targets_it() -> None:
    ramp = planned(date(2027, 3, 1), date(2027, 6, 30), zol(date(2027, 7, 12)))
    assert ramp is not None
    assert (ramp.stopped, ramp.stops_on, ramp.target_on, ramp.status) == (False, date(2027, 7, 1), TARGET, S.PLANNED)
    without = planned(date(2027, 3, 1), date(2027, 6, 30))
    assert without is not None and without.status == S.NEEDS_FOLLOW_ON


@pytest.mark.parametrize(
    ("ends_on", "last_injection", "target"),
    [
        (TARGET - timedelta(days=1), LAST, TARGET),  # ends the day before the next injection: none more given
        (TARGET, TARGET, date(2028, 1, 12)),  # the injection due on her last day is still given
        (date(2028, 3, 1), date(2028, 1, 12), date(2028, 7, 12)),  # two more injections before the stop
    ],
)
def test_a_planned_stop_counts_the_injections_still_due_before_it(ends_on: date, last_injection: date, target: date):
    ramp = planned(date(2027, 3, 1), ends_on)
    assert ramp is not None
    assert (ramp.last_given, ramp.last_injection_on, ramp.target_on) == (LAST, last_injection, target)


def test_a_planned_stop_is_judged_as_the_stop_check_will_judge_it_the_day_after_ends_on() -> None:
    ends_on = date(2027, 6, 30)
    # An alendronate course active today but over before the stop does not carry her through it.
    short = zol(date(2027, 2, 1), ends_on=date(2027, 5, 31), code="alendronate")
    ramp = planned(date(2027, 3, 1), ends_on, short)
    assert ramp is not None and ramp.status == S.NEEDS_FOLLOW_ON and ramp.follow_on is None
    # Once the end has passed, the schedule is stopped (is_stopped) and judged today.
    after = planned(ends_on + timedelta(days=1), ends_on, zol(PROTECTED))
    assert after is not None and (after.stopped, after.status) == (True, S.COVERED)


def test_only_denosumab_that_stops_or_ends_has_an_off_ramp() -> None:
    assert has_off_ramp(drug="denosumab", status_stopped=True, ends_on=None)
    assert has_off_ramp(drug="denosumab", status_stopped=False, ends_on=date(2030, 1, 1))
    assert not has_off_ramp(drug="denosumab", status_stopped=False, ends_on=None)
    assert not has_off_ramp(drug="zoledronic_acid", status_stopped=True, ends_on=None)
    kwargs = {"today": LAST, "last_given": LAST, "first_due": LAST, "status_stopped": True, "ends_on": None}
    assert off_ramp(**kwargs, follow_ons=[], bands=ZOLEDRONIC_ACID_BANDS) is None  # type: ignore[arg-type]


dates = st.dates(min_value=date(2026, 1, 1), max_value=date(2029, 12, 31))


@given(
    today=dates,
    last=dates,
    follow_ons=st.lists(st.tuples(dates, st.one_of(st.none(), dates)), max_size=3),
)
def test_a_stopped_off_ramp_is_uncovered_exactly_when_the_stop_check_alerts(
    today: date, last: date, follow_ons: list[tuple[date, date | None]]
) -> None:
    """One definition: the off-ramp's status agrees with follow_on_cover as the D5 `stopped` check calls it."""
    candidates = [zol(start, end) for start, end in follow_ons]
    ramp = stopped(today, *candidates, last_given=last)
    assert ramp is not None
    next_due = next_due_date(last_given=last, first_due=last, bands=DENOSUMAB_BANDS)
    cover = follow_on_cover(
        today=today, follow_ons=candidates, protected_until=protected_until(next_due=next_due, bands=DENOSUMAB_BANDS)
    )
    assert (ramp.status == S.COVERED) == cover.covered
    assert ramp.needs_action == (not cover.covered)
    if cover.covered:
        assert ramp.follow_on is not None


def test_a_planned_stop_counts_an_overdue_injection_as_given_today() -> None:
    """Overdue on her today (D2: as soon as possible), with the course ending after: the target counts from today."""
    today = date(2027, 9, 1)  # the injection due 12 Jul 2027 is not given yet
    ramp = planned(today, date(2028, 1, 31))
    assert ramp is not None
    assert (ramp.last_injection_on, ramp.target_on) == (today, date(2028, 3, 1))
    on_last_day = planned(today, today)  # her last day: the overdue injection is still given
    assert on_last_day is not None
    assert (on_last_day.last_injection_on, on_last_day.target_on) == (today, date(2028, 3, 1))
    ended = planned(today, today - timedelta(days=1))  # ended yesterday: stopped, counted from the missed date
    assert ended is not None and ended.stopped
    assert (ended.last_injection_on, ended.target_on) == (LAST, TARGET)
