"""The appointment watch (D9): an injection or infusion appointment whose local day has passed with no dose
recorded for its schedule raises `appointment_missed` once (episode: the appointment), for the coordinators'
worklist; the dose, when recorded, resolves it (receivers.py).

Cost follows the checks due (an index on Appointment.missed_check_at). Due rows are claimed under a row lock
(SKIP LOCKED) and cleared in the same transaction as the alerts they raise; the alert's unique episode makes a
second raise a no-op anyway.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from apps.alerts.models import Alert, Severity
from apps.alerts.services import alerts_raise
from apps.appointments.models import DOSE_KINDS, Appointment, AppointmentStatus
from apps.appointments.services import given_for
from apps.medications.models import DoseRecord, DoseStatus
from backend import clock

BATCH = 500
MISSED_KIND = "appointment_missed"
MISSED_RULE = "D9"  # DOMAIN D9 (design, issue 14)


@dataclass
class AppointmentWatchReport:
    checked: int = 0
    alerts_raised: int = 0


def missed_message(appointment: Appointment) -> str:
    zone = clock.zone(appointment.patient.profile.timezone)
    local = appointment.starts_at.astimezone(zone)
    medicine = appointment.schedule.medication.name if appointment.schedule else "the medicine"
    return (
        f"{medicine} {appointment.kind} appointment on {local:%d %B %Y} at {local:%H:%M}: no dose recorded. "
        "Check whether it was given, and rebook if not."
    )


def appointment_watch(*, now: datetime | None = None) -> AppointmentWatchReport:
    now = now or clock.now()
    report = AppointmentWatchReport()
    while True:
        with transaction.atomic():
            batch = list(
                Appointment.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(missed_check_at__lte=now)
                .select_related("patient__profile", "schedule__medication")
                .order_by("missed_check_at")[:BATCH]
            )
            if not batch:
                return report
            report.checked += len(batch)
            doses = set(
                DoseRecord.objects.filter(
                    schedule_id__in={a.schedule_id for a in batch}, status=DoseStatus.TAKEN
                ).values_list("schedule_id", "taken_on")
            )
            alerts = [
                Alert(
                    patient=a.patient,
                    schedule=a.schedule,
                    kind=MISSED_KIND,
                    severity=Severity.HIGH,
                    message=missed_message(a),
                    rule=MISSED_RULE,
                    episode=str(a.pk),
                    raised_at=now,
                )
                for a in batch
                if a.status == AppointmentStatus.BOOKED and a.kind in DOSE_KINDS and not given_for(a, doses)
            ]
            report.alerts_raised += len(alerts_raise(alerts))
            Appointment.objects.filter(pk__in=[a.pk for a in batch]).update(missed_check_at=None)
