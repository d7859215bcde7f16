"""Appointments (list, book, reschedule, cancel; readiness of each upcoming injection, DOMAIN D8), dental checks,
and the coordinator's booking list (DOMAIN D5 due_soon)."""

from typing import Any

from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_base import PatientDataView, PatientRecordView, request_user
from apps.accounts.models import Patient, User
from apps.appointments import selectors, services
from apps.appointments.models import Appointment, AppointmentKind, AppointmentStatus, DentalCheck
from apps.medications.models import InjectionStateField, Schedule
from apps.medications.selectors import schedule_list
from backend.access import access_record_of_patient, get_or_404
from backend.audit import audit_record
from backend.pagination import PaginatedListMixin
from backend.permissions import require_role
from backend.roles import Role
from backend.serializers import AwareDateTimeField, BoundedDateField, QuerySerializer, StrictSerializer

# The care team books; the patient reads hers (here and in the synced `appointments` table); pharmacists read.
WRITERS = (Role.COORDINATOR, Role.ADMIN)
BOOKERS = (Role.COORDINATOR, Role.PHARMACIST, Role.ADMIN)


class ReadinessItemOutput(serializers.Serializer[Any]):
    code = serializers.ChoiceField(choices=["serum_calcium", "calcium_vitamin_d", "renal_function", "dental_check"])
    ok = serializers.BooleanField()
    message = serializers.CharField()


class ReadinessOutput(serializers.Serializer[Any]):
    ready = serializers.BooleanField()
    items = ReadinessItemOutput(many=True)


class AppointmentOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    kind = serializers.ChoiceField(choices=AppointmentKind.choices)
    schedule = serializers.UUIDField(source="schedule_id", allow_null=True)
    medication_name = serializers.SerializerMethodField()
    starts_at = AwareDateTimeField()
    location = serializers.CharField()
    note = serializers.CharField()
    status = serializers.ChoiceField(choices=AppointmentStatus.choices)
    cancelled_at = AwareDateTimeField(allow_null=True)
    cancel_reason = serializers.CharField()
    readiness = serializers.SerializerMethodField(
        help_text="DOMAIN D8, for a booked injection still ahead (null otherwise): what the record shows before "
        "it. Informs, never blocks."
    )
    created_at = AwareDateTimeField()
    updated_at = AwareDateTimeField()

    def get_medication_name(self, appointment: Appointment) -> str | None:
        return appointment.schedule.medication.name if appointment.schedule is not None else None

    @extend_schema_field(ReadinessOutput(allow_null=True))
    def get_readiness(self, appointment: Appointment) -> dict[str, Any] | None:
        found = self.context.get("readiness", {}).get(appointment.pk)
        if found is None:
            return None
        return {"ready": found.ready, "items": [vars(item) for item in found.items]}


def _output(rows: Any, *, many: bool) -> Any:
    items = list(rows) if many else [rows]
    readiness = selectors.readiness_of(items)
    return AppointmentOutput(rows if not many else items, many=many, context={"readiness": readiness}).data


SCHEDULE_HELP = "An injection or infusion: her schedule of the medicine given (subcutaneous or intravenous)."
STARTS_HELP = "With a UTC offset (e.g. 2026-12-03T10:30:00+01:00); not in the past, at most two years ahead."


class StatusFilter(QuerySerializer):
    status = serializers.ChoiceField(
        choices=AppointmentStatus.choices, required=False, help_text="booked or cancelled; default both."
    )


