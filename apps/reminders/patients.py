"""What deciding and pushing a batch need to know of its patients."""

from dataclasses import dataclass
from datetime import time
from typing import Any

from apps.accounts.models import Patient
from apps.profiles.models import PatientProfile
from apps.reminders.models import ReminderPreference
from backend.lookups import among


@dataclass(frozen=True)
class PatientContext:
    """Read per batch by primary key, three index lookups (joining the patient into the claimed rows made
    PostgreSQL hash the whole patient table each batch)."""

    user_id: Any
    timezone: str
    quiet_start: time | None
    quiet_end: time | None
    detail_opt_in: bool
    reminders_enabled: bool
    nudges_enabled: bool
    nudge_after_minutes: int


def patient_contexts(patient_ids: set[Any]) -> dict[Any, PatientContext]:
    """Each patient's context; a patient with no profile has none (her reminders fail, not the batch)."""
    users = dict(Patient.objects.filter(among("pk", patient_ids)).values_list("pk", "user_id"))
    default = ReminderPreference()
    prefs: dict[Any, tuple[bool, bool, int]] = {
        pk: (enabled, nudges, after)
        for pk, enabled, nudges, after in ReminderPreference.objects.filter(among("pk", patient_ids)).values_list(
            "pk", "reminders_enabled", "nudges_enabled", "nudge_after_minutes"
        )
    }
    fallback = (default.reminders_enabled, default.nudges_enabled, default.nudge_after_minutes)
    profiles = PatientProfile.objects.filter(among("pk", patient_ids)).values_list(
        "pk", "timezone", "quiet_hours_start", "quiet_hours_end", "push_detail_opt_in"
    )
    return {
        pk: PatientContext(users.get(pk), zone, start, end, opt_in, *prefs.get(pk, fallback))
        for pk, zone, start, end, opt_in in profiles
    }
