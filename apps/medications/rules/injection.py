"""Clinic-given injections and infusions (denosumab, zoledronic acid): due dates, DOMAIN D5 states, alerts, notices.

Pure domain logic: no Django, no ORM, no I/O. Every date is the patient's local date; callers convert instants first.
The delay bands are design (DOMAIN D5 for denosumab, Z1 for zoledronic acid), so each drug's live in one
``InjectionBands`` table that callers may replace.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from backend.dates import add_months

__all__ = [
    "BANDS_BY_DRUG",
    "DENOSUMAB_BANDS",
    "ZOLEDRONIC_ACID_BANDS",
    "AlertSpec",
    "FollowOn",
    "FollowOnCover",
    "InjectionBands",
    "InjectionState",
    "InjectionStatus",
    "PatientNotice",
    "Severity",
    "add_months",
    "alert_for",
    "follow_on_cover",
    "injection_status",
    "is_stopped",
    "is_transition",
    "next_change_date",
    "next_due_date",
    "notice_for",
    "protected_until",
]


class InjectionState(StrEnum):
    SCHEDULED = "scheduled"
    DUE_SOON = "due_soon"
    DUE = "due"
    LATE = "late"
    CRITICAL = "critical"
    STOPPED = "stopped"


class Severity(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


@dataclass(frozen=True)
class InjectionBands:
    """One drug's schedule and delay bands, in days relative to the due date."""

    drug: str
    interval_months: int
    due_soon_days: int
    on_time_days: int
    late_until_days: int
    due_alert_from_day: int
    # DOMAIN D3 is denosumab-specific: only then do late/critical/stopped messages speak of rebound fractures.
    rebound_risk: bool = False
    dose_noun: str = "injection"
    rule: str = "D5"  # the rulebook entry stating these bands; its alerts carry it

    def __post_init__(self) -> None:
        if not self.drug:
            raise ValueError("drug is required: it prefixes every alert and notice kind")
        if self.interval_months < 1:
            raise ValueError("interval_months must be at least 1")
        if self.due_soon_days < 0 or self.on_time_days < 0:
            raise ValueError("due_soon_days and on_time_days must not be negative")
        if self.late_until_days < self.on_time_days:
            raise ValueError("late_until_days must not be shorter than on_time_days")
        # The due alert belongs to the `due` band; anywhere else it would never fire.
        if not 0 <= self.due_alert_from_day <= self.on_time_days:
            raise ValueError("due_alert_from_day must lie within 0..on_time_days")


DENOSUMAB_BANDS = InjectionBands(
    drug="denosumab",
    interval_months=6,  # DOMAIN D1, M4
    due_soon_days=28,  # DOMAIN D5
    on_time_days=28,  # DOMAIN D4, D5
    late_until_days=112,  # DOMAIN D4, D5
    due_alert_from_day=7,  # DOMAIN D5
    rebound_risk=True,  # DOMAIN D3
)

# DOMAIN Z1 (design, not guidance; modelled on D5): zoledronic acid has no published delay bands and no rebound
# effect (D3 is denosumab-specific), so a delay is less urgent and the bands are wider. The reasoning is stated in
# docs/clinical-rules.md (Z1); this table is the one place the numbers live. Confirm with the clinical lead.
ZOLEDRONIC_ACID_BANDS = InjectionBands(
    drug="zoledronic_acid",
    interval_months=6,  # DOMAIN M5 (AI setting)
    due_soon_days=28,  # DOMAIN Z1: same booking lead time as denosumab (D5)
    on_time_days=56,  # DOMAIN Z1: `due` to day 56, twice denosumab's window (no rebound)
    late_until_days=182,  # DOMAIN Z1: `late` days 57-182; `critical` from 183, a whole ~183-day interval missed (P2)
    due_alert_from_day=14,  # DOMAIN Z1: coordinator alert from day 14, later than denosumab's day 7
    dose_noun="infusion",
    rule="Z1",
)

BANDS_BY_DRUG: dict[str, InjectionBands] = {bands.drug: bands for bands in (DENOSUMAB_BANDS, ZOLEDRONIC_ACID_BANDS)}

# Written out rather than %B so the text does not depend on the process locale.
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def next_due_date(*, last_given: date | None, first_due: date, bands: InjectionBands) -> date:
    """From the injection actually given, however late (DOMAIN D1, D2); before any, the schedule's first date."""
    if last_given is None:
        return first_due
    return add_months(last_given, bands.interval_months)


@dataclass(frozen=True)
class InjectionStatus:
    state: InjectionState
    next_due: date
    days_overdue: int
    days_until_due: int


def _state_at(offset: int, bands: InjectionBands) -> InjectionState:
    """State ``offset`` days after the due date (negative: before it), per the DOMAIN D5 table."""
    if offset < -bands.due_soon_days:
        return InjectionState.SCHEDULED
    if offset < 0:
        return InjectionState.DUE_SOON
    if offset <= bands.on_time_days:
        return InjectionState.DUE
    if offset <= bands.late_until_days:
        return InjectionState.LATE
    return InjectionState.CRITICAL


