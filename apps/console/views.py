"""The care team's console: thin views that check role and scope, call the other apps' selectors and services,
audit-log what was shown, and render templates. Out-of-scope ids answer an HTML 404 (never 403, as in the API)."""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.http import require_GET, require_POST

from apps.accounts import mfa
from apps.accounts.models import Patient, User
from apps.accounts.selectors import access_patient_by_user
from apps.alerts import services as alert_services
from apps.alerts.selectors import access_alert_by_user
from apps.console import charts, rulebook, selectors
from apps.console.forms import (
    CONSOLE_ROLES,
    NOT_STAFF_MESSAGE,
    AlertActionForm,
    CodeForm,
    PatientFilterForm,
    ReviewForm,
)
from apps.medications import services as medication_services
from apps.medications.models import Schedule
from apps.medications.rules.adherence import ADHERENT_PDC, pdc_percent
from apps.medications.selectors import review_findings
from apps.profiles.models import DxaSite
from apps.profiles.rules import BONE_HEALTH_THRESHOLDS
from backend import clock
from backend.access import NotInScope, access_patient_data_by_user
from backend.audit import audit_denied, audit_record
from backend.roles import Role

PAGE_SIZE = 50
COORDINATORS = (Role.COORDINATOR, Role.ADMIN)
PHARMACISTS = (Role.PHARMACIST, Role.ADMIN)
ALL_STAFF = (Role.COORDINATOR, Role.PHARMACIST, Role.ADMIN)
ROLE_PAGES = {Role.COORDINATOR: "care coordinators", Role.PHARMACIST: "pharmacists"}

# Nothing is loaded from anywhere but this server; inline scripts and styles are refused outright.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

View = Callable[..., HttpResponse]
R = TypeVar("R", bound=HttpResponseBase)


def with_console_headers(response: R) -> R:
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response["Cache-Control"] = "no-store"  # patient data: never kept by the browser or a proxy
    return response


def console_headers(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """For views the console does not render itself (Django's sign-in and sign-out)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return with_console_headers(view(request, *args, **kwargs))

    return wrapper


def sign_in_paused(request: HttpRequest, seconds: int) -> HttpResponse:
    """The 429 page of the sign-in limits (apps/accounts/signin_limits.py), which the API and the admin share."""
    return page(request, "throttled.html", {"seconds": seconds}, status=429)


def page(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return with_console_headers(TemplateResponse(request, f"console/{template}", context, status=status))


def refused(request: HttpRequest, message: str) -> HttpResponse:
    return page(request, "refused.html", {"message": message}, status=403)


def not_found_page(request: HttpRequest) -> HttpResponse:
    return page(request, "not_found.html", {}, status=404)


def console_page(*roles: Role) -> Callable[[View], View]:
    """Signed-in staff of these roles only: others are sent to sign in (anonymous) or refused (403 page); an id out
    of the user's scope is an HTML 404."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
            role = getattr(user, "role", None)
            if role not in CONSOLE_ROLES:
                return refused(request, NOT_STAFF_MESSAGE)
            if mfa.needs_second_factor(user):  # signed in with the password only: the code comes first
                return _to_second_factor(request, request.get_full_path())
            if role not in roles:
                names = " and ".join(ROLE_PAGES[r] for r in roles if r in ROLE_PAGES)
                return refused(request, f"This page is for {names}.")
            try:
                return view(request, *args, **kwargs)
            except Http404 as exc:
                if isinstance(exc, NotInScope):  # refused lookups are audit-logged, like the API's
                    audit_denied(actor=user, resource=exc.resource, requested_id=exc.requested_id, request=request)
                return not_found_page(request)
            except PermissionDenied:
                return refused(request, "You may not do this.")

        return wrapper

    return decorate


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)  # console_page let only signed-in users through
    return request.user


def _page_of(request: HttpRequest, rows: Any) -> Page[Any]:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _audit_list(request: HttpRequest, resource: str, patient_ids: list[UUID]) -> None:
    # An empty page is still a page view: it is logged once, without a patient.
    ids: list[UUID | None] = list(patient_ids) or [None]
    audit_record(actor=_user(request), action="list", resource=resource, patient_ids=ids, request=request)


