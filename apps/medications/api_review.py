"""Adherence per schedule, and the pharmacists' review queue with automated findings."""

from typing import Any

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api_base import PatientDataView, request_user
from apps.medications import selectors, services
from apps.medications.adherence import patient_adherence
from apps.medications.api import RecurrenceSerializer, ScheduleOutput
from apps.medications.models import ReviewDecision, ReviewStatus, Schedule
from apps.medications.review_context import QUEUE_LAB_KINDS, SEVERITIES, ReviewContext, review_contexts, top_severity
from backend.access import NotInScope, access_patient_data_by_user, scope_patient_data
from backend.audit import audit_record
from backend.pagination import PaginatedListMixin
from backend.permissions import require_role
from backend.roles import Role
from backend.serializers import (
    BoundedDateField,
    DecimalField,
    LocalTimeField,
    QuerySerializer,
    StrictSerializer,
    validated,
)


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


class ReviewHistoryOutput(serializers.ModelSerializer[ReviewDecision]):
    reviewer_name = serializers.SerializerMethodField(help_text="Who decided (name, or email when no name is set).")
    note = serializers.CharField(help_text="The pharmacist's note (empty when she gave none).")
    findings = ReviewFindingOutput(many=True, help_text="The automated findings she saw when deciding.")
    created_at = serializers.DateTimeField(help_text="When she decided.")

    class Meta:
        model = ReviewDecision
        fields = ["id", "schedule", "decision", "note", "reviewer", "reviewer_name", "findings", "created_at"]

    def get_reviewer_name(self, decision: ReviewDecision) -> str:
        return decision.reviewer.full_name or decision.reviewer.email


class QueueLabOutput(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=[k.value for k in QUEUE_LAB_KINDS])
    name = serializers.CharField(source="label", help_text="e.g. Creatinine clearance")
    value = DecimalField(max_digits=7, decimal_places=2)
    unit = serializers.CharField()
    measured_on = BoundedDateField()


class QueueLabsOutput(serializers.Serializer[Any]):
    """Her latest result of each kind, or null when none is on record."""

    crcl = QueueLabOutput(allow_null=True)
    egfr = QueueLabOutput(allow_null=True)
    serum_calcium = QueueLabOutput(allow_null=True)
    vitamin_d_25oh = QueueLabOutput(allow_null=True, help_text="25-hydroxyvitamin D.")


class QueueScheduleOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    medication_code = serializers.CharField(source="medication.code")
    medication_name = serializers.CharField(source="medication.name")
    dose = serializers.CharField()
    recurrence = serializers.SerializerMethodField()
    local_time = LocalTimeField()
    starts_on = BoundedDateField()
    ends_on = BoundedDateField(allow_null=True)
    review_status = serializers.ChoiceField(choices=ReviewStatus.choices)

    @extend_schema_field(RecurrenceSerializer)
    def get_recurrence(self, schedule: Schedule) -> dict[str, Any]:
        return {
            "unit": schedule.unit,
            "interval": schedule.interval,
            "weekday": schedule.weekday,
            "month_day": schedule.month_day,
        }


class QueueSupplementPlanOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    supplement = serializers.CharField(help_text="e.g. calcium_citrate")
    name = serializers.CharField()
    nutrient = serializers.ChoiceField(choices=["calcium", "vitamin_d", "magnesium", "vitamin_k2"])
    amount = serializers.CharField(help_text="Per time of day, e.g. '500 mg'.")
    times = serializers.ListField(child=LocalTimeField(), help_text="Local wall-clock times.")


class ReviewItemOutput(ScheduleOutput):
    patient_name = serializers.CharField(source="patient.user.full_name")
    findings = serializers.SerializerMethodField()
    top_severity = serializers.SerializerMethodField()
    labs = serializers.SerializerMethodField()
    other_active_schedules = serializers.SerializerMethodField()
    supplement_plans = serializers.SerializerMethodField()
    decisions = serializers.SerializerMethodField()

    @extend_schema_field(ReviewFindingOutput(many=True))
    def get_findings(self, schedule: Any) -> list[dict[str, str]]:
        findings: list[dict[str, str]] = self.context["findings"][schedule.pk]
        return findings

    @extend_schema_field(serializers.ChoiceField(choices=SEVERITIES, help_text="Its most severe finding's."))
    def get_top_severity(self, schedule: Any) -> str:
        return top_severity(self.context["findings"][schedule.pk])

    def _review_context(self, schedule: Any) -> ReviewContext:
        context: ReviewContext = self.context["review_contexts"][schedule.pk]
        return context

    @extend_schema_field(QueueLabsOutput)
    def get_labs(self, schedule: Any) -> Any:
        return QueueLabsOutput(self._review_context(schedule).labs).data

    @extend_schema_field(QueueScheduleOutput(many=True))
    def get_other_active_schedules(self, schedule: Any) -> Any:
        return QueueScheduleOutput(self._review_context(schedule).other_schedules, many=True).data

    @extend_schema_field(QueueSupplementPlanOutput(many=True))
    def get_supplement_plans(self, schedule: Any) -> Any:
        return QueueSupplementPlanOutput(self._review_context(schedule).supplement_plans, many=True).data

    @extend_schema_field(ReviewHistoryOutput(many=True))
    def get_decisions(self, schedule: Any) -> Any:
        return ReviewHistoryOutput(self._review_context(schedule).decisions, many=True).data


