"""Recurrence rules: table tests, DST behaviour (DESIGN "Time") and property tests against a brute-force oracle.

Pure: no database. The oracle below restates the rules differently from the implementation (day-by-day scanning
and per-date predicates instead of anchor arithmetic), so agreeing with it means something.
"""

import calendar
import time as perf
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from backend.recurrence import (
    MAX_INTERVAL,
    Occurrence,
    Recurrence,
    Unit,
    local_dates,
    next_occurrence,
    occurrences,
    occurrences_between_dates,
    recurrence_errors,
    to_instant,
)

LONDON = ZoneInfo("Europe/London")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
AUCKLAND = ZoneInfo("Pacific/Auckland")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
SEVEN = time(7, 0)

MONDAY, WEDNESDAY = 0, 2


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    """A recurrence with the rest of what a medication schedule holds, so tests can call the API tersely."""

    r: Recurrence
    zone: ZoneInfo
    local_time: time
    starts_on: date
    ends_on: date | None

    def window(self, start: datetime, end: datetime) -> list[Occurrence]:
        return occurrences(
            self.r,
            local_time=self.local_time,
            zone=self.zone,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            window_start=start,
            window_end=end,
        )

    def next(self, after: datetime) -> Occurrence | None:
        return next_occurrence(
            self.r,
            local_time=self.local_time,
            zone=self.zone,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            after=after,
        )

    def between(self, first: date, last: date) -> list[Occurrence]:
        return occurrences_between_dates(
            self.r,
            local_time=self.local_time,
            zone=self.zone,
            starts_on=self.starts_on,
            ends_on=self.ends_on,
            first=first,
            last=last,
        )

    def allows(self, d: date) -> bool:
        """The rules restated per date (no anchors): is `d` one of the schedule's dates?"""
        r = self.r
        if d < self.starts_on or (self.ends_on is not None and d > self.ends_on):
            return False
        days = (d - self.starts_on).days
        if r.unit == "day":
            return days % r.interval == 0
        if r.unit == "week":
            # The first matching weekday is < 7 days after the start, so whole weeks elapsed count the intervals.
            return d.weekday() == r.weekday and (days // 7) % r.interval == 0
        assert r.month_day is not None
        months = (d.year - self.starts_on.year) * 12 + d.month - self.starts_on.month
        return d.day == min(r.month_day, calendar.monthrange(d.year, d.month)[1]) and months % r.interval == 0


def dates_of(r: Recurrence, starts_on: date, first: date, last: date, ends_on: date | None = None) -> list[date]:
    return list(local_dates(r, starts_on=starts_on, ends_on=ends_on, first=first, last=last))


def daily_between(zone: ZoneInfo, local_time: time, first: date, last: date) -> list[Occurrence]:
    return occurrences_between_dates(
        Recurrence("day"), local_time=local_time, zone=zone, starts_on=first, ends_on=None, first=first, last=last
    )


# --- Table tests: which local dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "starts_on", "ends_on", "first", "last", "expected"),
    [
        pytest.param(
            Recurrence("day"),
            date(2026, 1, 30),
            None,
            date(2026, 1, 1),
            date(2026, 2, 2),
            [date(2026, 1, 30), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2)],
            id="daily",
        ),
        pytest.param(
            Recurrence("day", interval=3),
            date(2026, 1, 1),
            None,
            date(2026, 1, 5),
            date(2026, 1, 14),
            [date(2026, 1, 7), date(2026, 1, 10), date(2026, 1, 13)],
            id="every-3-days-anchored-on-start",
        ),
        pytest.param(  # DOMAIN M1: alendronate weekly on the patient's chosen weekday
            Recurrence("week", weekday=MONDAY),
            date(2026, 3, 4),  # a Wednesday
            None,
            date(2026, 3, 1),
            date(2026, 3, 24),
            [date(2026, 3, 9), date(2026, 3, 16), date(2026, 3, 23)],
            id="weekly-monday-starting-midweek",
        ),
        pytest.param(
            Recurrence("week", weekday=MONDAY),
            date(2026, 3, 9),  # a Monday: the start day itself counts
            None,
            date(2026, 3, 1),
            date(2026, 3, 16),
            [date(2026, 3, 9), date(2026, 3, 16)],
            id="weekly-starting-on-the-weekday",
        ),
        pytest.param(
            Recurrence("week", interval=2, weekday=WEDNESDAY),
            date(2026, 3, 5),  # a Thursday: first Wednesday is 11 March
            None,
            date(2026, 3, 1),
            date(2026, 4, 30),
            [date(2026, 3, 11), date(2026, 3, 25), date(2026, 4, 8), date(2026, 4, 22)],
            id="every-2-weeks",
        ),
        pytest.param(
            Recurrence("week", interval=2, weekday=WEDNESDAY),
            date(2026, 3, 5),
            None,
            date(2026, 4, 1),  # window opens on an off week
            date(2026, 4, 30),
            [date(2026, 4, 8), date(2026, 4, 22)],
            id="every-2-weeks-window-on-off-week",
        ),
        pytest.param(
            Recurrence("month", month_day=31),
            date(2028, 1, 1),
            None,
            date(2028, 1, 1),
            date(2028, 4, 30),
            [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31), date(2028, 4, 30)],
            id="monthly-31st-leap-year",
        ),
        pytest.param(
            Recurrence("month", month_day=31),
            date(2027, 1, 1),
            None,
            date(2027, 2, 1),
            date(2027, 2, 28),
            [date(2027, 2, 28)],
            id="monthly-31st-common-february",
        ),
        pytest.param(  # DOMAIN M4: denosumab every 6 months
            Recurrence("month", interval=6, month_day=31),
            date(2025, 8, 31),
            None,
            date(2025, 1, 1),
            date(2026, 12, 31),
            [date(2025, 8, 31), date(2026, 2, 28), date(2026, 8, 31)],
            id="every-6-months-from-aug-31",
        ),
        pytest.param(  # DOMAIN M3: ibandronate monthly; day 5 of the start month is already past
            Recurrence("month", month_day=5),
            date(2026, 1, 20),
            None,
            date(2026, 1, 1),
            date(2026, 3, 31),
            [date(2026, 2, 5), date(2026, 3, 5)],
            id="monthly-day-before-start-skips-to-next-month",
        ),
        pytest.param(
            Recurrence("month", interval=3, month_day=5),
            date(2026, 1, 20),
            None,
            date(2026, 1, 1),
            date(2026, 12, 31),
            [date(2026, 4, 5), date(2026, 7, 5), date(2026, 10, 5)],
            id="quarterly-skipped-first-month-keeps-anchor",
        ),
        pytest.param(
            Recurrence("month", month_day=31),
            date(2026, 4, 30),  # clamped 30 April is the start day itself
            None,
            date(2026, 4, 1),
            date(2026, 5, 31),
            [date(2026, 4, 30), date(2026, 5, 31)],
            id="monthly-clamped-date-equal-to-start",
        ),
        pytest.param(
            Recurrence("week", weekday=MONDAY),
            date(2026, 3, 4),
            date(2026, 3, 16),  # ends on a dose day: included
            date(2026, 1, 1),
            date(2026, 12, 31),
            [date(2026, 3, 9), date(2026, 3, 16)],
            id="ends-on-inclusive",
        ),
        pytest.param(
            Recurrence("day", interval=2),
            date(2026, 3, 1),
            date(2026, 3, 6),
            date(2026, 1, 1),
            date(2026, 12, 31),
            [date(2026, 3, 1), date(2026, 3, 3), date(2026, 3, 5)],
            id="ends-on-between-doses",
        ),
        pytest.param(
            Recurrence("day"),
            date(2026, 3, 10),
            date(2026, 3, 9),
            date(2026, 1, 1),
            date(2026, 12, 31),
            [],
            id="ends-before-it-starts",
        ),
        pytest.param(
            Recurrence("day"),
            date(2026, 3, 10),
            None,
            date(2026, 3, 1),
            date(2026, 3, 11),
            [date(2026, 3, 10), date(2026, 3, 11)],
            id="starts-on-respected",
        ),
        pytest.param(
            Recurrence("day"),
            date(2026, 3, 10),
            None,
            date(2026, 3, 12),
            date(2026, 3, 11),
            [],
            id="empty-window",
        ),
    ],
)
def test_local_dates_table(
    r: Recurrence, starts_on: date, ends_on: date | None, first: date, last: date, expected: list[date]
) -> None:
    assert recurrence_errors(r) == {}
    assert dates_of(r, starts_on, first, last, ends_on) == expected