def _apply_errors(form: Any, exc: ValidationError) -> None:
    """A service's ValidationError as form errors (by field where it names one the form has)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _summary(form: Any) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


# --- home, errors ----------------------------------------------------------------------------------------------------
@require_GET
@console_page(*ALL_STAFF)
def home(request: HttpRequest) -> HttpResponse:
    return redirect("console:reviews" if _user(request).role == Role.PHARMACIST else "console:worklist")


@console_page(*ALL_STAFF)
def unknown(request: HttpRequest, rest: str) -> HttpResponse:
    return not_found_page(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a console page saying what happened; elsewhere (the admin) Django's own."""
    if request.path.startswith("/console/"):
        return page(request, "csrf_failure.html", {"reason": reason}, status=403)
    return django_csrf_failure(request, reason)


# --- second factor: enrol an authenticator app, then give its code ---------------------------------------------------
def _safe_next(request: HttpRequest, candidate: str | None) -> str:
    """A console path to go back to once verified; anything else (another host, the admin) goes home."""
    if (
        candidate
        and candidate.startswith("/console/")
        and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()})
    ):
        return candidate
    return reverse("console:home")


def _to_second_factor(request: HttpRequest, next_path: str) -> HttpResponse:
    target = "console:mfa_verify" if mfa.confirmed_device(request.user) else "console:mfa_enrol"
    return redirect_to_login(next_path, reverse(target))


