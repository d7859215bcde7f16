from datetime import datetime

from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.fields import BooleanField

from apps.accounts.models import Patient, User
from apps.accounts.selectors import patient_search
from apps.alerts.models import SEVERITY_RANK, Alert, AlertState, ContactAttempt, Notice, Severity
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


def filter_alert_level(rows: QuerySet[Patient], level: str) -> QuerySet[Patient]:
    """Patients with an open (or acknowledged) alert of this severity or higher: the patient list's ?alert_level=."""
    open_at_level = Alert.objects.filter(
        patient=OuterRef("pk"), severity_rank__gte=SEVERITY_RANK[Severity(level)]
    ).exclude(state=AlertState.RESOLVED)
    return rows.filter(Exists(open_at_level))


# --- contact attempts and the worklist's filters (issue 14) ---------------------------------------------------------
SORTS = ("urgency", "oldest", "newest", "name")


def contact_list(*, alert: Alert) -> QuerySet[ContactAttempt]:
    """An alert's contact attempts, newest first."""
    return ContactAttempt.objects.filter(alert=alert).select_related("actor").order_by("-at", "-created_at")


def _newest_contact(field: str, *, of: str) -> Subquery:
    """`field` of the newest contact attempt about the row's alert (of="alert") or with its patient (of="patient")."""
    rows = ContactAttempt.objects.filter(
        **({"alert": OuterRef("pk")} if of == "alert" else {"patient": OuterRef("patient_id")})
    )
    return Subquery(rows.order_by("-at", "-created_at").values(field)[:1])


def with_contacts(rows: QuerySet[Alert], *, now: datetime, of: str = "alert") -> QuerySet[Alert]:
    """Each alert with its last contact (from the contact attempts: when, channel, outcome, by whom, note), how
    many attempts it has, and whether it waits (a follow-up date not yet begun in her zone), in the same query."""
    return rows.annotate(
        last_contact_at=_newest_contact("at", of=of),
        last_contact_channel=_newest_contact("channel", of=of),
        last_contact_outcome=_newest_contact("outcome", of=of),
        last_contact_note=_newest_contact("note", of=of),
        last_contact_by=_newest_contact("actor__full_name", of=of),
        contact_count=Subquery(
            ContactAttempt.objects.filter(alert=OuterRef("pk"))
            .order_by()
            .values("alert")
            .annotate(n=Count("pk"))
            .values("n")
        ),
        is_waiting=Case(
            When(waiting_until__gt=now, then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
        # A follow-up date that has come: the coordinator promised to try again today, so these come first.
        follow_up_due=Case(
            When(waiting_until__lte=now, then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
    )


def filter_alerts(
    rows: QuerySet[Alert],
    *,
    now: datetime,
    level: str | None = None,
    kinds: list[str] | None = None,
    waiting: bool | None = None,
    q: str = "",
) -> QuerySet[Alert]:
    """Narrow a list of alerts: `level` this severity or higher, `kinds` any of these, `waiting` true (only those
    waiting for a follow-up date) or false (only those not waiting), `q` the patient's name or email, ignoring case
    and accents."""
    if level:
        rows = rows.filter(severity_rank__gte=SEVERITY_RANK[Severity(level)])
    if kinds:
        rows = rows.filter(kind__in=kinds)
    if waiting is True:
        rows = rows.filter(waiting_until__gt=now)
    elif waiting is False:
        rows = rows.filter(Q(waiting_until__isnull=True) | Q(waiting_until__lte=now))
    return patient_search(rows, q, via="patient")


def sort_alerts(rows: QuerySet[Alert], sort: str) -> QuerySet[Alert]:
    """urgency (most severe first, then oldest; a follow-up whose date has come before everything), oldest,
    newest, or name (the patient's)."""
    first = [F("follow_up_due").desc()] if "follow_up_due" in rows.query.annotations else []
    if sort == "oldest":
        return rows.order_by(*first, "raised_at", "id")
    if sort == "newest":
        return rows.order_by(*first, "-raised_at", "id")
    if sort == "name":
        return rows.order_by(*first, "patient__user__full_name", "patient_id", "-severity_rank", "raised_at", "id")
    return rows.order_by(*first, "-severity_rank", "raised_at", "id")


def kinds_in_scope(*, user: User) -> list[str]:
    """The kinds of open alerts the user can see: the worklist's kind filter offers these."""
    rows = alert_list(user=user, states=list(OPEN_STATES)).order_by().values_list("kind", flat=True).distinct()
    return sorted(rows)
