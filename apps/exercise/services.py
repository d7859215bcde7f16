"""Writes for exercise plans and sessions. Keyword-only, validated, atomic."""

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import Patient, User
from apps.exercise.models import ExerciseKind, ExercisePlan, ExerciseSession, PlanStatus
from apps.exercise.rules import MAX_SESSION_MINUTES, target_errors
from backend import clock
from backend.client_ids import insert_new_in_bulk, insert_or_replay, replayed, stated_body
from backend.events import PlanChanged, publish
from backend.roles import Role
from backend.updates import apply_changes, refuse_unknown

CLOCK_SKEW = timedelta(minutes=5)  # a phone clock a little ahead is not "the future"
MAX_SESSION_AGE = timedelta(days=400)  # older sessions are history imports, not logs: refuse them here
TARGET_FIELDS = {
    "weight_bearing_minutes_target": "weight_bearing_minutes",
    "resistance_days_target": "resistance_days",
    "balance_sessions_target": "balance_sessions",
}
PATIENT_PLAN_FIELDS = ("reminder_days", "local_time")  # what a patient may set on her own plan
PLAN_FIELDS = (*TARGET_FIELDS, *PATIENT_PLAN_FIELDS, "status")
ONE_ACTIVE = "She already has an active exercise plan: change that one, or stop it first."


def _check_actor(actor: User, fields: set[str]) -> None:
    """Targets and the plan's status are the care team's (DOMAIN E1-E3 defaults, adjustable by a coordinator);
    the patient sets her own reminder days and time; a pharmacist reads only."""
    if actor.role in (Role.COORDINATOR, Role.ADMIN):
        return
    if actor.role == Role.PATIENT and not fields - set(PATIENT_PLAN_FIELDS):
        return
    raise PermissionDenied("Only the care team sets exercise targets or stops a plan.")


def _validate_plan(plan: ExercisePlan) -> None:
    errors = {
        field: messages
        for field, name in TARGET_FIELDS.items()
        for messages in [target_errors({name: getattr(plan, field)}).get(name)]
        if messages
    }
    days = plan.reminder_days
    if not isinstance(days, list) or any(
        not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in days
    ):
        errors["reminder_days"] = ["A list of weekdays, 0 (Monday) to 6 (Sunday)."]
    elif len(set(days)) != len(days):
        errors["reminder_days"] = ["Each weekday at most once."]
    else:
        plan.reminder_days = sorted(days)
    if not isinstance(plan.local_time, time) or plan.local_time.tzinfo is not None:
        errors["local_time"] = ["A wall-clock time without an offset, e.g. 18:00."]
    if plan.status not in PlanStatus.values:
        errors["status"] = [f"Must be one of: {', '.join(PlanStatus.values)}."]
    if errors:
        raise ValidationError(errors)