def second_factor_page(view: View) -> View:
    """Signed-in staff who still owe a code; anyone else goes where console_page would send them."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if getattr(user, "role", None) not in CONSOLE_ROLES:
            return refused(request, NOT_STAFF_MESSAGE)
        if mfa.is_verified(user):
            return redirect(_safe_next(request, request.GET.get("next")))
        return view(request, *args, **kwargs)

    return wrapper


WRONG_CODE = "That code is not right. Check the time on your phone and try the code shown now."
TOO_MANY_CODES = "Too many wrong codes. Wait {} seconds, then try the code shown then."


def _code_step(
    request: HttpRequest, template: str, context: dict[str, Any], check: Callable[[str], mfa.CodeCheck]
) -> HttpResponse:
    """The code form: a right code goes on (to `next`), a wrong one shows why (400; 429 with Retry-After while the
    device is locked after wrong codes)."""
    form = CodeForm(request.POST or None, initial={"next": request.GET.get("next", "")})
    status, wait = 200, 0
    if form.is_valid():
        result = check(form.cleaned_data["code"])
        if result.ok:
            return redirect(_safe_next(request, form.cleaned_data.get("next")))
        wait = result.wait_seconds
        form.add_error("code", TOO_MANY_CODES.format(wait) if wait else WRONG_CODE)
        status = 429 if wait else 400
    elif form.is_bound:
        status = 400
    response = page(request, template, {**context, "form": form, "second_factor_step": True}, status=status)
    if wait:
        response["Retry-After"] = str(wait)
    return response


@second_factor_page
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """First sign-in with the second factor: scan the QR code (or type the secret), then confirm with a code."""
    user = _user(request)
    if mfa.confirmed_device(user) is not None:  # enrolled: a new app only through an admin's reset, never here
        return redirect_to_login(_safe_next(request, request.GET.get("next")), reverse("console:mfa_verify"))
    device = mfa.enrolment_device(user)
    qr = segno.make(device.config_url, error="m").svg_inline(scale=4, title="QR code of your sign-in key")
    context = {
        "qr_svg": mark_safe(qr),  # noqa: S308  # segno's own markup; the URI's text is escaped in it
        "secret": mfa.secret_text(device),
        "issuer": settings.OTP_TOTP_ISSUER,
    }
    return _code_step(request, "mfa_enrol.html", context, lambda code: mfa.confirm_enrolment(request, device, code))


@second_factor_page
def mfa_verify(request: HttpRequest) -> HttpResponse:
    device = mfa.confirmed_device(_user(request))
    if device is None:
        return redirect_to_login(_safe_next(request, request.GET.get("next")), reverse("console:mfa_enrol"))
    return _code_step(request, "mfa_verify.html", {}, lambda code: mfa.verify(request, device, code))


# --- coordinators' worklist ------------------------------------------------------------------------------------------
def _worklist_response(
    request: HttpRequest, bound: dict[UUID, AlertActionForm] | None = None, *, status: int = 200
) -> HttpResponse:
    from apps.console.contact_views import worklist_response  # the worklist's own module (issue 14)

    return worklist_response(request, bound, status=status)


@require_GET
@console_page(*COORDINATORS)
def worklist(request: HttpRequest) -> HttpResponse:
    return _worklist_response(request)


@require_POST
@console_page(*COORDINATORS)
def alert_action(request: HttpRequest, alert_id: UUID, action: str) -> HttpResponse:
    user = _user(request)
    alert = access_alert_by_user(user, alert_id)
    form = AlertActionForm(request.POST, prefix=str(alert.pk))
    if form.is_valid():
        note = form.cleaned_data["note"]
        try:
            if action == "acknowledge":
                alert_services.alert_acknowledge(alert=alert, actor=user, note=note)
            else:
                alert_services.alert_resolve(alert=alert, actor=user, note=note)
        except ValidationError as exc:
            _apply_errors(form, exc)
    back_to_patient = form.cleaned_data.get("next") == "patient"
    if form.errors:
        messages.error(request, f"Nothing was changed: {_summary(form)}")
        if back_to_patient:
            return _patient_response(request, alert.patient, alert_forms={alert.pk: form}, status=400)
        return _worklist_response(request, {alert.pk: form}, status=400)
    audit_record(
        actor=user,
        action="update",
        resource="alert",
        patient_ids=[alert.patient_id],
        object_id=alert.pk,
        request=request,
    )
    verb = "acknowledged" if action == "acknowledge" else "resolved"
    messages.success(request, f"Alert for {alert.patient} {verb}.")
    if back_to_patient:
        return HttpResponseRedirect(reverse("console:patient", args=[alert.patient_id]))
    return redirect("console:worklist")


# --- patients --------------------------------------------------------------------------------------------------------
@require_GET
@console_page(*ALL_STAFF)
def patients(request: HttpRequest) -> HttpResponse:
    form = PatientFilterForm(request.GET or None)
    status = 200
    if form.is_bound and not form.is_valid():
        rows: Any = Patient.objects.none()  # a wrong filter shows its error, not an unfiltered list
        status = 400
    else:
        data = form.cleaned_data if form.is_bound else {}
        medication_services.adherence_catch_up()  # the list shows the stored figure: never a stale one
        rows = selectors.patient_rows(
            user=_user(request), q=data.get("q", ""), filters=form.caseload_filters() if form.is_bound else {}
        )
    patients_page = _page_of(request, rows)
    _audit_list(request, "console_patients", [p.pk for p in patients_page])
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page_obj": patients_page,
        "query": query.urlencode(),
        "adherent_pdc": ADHERENT_PDC,
        "nav": "patients",
    }
    return page(request, "patients.html", context, status=status)


def _adherence_chart(overview: selectors.PatientOverview, **size: Any) -> charts.BarChart:
    windows = selectors.ADHERENCE_WINDOWS
    return charts.grouped_bar_chart(
        [
            (
                f"{row.schedule.medication.name} {row.schedule.dose}",
                [None if cell.pdc is None else float(cell.pdc) for cell in row.cells],
            )
            for row in overview.adherence
        ],
        series=[f"{w} days" for w in windows],
        threshold=float(ADHERENT_PDC),
        threshold_label=f"{pdc_percent(ADHERENT_PDC)} adherent",
        labels=[[_adherence_label(cell) for cell in row.cells] for row in overview.adherence],
        **size,
    )


def _adherence_label(cell: selectors.AdherenceCell) -> str:
    if not cell.active:
        return "not active"
    text = pdc_percent(cell.pdc)
    return f"{text} over {cell.days} days" if cell.shorter else text


def _t_score_chart(overview: selectors.PatientOverview, **size: Any) -> charts.LineChart:
    labels = dict(DxaSite.choices)
    by_site: dict[str, list[Any]] = {}
    for result in sorted(overview.dxa, key=lambda r: r.site):
        by_site.setdefault(labels.get(result.site, result.site), []).append((result.measured_on, float(result.t_score)))
    t = BONE_HEALTH_THRESHOLDS
    return charts.line_chart(
        by_site,
        references=[
            (float(t.t_score_with_risk), f"{t.t_score_with_risk} with a risk factor"),
            (float(t.t_score_alone), f"{t.t_score_alone} therapy"),
        ],
        **size,
    )


def _calcium_chart(overview: selectors.PatientOverview, **size: Any) -> charts.ColumnChart:
    days = {n.date: n for n in overview.nutrition}
    week = [overview.week.monday + timedelta(days=i) for i in range(7)]
    target = next((n.summary.calcium_mg.target for n in overview.nutrition if n.summary.calcium_mg.target), None)
    return charts.column_chart(
        [(f"{d:%a}", _calcium_logged(days[d]) if d in days else None) for d in week],
        target=float(target) if target is not None else None,
        target_label=f"{target:,.0f} mg" if target is not None else "",
        unit=" mg",
        **size,
    )


def _calcium_logged(day: Any) -> float | None:
    """A day's calcium for the chart; None when nothing was logged (no column: not logged, not 0 mg)."""
    calcium = day.summary.calcium_mg
    return float(calcium.total) if calcium.logged else None