def test_local_dates_jumps_straight_to_the_window() -> None:
    # Walking a daily schedule from year 1 to year 9999 would take seconds; jumping is instant.
    started = perf.perf_counter()
    got = dates_of(Recurrence("day"), date(1, 1, 1), date(9999, 12, 29), date.max)
    weekly = dates_of(Recurrence("week", weekday=MONDAY), date(1, 1, 1), date(9999, 12, 1), date.max)
    monthly = dates_of(Recurrence("month", month_day=31), date(1, 1, 1), date(9999, 11, 1), date.max)
    assert perf.perf_counter() - started < 0.1
    assert got == [date(9999, 12, 29), date(9999, 12, 30), date(9999, 12, 31)]
    assert weekly == [date(9999, 12, 6), date(9999, 12, 13), date(9999, 12, 20), date(9999, 12, 27)]
    assert monthly == [date(9999, 11, 30), date(9999, 12, 31)]


def test_local_dates_near_the_end_of_time_do_not_overflow() -> None:
    assert dates_of(Recurrence("week", weekday=MONDAY), date(9999, 12, 31), date(9999, 1, 1), date.max) == []
    assert dates_of(Recurrence("day", interval=366), date(9999, 1, 1), date(9999, 1, 1), date.max) == [date(9999, 1, 1)]
    after = utc(9999, 12, 31, 12)
    assert (
        next_occurrence(
            Recurrence("day"), local_time=SEVEN, zone=LONDON, starts_on=date(2026, 1, 1), ends_on=None, after=after
        )
        is None
    )


