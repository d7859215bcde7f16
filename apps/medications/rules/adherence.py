"""Adherence as proportion of days covered (DOMAIN P1, P2).

Pure domain logic: no Django, no ORM, no I/O.

PDC over a window = days covered / days in the window on which the schedule was active (DOMAIN P1). Each dose covers
a number of days from the local date it was actually taken (DOMAIN P2: counted by when it was taken, not when it
synced). Following the PQA method, coverage does not overlap: a dose taken while earlier coverage still runs starts
covering the day after it ends, so an early dose's days carry over. Doses taken before the window still cover days
inside it; only days inside the window and the schedule's active period are counted.

Tracking (issue 11): a schedule entered today with a start date two years ago has no record of those two years, so
its PDC counts from the day tracking began (``tracking_start``: the day it was entered, or the first dose recorded on
it if earlier, never before its start). Fewer than ``MIN_TRACKED_DAYS`` tracked days give no PDC at all.

A day still running counts once a dose covers it (``judged_through``): until then the window ends yesterday.

Pauses (design): the days a schedule was paused are left out of the window exactly like days outside its active
period, neither covered nor uncovered, and are not tracked days (``MIN_TRACKED_DAYS`` counts days it was meant to be
taken). A pause is ``(paused_on, resumed_on)`` in her local dates: paused from the day it was paused, active again
from the day it was resumed (``resumed_on`` None: still paused), so a pause and a resume on the same day leave out
nothing. Coverage still runs in calendar time (a dose's drug acts whether or not the schedule is paused): a dose
taken before or during a pause covers the days after it ends, with the same PQA carry-over as before.

Never rounded onto a threshold: the PDC is truncated to 3 decimals and shown truncated to one decimal of a percent
(``pdc_percent``), so 0.7996 is 0.799 and "79.9%", never 0.800 or "80.0%", and ``adherent`` always agrees with both.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

__all__ = [
    "ADHERENT_PDC",
    "COVERAGE_DAYS",
    "MIN_TRACKED_DAYS",
    "PDC_PLACES",
    "AdherenceResult",
    "CoverDays",
    "Pause",
    "active_days_in_window",
    "calendar_month_cover_days",
    "cover_days_for",
    "is_measured",
    "judged_through",
    "paused_days",
    "pdc_percent",
    "proportion_of_days_covered",
    "tracked_days",
    "tracking_start",
]

ADHERENT_PDC = Decimal("0.80")  # DOMAIN P1: adherent when PDC >= 80% (PQA, CMS)
PDC_PLACES = Decimal("0.001")  # reported to 3 decimals, truncated (ROUND_DOWN): never rounded up onto 0.80
# DOMAIN P1 (design, issue 11): a PDC needs at least two weeks of tracking (two weekly doses, 14 daily ones); before
# that the schedule has no PDC ("not measured yet") and raises no low-adherence alert. Replaces the low-adherence
# job's former 28 days in the window, so the figure shown and the alert judge the same schedules.
MIN_TRACKED_DAYS = 14

# DOMAIN P2 (design): days one dose covers, by recurrence. A monthly dose covers its calendar month: see
# ``calendar_month_cover_days``. "six_monthly_injection" is denosumab 60 mg and zoledronic acid 4 mg.
COVERAGE_DAYS: dict[str, int] = {
    "day": 1,  # DOMAIN P2
    "week": 7,  # DOMAIN P2
    "six_monthly_injection": 183,  # DOMAIN P2
}
MONTH = "month"

CoverDays = int | Callable[[date], int]
# (paused_on, resumed_on): paused from paused_on, active again from resumed_on (None: still paused). Local dates.
Pause = tuple[date, date | None]


@dataclass(frozen=True)
class AdherenceResult:
    pdc: Decimal  # 0..1, 3 decimals, truncated
    days_covered: int
    days_in_window: int
    doses_expected: int
    doses_taken: int
    adherent: bool  # DOMAIN P1: pdc >= ADHERENT_PDC


def calendar_month_cover_days(start: date) -> int:
    """Days from ``start`` to the same day next month (clamped to its end): Jan 15 -> 31, Feb 15 -> 28 or 29."""
    index = start.year * 12 + start.month  # the month after start, zero-based month
    year, month0 = divmod(index, 12)
    next_month = date(year, month0 + 1, min(start.day, calendar.monthrange(year, month0 + 1)[1]))
    return (next_month - start).days


def cover_days_for(kind: str) -> CoverDays:
    """``COVERAGE_DAYS[kind]``, or the calendar-month rule for ``"month"`` (DOMAIN P2)."""
    if kind == MONTH:
        return calendar_month_cover_days
    try:
        return COVERAGE_DAYS[kind]
    except KeyError:
        raise ValueError(
            f"unknown coverage kind {kind!r}; expected one of {', '.join([*COVERAGE_DAYS, MONTH])}"
        ) from None


def paused_days(pauses: Iterable[Pause], *, first: date, last: date) -> frozenset[date]:
    """The days of [first, last] on which one of these pauses held: [paused_on, resumed_on - 1] each."""
    days: set[date] = set()
    for paused_on, resumed_on in pauses:
        start = max(first, paused_on)
        end = last if resumed_on is None else min(last, resumed_on - timedelta(days=1))
        days.update(start + timedelta(days=i) for i in range((end - start).days + 1))
    return frozenset(days)


def active_days_in_window(
    *,
    window_first: date,
    window_last: date,
    active_first: date,
    active_last: date | None,
    pauses: Iterable[Pause] = (),
) -> int:
    """Days of [window_first, window_last] on which the schedule was active ([active_first, active_last], less the
    days it was paused)."""
    first, last = _active_window(window_first, window_last, active_first, active_last)
    if last < first:
        return 0
    return (last - first).days + 1 - len(paused_days(pauses, first=first, last=last))


def proportion_of_days_covered(
    *,
    taken_on: Sequence[date],
    cover_days: CoverDays,
    window_first: date,
    window_last: date,
    active_first: date,
    active_last: date | None,
    doses_expected: int,
    pauses: Iterable[Pause] = (),
) -> AdherenceResult:
    """PDC of one schedule over [window_first, window_last] (both inclusive).

    ``taken_on``: local dates the doses were taken (any order; doses outside the window count for coverage only).
    ``cover_days``: days each dose covers, or a function of the first day a dose covers (after carry-over) that
    returns them, e.g. ``calendar_month_cover_days``.
    ``active_last``: None while the schedule is still running.
    ``pauses``: its pauses; their days are neither covered nor in the window. Coverage runs through them.

    Raises ValueError when the window is reversed, ``doses_expected`` is negative, a dose would cover less than one
    day, or the schedule was not active on any (unpaused) day of the window: a PDC is then undefined, and calling such a
    schedule adherent (or not) would be made up. Use ``active_days_in_window`` to skip those schedules.
    """
    if window_first > window_last:
        raise ValueError(f"window_first {window_first} is after window_last {window_last}")
    if doses_expected < 0:
        raise ValueError("doses_expected must not be negative")
    first, last = _active_window(window_first, window_last, active_first, active_last)
    paused = paused_days(pauses, first=first, last=last) if last >= first else frozenset()
    days_in_window = (last - first).days + 1 - len(paused)
    if days_in_window <= 0:
        raise ValueError("the schedule was not active on any day of the window: PDC is undefined")

    covered = 0
    next_free: date | None = None  # first day not covered by the doses so far
    for taken in sorted(taken_on):
        start = taken if next_free is None or taken >= next_free else next_free  # PQA: shift overlapping coverage
        if start > last:
            break
        length = cover_days(start) if callable(cover_days) else cover_days
        if length < 1:
            raise ValueError(f"a dose must cover at least one day, got {length}")
        end = start + timedelta(days=length - 1)
        lo, hi = max(start, first), min(end, last)
        if hi >= lo:  # a paused day is not a covered day: it is not in the window at all
            covered += (hi - lo).days + 1 - sum(1 for day in paused if lo <= day <= hi)
        next_free = end + timedelta(days=1)

    pdc = (Decimal(covered) / Decimal(days_in_window)).quantize(PDC_PLACES, rounding=ROUND_DOWN)
    return AdherenceResult(
        pdc=pdc,
        days_covered=covered,
        days_in_window=days_in_window,
        doses_expected=doses_expected,
        # Over the same days as doses_expected: a dose taken on a paused day still covers what follows, but is not
        # counted against the doses expected on her active days.
        doses_taken=sum(1 for d in taken_on if window_first <= d <= window_last and d not in paused),
        # Truncation keeps this equal to covered / days >= 0.80, so the flag never contradicts the number shown.
        adherent=pdc >= ADHERENT_PDC,
    )


def tracking_start(*, starts_on: date, entered_on: date, first_record_on: date | None) -> date:
    """The first day this schedule's adherence is known: the day it was entered (local date), or the first dose
    recorded on it (taken or skipped) if earlier, but never before the schedule starts."""
    began = entered_on if first_record_on is None else min(entered_on, first_record_on)
    return max(starts_on, began)


def tracked_days(*, tracked_since: date, today: date, active_last: date | None, pauses: Iterable[Pause] = ()) -> int:
    """Days from ``tracked_since`` to today (or the schedule's last active day, if earlier), both inclusive, less
    the days it was paused (design: a paused day is not a day she was meant to take it)."""
    last = today if active_last is None else min(today, active_last)
    if last < tracked_since:
        return 0
    return (last - tracked_since).days + 1 - len(paused_days(pauses, first=tracked_since, last=last))


def judged_through(*, today: date, today_covered: bool) -> date:
    """The last day a PDC judges: today once a dose covers it, else yesterday. A day still running is not a missed
    day (her dose may come this evening), so the figure does not dip every midnight until the morning's dose; the
    window keeps its length, ending a day earlier."""
    return today if today_covered else today - timedelta(days=1)


def is_measured(tracked: int) -> bool:
    """DOMAIN P1 (design): a PDC exists once the schedule has MIN_TRACKED_DAYS tracked days."""
    return tracked >= MIN_TRACKED_DAYS


def pdc_percent(pdc: Decimal | None) -> str:
    """``0.799`` -> ``"79.9%"``: one decimal, truncated, so a figure below a threshold never reads as on it."""
    if pdc is None:
        return "not measured yet"
    tenths = (pdc * 1000).to_integral_value(rounding=ROUND_DOWN)  # truncated tenths of a percent
    return f"{tenths / 10:.1f}%"


def _active_window(
    window_first: date, window_last: date, active_first: date, active_last: date | None
) -> tuple[date, date]:
    last = window_last if active_last is None else min(window_last, active_last)
    return max(window_first, active_first), last