def _patient_response(
    request: HttpRequest,
    patient: Patient,
    *,
    alert_forms: dict[UUID, AlertActionForm] | None = None,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The patient page; `bound` carries forms refused on it (keys the contact tags read), shown with what was
    typed and its errors rather than lost to a redirect."""
    user = _user(request)
    overview = selectors.patient_overview(patient=patient, user=user)
    now = clock.now()
    alert_rows = [
        {
            "alert": alert,
            "injection": selectors.alert_injection_status(alert, now=now),
            "form": (alert_forms or {}).get(alert.pk)
            or AlertActionForm(initial={"next": "patient"}, prefix=str(alert.pk)),
        }
        for alert in overview.alerts
    ]
    audit_record(
        actor=user,
        action="read",
        resource="console_patient",
        patient_ids=[patient.pk],
        object_id=patient.pk,
        request=request,
    )
    context = {
        "o": overview,
        "profile": patient.profile,
        "alert_rows": alert_rows,
        "can_act_on_alerts": user.role in COORDINATORS,
        "adherence_chart": _adherence_chart(overview),
        "t_score_chart": _t_score_chart(overview),
        "calcium_chart": _calcium_chart(overview),
        # The same charts drawn for a phone's width (shown there instead, so their text stays >= 11 px on screen).
        "phone_charts": {
            "adherence": _adherence_chart(overview, **charts.PHONE_BARS),
            "t_score": _t_score_chart(overview, **charts.PHONE_LINES),
            "calcium": _calcium_chart(overview, **charts.PHONE_COLUMNS),
        },
        "windows": selectors.ADHERENCE_WINDOWS,
        "nav": "patients",
        **(bound or {}),
    }
    return page(request, "patient.html", context, status=status)


@require_GET
@console_page(*ALL_STAFF)
def patient(request: HttpRequest, patient_pk: UUID) -> HttpResponse:
    return _patient_response(request, access_patient_by_user(_user(request), patient_pk))


# --- pharmacists' review queue ---------------------------------------------------------------------------------------
def _reviews_response(
    request: HttpRequest, bound: dict[UUID, ReviewForm] | None = None, *, status: int = 200
) -> HttpResponse:
    from apps.console.review_views import reviews_response  # the queue page lives there (it imports this module)

    return reviews_response(request, bound, status=status)


@require_GET
@console_page(*PHARMACISTS)
def reviews(request: HttpRequest) -> HttpResponse:
    return _reviews_response(request)


@require_POST
@console_page(*PHARMACISTS)
def review_decide(request: HttpRequest, schedule_pk: UUID) -> HttpResponse:
    user = _user(request)
    schedule = access_patient_data_by_user(
        Schedule.objects.select_related("medication", "patient__profile", "patient__user"), user, schedule_pk
    )
    found = review_findings([schedule])[schedule.pk]
    high = sum(1 for f in found if f["severity"] == "high")
    form = ReviewForm(request.POST, prefix=str(schedule.pk), high_findings=high)
    if form.is_valid():
        try:
            medication_services.review_decide(
                reviewer=user,
                schedule=schedule,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
                findings=found,
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
    if form.errors:
        messages.error(request, f"Nothing was saved: {_summary(form)}")
        return _reviews_response(request, {schedule.pk: form}, status=400)
    audit_record(
        actor=user,
        action="update",
        resource="review",
        patient_ids=[schedule.patient_id],
        object_id=schedule.pk,
        request=request,
    )
    verb = "verified" if form.cleaned_data["decision"] == "verify" else "sent back with changes requested"
    messages.success(request, f"{schedule.medication.name} for {schedule.patient} {verb}.")
    return redirect("console:reviews")


# --- the clinical rulebook ---------------------------------------------------------------------------------------
@require_GET
@console_page(*ALL_STAFF)
def rules(request: HttpRequest) -> HttpResponse:
    """docs/clinical-rules.md, served inside the product: the rule ids on the other pages link here (#rule-D5)."""
    book = rulebook.load()
    html = mark_safe(book.html)  # noqa: S308  # rendered from the repository's own file, every text escaped
    return page(request, "rules.html", {"rulebook": html, "nav": "rules"})