def test_next_occurrence_finds_a_far_dose_and_stops_after_ends_on() -> None:
    r = Recurrence("month", interval=24, month_day=15)
    forever = Schedule(r, LONDON, SEVEN, date(2026, 1, 1), None)
    nxt = forever.next(utc(2026, 2, 1))
    assert nxt is not None
    assert nxt.local_date == date(2028, 1, 15)
    assert Schedule(r, LONDON, SEVEN, date(2026, 1, 1), date(2027, 12, 31)).next(utc(2026, 2, 1)) is None


# --- DST (DESIGN "Time") ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "first", "expected_utc"),
    [
        pytest.param(
            LONDON,
            date(2026, 3, 28),
            [utc(2026, 3, 28, 7), utc(2026, 3, 29, 6), utc(2026, 3, 30, 6)],
            id="london-spring",
        ),
        pytest.param(
            LONDON,
            date(2026, 10, 24),
            [utc(2026, 10, 24, 6), utc(2026, 10, 25, 7), utc(2026, 10, 26, 7)],
            id="london-autumn",
        ),
        pytest.param(
            LOS_ANGELES,
            date(2026, 3, 7),
            [utc(2026, 3, 7, 15), utc(2026, 3, 8, 14), utc(2026, 3, 9, 14)],
            id="los-angeles-spring",
        ),
        pytest.param(
            LOS_ANGELES,
            date(2026, 10, 31),
            [utc(2026, 10, 31, 14), utc(2026, 11, 1, 15), utc(2026, 11, 2, 15)],
            id="los-angeles-autumn",
        ),
        pytest.param(  # southern hemisphere: DST ends in April (NZDT +13 -> NZST +12)
            AUCKLAND,
            date(2026, 4, 4),
            [utc(2026, 4, 3, 18), utc(2026, 4, 4, 19), utc(2026, 4, 5, 19)],
            id="auckland-dst-ends",
        ),
        pytest.param(  # ... and starts in September (NZST +12 -> NZDT +13)
            AUCKLAND,
            date(2026, 9, 26),
            [utc(2026, 9, 25, 19), utc(2026, 9, 26, 18), utc(2026, 9, 27, 18)],
            id="auckland-dst-starts",
        ),
    ],
)
def test_seven_oclock_stays_seven_oclock_across_dst(zone: ZoneInfo, first: date, expected_utc: list[datetime]) -> None:
    got = daily_between(zone, SEVEN, first, first + timedelta(days=2))
    assert [o.due_at for o in got] == expected_utc
    assert all(o.local_time == SEVEN for o in got)
    assert all(o.due_at.utcoffset() == timedelta(0) for o in got)
    assert [o.local_date for o in got] == [first + timedelta(days=n) for n in range(3)]


