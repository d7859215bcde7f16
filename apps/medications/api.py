"""Catalogue, schedules, occurrences and dose records."""

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_base import PatientDataView, PatientRecordView, request_user
from apps.accounts.models import Patient, User
from apps.medications import selectors, services
from apps.medications.api_stock import StockOutput
from apps.medications.models import (
    DoseRecord,
    DoseSource,
    DoseStatus,
    InjectionStateField,
    Medication,
    RecurrenceUnit,
    Schedule,
    ScheduleStatus,
)
from backend.access import access_record_of_patient, get_or_404
from backend.pagination import PaginatedListMixin
from backend.roles import Role
from backend.schema import CLIENT_ID_REUSED
from backend.serializers import (
    AwareDateTimeField,
    BoundedDateField,
    LocalTimeField,
    QuerySerializer,
    StrictSerializer,
    validated,
)

STAFF = (Role.COORDINATOR, Role.PHARMACIST, Role.ADMIN)
MAX_OCCURRENCE_WINDOW_DAYS = 366
DOSE_HELP = (
    "The prescribed dose, e.g. '70 mg' (default: the catalogue's). Zoledronic acid: an amount in mg, at most 5 mg "
    "(e.g. '3.5 mg'); the pharmacist's renal check judges it."
)


class MedicationOutput(serializers.ModelSerializer[Medication]):
    class Meta:
        model = Medication
        fields = [
            "id",
            "code",
            "name",
            "dose",
            "route",
            "drug_class",
            "administered_by",
            "default_unit",
            "default_interval",
            "is_anti_resorptive",
            "instructions",
            "source",
        ]


class MedicationListView(APIView):
    @extend_schema(responses=MedicationOutput(many=True), summary="The medicine catalogue (DOMAIN table)")
    def get(self, request: Request) -> Response:
        return Response(MedicationOutput(selectors.medication_list(), many=True).data)


class RecurrenceSerializer(StrictSerializer):
    unit = serializers.ChoiceField(choices=RecurrenceUnit.choices)
    interval = serializers.IntegerField(
        min_value=1,
        max_value=366,
        required=False,
        default=None,
        help_text="Every N units (default: the catalogue's, e.g. 6 months for denosumab; otherwise 1).",
    )
    weekday = serializers.IntegerField(
        min_value=0,
        max_value=6,
        required=False,
        allow_null=True,
        default=None,
        help_text="0 = Monday; weekly schedules (default: the start date's weekday).",
    )
    month_day = serializers.IntegerField(
        min_value=1,
        max_value=31,
        required=False,
        allow_null=True,
        default=None,
        help_text="Monthly schedules (default: the start date's day; 31 = month end).",
    )


class ScheduleOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    patient = serializers.UUIDField(source="patient_id")
    medication = serializers.UUIDField(source="medication_id")
    medication_code = serializers.CharField(source="medication.code")
    medication_name = serializers.CharField(source="medication.name")
    dose = serializers.CharField()
    recurrence = serializers.SerializerMethodField()
    local_time = LocalTimeField()
    starts_on = BoundedDateField()
    ends_on = BoundedDateField(allow_null=True)
    status = serializers.ChoiceField(choices=ScheduleStatus.choices)
    review_status = serializers.CharField()
    next_due = serializers.SerializerMethodField(help_text="Local date of the next dose (injectables: D1 due date).")
    next_due_at = serializers.SerializerMethodField(help_text="Instant of the next dose.")
    injection_state = serializers.SerializerMethodField(help_text="DOMAIN D5, 6-monthly injectables only.")
    days_overdue = serializers.SerializerMethodField()
    stock = StockOutput(
        source="*", help_text="Stock and refills (issue 17); written through .../stock/ and .../refill/."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def _state(self, schedule: Schedule) -> selectors.ScheduleState:
        cache: dict[Any, selectors.ScheduleState] = self.context.setdefault("_state", {})
        if schedule.pk not in cache:
            cache[schedule.pk] = selectors.schedule_state(schedule)
        return cache[schedule.pk]

    @extend_schema_field(RecurrenceSerializer)
    def get_recurrence(self, schedule: Schedule) -> dict[str, Any]:
        return {
            "unit": schedule.unit,
            "interval": schedule.interval,
            "weekday": schedule.weekday,
            "month_day": schedule.month_day,
        }

    @extend_schema_field(BoundedDateField(allow_null=True))
    def get_next_due(self, schedule: Schedule) -> date | None:
        return self._state(schedule).next_due

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_due_at(self, schedule: Schedule) -> str | None:
        at = self._state(schedule).next_due_at
        return at.isoformat() if at else None

    @extend_schema_field(serializers.ChoiceField(choices=InjectionStateField.choices, allow_null=True))
    def get_injection_state(self, schedule: Schedule) -> str | None:
        injection = self._state(schedule).injection
        return injection.state.value if injection else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_days_overdue(self, schedule: Schedule) -> int | None:
        injection = self._state(schedule).injection
        return injection.days_overdue if injection else None


class ScheduleListCreateView(PaginatedListMixin, PatientDataView):
    audit_resource = "schedule"
    roles_by_method = {"POST": STAFF}

    class Input(StrictSerializer):
        medication = serializers.UUIDField()
        dose = serializers.CharField(max_length=40, required=False, default="", help_text=DOSE_HELP)
        recurrence = RecurrenceSerializer(required=False)
        local_time = LocalTimeField()
        starts_on = BoundedDateField()
        ends_on = BoundedDateField(required=False, allow_null=True, default=None)

    @extend_schema(responses=ScheduleOutput(many=True), summary="A patient's schedules")
    def get(self, request: Request, patient_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        return self.paginated_response(request, selectors.schedule_list(patient=patient), ScheduleOutput)

    @extend_schema(request=Input, responses={201: ScheduleOutput}, summary="Create a schedule (staff); pending review")
    def post(self, request: Request, patient_id: str) -> Response:
        patient, values = self.patient_input(request, patient_id)
        try:
            medication = get_or_404(selectors.medication_list(), values.pop("medication"))
        except Http404 as exc:
            raise serializers.ValidationError({"medication": ["No such medication in the catalogue."]}) from exc
        recurrence = values.pop("recurrence", None) or {}
        schedule = services.schedule_create(
            actor=request_user(request), patient=patient, medication=medication, **values, **recurrence
        )
        return self.recorded(schedule, ScheduleOutput)


class ScheduleDetailView(PatientRecordView[Schedule]):
    output = ScheduleOutput
    audit_resource = "schedule"
    roles_by_method = {"PATCH": STAFF}

    class Input(StrictSerializer):
        dose = serializers.CharField(max_length=40, required=False, help_text=DOSE_HELP)
        recurrence = RecurrenceSerializer(required=False)
        local_time = LocalTimeField(required=False)
        starts_on = BoundedDateField(required=False)
        ends_on = BoundedDateField(required=False, allow_null=True)
        status = serializers.ChoiceField(choices=ScheduleStatus.choices, required=False)

    def records(self, patient: Patient) -> QuerySet[Schedule]:
        return selectors.schedule_list(patient=patient)

    def update(self, actor: User, record: Schedule, values: dict[str, Any]) -> Schedule:
        values.update(values.pop("recurrence", None) or {})
        return services.schedule_update(actor=actor, schedule=record, **values)

    @extend_schema(responses=ScheduleOutput, summary="One schedule")
    def get(self, request: Request, patient_id: str, schedule_id: str) -> Response:
        return self.read(request, patient_id, schedule_id)

    @extend_schema(
        request=Input,
        responses=ScheduleOutput,
        summary="Change a schedule (staff); a change to a verified one goes back to review",
    )
    def patch(self, request: Request, patient_id: str, schedule_id: str) -> Response:
        return self.change(request, patient_id, schedule_id)


class OccurrenceOutput(serializers.Serializer[Any]):
    due_at = serializers.DateTimeField()
    local_date = BoundedDateField()
    local_time = LocalTimeField()


class OccurrenceQuery(QuerySerializer):
    # "from" is a Python keyword: declared below through fields.
    to = BoundedDateField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["to"] < attrs["from"]:
            raise serializers.ValidationError({"to": ["Must not be before 'from'."]})
        if (attrs["to"] - attrs["from"]).days > MAX_OCCURRENCE_WINDOW_DAYS:
            raise serializers.ValidationError({"to": ["The window is at most a year."]})
        return attrs


OccurrenceQuery._declared_fields["from"] = BoundedDateField()


class OccurrenceListView(PatientDataView):
    audit_resource = "schedule_occurrences"

    @extend_schema(
        parameters=[
            OpenApiParameter("from", date, required=True, description="First local date (YYYY-MM-DD)"),
            OpenApiParameter(
                "to",
                date,
                required=True,
                description=f"Last local date, at most {MAX_OCCURRENCE_WINDOW_DAYS} days after 'from'",
            ),
        ],
        responses=OccurrenceOutput(many=True),
        summary="A schedule's computed occurrences in a window",
    )
    def get(self, request: Request, patient_id: str, schedule_id: str) -> Response:
        patient = self.get_patient(request, patient_id)
        schedule = access_record_of_patient(selectors.schedule_list(patient=patient), schedule_id)
        query = validated(OccurrenceQuery, request.query_params)
        rows = selectors.schedule_occurrences(schedule, first=query["from"], last=query["to"])
        return Response(OccurrenceOutput(rows, many=True).data)


class DoseOutput(serializers.ModelSerializer[DoseRecord]):
    class Meta:
        model = DoseRecord
        fields = [
            "id",
            "schedule",
            "occurrence_on",
            "taken_at",
            "taken_on",
            "status",
            "source",
            "site",
            "note",
            "recorded_by",
            "created_at",
            "updated_at",
        ]


class ScheduleFilter(QuerySerializer):
    schedule = serializers.UUIDField(required=False, help_text="Only doses of this schedule.")


class DoseListCreateView(PaginatedListMixin, PatientDataView):
    audit_resource = "dose_record"

    class Input(StrictSerializer):
        id = serializers.UUIDField(
            help_text="Generated by the client; re-posting the same id with the same values is idempotent."
        )
        schedule = serializers.UUIDField()
        occurrence_on = BoundedDateField(required=False, allow_null=True, default=None)
        taken_at = AwareDateTimeField(help_text="When it was taken: not in the future, at most 400 days ago.")
        status = serializers.ChoiceField(choices=DoseStatus.choices, required=False, default=DoseStatus.TAKEN)
        source = serializers.ChoiceField(  # type: ignore[assignment]  # "source" is the field name the API promises
            choices=DoseSource.choices, required=False, default=DoseSource.APP
        )
        site = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
        note = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    @extend_schema(
        parameters=[ScheduleFilter],
        responses=DoseOutput(many=True),
        summary="Dose records, newest first",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient, query = self.patient_query(request, patient_id, ScheduleFilter)
        rows = selectors.dose_list(patient=patient, schedule_id=query.get("schedule"))
        return self.paginated_response(request, rows, DoseOutput)

    @extend_schema(
        request=Input,
        responses={201: DoseOutput, 200: DoseOutput, 409: CLIENT_ID_REUSED},
        summary="Record a dose (201; 200 when this id was already recorded with the same values)",
    )
    def post(self, request: Request, patient_id: str) -> Response:
        patient, values = self.patient_input(request, patient_id)
        try:
            schedule = get_or_404(selectors.schedule_list(patient=patient), values.pop("schedule"))
        except Http404 as exc:
            raise serializers.ValidationError({"schedule": ["No such schedule for this patient."]}) from exc
        outcome = services.dose_record(
            actor=request_user(request), patient=patient, schedule=schedule, stated=frozenset(request.data), **values
        )
        self.audit_object(outcome.dose.id)
        return Response(
            DoseOutput(outcome.dose).data, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        )


class DoseDetailView(PatientRecordView[DoseRecord]):
    output = DoseOutput
    audit_resource = "dose_record"

    class Input(StrictSerializer):
        taken_at = AwareDateTimeField(
            required=False, help_text="When it was taken: not in the future, at most 400 days ago."
        )
        status = serializers.ChoiceField(choices=DoseStatus.choices, required=False)
        site = serializers.CharField(max_length=40, required=False, allow_blank=True)
        note = serializers.CharField(max_length=500, required=False, allow_blank=True)
        occurrence_on = BoundedDateField(required=False, allow_null=True)

    def records(self, patient: Patient) -> QuerySet[DoseRecord]:
        return selectors.dose_list(patient=patient)

    def update(self, actor: User, record: DoseRecord, values: dict[str, Any]) -> DoseRecord:
        return services.dose_correct(actor=actor, dose=record, **values)

    @extend_schema(responses=DoseOutput, summary="One dose record")
    def get(self, request: Request, patient_id: str, dose_id: str) -> Response:
        return self.read(request, patient_id, dose_id)

    @extend_schema(request=Input, responses=DoseOutput, summary="Correct a dose record (audit-logged)")
    def patch(self, request: Request, patient_id: str, dose_id: str) -> Response:
        return self.change(request, patient_id, dose_id)
