"""Her reminder settings, read and written as one thing. They are kept in two places: quiet hours and the drug-name
opt-in on her profile (the profile API and the app's sync carry them too, and profiles' service owns those columns
and their checks), whether to remind and nudge in ReminderPreference (this app's). This service is the one writer of
the settings as a whole: both parts in one transaction, so a refusal or a failure in either leaves neither
changed."""

from dataclasses import dataclass
from datetime import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Patient, User
from apps.profiles.services import REMINDER_SETTINGS, patient_profile_update
from apps.reminders.models import ReminderPreference

NUDGE_AFTER_MINUTES = (15, 720)  # the least and most a patient may choose between a reminder and its nudge
PREFERENCE_FIELDS = frozenset({"reminders_enabled", "nudges_enabled", "nudge_after_minutes"})


@dataclass(frozen=True)
class ReminderSettings:
    reminders_enabled: bool
    nudges_enabled: bool
    nudge_after_minutes: int
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    push_detail_opt_in: bool


def reminder_settings(*, patient: Patient) -> ReminderSettings:
    """Her settings; the defaults while she has never changed the ReminderPreference part."""
    prefs = ReminderPreference.objects.filter(patient=patient).first() or ReminderPreference(patient=patient)
    profile = patient.profile
    return ReminderSettings(
        reminders_enabled=prefs.reminders_enabled,
        nudges_enabled=prefs.nudges_enabled,
        nudge_after_minutes=prefs.nudge_after_minutes,
        quiet_hours_start=profile.quiet_hours_start,
        quiet_hours_end=profile.quiet_hours_end,
        push_detail_opt_in=profile.push_detail_opt_in,
    )


@transaction.atomic
def reminder_settings_update(*, actor: User, patient: Patient, **changes: Any) -> ReminderSettings:
    """Change any of her reminder settings, all or nothing. The profile's part goes through profiles' service (its
    checks: quiet hours need both ends; what a patient may change), the rest is written here."""
    unknown = set(changes) - REMINDER_SETTINGS - PREFERENCE_FIELDS
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    least, most = NUDGE_AFTER_MINUTES
    if "nudge_after_minutes" in changes and not least <= (changes["nudge_after_minutes"] or 0) <= most:
        raise ValidationError({"nudge_after_minutes": [f"From {least} to {most} minutes."]})
    on_profile = {name: value for name, value in changes.items() if name in REMINDER_SETTINGS}
    if on_profile:
        patient_profile_update(actor=actor, patient=patient, **on_profile)
    preferences = {name: value for name, value in changes.items() if name in PREFERENCE_FIELDS}
    if preferences:
        ReminderPreference.objects.update_or_create(patient=patient, defaults=preferences)
    return reminder_settings(patient=patient)
