"""What the alerts layer does when the medications layer announces something (registered at start-up)."""

from django.db.models import Q

from apps.alerts.services import alerts_resolve_automatically
from apps.medications import hooks
from apps.medications.models import DoseRecord, DoseStatus, Schedule, ScheduleStatus


def resolve_injection_alerts_on_dose(dose: DoseRecord) -> None:
    """DOMAIN D5: recording the injection (even one synced days later) resolves the schedule's open alerts."""
    schedule = dose.schedule
    if dose.status != DoseStatus.TAKEN or not schedule.medication.injection_bands:
        return
    alerts_resolve_automatically(
        patient=schedule.patient,
        kinds=Q(schedule=schedule) & ~Q(kind__endswith="_stopped"),
        note=f"Resolved automatically: injection recorded as given on {dose.taken_on:%d %B %Y}.",
    )


def resolve_stopped_alerts_on_follow_on(schedule: Schedule) -> None:
    """A follow-on anti-resorptive started: the 'stopped without follow-on' alerts no longer hold."""
    if schedule.status != ScheduleStatus.ACTIVE or not schedule.medication.is_anti_resorptive:
        return
    alerts_resolve_automatically(
        patient=schedule.patient,
        kinds=Q(kind__endswith="_stopped") & ~Q(schedule=schedule),
        note=f"Resolved automatically: follow-on {schedule.medication.name} started.",
    )


def register() -> None:
    hooks.on_dose_recorded(resolve_injection_alerts_on_dose)
    hooks.on_schedule_changed(resolve_stopped_alerts_on_follow_on)