def _save_plan(plan: ExercisePlan, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            plan.save(**kwargs)
    except IntegrityError:  # the partial unique constraint: another active plan raced in
        raise ValidationError(ONE_ACTIVE) from None


@transaction.atomic
def exercise_plan_create(
    *,
    actor: User,
    patient: Patient,
    weight_bearing_minutes_target: int | None = None,
    resistance_days_target: int | None = None,
    balance_sessions_target: int | None = None,
    reminder_days: list[int] | None = None,
    local_time: time | None = None,
) -> ExercisePlan:
    """A new active plan; the DOMAIN targets (E1-E3) unless the care team sets others. One active plan each."""
    given = {
        name: value
        for name, value in {
            "weight_bearing_minutes_target": weight_bearing_minutes_target,
            "resistance_days_target": resistance_days_target,
            "balance_sessions_target": balance_sessions_target,
            "reminder_days": reminder_days,
            "local_time": local_time,
        }.items()
        if value is not None
    }
    _check_actor(actor, set(given))
    if ExercisePlan.objects.filter(patient=patient, status=PlanStatus.ACTIVE).exists():
        raise ValidationError(ONE_ACTIVE)
    plan = ExercisePlan(patient=patient, created_by=actor, status_changed_at=clock.now(), **given)
    _validate_plan(plan)
    _save_plan(plan, force_insert=True)
    publish(PlanChanged(patient_id=plan.patient_id, plan_id=plan.pk, plan_kind="exercise"))
    return plan


@transaction.atomic
def exercise_plan_update(*, actor: User, plan: ExercisePlan, **changes: Any) -> ExercisePlan:
    refuse_unknown(changes, PLAN_FIELDS)
    plan = ExercisePlan.objects.select_for_update().get(pk=plan.pk)
    # Only what really changes counts: an app echoing the targets back unchanged is not setting them.
    stopped = plan.status == PlanStatus.STOPPED
    changed = apply_changes(plan, changes)
    _check_actor(actor, changed)
    if not changed:
        return plan
    if stopped:
        raise ValidationError({"status": ["A stopped plan cannot change; create a new one."]})
    _validate_plan(plan)
    if "status" in changed:
        plan.status_changed_at = clock.now()
    _save_plan(plan)
    publish(PlanChanged(patient_id=plan.patient_id, plan_id=plan.pk, plan_kind="exercise"))
    return plan


@dataclass(frozen=True)
class SessionOutcome:
    session: ExerciseSession
    created: bool


def _check_performed_at(performed_at: datetime) -> None:
    now = clock.now()
    if performed_at > now + CLOCK_SKEW:
        raise ValidationError({"performed_at": ["Cannot be in the future."]})
    if performed_at < now - MAX_SESSION_AGE:
        raise ValidationError({"performed_at": ["More than 400 days ago: ask the care team to import old records."]})


@transaction.atomic
def exercise_session_record(
    *,
    actor: User,
    patient: Patient,
    id: uuid.UUID,
    kind: str,
    minutes: int,
    performed_at: datetime,
    note: str = "",
    stated: Collection[str] | None = None,
) -> SessionOutcome:
    """Record a session. Re-posting the same id with the same values returns the stored session unchanged (phones
    retry); with other values in what the client stated (`stated`; None: all) it is a ConflictError naming them.

    No lock is needed (unlike a dose, a session checks nothing against the patient's other rows): the primary key
    decides between two racing posts of one id, and the loser answers with the winner's row (409 if it differs)."""
    body = stated_body(
        {
            "kind": ("kind", kind),
            "minutes": ("minutes", minutes),
            "performed_at": ("performed_at", performed_at),
            "note": ("note", note),
        },
        stated,
    )
    existing = replayed(ExerciseSession, id, body=body, patient_id=patient.pk)
    if existing is not None:
        return SessionOutcome(existing, created=False)
    session = _new_session(
        actor=actor, patient=patient, id=id, kind=kind, minutes=minutes, performed_at=performed_at, note=note
    )
    row, created = insert_or_replay(session, body=body, patient_id=patient.pk)
    return SessionOutcome(row, created=created)


def _new_session(
    *, actor: User, patient: Patient, id: uuid.UUID, kind: str, minutes: int, performed_at: datetime, note: str
) -> ExerciseSession:
    """A new session checked by the rules (ValidationError naming what is wrong), not saved yet."""
    errors: dict[str, list[str]] = {}
    if kind not in ExerciseKind.values:
        errors["kind"] = [f"Must be one of: {', '.join(ExerciseKind.values)}."]
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_SESSION_MINUTES:
        errors["minutes"] = [f"Must be 1 to {MAX_SESSION_MINUTES} minutes for one session."]
    if errors:
        raise ValidationError(errors)
    _check_performed_at(performed_at)
    session = ExerciseSession(
        id=id,
        patient=patient,
        kind=kind,
        minutes=minutes,
        performed_at=performed_at,
        performed_on=clock.local_today(patient.profile.timezone, performed_at),
        note=note,
        recorded_by=actor,
    )
    session.full_clean(exclude=["patient", "recorded_by"], validate_unique=False)
    return session


@dataclass(frozen=True)
class NewSession:
    id: uuid.UUID
    kind: str
    minutes: int
    performed_at: datetime
    note: str = ""


@transaction.atomic
def exercise_sessions_record_new(
    *, actor: User, patient: Patient, sessions: list[NewSession]
) -> tuple[set[uuid.UUID], dict[uuid.UUID, ValidationError]]:
    """Many sessions at once (a sync push's backlog), by exercise_session_record's rules: the valid ones inserted in
    one statement. Returns (inserted ids, refused ids with why). Ids already recorded (by anyone), or all of them when
    another request inserts one meanwhile, are neither: the caller records those one by one with
    exercise_session_record (replay, conflict or refusal as usual)."""
    return insert_new_in_bulk(
        ExerciseSession,
        sessions,
        lambda item: _new_session(
            actor=actor,
            patient=patient,
            id=item.id,
            kind=item.kind,
            minutes=item.minutes,
            performed_at=item.performed_at,
            note=item.note,
        ),
    )