def test_london_winter_and_summer_instants_via_window() -> None:
    r = Recurrence("week", weekday=MONDAY)  # DOMAIN M1
    got = occurrences(
        r,
        local_time=SEVEN,
        zone=LONDON,
        starts_on=date(2026, 3, 1),
        ends_on=None,
        window_start=utc(2026, 3, 20),
        window_end=utc(2026, 4, 7),
    )
    assert [o.due_at for o in got] == [utc(2026, 3, 23, 7), utc(2026, 3, 30, 6), utc(2026, 4, 6, 6)]


@pytest.mark.parametrize(
    ("zone", "day", "scheduled", "actual_local", "expected_utc"),
    [
        pytest.param(
            LOS_ANGELES, date(2026, 3, 8), time(2, 30), time(3, 30), utc(2026, 3, 8, 10, 30), id="los-angeles-gap"
        ),
        pytest.param(  # London's gap is 01:00-02:00 (02:30 exists there)
            LONDON, date(2026, 3, 29), time(1, 30), time(2, 30), utc(2026, 3, 29, 1, 30), id="london-gap"
        ),
        pytest.param(
            LONDON, date(2026, 3, 29), time(2, 30), time(2, 30), utc(2026, 3, 29, 1, 30), id="london-0230-exists"
        ),
        pytest.param(  # Auckland's gap is 02:00-03:00 NZST -> NZDT
            AUCKLAND, date(2026, 9, 27), time(2, 0), time(3, 0), utc(2026, 9, 26, 14), id="auckland-gap"
        ),
        pytest.param(  # 30-minute DST: 02:00 -> 02:30 (+10:30 -> +11)
            LORD_HOWE, date(2026, 10, 4), time(2, 15), time(2, 45), utc(2026, 10, 3, 15, 45), id="lord-howe-gap"
        ),
        pytest.param(  # ambiguous: first instant, still PDT
            LOS_ANGELES, date(2026, 11, 1), time(1, 30), time(1, 30), utc(2026, 11, 1, 8, 30), id="los-angeles-fold"
        ),
        pytest.param(LONDON, date(2026, 10, 25), time(1, 30), time(1, 30), utc(2026, 10, 25, 0, 30), id="london-fold"),
        pytest.param(  # Lord Howe falls back 02:00 -> 01:30: 01:45 happens twice
            LORD_HOWE, date(2026, 4, 5), time(1, 45), time(1, 45), utc(2026, 4, 4, 14, 45), id="lord-howe-fold"
        ),
    ],
)
def test_gap_moves_forward_and_fold_takes_first_instant(
    zone: ZoneInfo, day: date, scheduled: time, actual_local: time, expected_utc: datetime
) -> None:
    assert to_instant(day, scheduled, zone) == expected_utc
    assert to_instant(day, scheduled.replace(fold=1), zone) == expected_utc  # fold on the schedule is ignored
    [o] = daily_between(zone, scheduled, day, day)
    assert o == Occurrence(local_date=day, local_time=actual_local, due_at=expected_utc)
    # Only the transition day is affected: the day after is at the scheduled time.
    [after] = daily_between(zone, scheduled, day + timedelta(days=1), day + timedelta(days=1))
    assert after.local_time == scheduled


def test_ambiguous_time_does_not_fire_twice() -> None:
    got = occurrences(
        Recurrence("day"),
        local_time=time(1, 30),
        zone=LOS_ANGELES,
        starts_on=date(2026, 10, 1),
        ends_on=None,
        window_start=utc(2026, 11, 1, 0),
        window_end=utc(2026, 11, 2, 0),
    )
    assert [o.due_at for o in got] == [utc(2026, 11, 1, 8, 30)]


