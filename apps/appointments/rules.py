"""Pure rules of appointments (no I/O): when an appointment's reminders fall, when its day has passed, and whether
she is ready for an injection (DOMAIN D8, readiness before each denosumab, from D6 and the label).

Readiness informs the nurse and never blocks her: every item says in plain words what is missing.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from types import MappingProxyType
from zoneinfo import ZoneInfo

from backend.recurrence import to_instant


@dataclass(frozen=True)
class AppointmentThresholds:
    # Reminders of an appointment (design, issue 14): 3 days and 1 day before, at 09:00 her local time (quiet hours
    # defer them like any reminder).
    reminder_days_before: tuple[int, ...]
    reminder_local_time: time
    # DOMAIN D8: a serum calcium result counts for readiness when measured at most this many days before the
    # injection's local date (design: a result a month old still describes her; older, ask for a new one).
    calcium_window_days: int
    # DOMAIN D6: hypocalcemia below this (mg/dL), the same figure as the pharmacist's check.
    serum_calcium_low_mg_dl: Decimal
    # DOMAIN D6: eGFR (or CrCl) below this needs a calcium check within `calcium_check_days` after the injection.
    severe_renal_below: Decimal
    calcium_check_days: int


APPOINTMENT_THRESHOLDS = AppointmentThresholds(
    reminder_days_before=(3, 1),  # design (issue 14)
    reminder_local_time=time(9, 0),  # design (issue 14): a sensible local hour
    calcium_window_days=30,  # DOMAIN D8 (design window)
    serum_calcium_low_mg_dl=Decimal("8.5"),  # DOMAIN D6
    severe_renal_below=Decimal("30"),  # DOMAIN D6
    calcium_check_days=14,  # DOMAIN D6
)


def reminder_instants(starts_at: datetime, zone: ZoneInfo) -> list[tuple[int, date, datetime]]:
    """(days before, local date, instant) of each reminder of an appointment starting at `starts_at`: 09:00 local
    on each day before, DST-correct (a day with no 09:00 is moved by `to_instant`)."""
    day = starts_at.astimezone(zone).date()
    t = APPOINTMENT_THRESHOLDS.reminder_local_time
    result = []
    for days in APPOINTMENT_THRESHOLDS.reminder_days_before:
        local = day - timedelta(days=days)
        result.append((days, local, to_instant(local, t, zone)))
    return result


def day_over_at(starts_at: datetime, zone: ZoneInfo) -> datetime:
    """D9: the instant her local day of the appointment ends (her next midnight), DST-correct."""
    day = starts_at.astimezone(zone).date()
    return to_instant(day + timedelta(days=1), time(0, 0), zone)


# --- readiness (DOMAIN D8) ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Lab:
    value: Decimal  # serum calcium in mg/dL; eGFR or CrCl in mL/min
    measured_on: date


@dataclass(frozen=True)
class ReadinessFacts:
    appointment_on: date  # her local date of the injection
    drug: str  # catalogue code of the schedule, e.g. "denosumab"
    serum_calcium: Lab | None  # her latest on or before the appointment date
    has_calcium_plan: bool
    has_vitamin_d_plan: bool
    egfr: Lab | None
    crcl: Lab | None
    calcium_checks_planned: Sequence[date]  # local dates of blood tests booked after the injection
    first_of_drug: bool  # no dose of this drug recorded as given before
    dental_checks: Sequence[date]  # dates of recorded dental checks


@dataclass(frozen=True)
class ReadinessItem:
    code: str
    ok: bool
    message: str


@dataclass(frozen=True)
class Readiness:
    ready: bool
    items: tuple[ReadinessItem, ...]


READINESS_CODES = MappingProxyType(
    {
        "serum_calcium": "Serum calcium on record and not low",
        "calcium_vitamin_d": "Calcium and vitamin D plans active",
        "renal_function": "Kidney function known (and a calcium check after the injection when low)",
        "dental_check": "Dental check before a first denosumab",
    }
)


def _num(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _calcium_item(facts: ReadinessFacts) -> ReadinessItem:
    t = APPOINTMENT_THRESHOLDS
    lab = facts.serum_calcium
    if lab is None:
        return ReadinessItem("serum_calcium", False, "No serum calcium on record: take a blood test before.")
    age = (facts.appointment_on - lab.measured_on).days
    if age > t.calcium_window_days:
        return ReadinessItem(
            "serum_calcium",
            False,
            f"The last serum calcium is from {lab.measured_on:%d %B %Y}, more than {t.calcium_window_days} days "
            "before the injection: take a new blood test.",
        )
    if lab.value < t.serum_calcium_low_mg_dl:
        return ReadinessItem(
            "serum_calcium",
            False,
            f"Serum calcium {_num(lab.value)} mg/dL on {lab.measured_on:%d %B %Y} is low (below "
            f"{_num(t.serum_calcium_low_mg_dl)}): correct it before the injection.",
        )
    return ReadinessItem("serum_calcium", True, f"Serum calcium {_num(lab.value)} mg/dL on {lab.measured_on:%d %B %Y}.")


def _supplements_item(facts: ReadinessFacts) -> ReadinessItem:
    missing = [
        name for name, has in (("calcium", facts.has_calcium_plan), ("vitamin D", facts.has_vitamin_d_plan)) if not has
    ]
    if missing:
        return ReadinessItem(
            "calcium_vitamin_d", False, f"No active {' or '.join(missing)} plan: she should take both every day."
        )
    return ReadinessItem("calcium_vitamin_d", True, "Calcium and vitamin D plans are active.")


def _renal_item(facts: ReadinessFacts) -> ReadinessItem:
    t = APPOINTMENT_THRESHOLDS
    measure = (facts.egfr, "eGFR") if facts.egfr is not None else (facts.crcl, "CrCl")
    lab, label = measure
    if lab is None:
        return ReadinessItem("renal_function", False, "No eGFR or CrCl on record: check kidney function.")
    if lab.value >= t.severe_renal_below:
        return ReadinessItem("renal_function", True, f"{label} {_num(lab.value)} on {lab.measured_on:%d %B %Y}.")
    last = facts.appointment_on + timedelta(days=t.calcium_check_days)
    planned = [d for d in facts.calcium_checks_planned if facts.appointment_on < d <= last]
    if planned:
        return ReadinessItem(
            "renal_function",
            True,
            f"{label} {_num(lab.value)} is below {_num(t.severe_renal_below)}; a calcium check is booked on "
            f"{min(planned):%d %B %Y}.",
        )
    return ReadinessItem(
        "renal_function",
        False,
        f"{label} {_num(lab.value)} is below {_num(t.severe_renal_below)}: book a calcium check within "
        f"{t.calcium_check_days} days after the injection (severe low calcium risk).",
    )


def _dental_item(facts: ReadinessFacts) -> ReadinessItem:
    if not facts.first_of_drug:
        return ReadinessItem("dental_check", True, "Not her first injection of this medicine.")
    before = [d for d in facts.dental_checks if d <= facts.appointment_on]
    if before:
        return ReadinessItem("dental_check", True, f"Dental check recorded on {max(before):%d %B %Y}.")
    return ReadinessItem(
        "dental_check", False, "First injection and no dental check recorded: ask for a dental exam first."
    )


def readiness(facts: ReadinessFacts) -> Readiness:
    """DOMAIN D8: the checklist before an injection. The dental check applies to a first denosumab only."""
    items = [_calcium_item(facts), _supplements_item(facts), _renal_item(facts)]
    if facts.drug == "denosumab":
        items.append(_dental_item(facts))
    return Readiness(ready=all(item.ok for item in items), items=tuple(items))
