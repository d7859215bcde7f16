"""The denosumab off-ramp (DOMAIN D7): when denosumab stops, or is planned to stop, the follow-on anti-resorptive
that must take over, its target date, and whether one is scheduled in time.

Pure domain logic: no Django, no ORM, no I/O; every date is the patient's local date. The judgement of cover is the
D5 `stopped` check's own (``follow_on_cover`` with ``protected_until``), so what the off-ramp shows and whether the
`stopped` alert fires never disagree: a stopped off-ramp that is not covered is exactly a raised `stopped` alert.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from apps.medications.rules.injection import (
    DENOSUMAB_BANDS,
    FollowOn,
    InjectionBands,
    follow_on_cover,
    is_stopped,
    protected_until,
)
from backend.dates import add_months

__all__ = [
    "FOLLOW_ON_AFTER_MONTHS",
    "OFF_RAMP_DRUGS",
    "OFF_RAMP_RULE",
    "STOPPED_ALERT_RULE",
    "FollowOnSchedule",
    "OffRamp",
    "OffRampStatus",
    "has_off_ramp",
    "off_ramp",
]

OFF_RAMP_RULE = "D7"  # DOMAIN D7: stopping denosumab needs a follow-on anti-resorptive
STOPPED_ALERT_RULE = "D5"  # DOMAIN D5 `stopped`: the one alert that fires when the off-ramp is not covered
# DOMAIN D7 (ECTS 2021; OC 2023 Rec 5.4): the follow-on starts about 6 months after the last injection, the day the
# next injection would have been due (D1), so the stop check's due date and the off-ramp's target are one date.
FOLLOW_ON_AFTER_MONTHS = 6
# DOMAIN D7 is about denosumab (its rebound, D3); a stopped zoledronic acid has only the D5/Z1 `stopped` check.
OFF_RAMP_DRUGS = frozenset({DENOSUMAB_BANDS.drug})


class OffRampStatus(StrEnum):
    PLANNED = "planned"  # the stop is ahead (ends_on) and a follow-on starts in time
    NEEDS_FOLLOW_ON = "needs_follow_on"  # no follow-on, or it starts too late; still within the protected window
    COVERED = "covered"  # stopped, and a follow-on protects her (active, or starting in time)
    LAPSED = "lapsed"  # stopped, uncovered, and the stopped denosumab's protection has ended


@dataclass(frozen=True)
class FollowOnSchedule(FollowOn):
    """A candidate follow-on: another anti-resorptive schedule of hers, active by status."""

    schedule_id: object
    medication_code: str
    medication_name: str


@dataclass(frozen=True)
class OffRamp:
    stopped: bool  # False: a planned stop (ends_on still ahead)
    stops_on: date | None  # planned: the first day without denosumab (day after ends_on); stopped by hand: None
    last_given: date | None  # the last injection recorded as given
    # The last injection before the stop: the last given, or for a planned stop the last still due on or before
    # ends_on (given on time); None when none was given and none is due before the stop.
    last_injection_on: date | None
    target_on: date  # DOMAIN D7: the follow-on is due by this date (last injection + 6 months)
    protected_until: date  # DOMAIN D5: the last day the stopped denosumab protects her (target + on-time window)
    follow_on: FollowOnSchedule | None  # the one that covers her, else the earliest that starts too late
    follow_ons: tuple[FollowOnSchedule, ...]  # every candidate not over by the day judged, earliest first
    in_time: bool | None  # None: no follow-on at all
    status: OffRampStatus
    rule: str = OFF_RAMP_RULE
    alert_rule: str = STOPPED_ALERT_RULE

    @property
    def follow_on_found(self) -> bool:
        return self.follow_on is not None

    @property
    def needs_action(self) -> bool:
        return self.status in (OffRampStatus.NEEDS_FOLLOW_ON, OffRampStatus.LAPSED)


def has_off_ramp(*, drug: str, status_stopped: bool, ends_on: date | None) -> bool:
    """A denosumab schedule that is stopped, or has a planned end: the team is coming off it."""
    return drug in OFF_RAMP_DRUGS and (status_stopped or ends_on is not None)


def target_date(*, last_given: date | None, first_due: date) -> date:
    """DOMAIN D7: the last injection given + 6 calendar months (Aug 31 -> Feb 28/29). With no injection recorded the
    schedule's first due date (its start): the date the stop check counts from too (D1 before any injection), and
    on the safe side for an injection given before the schedule was entered."""
    return first_due if last_given is None else add_months(last_given, FOLLOW_ON_AFTER_MONTHS)


def _live(follow_ons: list[FollowOnSchedule], *, judged_on: date) -> tuple[FollowOnSchedule, ...]:
    """The follow-ons not over by ``judged_on`` (ended ones protect nothing), earliest first."""
    live = [f for f in follow_ons if f.ends_on is None or f.ends_on >= judged_on]
    return tuple(sorted(live, key=lambda f: (f.starts_on, f.medication_code, str(f.schedule_id))))


def _pick(live: tuple[FollowOnSchedule, ...], *, judged_on: date, deadline: date) -> FollowOnSchedule | None:
    """The follow-on to show: the earliest that covers her (counted as follow_on_cover counts: started, or starting
    by ``deadline``), else the earliest that starts too late."""
    covering = [f for f in live if f.starts_on <= judged_on or f.starts_on <= deadline]
    first = covering or live
    return first[0] if first else None


def off_ramp(
    *,
    today: date,
    last_given: date | None,
    first_due: date,
    status_stopped: bool,
    ends_on: date | None,
    follow_ons: Iterable[FollowOnSchedule],
    bands: InjectionBands = DENOSUMAB_BANDS,
) -> OffRamp | None:
    """The off-ramp of one denosumab schedule on her local ``today``; None when it is neither stopped nor ending.

    Stopped (by hand, or its course ended: ``is_stopped``): judged today exactly as the D5 `stopped` check judges it.
    Planned (``ends_on`` still ahead): judged as that check will judge it on the first day after ``ends_on``, so
    `planned` means the alert will not fire then, and `needs_follow_on` that it will unless a follow-on is added.
    """
    if not has_off_ramp(drug=bands.drug, status_stopped=status_stopped, ends_on=ends_on):
        return None
    stopped = is_stopped(status_stopped=status_stopped, ends_on=ends_on, today=today)
    stops_on = None if status_stopped or ends_on is None else ends_on + timedelta(days=1)
    last_injection, target = last_given, target_date(last_given=last_given, first_due=first_due)
    if not stopped and ends_on is not None:
        # A planned stop: the injections due up to its last day are still given, on time (D1), or an overdue one
        # today, as soon as possible (D2); the last one before the stop is the last of those on or before ends_on,
        # and the target follows it.
        planned_injection = max(target, today)
        while planned_injection <= ends_on:
            last_injection = planned_injection
            target = planned_injection = target_date(last_given=planned_injection, first_due=first_due)
    deadline = protected_until(next_due=target, bands=bands)
    judged_on = today if stopped or stops_on is None else max(today, stops_on)
    candidates = list(follow_ons)
    cover = follow_on_cover(today=judged_on, follow_ons=candidates, protected_until=deadline)
    live = _live(candidates, judged_on=judged_on)
    follow_on = _pick(live, judged_on=judged_on, deadline=deadline)
    in_time = None if follow_on is None else follow_on.starts_on <= deadline
    if not stopped:
        status = OffRampStatus.PLANNED if cover.covered else OffRampStatus.NEEDS_FOLLOW_ON
    elif cover.covered:
        status = OffRampStatus.COVERED
    else:
        status = OffRampStatus.LAPSED if today > deadline else OffRampStatus.NEEDS_FOLLOW_ON
    return OffRamp(
        stopped=stopped,
        stops_on=stops_on,
        last_given=last_given,
        last_injection_on=last_injection,
        target_on=target,
        protected_until=deadline,
        follow_on=follow_on,
        follow_ons=live,
        in_time=in_time,
        status=status,
    )
