"""Console pages of the booking loop (issue 14: book, give): the coordinator's booking list (DOMAIN D5 due_soon,
due, late, critical with nothing booked ahead), the booking form, recording an injection as given (the same dose
service as the API: alerts resolve as DOMAIN D2/D5 say, the next due date moves), cancelling an appointment with a
reason, and the patient page's appointments (a template tag the page includes).

Times typed here are wall-clock times in the patient's own time zone (the form says which), turned into instants
with her zone: the console never guesses an offset from the browser."""

import uuid
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts.models import Patient, User
from apps.accounts.selectors import access_patient_by_user
from apps.appointments import selectors as appointment_selectors
from apps.appointments import services as appointment_services
from apps.appointments.models import DOSE_KINDS, Appointment, AppointmentKind, AppointmentStatus
from apps.console.views import (
    COORDINATORS,
    _apply_errors,
    _audit_list,
    _page_of,
    _patient_response,
    _summary,
    _user,
    console_page,
    page,
)
from apps.medications.models import Route, Schedule, ScheduleStatus
from apps.medications.services import dose_record
from backend import clock
from backend.access import access_record_of_patient, scope_patient_data
from backend.audit import audit_record
from backend.recurrence import to_instant


def _injectables(patient: Patient) -> list[Schedule]:
    return list(
        Schedule.objects.filter(
            patient=patient,
            status=ScheduleStatus.ACTIVE,
            medication__route__in=(Route.SUBCUTANEOUS, Route.INTRAVENOUS),
        ).select_related("medication")
    )


class BookingForm(forms.Form):
    kind = forms.ChoiceField(choices=AppointmentKind.choices, label="What for")
    schedule = forms.ChoiceField(
        required=False, label="Medicine given", help_text="For an injection or infusion: the schedule it gives."
    )
    on = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    at = forms.TimeField(label="Time", widget=forms.TimeInput(attrs={"type": "time"}))
    location = forms.CharField(max_length=200, required=False, label="Where")
    note = forms.CharField(max_length=500, required=False, label="Note", widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, schedules: list[Schedule], zone_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedules = {str(s.pk): s for s in schedules}
        field = self.fields["schedule"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "none")] + [(str(s.pk), f"{s.medication.name} {s.dose}") for s in schedules]
        self.fields["at"].help_text = f"Her local time ({zone_name})."


class GivenForm(forms.Form):
    on = forms.DateField(label="Given on", widget=forms.DateInput(attrs={"type": "date"}))
    at = forms.TimeField(label="At", widget=forms.TimeInput(attrs={"type": "time"}))
    site = forms.CharField(max_length=40, label="Injection site", help_text="e.g. left upper arm, abdomen.")
    note = forms.CharField(max_length=400, required=False, label="Note")


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Why cancel", widget=forms.TextInput())


def _instant(patient: Patient, on: date, at: time) -> datetime:
    return to_instant(on, at, clock.zone(patient.profile.timezone))


def _patient_page(patient_id: UUID, anchor: str = "appointments-h") -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("console:patient", args=[patient_id]) + f"#{anchor}")


# --- the booking list -------------------------------------------------------------------------------------------------
@require_GET
@console_page(*COORDINATORS)
def booking_list(request: HttpRequest) -> HttpResponse:
    rows = _page_of(request, appointment_selectors.booking_list(user=_user(request)))
    _audit_list(request, "console_booking_list", sorted({row.patient_id for row in rows}))
    return page(request, "booking_list.html", {"page_obj": rows, "rows": list(rows), "nav": "booking"})


# --- book ---------------------------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@console_page(*COORDINATORS)
def appointment_book(request: HttpRequest, patient_pk: UUID) -> HttpResponse:
    user = _user(request)
    patient = access_patient_by_user(user, patient_pk)
    schedules = _injectables(patient)
    zone_name = patient.profile.timezone
    if request.method == "GET":
        chosen = next((s for s in schedules if str(s.pk) == request.GET.get("schedule")), None)
        initial: dict[str, Any] = {"kind": AppointmentKind.VISIT}
        if chosen:
            initial = {
                "kind": AppointmentKind.INFUSION
                if chosen.medication.route == Route.INTRAVENOUS
                else AppointmentKind.INJECTION,
                "schedule": str(chosen.pk),
                "on": chosen.next_due_on,
                "at": time(10, 0),
            }
        form = BookingForm(initial=initial, schedules=schedules, zone_name=zone_name)
        return _book_page(request, patient, form)
    form = BookingForm(request.POST, schedules=schedules, zone_name=zone_name)
    appointment = None
    if form.is_valid():
        values = form.cleaned_data
        schedule = form.schedules.get(values["schedule"] or "")
        try:
            appointment = appointment_services.appointment_create(
                actor=user,
                patient=patient,
                kind=values["kind"],
                schedule=schedule,
                starts_at=_instant(patient, values["on"], values["at"]),
                location=values["location"],
                note=values["note"],
            )
        except ValidationError as exc:
            exc = _rename(exc, {"starts_at": "on"})
            _apply_errors(form, exc)
    if appointment is None:
        messages.error(request, f"Nothing was booked: {_summary(form)}")
        return _book_page(request, patient, form, status=400)
    audit_record(
        actor=user,
        action="create",
        resource="appointment",
        patient_ids=[patient.pk],
        object_id=appointment.pk,
        request=request,
    )
    local = appointment.starts_at.astimezone(clock.zone(zone_name))
    messages.success(request, f"{appointment.get_kind_display()} booked for {patient} on {local:%d %B %Y at %H:%M}.")
    return _patient_page(patient.pk)