# --- Validation -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "fields"),
    [
        pytest.param(Recurrence(cast(Unit, "year")), {"unit"}, id="unknown-unit"),
        pytest.param(Recurrence("day", interval=0), {"interval"}, id="interval-zero"),
        pytest.param(Recurrence("day", interval=-2), {"interval"}, id="interval-negative"),
        pytest.param(Recurrence("day", interval=cast(int, True)), {"interval"}, id="interval-bool"),
        pytest.param(Recurrence("day", interval=cast(int, 1.5)), {"interval"}, id="interval-float"),
        pytest.param(Recurrence("day", interval=MAX_INTERVAL["day"] + 1), {"interval"}, id="interval-over-day-max"),
        pytest.param(
            Recurrence("week", interval=MAX_INTERVAL["week"] + 1, weekday=0), {"interval"}, id="interval-over-week-max"
        ),
        pytest.param(
            Recurrence("month", interval=MAX_INTERVAL["month"] + 1, month_day=1),
            {"interval"},
            id="interval-over-month-max",
        ),
        pytest.param(Recurrence("week"), {"weekday"}, id="weekly-without-weekday"),
        pytest.param(Recurrence("week", weekday=7), {"weekday"}, id="weekday-too-big"),
        pytest.param(Recurrence("week", weekday=-1), {"weekday"}, id="weekday-negative"),
        pytest.param(Recurrence("day", weekday=0), {"weekday"}, id="weekday-on-daily"),
        pytest.param(Recurrence("month", weekday=0, month_day=1), {"weekday"}, id="weekday-on-monthly"),
        pytest.param(Recurrence("month"), {"month_day"}, id="monthly-without-month-day"),
        pytest.param(Recurrence("month", month_day=0), {"month_day"}, id="month-day-zero"),
        pytest.param(Recurrence("month", month_day=32), {"month_day"}, id="month-day-too-big"),
        pytest.param(Recurrence("week", weekday=0, month_day=1), {"month_day"}, id="month-day-on-weekly"),
        pytest.param(Recurrence("day", month_day=1), {"month_day"}, id="month-day-on-daily"),
        pytest.param(
            Recurrence("week", interval=0, weekday=9, month_day=3),
            {"interval", "weekday", "month_day"},
            id="several-at-once",
        ),
        pytest.param(
            Recurrence(cast(Unit, "fortnight"), interval=0, weekday=1), {"unit", "interval", "weekday"}, id="bad-unit"
        ),
    ],
)
def test_recurrence_errors_name_the_field(r: Recurrence, fields: set[str]) -> None:
    errors = recurrence_errors(r)
    assert set(errors) == fields
    assert all(messages and all(isinstance(m, str) and m for m in messages) for messages in errors.values())
    # Invalid input is refused, never looped over.
    with pytest.raises(ValueError, match="invalid recurrence"):
        local_dates(r, starts_on=date(2026, 1, 1), ends_on=None, first=date(2026, 1, 1), last=date(2026, 12, 31))
    with pytest.raises(ValueError, match="invalid recurrence"):
        next_occurrence(
            r, local_time=SEVEN, zone=LONDON, starts_on=date(2026, 1, 1), ends_on=None, after=utc(2026, 1, 1)
        )


@pytest.mark.parametrize(
    "r",
    [
        Recurrence("day"),
        Recurrence("day", interval=MAX_INTERVAL["day"]),
        Recurrence("week", weekday=0),
        Recurrence("week", interval=MAX_INTERVAL["week"], weekday=6),
        Recurrence("month", month_day=1),
        Recurrence("month", interval=MAX_INTERVAL["month"], month_day=31),
    ],
)
def test_valid_recurrences_have_no_errors(r: Recurrence) -> None:
    assert recurrence_errors(r) == {}


def test_naive_datetimes_and_aware_local_times_are_refused() -> None:
    r = Recurrence("day")
    with pytest.raises(ValueError, match="window_start"):
        occurrences(
            r,
            local_time=SEVEN,
            zone=LONDON,
            starts_on=date(2026, 1, 1),
            ends_on=None,
            window_start=datetime(2026, 1, 1),
            window_end=utc(2026, 2, 1),
        )
    with pytest.raises(ValueError, match="after"):
        next_occurrence(
            r, local_time=SEVEN, zone=LONDON, starts_on=date(2026, 1, 1), ends_on=None, after=datetime(2026, 1, 1)
        )
    with pytest.raises(ValueError, match="naive"):
        to_instant(date(2026, 1, 1), time(7, tzinfo=UTC), LONDON)


# --- Properties ------------------------------------------------------------------------------------------------------

