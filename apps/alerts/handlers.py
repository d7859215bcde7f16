"""What the alerts layer does when the medications layer announces something (registered at start-up)."""

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.alerts import hooks as alert_hooks
from apps.alerts.models import SEVERITY_RANK, Alert, AlertState, Severity
from apps.alerts.services import alerts_resolve_automatically
from apps.medications import hooks
from apps.medications.models import DoseRecord, DoseStatus, Schedule, ScheduleStatus
from apps.medications.rules.injection import BANDS_BY_DRUG
from apps.profiles.hooks import register_patient_filter


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


# An injectable's delay alerts (DOMAIN D5): while one is open it is the schedule's alert; a low-adherence alert on
# the same schedule would be the same problem twice.
INJECTION_DELAY_KINDS = frozenset(
    f"{drug}_{suffix}" for drug in BANDS_BY_DRUG for suffix in ("due", "late", "critical")
)


def resolve_low_adherence_under_injection_alert(alert: Alert) -> None:
    """One problem, one alert: the injection alert takes over from a low-adherence alert open on its schedule."""
    if alert.kind not in INJECTION_DELAY_KINDS or alert.schedule_id is None:
        return
    alerts_resolve_automatically(
        patient=alert.patient,
        kinds=Q(kind="low_adherence", schedule_id=alert.schedule_id),
        note="Resolved automatically: the injection's own alert now follows this schedule up.",
        now=alert.raised_at,
    )


def filter_by_alert_level(rows: QuerySet[Any], level: str) -> QuerySet[Any]:
    open_at_level = Alert.objects.filter(
        patient=OuterRef("pk"), severity_rank__gte=SEVERITY_RANK[Severity(level)]
    ).exclude(state=AlertState.RESOLVED)
    return rows.filter(Exists(open_at_level))


def register() -> None:
    register_patient_filter("alert_level", filter_by_alert_level)
    hooks.on_dose_recorded(resolve_injection_alerts_on_dose)
    hooks.on_schedule_changed(resolve_stopped_alerts_on_follow_on)
    alert_hooks.on_alert_raised(resolve_low_adherence_under_injection_alert)