def is_stopped(*, status_stopped: bool, ends_on: date | None, today: date) -> bool:
    """Stopped by hand, or its planned course has ended (the day after ``ends_on``): either way no injection follows,
    so the D5 `stopped` check applies instead of the delay bands."""
    return status_stopped or (ends_on is not None and today > ends_on)


def injection_status(*, next_due: date, today: date, stopped: bool, bands: InjectionBands) -> InjectionStatus:
    offset = (today - next_due).days
    # A stopped schedule has no due date that matters any more: its own alert replaces the delay bands (DOMAIN D5).
    state = InjectionState.STOPPED if stopped else _state_at(offset, bands)
    return InjectionStatus(state=state, next_due=next_due, days_overdue=max(0, offset), days_until_due=max(0, -offset))


def next_change_date(
    *, next_due: date, today: date, stopped: bool, bands: InjectionBands, ends_on: date | None = None
) -> date | None:
    """First local date after ``today`` whose state, or alert kind/severity, differs from today's; None if never.

    Alert and notice texts count days and so change daily; only the state and the alert's kind and severity count.
    A schedule whose course ends (``ends_on``) turns `stopped` the day after.
    """
    if stopped:
        return None
    offset = (today - next_due).days
    # Each is a real change given the band validation: due_soon starts, due, due alert, late, critical (DOMAIN D5).
    boundaries = (-bands.due_soon_days, 0, bands.due_alert_from_day, bands.on_time_days + 1, bands.late_until_days + 1)
    upcoming = [next_due + timedelta(days=boundary) for boundary in boundaries if boundary > offset]
    if ends_on is not None and ends_on >= today:
        upcoming.append(ends_on + timedelta(days=1))
    return min(upcoming, default=None)


@dataclass(frozen=True)
class FollowOn:
    """Another anti-resorptive schedule of the patient, active by status, with its planned dates."""

    starts_on: date
    ends_on: date | None


def protected_until(*, next_due: date, bands: InjectionBands) -> date:
    """The last local date a stopped injectable still protects her: its next dose would still have been on time
    (DOMAIN D4/D5 ``on_time_days``). A follow-on starting by then bridges the stop (D7). The one definition: the D5
    `stopped` alert, the pharmacist's finding and the off-ramp (rules.off_ramp) all read it."""
    return next_due + timedelta(days=bands.on_time_days)


@dataclass(frozen=True)
class FollowOnCover:
    covered: bool
    # The first later local date on which the answer can change without any write (a follow-on ends or starts).
    recheck_on: date | None


def follow_on_cover(*, today: date, follow_ons: Iterable[FollowOn], protected_until: date) -> FollowOnCover:
    """Is a stopped injectable's patient covered by a follow-on anti-resorptive (DOMAIN D5 `stopped`, D7)?

    Covered while a follow-on is active on her local ``today`` (started, not ended), or is planned to start no later
    than ``protected_until``: the stopped drug still protects her until its next dose would have been given on time
    (D7: the follow-on starts about 6 months after the last denosumab). A follow-on that has ended, or starts only
    after that, leaves her unprotected.
    """
    covered = False
    changes: list[date] = []
    for follow_on in follow_ons:
        if follow_on.ends_on is not None and follow_on.ends_on < today:
            continue  # already over: it protects nothing any more
        if follow_on.starts_on <= today or follow_on.starts_on <= protected_until:
            covered = True
            if follow_on.ends_on is not None:
                changes.append(follow_on.ends_on + timedelta(days=1))
        else:
            changes.append(follow_on.starts_on)  # starts too late to bridge, but covers her from then on
    return FollowOnCover(covered=covered, recheck_on=min(changes, default=None))


@dataclass(frozen=True)
class AlertSpec:
    kind: str
    severity: Severity
    message: str
    rule: str


def _format_date(d: date) -> str:
    return f"{d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


def _drug_name(bands: InjectionBands) -> str:
    name = bands.drug.replace("_", " ")
    return name[:1].upper() + name[1:]