class ReviewQueueQuery(QuerySerializer):
    severity = serializers.MultipleChoiceField(choices=SEVERITIES, required=False)


class ReviewQueueView(PaginatedListMixin, APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "severity",
                str,
                many=True,
                enum=list(SEVERITIES),
                description="Only items whose most severe finding is of this severity (none: no finding); may "
                "repeat. Default: every item.",
            )
        ],
        responses=ReviewItemOutput(many=True),
        summary="Schedules awaiting review in scope, with findings and what to judge them by",
        description=(
            "Pending schedules, stopped and paused ones included: every change to a schedule (its status too) puts "
            "it back here, and so does a change elsewhere (another schedule, a supplement plan, a lab, the profile) "
            "that gives a verified schedule a finding its pharmacist did not see. Findings are computed now, from "
            "the patient's current schedules, supplement plans and latest labs. Each item carries her latest labs "
            "with their dates (CrCl, eGFR, serum calcium, 25(OH)D), her other active schedules, her active "
            "supplement plans and the schedule's previous decisions, newest first."
        ),
    )
    def get(self, request: Request) -> Response:
        user = request_user(request)
        require_role(user, Role.PHARMACIST, Role.ADMIN)
        query = ReviewQueueQuery(
            data={"severity": request.query_params.getlist("severity")} if "severity" in request.query_params else {}
        )
        query.is_valid(raise_exception=True)
        wanted = query.validated_data.get("severity")
        rows: Any = selectors.review_queue(user=user)
        if wanted:  # the severity is computed, not stored: judge the whole queue, then page what matches
            everything = list(rows)
            found = selectors.review_findings(everything)
            rows = [s for s in everything if top_severity(found[s.pk]) in wanted]
        paginator, page = self.paginate(request, rows)
        findings = selectors.review_findings(page)
        context = {"findings": findings, "review_contexts": review_contexts(page)}
        audit_record(
            actor=user, action="list", resource="review", patient_ids=[s.patient_id for s in page], request=request
        )
        return paginator.get_paginated_response(ReviewItemOutput(page, many=True, context=context).data)


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


class ReviewHistoryView(APIView):
    @extend_schema(
        responses=ReviewHistoryOutput(many=True),
        summary="Every review decision on a schedule, newest first (pharmacists and coordinators in scope)",
        description=(
            "Each decision (verify or request_changes) with its note, who made it and when, and the findings she "
            "saw. A schedule of a patient out of the caller's scope (another organisation's, or for a coordinator "
            "one not assigned to her) is a 404; patients are refused (403)."
        ),
    )
    def get(self, request: Request, schedule_id: str) -> Response:
        user = request_user(request)
        schedule = access_patient_data_by_user(Schedule.objects.all(), user, schedule_id)
        require_role(user, Role.PHARMACIST, Role.COORDINATOR, Role.ADMIN)
        decisions = selectors.review_history(schedule_ids=[schedule.pk]).get(schedule.pk, [])
        audit_record(
            actor=user,
            action="read",
            resource="review_history",
            patient_ids=[schedule.patient_id],
            object_id=schedule.id,
            request=request,
        )
        return Response(ReviewHistoryOutput(decisions, many=True).data)


class ReviewBulkVerifyView(APIView):
    class Input(StrictSerializer):
        schedules = serializers.ListField(
            child=serializers.UUIDField(),
            min_length=1,
            max_length=services.MAX_BULK_VERIFY,
            help_text="Schedules awaiting review, none with an automated finding.",
        )
        note = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)

    @extend_schema(
        request=Input,
        responses={201: ReviewDecisionOutput(many=True)},
        summary="Verify several schedules that have no finding, all or none",
        description=(
            "One verify decision per schedule, each audited, in one transaction. Refused (400 on `schedules`, "
            "nothing written) if any of them has an automated finding or is not awaiting review; a schedule out of "
            "the caller's scope (or that does not exist) is a 404, nothing written."
        ),
    )
    def post(self, request: Request) -> Response:
        user = request_user(request)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        wanted = list(dict.fromkeys(data.validated_data["schedules"]))
        rows = scope_patient_data(Schedule.objects.select_related("medication", "patient__profile"), user).in_bulk(
            wanted
        )
        missing = [pk for pk in wanted if pk not in rows]
        if missing:  # as for one schedule: out of scope is a 404 before the role is looked at
            raise NotInScope(resource="schedule", requested_id=missing[0])
        require_role(user, Role.PHARMACIST, Role.ADMIN)
        schedules = [rows[pk] for pk in wanted]
        with transaction.atomic():
            decisions = services.review_verify_many(
                reviewer=user,
                schedules=schedules,
                findings=selectors.review_findings(schedules),
                note=data.validated_data["note"],
            )
            for schedule in schedules:
                audit_record(
                    actor=user,
                    action="update",
                    resource="review",
                    patient_ids=[schedule.patient_id],
                    object_id=schedule.id,
                    request=request,
                )
        return Response(ReviewDecisionOutput(decisions, many=True).data, status=status.HTTP_201_CREATED)