def _rename(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({names.get(k, k): v for k, v in exc.message_dict.items()})


def _book_page(request: HttpRequest, patient: Patient, form: BookingForm, *, status: int = 200) -> HttpResponse:
    audit_record(
        actor=_user(request), action="read", resource="console_booking", patient_ids=[patient.pk], request=request
    )
    context = {"patient": patient, "form": form, "nav": "booking"}
    return page(request, "appointment_book.html", context, status=status)


# --- give, cancel -------------------------------------------------------------------------------------------------
def _appointment_of(user: User, appointment_pk: UUID) -> Appointment:
    rows = scope_patient_data(Appointment.objects.all(), user).select_related(
        "patient__profile", "patient__user", "schedule__medication"
    )
    return access_record_of_patient(rows, appointment_pk)


@require_http_methods(["GET", "POST"])
@console_page(*COORDINATORS)
def appointment_given(request: HttpRequest, appointment_pk: UUID) -> HttpResponse:
    user = _user(request)
    appointment = _appointment_of(user, appointment_pk)
    patient = appointment.patient
    if appointment.kind not in DOSE_KINDS or appointment.schedule is None:
        return page(
            request, "refused.html", {"message": "Only an injection or infusion is recorded as given."}, status=400
        )
    zone = clock.zone(patient.profile.timezone)
    if request.method == "GET":
        now = clock.now().astimezone(zone)
        start = appointment.starts_at.astimezone(zone)
        given = start if start <= now else now
        form = GivenForm(initial={"on": given.date(), "at": given.time().replace(second=0, microsecond=0)})
        return _given_page(request, appointment, form)
    form = GivenForm(request.POST)
    recorded = None
    if form.is_valid():
        values = form.cleaned_data
        try:
            # The same service as POST /api/v1/patients/{id}/doses/: D2 moves the next due date, the alerts follow.
            recorded = dose_record(
                actor=user,
                patient=patient,
                schedule=appointment.schedule,
                id=uuid.uuid4(),
                taken_at=_instant(patient, values["on"], values["at"]),
                source="clinic",
                site=values["site"].strip(),
                note=values["note"].strip(),
            ).dose
        except ValidationError as exc:
            _apply_errors(form, _rename(exc, {"taken_at": "on"}))
    if recorded is None:
        messages.error(request, f"Nothing was recorded: {_summary(form)}")
        return _given_page(request, appointment, form, status=400)
    audit_record(
        actor=user,
        action="create",
        resource="dose_record",
        patient_ids=[patient.pk],
        object_id=recorded.pk,
        request=request,
    )
    messages.success(
        request,
        f"{appointment.schedule.medication.name} recorded as given to {patient} on {recorded.taken_on:%d %B %Y}, "
        f"by {user.full_name or user.email}.",
    )
    return _patient_page(patient.pk, "inj-h")


def _given_page(request: HttpRequest, appointment: Appointment, form: GivenForm, *, status: int = 200) -> HttpResponse:
    patient = appointment.patient
    audit_record(
        actor=_user(request),
        action="read",
        resource="console_appointment",
        patient_ids=[patient.pk],
        object_id=appointment.pk,
        request=request,
    )
    context = {
        "appointment": appointment,
        "patient": patient,
        "form": form,
        "local_start": appointment.starts_at.astimezone(clock.zone(patient.profile.timezone)),
        "nav": "patients",
    }
    return page(request, "appointment_given.html", context, status=status)


@require_POST
@console_page(*COORDINATORS)
def appointment_cancel(request: HttpRequest, appointment_pk: UUID) -> HttpResponse:
    user = _user(request)
    appointment = _appointment_of(user, appointment_pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            appointment_services.appointment_cancel(
                actor=user, appointment=appointment, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
    if form.errors:
        messages.error(request, f"Nothing was changed: {_summary(form)}")
        return _patient_response(request, appointment.patient, status=400)
    audit_record(
        actor=user,
        action="update",
        resource="appointment",
        patient_ids=[appointment.patient_id],
        object_id=appointment.pk,
        request=request,
    )
    messages.success(request, "Appointment cancelled; her reminders of it are withdrawn.")
    return _patient_page(appointment.patient_id)


# --- what the patient page shows (apps/console/templatetags/appointment_tags.py) -------------------------------------
def patient_appointments(patient: Patient, user: User) -> dict[str, Any]:
    """Her appointments, soonest first, with readiness (DOMAIN D8) for each upcoming injection; booked ones by
    schedule for the injection timeline. Four to six queries, whatever the number."""
    rows = list(appointment_selectors.appointment_list(patient=patient))
    readiness = appointment_selectors.readiness_of(rows)
    zone = clock.zone(patient.profile.timezone)
    now = clock.now()
    items: list[dict[str, Any]] = [
        {
            "a": a,
            "local": a.starts_at.astimezone(zone),
            "upcoming": a.starts_at >= now and a.status == AppointmentStatus.BOOKED,
            "readiness": readiness.get(a.pk),
            "givable": a.kind in DOSE_KINDS and a.status == AppointmentStatus.BOOKED,
        }
        for a in rows
    ]
    by_schedule: dict[UUID, list[dict[str, Any]]] = {}
    for a, item in zip(rows, items, strict=True):
        if a.schedule_id and a.status == AppointmentStatus.BOOKED:
            by_schedule.setdefault(a.schedule_id, []).append(item)
    return {
        "items": items,
        "by_schedule": by_schedule,
        "can_book": user.role in COORDINATORS,
        "patient": patient,
    }