ZONE_NAMES = [
    "UTC",
    "Europe/London",
    "America/Los_Angeles",
    "America/St_Johns",  # -03:30/-02:30
    "America/Santiago",  # transitions at midnight
    "Pacific/Auckland",  # southern hemisphere
    "Australia/Lord_Howe",  # 30-minute DST
    "Australia/Adelaide",  # +09:30/+10:30
    "Asia/Kathmandu",  # +05:45, no DST
    "Africa/Casablanca",  # DST suspended each Ramadan
    "Asia/Tokyo",
]
FIRST_YEAR, LAST_YEAR = 2020, 2035


@cache
def transition_days(name: str) -> tuple[date, ...]:
    """Days on which the zone's offset changes, 2020-2035: property inputs are steered towards them."""
    zone = ZoneInfo(name)
    days: list[date] = []
    d = date(FIRST_YEAR - 1, 12, 1)
    previous = datetime.combine(d, time(12), tzinfo=zone).utcoffset()
    while d < date(LAST_YEAR + 1, 1, 31):
        d += timedelta(days=1)
        offset = datetime.combine(d, time(12), tzinfo=zone).utcoffset()
        if offset != previous:
            days.append(d)
        previous = offset
    return tuple(days)


@st.composite
def recurrences(draw: st.DrawFn) -> Recurrence:
    unit = draw(st.sampled_from(["day", "week", "month"]))
    interval = draw(st.one_of(st.integers(1, 4), st.integers(1, MAX_INTERVAL[unit])))
    if unit == "day":
        return Recurrence("day", interval=interval)
    if unit == "week":
        return Recurrence("week", interval=interval, weekday=draw(st.integers(0, 6)))
    return Recurrence("month", interval=interval, month_day=draw(st.one_of(st.integers(1, 31), st.integers(28, 31))))


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    name = draw(st.sampled_from(ZONE_NAMES))
    near_transition = st.builds(
        lambda day, back: day - timedelta(days=back),
        st.sampled_from(transition_days(name) or (date(2026, 1, 1),)),
        st.integers(0, 40),
    )
    starts_on = draw(st.one_of(st.dates(date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)), near_transition))
    ends_on = draw(st.one_of(st.none(), st.integers(0, 900).map(lambda n: starts_on + timedelta(days=n))))
    hour = draw(st.one_of(st.integers(0, 23), st.sampled_from([0, 1, 2, 3, 23])))  # transitions happen at night
    local_time = time(hour, draw(st.integers(0, 59)))
    return Schedule(draw(recurrences()), ZoneInfo(name), local_time, starts_on, ends_on)


