"""Recurrence: which local dates a repeating plan falls on (a medication schedule, a supplement or exercise plan),
and when in UTC. Calendar arithmetic, no medicine.

Pure functions (no Django, no I/O). A schedule is a local wall time in the patient's IANA zone, so 07:00 stays 07:00
across DST (DESIGN "Time"): a time in a spring-forward gap moves forward by the gap; an ambiguous autumn time takes
its first instant.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Unit = Literal["day", "week", "month"]

UNITS: tuple[Unit, ...] = ("day", "week", "month")

# A year of days or weeks, two years of months: well beyond the longest catalogue schedule (every 6 months, DOMAIN
# M4/M5). Anything longer never fires in practice and is almost certainly a data-entry mistake.
MAX_INTERVAL: dict[str, int] = {"day": 366, "week": 52, "month": 24}

# Extra local dates either side of a window to consider: an occurrence normally falls on its own local date, but a gap
# can push it past midnight (Pacific/Apia skipped a whole day in 2011); two days covers that with room to spare.
_WINDOW_MARGIN_DAYS = 2


@dataclass(frozen=True)
class Recurrence:
    unit: Unit
    interval: int = 1  # every N units
    weekday: int | None = None  # 0=Monday..6; required for unit "week", forbidden otherwise
    # 1..31; required for unit "month" (31 -> last day of shorter months), forbidden otherwise
    month_day: int | None = None


@dataclass(frozen=True)
class Occurrence:
    local_date: date  # the scheduled local calendar date
    local_time: time  # the wall-clock time it actually falls at (differs from the schedule's only in a spring gap)
    due_at: datetime  # aware, UTC


def _is_int(value: object) -> bool:
    # bool is an int subclass; True as an interval is a caller bug, not 1.
    return isinstance(value, int) and not isinstance(value, bool)


def recurrence_errors(r: Recurrence) -> dict[str, list[str]]:
    """Field errors keyed "unit"/"interval"/"weekday"/"month_day"; {} when the recurrence is valid."""
    errors: dict[str, list[str]] = {}
    unit_ok = r.unit in UNITS
    if not unit_ok:
        errors["unit"] = [f"Must be one of: {', '.join(UNITS)}."]

    if not _is_int(r.interval):
        errors["interval"] = ["Must be a whole number."]
    elif r.interval < 1:
        errors["interval"] = ["Must be at least 1."]
    elif unit_ok and r.interval > MAX_INTERVAL[r.unit]:
        errors["interval"] = [f"Must be at most {MAX_INTERVAL[r.unit]} for unit {r.unit!r}."]

    if r.unit == "week":
        if r.weekday is None:
            errors["weekday"] = ["Required for a weekly recurrence."]
        elif not _is_int(r.weekday) or not 0 <= r.weekday <= 6:
            errors["weekday"] = ["Must be 0 (Monday) to 6 (Sunday)."]
    elif r.weekday is not None:
        errors["weekday"] = ["Only allowed for a weekly recurrence."]

    if r.unit == "month":
        if r.month_day is None:
            errors["month_day"] = ["Required for a monthly recurrence."]
        elif not _is_int(r.month_day) or not 1 <= r.month_day <= 31:
            errors["month_day"] = ["Must be 1 to 31."]
    elif r.month_day is not None:
        errors["month_day"] = ["Only allowed for a monthly recurrence."]
    return errors


def _check(r: Recurrence) -> None:
    errors = recurrence_errors(r)
    if errors:
        raise ValueError(f"invalid recurrence {r!r}: {errors}")


def _check_aware(name: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def to_instant(local_date: date, local_time: time, zone: ZoneInfo) -> datetime:
    """UTC instant of a local wall time.

    A time in a spring-forward gap moves forward by the gap (02:30 -> 03:30 on America/Los_Angeles's spring day;
    Europe/London's gap is 01:00-02:00, so there 01:30 -> 02:30); an ambiguous autumn time takes its first instant.
    Both are what fold=0 means to zoneinfo (PEP 495: the offset from before the transition), so the schedule's fold
    is forced to 0 rather than trusted.
    """
    if local_time.tzinfo is not None:
        raise ValueError("local_time must be a naive wall-clock time")
    wall = datetime.combine(local_date, local_time.replace(fold=0), tzinfo=zone)
    return wall.astimezone(UTC)


def _add_days(d: date, days: int) -> date:
    # Clamped rather than OverflowError: callers use this for search margins near date.min/date.max.
    try:
        return d + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def _stepped(anchor: date, step_days: int, lo: date, hi: date) -> Iterator[date]:
    # anchor + k*step for k >= 0, within [lo, hi]; jumps straight to the first k rather than walking from the anchor.
    gap = (lo - anchor).days
    k = max(0, -(-gap // step_days))
    offset = k * step_days
    if offset > (hi - anchor).days:
        return
    d = anchor + timedelta(days=offset)
    while True:
        yield d
        if (hi - d).days < step_days:
            return
        d += timedelta(days=step_days)


def _monthly(month_day: int, interval: int, starts_on: date, lo: date, hi: date) -> Iterator[date]:
    start_index = starts_on.year * 12 + starts_on.month - 1
    lo_index = lo.year * 12 + lo.month - 1
    k = max(0, -(-(lo_index - start_index) // interval))
    index = start_index + k * interval
    while True:
        year, month0 = divmod(index, 12)
        if year > hi.year:
            return
        month = month0 + 1
        d = date(year, month, min(month_day, calendar.monthrange(year, month)[1]))
        if d > hi:
            return
        # The first month's date can precede starts_on (start on the 20th, day 5), and lo's month's can precede lo.
        if d >= lo:
            yield d
        index += interval


def local_dates(r: Recurrence, *, starts_on: date, ends_on: date | None, first: date, last: date) -> Iterator[date]:
    """The schedule's dates within [first, last], ascending, never before starts_on nor after ends_on.

    day: starts_on + k*interval. week: the first date >= starts_on on `weekday`, then every `interval` weeks.
    month: every `interval` months counted from starts_on's month, on month_day clamped to the month's last day,
    skipping a clamped date before starts_on.
    """
    _check(r)  # eagerly, not on first next(): invalid input must fail where it is passed
    lo = max(first, starts_on)
    hi = last if ends_on is None else min(last, ends_on)
    if lo > hi:
        return iter(())
    if r.unit == "day":
        return _stepped(starts_on, r.interval, lo, hi)
    if r.unit == "week":
        assert r.weekday is not None  # checked above
        lead = (r.weekday - starts_on.weekday()) % 7
        if (hi - starts_on).days < lead:
            return iter(())
        return _stepped(starts_on + timedelta(days=lead), 7 * r.interval, lo, hi)
    assert r.month_day is not None  # checked above
    return _monthly(r.month_day, r.interval, starts_on, lo, hi)


def _occurrences(dates: Iterable[date], local_time: time, zone: ZoneInfo) -> Iterator[Occurrence]:
    previous: datetime | None = None
    for d in dates:
        try:
            due_at = to_instant(d, local_time, zone)
        except OverflowError:  # the end of representable time; nothing later exists either
            return
        # Only a gap of a day or more (Pacific/Apia, 2011) could map two dates to one instant; keep the first.
        if previous is not None and due_at <= previous:
            continue
        previous = due_at
        yield Occurrence(local_date=d, local_time=due_at.astimezone(zone).time(), due_at=due_at)


def occurrences(
    r: Recurrence,
    *,
    local_time: time,
    zone: ZoneInfo,
    starts_on: date,
    ends_on: date | None,
    window_start: datetime,
    window_end: datetime,
) -> list[Occurrence]:
    """Occurrences whose due_at is in [window_start, window_end) (aware datetimes), ascending."""
    _check_aware("window_start", window_start)
    _check_aware("window_end", window_end)
    if window_end <= window_start:
        _check(r)
        return []
    first = _add_days(window_start.astimezone(zone).date(), -_WINDOW_MARGIN_DAYS)
    last = _add_days(window_end.astimezone(zone).date(), _WINDOW_MARGIN_DAYS)
    dates = local_dates(r, starts_on=starts_on, ends_on=ends_on, first=first, last=last)
    return [o for o in _occurrences(dates, local_time, zone) if window_start <= o.due_at < window_end]


def next_occurrence(
    r: Recurrence,
    *,
    local_time: time,
    zone: ZoneInfo,
    starts_on: date,
    ends_on: date | None,
    after: datetime,
) -> Occurrence | None:
    """The first occurrence with due_at strictly after `after`, or None when the schedule has ended."""
    _check_aware("after", after)
    first = _add_days(after.astimezone(zone).date(), -_WINDOW_MARGIN_DAYS)
    # Lazy: a valid recurrence fires at least every two years, so this stops after a handful of dates.
    dates = local_dates(r, starts_on=starts_on, ends_on=ends_on, first=first, last=date.max)
    return next((o for o in _occurrences(dates, local_time, zone) if o.due_at > after), None)


def occurrences_between_dates(
    r: Recurrence,
    *,
    local_time: time,
    zone: ZoneInfo,
    starts_on: date,
    ends_on: date | None,
    first: date,
    last: date,
) -> list[Occurrence]:
    """Occurrences whose scheduled local date is in [first, last], ascending."""
    dates = local_dates(r, starts_on=starts_on, ends_on=ends_on, first=first, last=last)
    return list(_occurrences(dates, local_time, zone))
