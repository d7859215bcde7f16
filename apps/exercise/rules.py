"""Exercise targets and weekly progress (DOMAIN E1-E3). Pure: no Django, no I/O.

A week is an ISO week (Monday to Sunday) of the patient's local calendar (DESIGN "Time"): sessions are counted by
the local date they were performed on, so a session at 23:30 on Sunday evening counts in that week wherever she is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

KINDS: Final = ("weight_bearing", "resistance", "balance")
MAX_SESSION_MINUTES: Final = 300  # design: five hours in one session is the most a phone entry can mean
MAX_STREAK_WEEKS: Final = 52  # a streak is counted over at most a year of weeks (one read, never per week)


@dataclass(frozen=True)
class Target:
    rule: str  # DOMAIN rule id
    default: int
    minimum: int
    maximum: int
    unit: str


# The DOMAIN defaults, adjustable per plan by a coordinator within these bounds (0: not part of her plan).
TARGETS: Final[dict[str, Target]] = {
    "weight_bearing_minutes": Target("E1", 150, 0, 1000, "minutes per week"),  # DOMAIN E1
    "resistance_days": Target("E2", 2, 0, 7, "days per week"),  # DOMAIN E2
    "balance_sessions": Target("E3", 2, 0, 14, "sessions per week"),  # DOMAIN E3
}


@dataclass(frozen=True)
class Targets:
    weight_bearing_minutes: int = TARGETS["weight_bearing_minutes"].default
    resistance_days: int = TARGETS["resistance_days"].default
    balance_sessions: int = TARGETS["balance_sessions"].default


def target_errors(values: dict[str, object]) -> dict[str, list[str]]:
    """Field errors for target values keyed by target name; {} when all are valid."""
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        target = TARGETS[name]
        if not isinstance(value, int) or isinstance(value, bool):
            errors[name] = ["Must be a whole number."]
        elif not target.minimum <= value <= target.maximum:
            errors[name] = [f"Must be {target.minimum} to {target.maximum} {target.unit} (DOMAIN {target.rule})."]
    return errors


# --- ISO weeks ---------------------------------------------------------------------------------------------------
MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2999
_WEEK_RE = re.compile(r"([0-9]{4})-W([0-9]{2})")  # ASCII digits only (\d also matches other scripts)
WEEK_PATTERN: Final = r"^[0-9]{4}-W[0-9]{2}$"  # the same, as the schema declares it


class WeekError(ValueError):
    """A week string that is not a real ISO week; the message says why."""


def weeks_in_year(year: int) -> int:
    """52 or 53: 28 December always falls in the year's last ISO week."""
    return date(year, 12, 28).isocalendar().week


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self) -> date:
        return date.fromisocalendar(self.year, self.week, 7)

    def contains(self, day: date) -> bool:
        return self.monday <= day <= self.sunday

    def minus(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday - timedelta(weeks=weeks))

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"


def parse_iso_week(text: str) -> IsoWeek:
    """ "2026-W05" -> IsoWeek(2026, 5). Week 53 only in the years that have one (2026 does: it starts on a Thursday)."""
    match = _WEEK_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise WeekError("Use the ISO week form YYYY-Www, e.g. 2026-W05.")
    year, week = int(match[1]), int(match[2])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise WeekError(f"The year must be {MIN_YEAR} to {MAX_YEAR}.")
    last = weeks_in_year(year)
    if not 1 <= week <= last:
        raise WeekError(f"{year} has weeks 01 to {last}.")
    return IsoWeek(year, week)


# --- progress ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionFact:
    """Exercise done on one local date: one session, or `sessions` of them added up (a database aggregate)."""

    kind: str
    performed_on: date
    minutes: int
    sessions: int = 1


@dataclass(frozen=True)
class WeeklyProgress:
    week: IsoWeek
    targets: Targets
    weight_bearing_minutes: int
    resistance_days: int
    balance_sessions: int
    sessions_logged: int = 0  # sessions of any kind recorded in the week: 0 means "not logged", not "none done"

    @property
    def logged(self) -> bool:
        return self.sessions_logged > 0

    @property
    def weight_bearing_met(self) -> bool:
        return self.weight_bearing_minutes >= self.targets.weight_bearing_minutes

    @property
    def resistance_met(self) -> bool:
        return self.resistance_days >= self.targets.resistance_days

    @property
    def balance_met(self) -> bool:
        return self.balance_sessions >= self.targets.balance_sessions

    @property
    def on_target(self) -> bool:
        return self.weight_bearing_met and self.resistance_met and self.balance_met


def weekly_progress(sessions: Iterable[SessionFact], *, week: IsoWeek, targets: Targets) -> WeeklyProgress:
    """E1 minutes of weight-bearing activity, E2 distinct local days with resistance training, E3 balance sessions;
    sessions outside `week` are ignored."""
    first, last = week.monday, week.sunday
    minutes = 0
    resistance_days: set[date] = set()
    balance = 0
    logged = 0
    for fact in sessions:
        if not first <= fact.performed_on <= last or fact.sessions <= 0:
            continue
        logged += fact.sessions
        if fact.kind == "weight_bearing":
            minutes += fact.minutes
        elif fact.kind == "resistance":
            resistance_days.add(fact.performed_on)
        elif fact.kind == "balance":
            balance += fact.sessions
    return WeeklyProgress(week, targets, minutes, len(resistance_days), balance, logged)


def streak_weeks(
    sessions: Iterable[SessionFact],
    *,
    week: IsoWeek,
    today: date,
    targets: Targets,
    max_weeks: int = MAX_STREAK_WEEKS,
) -> int:
    """Consecutive weeks on target ending with `week`, at most `max_weeks`. The current week is not over: when it
    is not on target yet, the streak is the one that ended last week (not broken yet)."""
    by_week: dict[IsoWeek, list[SessionFact]] = {}
    for fact in sessions:
        by_week.setdefault(IsoWeek.of(fact.performed_on), []).append(fact)

    def on_target(w: IsoWeek) -> bool:
        return weekly_progress(by_week.get(w, ()), week=w, targets=targets).on_target

    current = IsoWeek.of(today)
    if week > current:
        return 0
    start = week
    if week == current and not on_target(week):
        start = week.minus(1)
        max_weeks -= 1
    count = 0
    while count < max_weeks and on_target(start.minus(count)):
        count += 1
    return count


def streak_window(week: IsoWeek, max_weeks: int = MAX_STREAK_WEEKS) -> tuple[date, date]:
    """The local dates whose sessions `weekly_progress` and `streak_weeks` for `week` may read: one fetch."""
    return week.minus(max_weeks - 1).monday, week.sunday
