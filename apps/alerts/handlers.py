"""What the alerts layer does when the medications layer announces something (registered at start-up)."""

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.alerts import hooks as alert_hooks
from apps.alerts.follow_on import INJECTION_DELAY_KINDS, delay_alert_kinds, recheck_stopped_injectables
from apps.alerts.models import SEVERITY_RANK, Alert, AlertState, Severity
from apps.alerts.services import alerts_resolve_automatically
from apps.medications import hooks
from apps.medications.models import DoseRecord, DoseStatus
from apps.medications.rules.injection import BANDS_BY_DRUG, InjectionState, alert_for
from apps.medications.selectors import injection_status_now
from apps.profiles.hooks import register_patient_filter
from backend import clock


def settle_injection_alerts_on_dose(dose: DoseRecord) -> None:
    """DOMAIN D2/D5: resolution follows the injection state, not the write. A dose change (a new injection, even
    synced days later, a correction, a back-filled older one) has already moved `next_due`; only when she is no
    longer in an alerting band are the schedule's delay alerts resolved. Still late, they stay open; made late again
    (a correction to skipped), the watch, due now, raises it again."""
    schedule = dose.schedule
    bands = BANDS_BY_DRUG.get(schedule.medication.injection_bands)
    if bands is None:
        return
    status = injection_status_now(schedule, clock.now())
    if status is None or status.state == InjectionState.STOPPED or alert_for(status, bands) is not None:
        return
    alerts_resolve_automatically(
        patient=schedule.patient,
        kinds=Q(schedule=schedule) & delay_alert_kinds(bands),
        note=(
            f"Resolved automatically: injection recorded as given on {dose.taken_on:%d %B %Y}; "
            f"next due {status.next_due:%d %B %Y}."
            if dose.status == DoseStatus.TAKEN
            else f"Resolved automatically: with the corrected records the next injection is due "
            f"{status.next_due:%d %B %Y}."
        ),
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
    hooks.on_dose_recorded(settle_injection_alerts_on_dose)
    hooks.on_schedule_changed(recheck_stopped_injectables)
    alert_hooks.on_alert_raised(resolve_low_adherence_under_injection_alert)
