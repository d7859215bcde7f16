"""Exercise objects made through the real services (validation, local dates), for these tests and the access matrix."""

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from apps.accounts.models import Patient, User
from apps.exercise.models import ExercisePlan, ExerciseSession
from apps.exercise.services import exercise_plan_create, exercise_session_record


def set_zone(patient: Patient, name: str) -> None:
    patient.profile.timezone = name
    patient.profile.save()


def make_exercise_plan(patient: Patient, actor: User | None = None, **values: Any) -> ExercisePlan:
    """A plan created by the patient herself (DOMAIN defaults) unless an actor (e.g. her coordinator) is given."""
    return exercise_plan_create(actor=actor or patient.user, patient=patient, **values)


def make_session(
    patient: Patient,
    kind: str = "weight_bearing",
    minutes: int = 30,
    at: datetime | None = None,
    **values: Any,
) -> ExerciseSession:
    """`at` naive: a wall time in the patient's zone; aware: that instant; None: an hour ago."""
    if at is None:
        at = timezone.now() - timedelta(hours=1)
    elif at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(patient.profile.timezone))
    values.setdefault("id", uuid.uuid4())
    return exercise_session_record(
        actor=values.pop("actor", patient.user), patient=patient, kind=kind, minutes=minutes, performed_at=at, **values
    ).session


def local(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """A naive local wall time on `day` (a date)."""
    return datetime.combine(day, time(hour, minute))
