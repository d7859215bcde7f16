"""The coordinator's contact loop in the console (issue 14): the worklist with its filters, search, waiting section,
list refresh and several-at-once actions; logging a contact attempt on an alert; a patient's contact details. Thin
views over the alerts and profiles services, scoped by the access functions, audit-logged like the rest."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.selectors import access_patient_by_user
from apps.alerts import services as alert_services
from apps.alerts.selectors import access_alert_by_user, kinds_in_scope
from apps.console import selectors
from apps.console.contact_forms import BulkForm, ContactDetailsForm, ContactForm, WorklistFilterForm
from apps.console.forms import AlertActionForm
from apps.console.views import (
    COORDINATORS,
    _audit_list,
    _page_of,
    _patient_response,
    _summary,
    _user,
    console_page,
    page,
)
from apps.profiles import services as profile_services
from backend import clock
from backend.audit import audit_record
from backend.errors import ConflictError

WAITING_SHOWN = 100  # the waiting section lists this many (soonest back first); the count says how many there are
REFRESH_SECONDS = 60  # the list refreshes itself this often (static/console/worklist.js), never the form being typed


def contact_prefix(alert_id: object) -> str:
    return f"c{alert_id}"


def _filters(request: HttpRequest, kinds: list[str]) -> tuple[WorklistFilterForm, selectors.WorklistFilters | None]:
    form = WorklistFilterForm(request.GET or None, kinds=kinds)
    if not form.is_bound:
        return form, selectors.WorklistFilters()
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    return form, selectors.WorklistFilters(
        q=data.get("q") or "",
        level=data.get("level") or None,
        kind=data.get("kind") or None,
        waiting={"yes": True, "no": False}.get(data.get("waiting") or ""),
        sort=data.get("sort") or "urgency",
    )


def _row(alert: Any, now: Any, bound: dict[UUID, Any], contact_bound: dict[UUID, ContactForm]) -> dict[str, Any]:
    return {
        "alert": alert,
        "injection": selectors.alert_injection_status(alert, now=now),
        "form": bound.get(alert.pk) or AlertActionForm(initial={"next": "worklist"}, prefix=str(alert.pk)),
        "contact_form": contact_bound.get(alert.pk)
        or ContactForm(initial={"next": "worklist"}, prefix=contact_prefix(alert.pk)),
    }


def worklist_context(
    request: HttpRequest,
    bound: dict[UUID, AlertActionForm] | None = None,
    contact_bound: dict[UUID, ContactForm] | None = None,
) -> tuple[dict[str, Any], int]:
    """Everything the worklist page and its refreshable list show, and the status (400 for a wrong filter)."""
    user = _user(request)
    now = clock.now()
    form, filters = _filters(request, kinds_in_scope(user=user))
    bound, contact_bound = bound or {}, contact_bound or {}
    context: dict[str, Any] = {"filter_form": form, "nav": "worklist", "now": now, "refresh_seconds": REFRESH_SECONDS}
    if filters is None:  # a wrong filter shows its error, not an unfiltered list
        context.update(rows=[], waiting_rows=[], waiting_count=0, show_active=False, show_waiting=False)
        return context, 400
    show_active, show_waiting = filters.waiting is not True, filters.waiting is not False
    patient_ids = []
    if show_active:
        alerts = _page_of(request, selectors.worklist(user=user, filters=filters, waiting=False, now=now))
        context["page_obj"] = alerts
        context["rows"] = [_row(a, now, bound, contact_bound) for a in alerts]
        patient_ids += [a.patient_id for a in alerts]
    waiting: list[Any] = []
    if show_waiting:
        rows = selectors.worklist(user=user, filters=filters, waiting=True, now=now).order_by(
            "waiting_until", "-severity_rank", "raised_at", "id"
        )
        waiting = list(rows[:WAITING_SHOWN])
        context["waiting_rows"] = [_row(a, now, bound, contact_bound) for a in waiting]
        patient_ids += [a.patient_id for a in waiting]
    query = request.GET.copy()
    query.pop("page", None)
    context.update(
        show_active=show_active,
        show_waiting=show_waiting,
        waiting_shown_max=WAITING_SHOWN,
        query=query.urlencode(),
        filtered=any(v for k, v in request.GET.items() if k not in ("page", "sort")),
    )
    _audit_list(request, "console_worklist", list(dict.fromkeys(patient_ids)))
    return context, 200


def worklist_response(
    request: HttpRequest,
    bound: dict[UUID, AlertActionForm] | None = None,
    contact_bound: dict[UUID, ContactForm] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    context, filter_status = worklist_context(request, bound, contact_bound)
    return page(request, "worklist.html", context, status=max(status, filter_status))


@require_GET
@console_page(*COORDINATORS)
def worklist(request: HttpRequest) -> HttpResponse:
    return worklist_response(request)


@require_GET
@console_page(*COORDINATORS)
def worklist_list(request: HttpRequest) -> HttpResponse:
    """Only the list (both sections), for the page's periodic refresh: the filter and bulk forms stay as typed."""
    context, status = worklist_context(request)
    return page(request, "worklist_list.html", context, status=status)


