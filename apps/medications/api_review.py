"""Adherence per schedule, and the pharmacists' review queue with automated findings."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_base import PatientDataView, request_user
from apps.medications import selectors, services
from apps.medications.adherence import patient_adherence
from apps.medications.api import ScheduleOutput
from apps.medications.models import ReviewDecision, Schedule
from backend.access import access_patient_data_by_user
from backend.audit import audit_record
from backend.pagination import PaginatedListMixin
from backend.permissions import require_role
from backend.roles import Role
from backend.serializers import BoundedDateField, DecimalField, QuerySerializer, StrictSerializer, validated


class AdherenceOutput(serializers.Serializer[Any]):
    schedule = serializers.UUIDField(source="schedule.id")
    medication_code = serializers.CharField(source="schedule.medication.code")
    pdc = DecimalField(
        max_digits=4,
        decimal_places=3,
        allow_null=True,
        help_text="Days covered / days in the window since tracking began, truncated to 3 decimals (never rounded "
        "up onto 0.800). null: not measured yet (fewer than 14 tracked days).",
    )
    days_covered = serializers.IntegerField(source="result.days_covered")
    days_in_window = serializers.IntegerField(
        source="result.days_in_window",
        help_text="The days the PDC is over: the window's days from tracked_since on (fewer than `window` when "
        "tracking began later, or the schedule ended).",
    )
    doses_expected = serializers.IntegerField(source="result.doses_expected")
    doses_taken = serializers.IntegerField(source="result.doses_taken")
    adherent = serializers.BooleanField(allow_null=True, help_text="PDC >= 0.80 (DOMAIN P1); null when not measured.")
    tracked_since = BoundedDateField(
        help_text="Her local date tracking began: the day the schedule was entered, or its first dose record if "
        "earlier, never before starts_on. Days before it are not counted as uncovered."
    )
    tracked_days = serializers.IntegerField(
        help_text="Days tracked so far (to today or the schedule's end); a PDC needs 14."
    )


class AdherenceQuery(QuerySerializer):
    window = serializers.IntegerField(
        min_value=7, max_value=730, required=False, default=90, help_text="Days, ending today in her zone."
    )


class AdherenceView(PatientDataView):
    audit_resource = "adherence"

    @extend_schema(
        parameters=[AdherenceQuery],
        responses=AdherenceOutput(many=True),
        summary="Proportion of days covered per schedule (DOMAIN P1, P2)",
    )
    def get(self, request: Request, patient_id: str) -> Response:
        patient, query = self.patient_query(request, patient_id, AdherenceQuery)
        rows = patient_adherence(patient=patient, window_days=query["window"])
        return Response(AdherenceOutput(rows, many=True).data)


class ReviewFindingOutput(serializers.Serializer[Any]):
    code = serializers.CharField(
        help_text=(
            "e.g. oral_medicine_too_soon_after_bisphosphonate (A2: another schedule or a supplement plan time), "
            "renal_function_below_threshold, zoledronic_acid_dose_above_renal_step, dose_unreadable (A4: judged on "
            "the prescribed dose), denosumab_stopped_without_follow_on (D5)."
        )
    )
    severity = serializers.ChoiceField(choices=["high", "moderate", "low"])
    message = serializers.CharField()
    rule = serializers.CharField(help_text="DOMAIN rule id.")


class ReviewItemOutput(ScheduleOutput):
    patient_name = serializers.CharField(source="patient.user.full_name")
    findings = serializers.SerializerMethodField()

    @extend_schema_field(ReviewFindingOutput(many=True))
    def get_findings(self, schedule: Any) -> list[dict[str, str]]:
        findings: list[dict[str, str]] = self.context["findings"][schedule.pk]
        return findings


class ReviewQueueView(PaginatedListMixin, APIView):
    @extend_schema(
        responses=ReviewItemOutput(many=True),
        summary="Schedules awaiting review in scope, with findings",
        description=(
            "Pending schedules, stopped and paused ones included: every change to a schedule (its status too) puts "
            "it back here, and so does a change elsewhere (another schedule, a supplement plan, a lab, the profile) "
            "that gives a verified schedule a finding its pharmacist did not see. Findings are computed now, from "
            "the patient's current schedules, supplement plans and latest labs."
        ),
    )
    def get(self, request: Request) -> Response:
        user = request_user(request)
        require_role(user, Role.PHARMACIST, Role.ADMIN)
        paginator, page = self.paginate(request, selectors.review_queue(user=user))
        findings = selectors.review_findings(page)
        audit_record(
            actor=user, action="list", resource="review", patient_ids=[s.patient_id for s in page], request=request
        )
        return paginator.get_paginated_response(ReviewItemOutput(page, many=True, context={"findings": findings}).data)


class ReviewDecisionOutput(serializers.ModelSerializer[ReviewDecision]):
    class Meta:
        model = ReviewDecision
        fields = ["id", "schedule", "decision", "note", "reviewer", "findings", "created_at"]


class ReviewDecideView(APIView):
    class Input(StrictSerializer):
        decision = serializers.ChoiceField(choices=ReviewDecision.Decision.choices)
        note = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)

    @extend_schema(
        request=Input,
        responses={201: ReviewDecisionOutput},
        summary="Verify a schedule or request changes (a note is required to request changes)",
    )
    def post(self, request: Request, schedule_id: str) -> Response:
        user = request_user(request)
        schedule = access_patient_data_by_user(
            Schedule.objects.select_related("medication", "patient__profile"), user, schedule_id
        )
        require_role(user, Role.PHARMACIST, Role.ADMIN)
        values = validated(self.Input, request.data)
        findings = selectors.review_findings([schedule])[schedule.pk]
        decision = services.review_decide(reviewer=user, schedule=schedule, findings=findings, **values)
        audit_record(
            actor=user,
            action="update",
            resource="review",
            patient_ids=[schedule.patient_id],
            object_id=schedule.id,
            request=request,
        )
        return Response(ReviewDecisionOutput(decision).data, status=status.HTTP_201_CREATED)
