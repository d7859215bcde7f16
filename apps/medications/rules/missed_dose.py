"""DOMAIN A3, a missed dose: a weekly (or monthly) oral bisphosphonate is taken the next morning, never two on one
day, then back to the usual day; a monthly one only when the next dose is more than 7 days away. Pure: no ORM (the
reminder source picks the weekly and monthly oral bisphosphonates, `apps/medications/reminders.py`)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from backend.recurrence import Recurrence, next_occurrence, to_instant

MONTHLY_SKIP_WITHIN_DAYS = 7  # DOMAIN A3 (ibandronate): skip the catch-up when the next dose is this close
GENERIC_TEXT = "Missed yesterday's medicine? Take it this morning, never two on the same day"


def catch_up_due(
    recurrence: Recurrence,
    *,
    local_time: time,
    zone: ZoneInfo,
    starts_on: date,
    ends_on: date | None,
    missed_on: date,
) -> datetime | None:
    """When the catch-up of the dose missed on `missed_on` falls due (the next morning at the schedule's time), or
    None when A3 says to skip it (monthly, with the next scheduled dose 7 days away or less)."""
    morning = missed_on + timedelta(days=1)
    due_at = to_instant(morning, local_time, zone)
    if recurrence.unit == "month":
        upcoming = next_occurrence(
            recurrence,
            local_time=local_time,
            zone=zone,
            starts_on=starts_on,
            ends_on=ends_on,
            after=due_at - timedelta(seconds=1),
        )
        if upcoming is not None and (upcoming.local_date - morning).days <= MONTHLY_SKIP_WITHIN_DAYS:
            return None  # the next scheduled dose is close: skip rather than double up
    return due_at


def detailed_text(medication_name: str) -> str:
    return (
        f"Missed your {medication_name.lower()} yesterday? Take it this morning as usual; "
        "never two on the same day, then back to your usual day."
    )