def _back(request: HttpRequest, to_patient: bool, patient_id: object) -> HttpResponse:
    if to_patient:
        return HttpResponseRedirect(reverse("console:patient", args=[patient_id]))
    return redirect("console:worklist")


@require_POST
@console_page(*COORDINATORS)
def alert_contact(request: HttpRequest, alert_id: UUID) -> HttpResponse:
    """Log one contact attempt on an alert (repeatable; acknowledging stays its own action)."""
    user = _user(request)
    alert = access_alert_by_user(user, alert_id)
    form = ContactForm(request.POST, prefix=contact_prefix(alert.pk))
    attempt = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            attempt = alert_services.contact_attempt_record(
                alert=alert,
                actor=user,
                channel=data["channel"],
                outcome=data["outcome"],
                note=data["note"],
                follow_up_on=data["follow_up_on"],
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        except ConflictError as exc:
            form.add_error(None, exc.message)
    to_patient = form.cleaned_data.get("next") == "patient" if hasattr(form, "cleaned_data") else False
    if attempt is None:
        messages.error(request, f"Nothing was logged: {_summary(form)}")
        if to_patient:
            return _patient_response(request, alert.patient, bound={"contact_bound": {alert.pk: form}}, status=400)
        return worklist_response(request, contact_bound={alert.pk: form}, status=400)
    audit_record(
        actor=user,
        action="create",
        resource="contact_attempt",
        patient_ids=[alert.patient_id],
        object_id=attempt.pk,
        request=request,
    )
    waits = f"; waiting until {attempt.follow_up_on:%-d %b %Y}" if attempt.follow_up_on else ""
    messages.success(
        request, f"Logged for {alert.patient}: {attempt.get_channel_display()}, {attempt.get_outcome_display()}{waits}."
    )
    return _back(request, to_patient, alert.patient_id)


@require_POST
@console_page(*COORDINATORS)
def alerts_bulk(request: HttpRequest) -> HttpResponse:
    """Acknowledge or resolve the ticked alerts: all or none, in one transaction, each audited. One out of scope is
    a 404 (and nothing changes); one that cannot take the action refuses the lot, saying which."""
    user = _user(request)
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Nothing was changed: {_summary(form)}")
        return redirect("console:worklist")
    data = form.cleaned_data
    try:
        with transaction.atomic():
            alerts = [access_alert_by_user(user, pk) for pk in dict.fromkeys(data["ids"])]
            done = alert_services.alerts_act_together(
                alerts=alerts, actor=user, action=data["action"], note=data["note"]
            )
            audit_record(
                actor=user,
                action="update",
                resource="alert",
                patient_ids=[a.patient_id for a in done],
                request=request,
            )
    except ValidationError as exc:
        messages.error(request, "Nothing was changed: " + " ".join(exc.messages))
        return redirect("console:worklist")
    verb = "acknowledged" if data["action"] == "acknowledge" else "resolved"
    messages.success(request, f"{len(done)} alert{'s' if len(done) != 1 else ''} {verb}.")
    return redirect("console:worklist")


@require_POST
@console_page(*COORDINATORS)
def patient_contact_details(request: HttpRequest, patient_pk: UUID) -> HttpResponse:
    """Change how the care team reaches her: phone numbers (E.164) and preferred channel."""
    user = _user(request)
    patient = access_patient_by_user(user, patient_pk)
    form = ContactDetailsForm(request.POST, prefix="contact")
    if form.is_valid():
        data = form.cleaned_data
        try:
            profile_services.patient_profile_update(
                actor=user,
                patient=patient,
                phone=data["phone"] or "",
                phone_alt=data["phone_alt"] or "",
                preferred_channel=data["preferred_channel"],
            )
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
    if form.errors:
        messages.error(request, f"Nothing was changed: {_summary(form)}")
        return _patient_response(request, patient, bound={"contact_details_bound": form}, status=400)
    else:
        audit_record(
            actor=user,
            action="update",
            resource="patient",
            patient_ids=[patient.pk],
            object_id=patient.pk,
            request=request,
        )
        messages.success(request, "Contact details saved.")
    return HttpResponseRedirect(reverse("console:patient", args=[patient.pk]) + "#contact-h")
