"""What deciding and pushing a batch need to know of its patients."""

from dataclasses import dataclass
from datetime import time
from typing import Any

from apps.profiles.models import PatientProfile
from apps.reminders.models import ReminderPreference
from backend.lookups import among


@dataclass(frozen=True)
class PatientContext:
    """Read per batch in one statement from the batch's profiles by primary key, their patients and preferences
    joined by theirs (joining the patient into the claimed rows instead made PostgreSQL hash the whole patient
    table each batch)."""

    user_id: Any
    timezone: str
    quiet_start: time | None
    quiet_end: time | None
    detail_opt_in: bool
    reminders_enabled: bool
    nudges_enabled: bool
    nudge_after_minutes: int


def patient_contexts(patient_ids: set[Any]) -> dict[Any, PatientContext]:
    """Each patient's context; a patient with no profile has none (her reminders fail, not the batch). A patient
    who never changed her reminder preferences has the defaults."""
    default = ReminderPreference()
    rows = PatientProfile.objects.filter(among("pk", patient_ids)).values_list(
        *("pk", "patient__user_id", "timezone", "quiet_hours_start", "quiet_hours_end", "push_detail_opt_in"),
        *("patient__reminder_prefs__reminders_enabled", "patient__reminder_prefs__nudges_enabled"),
        "patient__reminder_prefs__nudge_after_minutes",
    )
    return {
        pk: PatientContext(
            user_id,
            zone,
            start,
            end,
            opt_in,
            default.reminders_enabled if enabled is None else enabled,
            default.nudges_enabled if nudges is None else nudges,
            default.nudge_after_minutes if after is None else after,
        )
        for pk, user_id, zone, start, end, opt_in, enabled, nudges, after in rows
    }
