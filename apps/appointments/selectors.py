"""Reads for appointments: a patient's appointments (with the readiness of each upcoming injection, DOMAIN D8),
the coordinator's booking list (DOMAIN D5 due_soon: "appears on the coordinator's booking list"), dental checks.
A fixed number of queries whatever the number of rows."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, QuerySet

from apps.accounts.models import Patient, User
from apps.appointments import rules
from apps.appointments.models import Appointment, AppointmentKind, AppointmentStatus, DentalCheck
from apps.medications.facts import MMOL_TO_MG_DL_CALCIUM, supplement_plans
from apps.medications.models import DoseRecord, DoseStatus, InjectionStateField, Schedule, ScheduleStatus
from apps.profiles.models import LabKind, LabResult
from backend import clock
from backend.access import patient_scope

# DOMAIN D5: the states whose schedules need booking (due_soon "appears on the coordinator's booking list").
BOOKING_STATES = (
    InjectionStateField.DUE_SOON,
    InjectionStateField.DUE,
    InjectionStateField.LATE,
    InjectionStateField.CRITICAL,
)


def appointment_list(*, patient: Patient, status: str | None = None) -> QuerySet[Appointment]:
    rows = Appointment.objects.filter(patient=patient).select_related("schedule__medication", "patient__profile")
    if status is not None:
        rows = rows.filter(status=status)
    return rows.order_by("starts_at", "id")


def dental_check_list(*, patient: Patient) -> QuerySet[DentalCheck]:
    return DentalCheck.objects.filter(patient=patient).order_by("-checked_on", "id")


def future_booked(*, now: datetime) -> QuerySet[Appointment]:
    return Appointment.objects.filter(status=AppointmentStatus.BOOKED, starts_at__gte=now)


def booked_schedule_ids(now: datetime) -> QuerySet[Any]:
    """The schedules with an appointment booked from `now` on (a subquery of ids): the medications app's booking
    reminders leave them alone."""
    return future_booked(now=now).exclude(schedule=None).values("schedule_id")


def booking_list(*, user: User, now: datetime | None = None) -> QuerySet[Schedule]:
    """Her patients' injection and infusion schedules due_soon, due, late or critical (the watch's stored state)
    with no future booked appointment for the schedule, soonest due first."""
    now = now or clock.now()
    booked = future_booked(now=now).filter(schedule=OuterRef("pk"))
    return (
        Schedule.objects.filter(
            patient_scope(user),
            status=ScheduleStatus.ACTIVE,
            injection_state__in=BOOKING_STATES,
        )
        .exclude(medication__injection_bands="")
        .filter(~Exists(booked))
        .select_related("medication", "patient__user", "patient__profile")
        .order_by("next_due_on", "patient__user__full_name", "id")
    )


# --- readiness (DOMAIN D8) ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Labs:
    calcium: list[rules.Lab]  # newest first
    egfr: list[rules.Lab]
    crcl: list[rules.Lab]


def _labs(patient_ids: set[UUID]) -> dict[UUID, _Labs]:
    found: dict[UUID, _Labs] = defaultdict(lambda: _Labs([], [], []))
    rows = (
        LabResult.objects.filter(patient_id__in=patient_ids)
        .order_by("patient_id", "kind", "-measured_on", "-created_at")
        .values_list("patient_id", "kind", "value", "unit", "measured_on")
    )
    for patient_id, kind, value, unit, measured_on in rows:
        labs = found[patient_id]
        if kind == LabKind.SERUM_CALCIUM:
            mg_dl = value * MMOL_TO_MG_DL_CALCIUM if unit == "mmol/L" else value
            labs.calcium.append(rules.Lab(mg_dl, measured_on))
        elif kind == LabKind.EGFR:
            labs.egfr.append(rules.Lab(value, measured_on))
        elif kind == LabKind.CRCL:
            labs.crcl.append(rules.Lab(value, measured_on))
    return found


def _latest_by(labs: list[rules.Lab], day: date) -> rules.Lab | None:
    return next((lab for lab in labs if lab.measured_on <= day), None)


def readiness_of(appointments: Sequence[Appointment], *, now: datetime | None = None) -> dict[UUID, rules.Readiness]:
    """DOMAIN D8 for each upcoming booked injection appointment among these (others have none), in 5 queries."""
    now = now or clock.now()
    upcoming = [
        a
        for a in appointments
        if a.kind == AppointmentKind.INJECTION
        and a.status == AppointmentStatus.BOOKED
        and a.starts_at >= now
        and a.schedule is not None
    ]
    if not upcoming:
        return {}
    patient_ids = {a.patient_id for a in upcoming}
    labs = _labs(patient_ids)
    plans = supplement_plans(patient_ids)
    drugs = {a.schedule.medication.code for a in upcoming if a.schedule is not None}
    given = set(
        DoseRecord.objects.filter(
            patient_id__in=patient_ids, status=DoseStatus.TAKEN, schedule__medication__code__in=drugs
        ).values_list("patient_id", "schedule__medication__code")
    )
    dental: dict[UUID, list[date]] = defaultdict(list)
    for patient_id, checked_on in DentalCheck.objects.filter(patient_id__in=patient_ids).values_list(
        "patient_id", "checked_on"
    ):
        dental[patient_id].append(checked_on)
    blood_tests: dict[UUID, list[datetime]] = defaultdict(list)
    for patient_id, starts_at in Appointment.objects.filter(
        patient_id__in=patient_ids, kind=AppointmentKind.LAB, status=AppointmentStatus.BOOKED
    ).values_list("patient_id", "starts_at"):
        blood_tests[patient_id].append(starts_at)
    result: dict[UUID, rules.Readiness] = {}
    for appointment in upcoming:
        assert appointment.schedule is not None
        zone = clock.zone(appointment.patient.profile.timezone)
        day = appointment.starts_at.astimezone(zone).date()
        pid = appointment.patient_id
        her_labs, her_plans = labs[pid], plans.get(pid, [])
        drug = appointment.schedule.medication.code
        result[appointment.pk] = rules.readiness(
            rules.ReadinessFacts(
                appointment_on=day,
                drug=drug,
                serum_calcium=_latest_by(her_labs.calcium, day),
                has_calcium_plan=any(p.nutrient == "calcium" for p in her_plans),
                has_vitamin_d_plan=any(p.nutrient == "vitamin_d" for p in her_plans),
                egfr=_latest_by(her_labs.egfr, day),
                crcl=_latest_by(her_labs.crcl, day),
                calcium_checks_planned=[t.astimezone(zone).date() for t in blood_tests[pid]],
                first_of_drug=(pid, drug) not in given,
                dental_checks=dental[pid],
            )
        )
    return result
