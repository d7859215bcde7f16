"""Writes for appointments and dental checks: keyword-only, validated, atomic; each appointment change announces
PlanChanged (plan_kind "appointment") so her reminders follow at once (booked, moved, cancelled)."""

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import Patient, User
from apps.appointments import rules
from apps.appointments.models import (
    DOSE_KINDS,
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    DentalCheck,
)
from apps.medications.models import Route, Schedule
from backend import clock
from backend.events import PlanChanged, publish
from backend.updates import apply_changes, refuse_unknown

MAX_AHEAD = timedelta(days=2 * 366)  # design: bookings are made within two years
PAST_GRACE = timedelta(hours=12)  # design: a booking written up just after it was made on the phone, same day
APPOINTMENT_FIELDS = ("starts_at", "location", "note", "schedule")
# Which route of medicine each dose kind gives: an injection is subcutaneous (denosumab), an infusion intravenous
# (zoledronic acid).
ROUTE_OF_KIND = {AppointmentKind.INJECTION: Route.SUBCUTANEOUS, AppointmentKind.INFUSION: Route.INTRAVENOUS}

Errors = dict[str, list[str]]


def _validate(appointment: Appointment, *, check_time: bool) -> None:
    errors: Errors = {}
    if appointment.kind in DOSE_KINDS:
        schedule = appointment.schedule
        if schedule is None:
            errors["schedule"] = [f"An {appointment.kind} appointment names the schedule it gives."]
        elif schedule.patient_id != appointment.patient_id:
            errors["schedule"] = ["No such schedule for this patient."]
        elif schedule.medication.route != ROUTE_OF_KIND[AppointmentKind(appointment.kind)]:
            noun = "an injectable" if appointment.kind == AppointmentKind.INJECTION else "an infusion"
            errors["schedule"] = [f"This schedule is not {noun} medicine."]
    elif appointment.schedule_id is not None:
        errors["schedule"] = ["Only an injection or infusion appointment names a schedule."]
    if check_time:
        now = clock.now()
        if appointment.starts_at < now - PAST_GRACE:
            errors["starts_at"] = ["This time has passed: book an appointment ahead."]
        elif appointment.starts_at > now + MAX_AHEAD:
            errors["starts_at"] = ["More than two years ahead."]
    if errors:
        raise ValidationError(errors)


def _plan_missed_check(appointment: Appointment) -> None:
    """D9: an injection or infusion is checked once her local day of it has passed."""
    if appointment.kind in DOSE_KINDS and appointment.status == AppointmentStatus.BOOKED:
        zone = clock.zone(appointment.patient.profile.timezone)
        appointment.missed_check_at = rules.day_over_at(appointment.starts_at, zone)
    else:
        appointment.missed_check_at = None


def _announce(appointment: Appointment) -> None:
    publish(PlanChanged(patient_id=appointment.patient_id, plan_id=appointment.pk, plan_kind="appointment"))


@transaction.atomic
def appointment_create(
    *,
    actor: User,
    patient: Patient,
    kind: str,
    starts_at: datetime,
    schedule: Schedule | None = None,
    location: str = "",
    note: str = "",
) -> Appointment:
    appointment = Appointment(
        patient=patient,
        kind=kind,
        schedule=schedule,
        starts_at=starts_at,
        location=location.strip(),
        note=note.strip(),
        created_by=actor,
    )
    _validate(appointment, check_time=True)
    _plan_missed_check(appointment)
    appointment.save()
    _announce(appointment)
    return appointment


@transaction.atomic
def appointment_update(*, actor: User, appointment: Appointment, **changes: Any) -> Appointment:
    """Reschedule (a new `starts_at`), or change the place, the note or the schedule. A cancelled one stays as it
    was; a moved one's unsent reminders move with it and its missed check follows its new day."""
    refuse_unknown(changes, APPOINTMENT_FIELDS)
    appointment = (
        Appointment.objects.select_for_update(of=("self",))
        .select_related("patient__profile", "schedule__medication")
        .get(pk=appointment.pk)
    )
    if appointment.status == AppointmentStatus.CANCELLED:
        raise ValidationError({"status": ["A cancelled appointment cannot change; book a new one."]})
    if appointment.status == AppointmentStatus.GIVEN:
        raise ValidationError({"status": ["This appointment's dose was given; book a new one for the next."]})
    for name in ("location", "note"):
        if name in changes:
            changes[name] = changes[name].strip()
    changed = apply_changes(appointment, changes)
    if not changed:
        return appointment
    _validate(appointment, check_time="starts_at" in changed)
    if "starts_at" in changed:
        _plan_missed_check(appointment)
    appointment.save()
    _announce(appointment)
    return appointment


@transaction.atomic
def appointment_cancel(*, actor: User, appointment: Appointment, reason: str) -> Appointment:
    """Cancelled with a reason, kept (listed with it); its unsent reminders are withdrawn, its missed check too."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": ["Say why: a reason is required to cancel an appointment."]})
    appointment = Appointment.objects.select_for_update(of=("self",)).get(pk=appointment.pk)
    if appointment.status == AppointmentStatus.CANCELLED:
        raise ValidationError({"status": ["This appointment is already cancelled."]})
    if appointment.status == AppointmentStatus.GIVEN:
        raise ValidationError({"status": ["This appointment's dose was given; it cannot be cancelled."]})
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancelled_at = clock.now()
    appointment.cancelled_by = actor
    appointment.cancel_reason = reason
    appointment.missed_check_at = None
    appointment.save()
    _announce(appointment)
    return appointment


# Design: a dose given up to four weeks before a booked injection or infusion was given for it (brought forward); one
# given earlier belongs to an earlier cycle, so a next cycle's booking made in advance stays booked (and is checked).
GIVEN_EARLY = timedelta(days=28)


def given_for(appointment: Appointment, doses: set[tuple[UUID, date]]) -> bool:
    """A dose recorded as given on the schedule after the appointment was booked, on its day or up to four weeks
    before it (GIVEN_EARLY)."""
    zone = clock.zone(appointment.patient.profile.timezone)
    day = appointment.starts_at.astimezone(zone).date()
    earliest = max(appointment.created_at.astimezone(zone).date(), day - GIVEN_EARLY)
    return any(
        schedule_id == appointment.schedule_id and earliest <= taken_on <= day for schedule_id, taken_on in doses
    )


def appointments_mark_given(*, schedule_id: UUID, taken_on: date) -> list[Appointment]:
    """A dose recorded as given on the schedule closes the booked injection or infusion appointments it was given
    for (`given_for`): status `given`, no missed check, its unsent
    reminders withdrawn, her app told. Runs in the dose writer's transaction (receivers)."""
    booked = list(
        Appointment.objects.select_for_update(of=("self",))
        .filter(schedule_id=schedule_id, status=AppointmentStatus.BOOKED, kind__in=DOSE_KINDS)
        .select_related("patient__profile")
    )
    given = [a for a in booked if given_for(a, {(schedule_id, taken_on)})]
    for appointment in given:
        appointment.status = AppointmentStatus.GIVEN
        appointment.missed_check_at = None
        appointment.save()
        _announce(appointment)
    return given


@transaction.atomic
def dental_check_record(*, actor: User, patient: Patient, checked_on: date, note: str = "") -> DentalCheck:
    today = clock.local_today(patient.profile.timezone)
    if checked_on > today:
        raise ValidationError({"checked_on": ["Cannot be in the future."]})
    if checked_on < patient.profile.birth_date:
        raise ValidationError({"checked_on": ["Before the patient was born."]})
    return DentalCheck.objects.create(patient=patient, checked_on=checked_on, note=note.strip(), recorded_by=actor)