def wall_candidates(d: date, t: time, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants at which the wall clock reads d t (none in a gap, two in a fold)."""
    naive = datetime.combine(d, t)
    found = set()
    for fold in (0, 1):
        instant = naive.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == naive:
            found.add(instant)
    return sorted(found)


def check_occurrence(o: Occurrence, t: time, zone: ZoneInfo) -> None:
    assert o.due_at.utcoffset() == timedelta(0)
    assert o.due_at.astimezone(zone).replace(tzinfo=None) == datetime.combine(o.local_date, o.local_time)
    candidates = wall_candidates(o.local_date, t, zone)
    event({0: "gap", 1: "plain", 2: "fold"}[len(candidates)])  # --hypothesis-show-statistics shows the mix
    if candidates:
        # The scheduled time exists: it is kept, at its first instant when ambiguous.
        assert o.local_time == t
        assert o.due_at == candidates[0]
    else:
        # A gap day: moved forward by exactly the gap (the offset change across it).
        naive = datetime.combine(o.local_date, t)
        before = naive.replace(tzinfo=zone, fold=0).utcoffset()
        after = naive.replace(tzinfo=zone, fold=1).utcoffset()
        assert before is not None and after is not None and after > before
        assert datetime.combine(o.local_date, o.local_time) == naive + (after - before)


def check_ascending(got: list[Occurrence]) -> None:
    instants = [o.due_at for o in got]
    assert all(a < b for a, b in pairwise(instants))
    assert all(a.local_date < b.local_date for a, b in pairwise(got))


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY
@given(
    schedule=schedules(),
    first_offset=st.one_of(st.integers(-60, 60), st.integers(-60, 1500)),
    span=st.integers(0, 500),
)
def test_dates_and_times_match_the_oracle(schedule: Schedule, first_offset: int, span: int) -> None:
    first = schedule.starts_on + timedelta(days=first_offset)
    last = first + timedelta(days=span)
    got = schedule.between(first, last)
    expected = [first + timedelta(days=n) for n in range(span + 1)]
    assert [o.local_date for o in got] == [d for d in expected if schedule.allows(d)]
    check_ascending(got)
    for o in got:
        check_occurrence(o, schedule.local_time, schedule.zone)


@PROPERTY
@given(
    name=st.sampled_from([n for n in ZONE_NAMES if transition_days(n)]),
    data=st.data(),
    hour=st.sampled_from([0, 1, 2, 3, 23]),
    minute=st.integers(0, 59),
)
def test_transition_days_keep_or_shift_the_time(name: str, data: st.DataObject, hour: int, minute: int) -> None:
    # Aimed at the nights where clocks change, which random dates rarely hit.
    zone = ZoneInfo(name)
    day = data.draw(st.sampled_from(transition_days(name)))
    schedule = Schedule(Recurrence("day"), zone, time(hour, minute), day - timedelta(days=3), None)
    got = schedule.between(day - timedelta(days=1), day + timedelta(days=1))
    assert [o.local_date for o in got] == [day + timedelta(days=n) for n in (-1, 0, 1)]
    check_ascending(got)
    for o in got:
        check_occurrence(o, schedule.local_time, zone)


@st.composite
def windows(draw: st.DrawFn, starts_on: date) -> tuple[datetime, datetime]:
    # Aware in an arbitrary zone, not only UTC: comparisons must be by instant.
    tz = ZoneInfo(draw(st.sampled_from(ZONE_NAMES)))
    base = datetime.combine(starts_on, time(0), tzinfo=UTC)
    start = base + timedelta(minutes=draw(st.integers(-3 * 1440, 900 * 1440)))
    end = start + timedelta(minutes=draw(st.integers(0, 400 * 1440)))
    return start.astimezone(tz), end.astimezone(tz)


@PROPERTY
@given(schedule=schedules(), data=st.data())
def test_windowed_results_are_slices_of_a_longer_window(schedule: Schedule, data: st.DataObject) -> None:
    outer_start, outer_end = data.draw(windows(schedule.starts_on))
    inner_start = outer_start + (outer_end - outer_start) * data.draw(st.floats(0, 1))
    inner_end = inner_start + (outer_end - inner_start) * data.draw(st.floats(0, 1))

    outer = schedule.window(outer_start, outer_end)
    inner = schedule.window(inner_start, inner_end)
    assert inner == [o for o in outer if inner_start <= o.due_at < inner_end]
    check_ascending(outer)
    for o in outer:
        assert outer_start <= o.due_at < outer_end

    # The window agrees with the date-based listing around it.
    by_date = schedule.between(
        outer_start.astimezone(schedule.zone).date() - timedelta(days=2),
        outer_end.astimezone(schedule.zone).date() + timedelta(days=2),
    )
    assert outer == [o for o in by_date if outer_start <= o.due_at < outer_end]


@PROPERTY
@given(schedule=schedules(), data=st.data())
def test_next_occurrence_agrees_with_occurrences(schedule: Schedule, data: st.DataObject) -> None:
    after, horizon = data.draw(windows(schedule.starts_on))
    nxt = schedule.next(after)
    later = [o for o in schedule.window(after, horizon) if o.due_at > after]
    if later:
        assert nxt == later[0]
    elif nxt is not None:
        assert nxt.due_at >= horizon

    if nxt is None:
        # Nothing is left: the schedule ends, and no date the oracle allows up to its end is due after `after`.
        assert schedule.ends_on is not None
        d = after.astimezone(schedule.zone).date() - timedelta(days=1)
        while d <= schedule.ends_on:
            if schedule.allows(d):
                assert to_instant(d, schedule.local_time, schedule.zone) <= after
            d += timedelta(days=1)
    else:
        assert nxt.due_at > after
        assert [o for o in schedule.window(after, nxt.due_at) if o.due_at > after] == []
        # Asking again from just before it finds the same one.
        assert schedule.next(nxt.due_at - timedelta(microseconds=1)) == nxt
