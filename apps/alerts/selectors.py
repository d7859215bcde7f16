from typing import Any

from django.db.models import Exists, OuterRef, QuerySet

from apps.accounts.models import Patient, User
from apps.alerts.models import SEVERITY_RANK, Alert, AlertState, Notice, Severity
from backend.access import access_patient_data_by_user, scope_patient_data


def alert_list(*, user: User, states: list[str] | None = None) -> QuerySet[Alert]:
    """Alerts of the patients the user may see, most urgent first (severity, then oldest)."""
    rows = scope_patient_data(Alert.objects.all(), user).select_related("patient__user", "schedule__medication")
    if states:
        rows = rows.filter(state__in=states)
    return rows.order_by("-severity_rank", "raised_at", "id")


def access_alert_by_user(user: User, alert_id: object) -> Alert:
    return access_patient_data_by_user(Alert.objects.select_related("patient"), user, alert_id)


def notice_list(*, patient: Patient) -> QuerySet[Notice]:
    return Notice.objects.filter(patient=patient).order_by("-published_at", "id")


OPEN_STATES = [AlertState.OPEN, AlertState.ACKNOWLEDGED]


def filter_by_alert_level(rows: QuerySet[Any], level: str) -> QuerySet[Any]:
    """The patient list's `?alert_level=`: patients with an alert at this severity or above still open."""
    open_at_level = Alert.objects.filter(
        patient=OuterRef("pk"), severity_rank__gte=SEVERITY_RANK[Severity(level)]
    ).exclude(state=AlertState.RESOLVED)
    return rows.filter(Exists(open_at_level))
