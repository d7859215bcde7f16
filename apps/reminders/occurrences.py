"""Reminder occurrences are built here and only here: a source's slot (a reminder, or a follow-up of a missed one)
and the dispatcher's nudge of a sent reminder whose thing is still not done."""

from apps.reminders.models import ReminderOccurrence
from backend.reminder_sources import NUDGE, ReminderSlot, stale_after


def from_slot(slot: ReminderSlot) -> ReminderOccurrence:
    return ReminderOccurrence(
        patient_id=slot.patient_id,
        source_kind=slot.source_kind,
        source_id=slot.source_id,
        kind=slot.kind,
        local_date=slot.local_date,
        local_time=slot.local_time,
        due_at=slot.due_at,
        dose_date=slot.dose_date or slot.local_date,
        expires_at=slot.expires_at or slot.due_at + stale_after(slot.source_kind, slot.stale_after_minutes),
        text_generic=slot.text_generic,
        text_detailed=slot.text_detailed,
        next_attempt_at=slot.due_at,
    )


def nudge_of(occurrence: ReminderOccurrence) -> ReminderOccurrence:
    """The follow-up of a sent reminder whose thing is still not done after the grace period: due at its check,
    for the same date and with the same expiry."""
    at = occurrence.follow_up_at or occurrence.due_at
    return from_slot(
        ReminderSlot(
            source_kind=occurrence.source_kind,
            source_id=occurrence.source_id,
            patient_id=occurrence.patient_id,
            kind=NUDGE,
            local_date=occurrence.local_date,
            local_time=occurrence.local_time,
            due_at=at,
            dose_date=occurrence.dose_date or occurrence.local_date,
            expires_at=occurrence.expires_at,
            text_generic=still_to_do(occurrence.text_generic),
            text_detailed=still_to_do(occurrence.text_detailed),
        )
    )


def still_to_do(text: str) -> str:
    return f"Still to do: {text[:1].lower()}{text[1:]}" if text else "Still to do"