class AppointmentListCreateView(PaginatedListMixin, PatientDataView):
    audit_resource = "appointment"
    roles_by_method = {"POST": WRITERS}

    class Input(StrictSerializer):
        kind = serializers.ChoiceField(choices=AppointmentKind.choices)
        schedule = serializers.UUIDField(required=False, allow_null=True, default=None, help_text=SCHEDULE_HELP)
        starts_at = AwareDateTimeField(help_text=STARTS_HELP)
        location = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
        note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[StatusFilter],
        responses=AppointmentOutput(many=True),
        summary="A patient's appointments, soonest first (cancelled ones stay, with their reason)",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        query = StatusFilter(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.appointment_list(patient=patient, status=query.validated_data.get("status"))
        paginator, page = self.paginate(request, rows)
        return paginator.get_paginated_response(_output(page, many=True))

    @extend_schema(request=Input, responses={201: AppointmentOutput}, summary="Book an appointment (care team)")
    def post(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        schedule = _her_schedule(patient, values.pop("schedule"))
        appointment = services.appointment_create(
            actor=request_user(request), patient=patient, schedule=schedule, **values
        )
        self.audit_object(appointment.id)
        return Response(_output(appointment, many=False), status=status.HTTP_201_CREATED)


def _her_schedule(patient: Patient, schedule_id: Any) -> Schedule | None:
    if schedule_id is None:
        return None
    try:
        return get_or_404(schedule_list(patient=patient).select_related("medication"), schedule_id)
    except Http404 as exc:
        raise serializers.ValidationError({"schedule": ["No such schedule for this patient."]}) from exc


class AppointmentDetailView(PatientRecordView[Appointment]):
    output = AppointmentOutput
    audit_resource = "appointment"
    roles_by_method = {"PATCH": WRITERS}

    class Input(StrictSerializer):
        schedule = serializers.UUIDField(required=False, allow_null=True, help_text=SCHEDULE_HELP)
        starts_at = AwareDateTimeField(required=False, help_text=STARTS_HELP)
        location = serializers.CharField(max_length=200, required=False, allow_blank=True)
        note = serializers.CharField(max_length=500, required=False, allow_blank=True)

    def records(self, patient: Patient) -> Any:
        return selectors.appointment_list(patient=patient)

    def update(self, actor: User, record: Appointment, values: dict[str, Any]) -> Appointment:
        if "schedule" in values:
            values["schedule"] = _her_schedule(record.patient, values["schedule"])
        return services.appointment_update(actor=actor, appointment=record, **values)

    @extend_schema(responses=AppointmentOutput, summary="One appointment")
    def get(self, request: Request, patient_id: str, appointment_id: str) -> Response:
        return Response(_output(self.get_record(request, patient_id, appointment_id), many=False))

    @extend_schema(request=Input, responses=AppointmentOutput, summary="Reschedule or edit an appointment (care team)")
    def patch(self, request: Request, patient_id: str, appointment_id: str) -> Response:
        record = self.get_record(request, patient_id, appointment_id)
        data = self.Input(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changed = self.update(request_user(request), record, dict(data.validated_data))
        return Response(_output(changed, many=False))


class AppointmentCancelView(PatientDataView):
    audit_resource = "appointment"
    roles_by_method = {"POST": WRITERS}

    class Input(StrictSerializer):
        reason = serializers.CharField(max_length=500, help_text="Why it is cancelled (kept and shown with it).")

    @extend_schema(request=Input, responses=AppointmentOutput, summary="Cancel an appointment with a reason")
    def post(self, request: Request, patient_id: str, appointment_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        appointment = access_record_of_patient(selectors.appointment_list(patient=patient), appointment_id)
        self.audit_object(appointment.pk)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        cancelled = services.appointment_cancel(
            actor=request_user(request), appointment=appointment, reason=data.validated_data["reason"]
        )
        return Response(_output(selectors.appointment_list(patient=patient).get(pk=cancelled.pk), many=False))


class DentalCheckOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    checked_on = BoundedDateField()
    note = serializers.CharField()
    created_at = AwareDateTimeField()


class DentalCheckListCreateView(PaginatedListMixin, PatientDataView):
    audit_resource = "dental_check"
    roles_by_method = {"POST": BOOKERS}

    class Input(StrictSerializer):
        checked_on = BoundedDateField(help_text="The day of the dental examination; not in the future.")
        note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    @extend_schema(responses=DentalCheckOutput(many=True), summary="Dental checks on record, newest first")
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        return self.paginated_response(request, selectors.dental_check_list(patient=patient), DentalCheckOutput)

    @extend_schema(request=Input, responses={201: DentalCheckOutput}, summary="Record a dental check (care team)")
    def post(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        check: DentalCheck = services.dental_check_record(
            actor=request_user(request), patient=patient, **data.validated_data
        )
        self.audit_object(check.id)
        return Response(DentalCheckOutput(check).data, status=status.HTTP_201_CREATED)


class BookingRowOutput(serializers.Serializer[Any]):
    schedule = serializers.UUIDField(source="id")
    patient = serializers.UUIDField(source="patient_id")
    patient_name = serializers.CharField(source="patient.user.full_name")
    medication_code = serializers.CharField(source="medication.code")
    medication_name = serializers.CharField(source="medication.name")
    kind = serializers.SerializerMethodField(help_text="The appointment kind to book: injection or infusion.")
    next_due_on = BoundedDateField()
    injection_state = serializers.ChoiceField(choices=InjectionStateField.choices)
    book = serializers.SerializerMethodField(help_text="Where to book it: POST an appointment there.")

    def get_kind(self, schedule: Schedule) -> str:
        return AppointmentKind.INFUSION if schedule.medication.route == "intravenous" else AppointmentKind.INJECTION

    def get_book(self, schedule: Schedule) -> str:
        return f"/api/v1/patients/{schedule.patient_id}/appointments/"


class BookingListView(PaginatedListMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses=BookingRowOutput(many=True),
        summary="Injections and infusions to book (DOMAIN D5 due_soon, due, late, critical; none booked ahead), "
        "soonest due first",
    )
    def get(self, request: Request) -> Response:
        user = request_user(request)
        require_role(user, *BOOKERS)
        paginator, page = self.paginate(request, selectors.booking_list(user=user))
        audit_record(
            actor=user,
            action="read",
            resource="booking_list",
            patient_ids=sorted({row.patient_id for row in page}),
            request=request,
        )
        return paginator.get_paginated_response(BookingRowOutput(page, many=True).data)
