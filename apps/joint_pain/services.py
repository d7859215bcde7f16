"""Writes for the weekly joint-pain check-in (DOMAIN J2/J3). Keyword-only, validated, atomic.

One check-in per week of hers (the local ISO week `answered_at` falls in): a second one (another id) in the same
week replaces the first, which is deleted in the same transaction (the sync delete trigger leaves a tombstone, so
her app receives the delete). Re-posting the same id with the same values is a replay; with other values a 409.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Patient, User
from apps.joint_pain.models import SCORE_MAX, AiImpact, JointPainCheckIn
from backend import clock
from backend.client_ids import insert_or_replay, replayed, stated_body
from backend.errors import ConflictError
from backend.events import CheckInRecorded, publish
from backend.models import SyncTombstone

CLOCK_SKEW = timedelta(minutes=5)  # a phone clock a little ahead is not "the future"
MAX_AGE = timedelta(days=400)  # older answers are history imports, not this week's check-in: refuse them
REPLACED = (
    "This check-in was replaced by a later one of the same week: it cannot be recorded again. "
    "A new check-in needs a new id."
)


@dataclass(frozen=True)
class CheckInOutcome:
    check_in: JointPainCheckIn
    created: bool
    replaced: uuid.UUID | None = None  # the id of the same week's earlier check-in it replaced (now deleted)


def week_of(answered_at: datetime, tz_name: str) -> date:
    """Monday of the ISO week, in her time zone, that `answered_at` falls in."""
    day = clock.local_today(tz_name, answered_at)
    return day - timedelta(days=day.weekday())


def _score_error(value: Any) -> list[str] | None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= SCORE_MAX:
        return [f"A whole number from 0 to {SCORE_MAX}."]
    return None


def _validate(*, answered_at: Any, worst_pain: Any, stiffness: Any, interfered: Any, ai_impact: Any) -> None:
    """ValidationError naming each wrong field; nothing is written then."""
    errors: dict[str, list[str]] = {}
    for name, value in (("worst_pain", worst_pain), ("stiffness", stiffness)):
        error = _score_error(value)
        if error:
            errors[name] = error
    if not isinstance(interfered, bool):
        errors["interfered"] = ["Must be true or false."]
    if ai_impact not in AiImpact.values:
        errors["ai_impact"] = [f"Must be one of: {', '.join(AiImpact.values)}."]
    if not isinstance(answered_at, datetime) or answered_at.tzinfo is None:
        errors["answered_at"] = ["A date-time with its offset, e.g. 2026-03-02T08:30:00+01:00."]
    else:
        now = clock.now()
        if answered_at > now + CLOCK_SKEW:
            errors["answered_at"] = ["Cannot be in the future."]
        elif answered_at < now - MAX_AGE:
            errors["answered_at"] = ["More than 400 days ago: not a check-in of this year."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def check_in_record(
    *,
    actor: User,
    patient: Patient,
    id: uuid.UUID,
    answered_at: datetime,
    worst_pain: int,
    stiffness: int,
    interfered: bool,
    ai_impact: str = "none",
    stated: Collection[str] | None = None,
) -> CheckInOutcome:
    """Record her check-in of the week `answered_at` falls in (her zone), replacing the week's earlier one.

    The same id again with the same values (in what the client stated; None: all) returns the stored row
    (created=False); with other values a ConflictError naming them; an id this week's later check-in replaced is a
    ConflictError too (a retry must not bring back what she answered again). Her patient row is locked, so two
    check-ins of one week racing each other are judged one after the other: the second replaces the first."""
    body = stated_body(
        {
            "answered_at": ("answered_at", answered_at),
            "worst_pain": ("worst_pain", worst_pain),
            "stiffness": ("stiffness", stiffness),
            "interfered": ("interfered", interfered),
            "ai_impact": ("ai_impact", ai_impact),
        },
        stated,
    )
    existing = replayed(JointPainCheckIn, id, body=body, patient_id=patient.pk)
    if existing is not None:
        return CheckInOutcome(existing, created=False)
    _validate(
        answered_at=answered_at, worst_pain=worst_pain, stiffness=stiffness, interfered=interfered, ai_impact=ai_impact
    )
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    existing = replayed(JointPainCheckIn, id, body=body, patient_id=patient.pk)  # raced in while we waited
    if existing is not None:
        return CheckInOutcome(existing, created=False)
    if SyncTombstone.objects.filter(table_name=JointPainCheckIn._meta.db_table, row_id=id).exists():
        raise ConflictError(REPLACED, {"id": ["Replaced by a later check-in of the same week."]})
    week = week_of(answered_at, patient.profile.timezone)
    earlier = JointPainCheckIn.objects.filter(patient=patient, week_of=week).first()
    replaced = None
    if earlier is not None:
        if earlier.answered_at > answered_at:
            # She answered again later the same week (or her team recorded a later answer): an older answer that
            # syncs after it must not overwrite it. Refused per record, so her app keeps pulling the newer one.
            raise ValidationError(
                {
                    "answered_at": [
                        f"A later answer of this week is recorded (answered {earlier.answered_at:%Y-%m-%d %H:%M} UTC)."
                    ]
                }
            )
        replaced = earlier.pk
        earlier.delete()  # the delete trigger leaves the tombstone her app receives
    check_in = JointPainCheckIn(
        id=id,
        patient=patient,
        answered_at=answered_at,
        week_of=week,
        worst_pain=worst_pain,
        stiffness=stiffness,
        interfered=interfered,
        ai_impact=ai_impact,
        recorded_by=actor,
    )
    row, created = insert_or_replay(check_in, body=body, patient_id=patient.pk)
    if created:
        publish(CheckInRecorded(patient_id=patient.pk, check_in_id=row.pk, week_of=week))
    return CheckInOutcome(row, created=created, replaced=replaced if created else None)