def alert_for(status: InjectionStatus, bands: InjectionBands) -> AlertSpec | None:
    """The coordinator alert for this status (DOMAIN D5); None for states that only remind the patient."""
    state = status.state
    if state in (InjectionState.SCHEDULED, InjectionState.DUE_SOON):
        return None
    if state == InjectionState.DUE and status.days_overdue < bands.due_alert_from_day:
        return None

    drug, noun = _drug_name(bands), bands.dose_noun
    due = _format_date(status.next_due)
    overdue = f"{drug} {noun} was due on {due} and is {_days(status.days_overdue)} overdue."

    if state == InjectionState.DUE:
        book_by = _format_date(status.next_due + timedelta(days=bands.on_time_days))
        message = f"{overdue} Book it by {book_by} to stay within the on-time window."
        return AlertSpec(kind=f"{bands.drug}_due", severity=Severity.NORMAL, message=message, rule=bands.rule)

    if state == InjectionState.LATE:
        if bands.rebound_risk:
            message = (
                f"{overdue} Rebound risk: bone turnover rises within months of a missed dose and vertebral fractures, "
                f"often multiple, can follow. Give the {noun} as soon as possible and ask a pharmacist to review a "
                "bridging oral bisphosphonate."
            )
        else:
            message = f"{overdue} Book the {noun} as soon as possible."
        return AlertSpec(kind=f"{bands.drug}_late", severity=Severity.HIGH, message=message, rule=bands.rule)

    if state == InjectionState.CRITICAL:
        if bands.rebound_risk:
            message = (
                f"{overdue} Long delay (more than {bands.late_until_days} days), the band with the highest vertebral "
                f"fracture risk. Give the {noun} as soon as possible, arrange a fracture assessment and ask a "
                "pharmacist to review a bridging oral bisphosphonate."
            )
        else:
            message = (
                f"{overdue} Long delay (more than {bands.late_until_days} days): bone protection has lapsed. "
                f"Book the {noun} as soon as possible and arrange a fracture assessment."
            )
        return AlertSpec(kind=f"{bands.drug}_critical", severity=Severity.URGENT, message=message, rule=bands.rule)

    # STOPPED: callers pass stopped only when no follow-on anti-resorptive is on record (DOMAIN D5).
    pending = f"next {noun} due {due}"
    if status.days_overdue:
        pending += f", {_days(status.days_overdue)} overdue"
    if bands.rebound_risk:
        # DOMAIN D7, the off-ramp: the follow-on is due by the next due date and in time until protected_until.
        last_day = protected_until(next_due=status.next_due, bands=bands)
        if status.days_overdue > bands.on_time_days:
            when = f"as soon as possible: the stopped {noun}s' protection ended on {_format_date(last_day)}"
        else:
            when = f"by {due}, at the latest {_format_date(last_day)}"  # DOMAIN D7 (the rule id: its own field)
        message = (
            f"{drug} stopped with no active follow-on anti-resorptive ({pending}). Stopping {drug.lower()} loses "
            "its effect within months and raises the risk of multiple vertebral fractures: it needs a follow-on "
            f"bisphosphonate (ECTS 2017; Osteoporosis Canada 2023), usually zoledronic acid, starting {when}. "
            "Ask a pharmacist to review."
        )
    else:
        message = (
            f"{drug} stopped with no active follow-on anti-resorptive ({pending}). Bone loss from the aromatase "
            "inhibitor continues unprotected: confirm the bone-protection plan with the prescriber."
        )
    return AlertSpec(kind=f"{bands.drug}_stopped", severity=Severity.HIGH, message=message, rule=bands.rule)


@dataclass(frozen=True)
class PatientNotice:
    kind: str
    title: str
    body: str


def notice_for(status: InjectionStatus, bands: InjectionBands, *, drug_label: str) -> PatientNotice | None:
    """What the patient sees in each DOMAIN D5 state but ``scheduled``: plain words, one clear action."""
    state = status.state
    if state == InjectionState.SCHEDULED:
        return None
    noun, due = bands.dose_noun, _format_date(status.next_due)
    yours = f"Your {drug_label} {noun}"
    kind = f"{bands.drug}_{state.value}"

    if state == InjectionState.DUE_SOON:
        body = f"{yours} is due on {due}. Please call your clinic to book it for that day."
        return PatientNotice(kind=kind, title=f"Time to book your {drug_label} {noun}", body=body)

    if state == InjectionState.DUE:
        when = f"is due today, {due}" if status.days_overdue == 0 else f"was due on {due}"
        body = (
            f"{yours} {when}. If it is not booked yet, please call your clinic to book it. "
            "Having it on time keeps your bones protected."
        )
        return PatientNotice(kind=kind, title=f"{yours} is due", body=body)

    if state == InjectionState.LATE:
        if bands.rebound_risk:
            why = "a delay raises the risk of spine fractures."
        else:
            why = "having it soon keeps your bones protected."
        body = f"{yours} was due on {due}. Please call your clinic to book it as soon as you can; {why}"
        return PatientNotice(kind=kind, title=f"{yours} is overdue", body=body)

    if state == InjectionState.CRITICAL:
        risk = " A long delay raises the risk of spine fractures." if bands.rebound_risk else ""
        body = (
            f"{yours} was due on {due}, several months ago. Please call your clinic today: they will arrange "
            f"the {noun} and may check your bones.{risk}"
        )
        return PatientNotice(kind=kind, title=f"{yours} is long overdue", body=body)

    # STOPPED
    if bands.rebound_risk:
        why = f"stopping {drug_label} without another medicine quickly raises the risk of spine fractures."
    else:
        why = "your bones still need protecting while you take your breast cancer tablets."
    body = (
        f"Your {drug_label} {noun}s have been stopped, so the one planned for {due} will not be given. "
        f"Please talk to your clinic about the medicine that will protect your bones next: {why}"
    )
    return PatientNotice(kind=kind, title=f"Your {drug_label} {noun}s have stopped", body=body)


def is_transition(previous: InjectionState | None, current: InjectionState) -> bool:
    """True when the state changed (a first evaluation counts): each transition raises its alert once (DOMAIN D5).

    The `due` alert starts mid-state (day ``due_alert_from_day``); callers dedupe it on ``AlertSpec.kind``.
    """
    return previous != current
